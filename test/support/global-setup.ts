import { fileURLToPath } from 'node:url';
import { CHROMIUM, missingTools, missingToolsMessage } from './tools.js';

const BROWSER_TESTS = fileURLToPath(new URL('../browser/sdk.browser.test.ts', import.meta.url));

/**
 * Runs once before any test file: without redis-server or Chromium the suite stops here with what
 * to install, instead of a 30 s timeout per file around a buried `spawn redis-server ENOENT`.
 * Chromium is needed only when the run includes test/browser (no file filter, or one naming it).
 */
export default function setup(): void {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && !a.includes('='));
  const browser =
    filters.length === 0 || filters.some((f) => BROWSER_TESTS.includes(f) || f.includes('browser'));
  const missing = missingTools({ path: process.env.PATH ?? '', chromium: CHROMIUM, browser });
  if (missing.length > 0) throw new Error(missingToolsMessage(missing));
}
