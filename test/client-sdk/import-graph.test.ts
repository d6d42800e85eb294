import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function sources(folder: string): string[] {
  return readdirSync(join(root, folder))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, folder, f));
}

/**
 * Packages client-sdk/ may import: pure JavaScript that runs in browsers and React Native as it is.
 * Never node:*, ws, ioredis, pino or relay/.
 */
const PACKAGES = ['libsodium-wrappers', 'h3-js'];

describe('import graph', () => {
  it('keeps client-sdk/ to protocol/index.js, its own files and browser-safe packages', () => {
    const bad: string[] = [];
    for (const file of sources('client-sdk')) {
      for (const spec of importsOf(file)) {
        const ok =
          PACKAGES.includes(spec) ||
          spec === '../protocol/index.js' ||
          (spec.startsWith('./') && !spec.includes('/', 2));
        if (!ok) bad.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('keeps protocol/ free of any import outside itself', () => {
    const bad: string[] = [];
    for (const file of sources('protocol')) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('./')) bad.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('finds the imports it checks (the scanner itself works)', () => {
    expect(importsOf(join(root, 'client-sdk/sodium.ts'))).toContain('libsodium-wrappers');
    expect(importsOf(join(root, 'client-sdk/index.ts'))).toContain('../protocol/index.js');
  });

  it('bundles for the browser with nothing from Node in it', async () => {
    const result = await build({
      entryPoints: [join(root, 'client-sdk/index.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.startsWith('node:') || /\b(ws|ioredis|pino)\b/.test(i))).toBe(false);
    const packages = inputs.filter((i) => i.includes('node_modules/'));
    expect(packages.every((i) => /node_modules\/(libsodium|libsodium-wrappers|h3-js)\//.test(i))).toBe(true);
    expect(inputs.some((i) => i.startsWith('relay/'))).toBe(false);
  });
});
