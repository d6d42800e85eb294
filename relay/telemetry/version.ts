import { readFileSync } from 'node:fs';

/**
 * The relay's version: the `version` of the passby package.json, found by walking up from this
 * file (relay/ when run from source, dist/relay/ when built), read once at start-up. It appears
 * in `--version`, in the "relay listening" log line and in the passby_build_info metric.
 */
export const VERSION: string = findVersion();

function findVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 4; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === 'passby' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json at this level: look one level up.
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}
