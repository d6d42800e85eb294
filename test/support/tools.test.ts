import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missingTools, missingToolsMessage } from './tools.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the check for the programs the suite needs', () => {
  it('names redis-server and Chromium with how to install them when neither is there', () => {
    const empty = mkdtempSync(join(tmpdir(), 'passby-path-'));
    try {
      const missing = missingTools({ path: empty, chromium: join(empty, 'chromium'), browser: true });
      expect(missing.map((m) => m.install)).toEqual([
        'apt-get install redis-server',
        'apt-get install chromium',
      ]);
      expect(missingToolsMessage(missing)).toContain(
        'redis-server (every Redis test): apt-get install redis-server',
      );
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  it('does not ask for Chromium or nats-server when no browser or bench test runs', () => {
    const missing = missingTools({
      path: process.env.PATH ?? '',
      chromium: '/nonexistent/chromium',
      browser: false,
    });
    expect(missing).toEqual([]);
  });

  it('stops a vitest run at once, before any test file, when redis-server is not on PATH', () => {
    const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
    const started = Date.now();
    const run = spawnSync(process.execPath, [vitest, 'run', 'test/relay/config/config.test.ts'], {
      cwd: ROOT,
      env: { ...process.env, PATH: '/nonexistent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain(
      'redis-server (every Redis test): apt-get install redis-server',
    );
    expect(`${run.stdout}${run.stderr}`).not.toContain('Test Files');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
