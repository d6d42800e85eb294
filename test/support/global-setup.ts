import { fileURLToPath } from 'node:url';
import { CHROMIUM, missingTools, missingToolsMessage } from './tools.js';

const TESTS = fileURLToPath(new URL('../', import.meta.url));

/**
 * Runs once before any test file: without redis-server, Chromium or nats-server the suite stops
 * here with what to install, instead of a 30 s timeout per file around a buried
 * `spawn redis-server ENOENT`. Chromium is needed only when the run includes test/browser, and
 * nats-server only with test/bench (no file filter, or one that can match a file there).
 */
export default function setup(): void {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && !a.includes('='));
  const selects = (dir: string) =>
    filters.length === 0 || filters.some((f) => `${TESTS}${dir}/`.includes(f) || f.includes(`${dir}/`));
  const missing = missingTools({
    path: process.env.PATH ?? '',
    chromium: CHROMIUM,
    browser: selects('browser') || filters.some((f) => f.includes('browser')),
    bench: selects('bench'),
  });
  if (missing.length > 0) throw new Error(missingToolsMessage(missing));
}
