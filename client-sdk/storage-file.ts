import { fromBase64url, toBase64url } from '../protocol/index.js';
import type { Storage } from './storage.js';

/**
 * The few file-system calls FileStorage needs. Node's `fs/promises` has this shape; it is passed in
 * so that client-sdk/ imports no `node:` module and still bundles for browsers and React Native:
 *
 *   import * as fs from 'node:fs/promises';
 *   const storage = createFileStorage('/var/lib/app/passby', fs);
 */
export interface FileSystem {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, encoding: 'utf8'): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  readdir(path: string): Promise<string[]>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SUFFIX = '.v';

/** A Storage with one file per key in `dir`; a write goes to a temporary file, then is renamed. */
export function createFileStorage(dir: string, fs: FileSystem): Storage {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('createFileStorage needs a directory');
  for (const fn of ['readFile', 'writeFile', 'rename', 'unlink', 'mkdir', 'readdir'] as const) {
    if (typeof fs?.[fn] !== 'function') throw new TypeError(`createFileStorage: fs.${fn} is missing`);
  }
  const base = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  let made: Promise<unknown> | undefined;
  const mkdir = () => {
    made ??= fs.mkdir(base, { recursive: true });
    return made;
  };
  const pathOf = (key: string) => `${base}/${toBase64url(encoder.encode(key))}${SUFFIX}`;
  let counter = 0;

  return {
    async get(key) {
      try {
        return await fs.readFile(pathOf(key), 'utf8');
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async set(key, value) {
      await mkdir();
      const tmp = `${pathOf(key)}.${Date.now().toString(36)}${(counter++).toString(36)}.tmp`;
      await fs.writeFile(tmp, value, 'utf8');
      await fs.rename(tmp, pathOf(key));
    },
    async delete(key) {
      try {
        await fs.unlink(pathOf(key));
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    },
    async keys(prefix) {
      let names: string[];
      try {
        names = await fs.readdir(base);
      } catch (err) {
        if (isMissing(err)) return [];
        throw err;
      }
      const out: string[] = [];
      for (const name of names) {
        if (!name.endsWith(SUFFIX)) continue;
        const bytes = fromBase64url(name.slice(0, -SUFFIX.length));
        if (bytes === null) continue;
        const key = decoder.decode(bytes);
        if (key.startsWith(prefix)) out.push(key);
      }
      return out;
    },
  };
}

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
