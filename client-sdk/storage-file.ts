import { fromBase64url, toBase64url } from '../protocol/index.js';
import type { Storage } from './storage.js';

/** An open file, as Node's `fs/promises` FileHandle has it. */
export interface FileHandleLike {
  writeFile(data: string, encoding: 'utf8'): Promise<void>;
  /** Flushes the file's data to the device (fdatasync). */
  datasync(): Promise<void>;
  /** Flushes the file's data and metadata (fsync); for a directory, its entries. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The few file-system calls FileStorage needs. Node's `fs/promises` has this shape; it is passed in
 * so that client-sdk/ imports no `node:` module and still bundles for browsers and React Native.
 * In a Node app: `createFileStorage('/var/lib/app/passby', fs)` with `fs` Node's `fs/promises`
 * (client-sdk/README.md shows the import).
 */
export interface FileSystem {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  /** Opens `path`: 'w' to write a new file, 'r' to open the directory for sync(). */
  open(path: string, flags: 'w' | 'r'): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  readdir(path: string): Promise<string[]>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SUFFIX = '.v';

/**
 * A Storage with one file per key in `dir`. A write goes to a temporary file, which is flushed to
 * the device (datasync) and renamed over the key's file; then the directory is flushed (fsync), so
 * the rename itself survives a power loss. `set` resolves only after both: durable, as Storage
 * promises. A `delete` is not flushed: a crash may undo it, which the SDK tolerates (it deletes only
 * what it may see again: a stored send the relay de-duplicates, an expired entry, a handled file's
 * chunks, which prune() removes later). Where a directory cannot be opened (Windows), only the
 * file is flushed.
 */
export function createFileStorage(dir: string, fs: FileSystem): Storage {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('createFileStorage needs a directory');
  for (const fn of ['readFile', 'open', 'rename', 'unlink', 'mkdir', 'readdir'] as const) {
    if (typeof fs?.[fn] !== 'function') throw new TypeError(`createFileStorage: fs.${fn} is missing`);
  }
  const base = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  let made: Promise<unknown> | undefined;
  const mkdir = () => {
    made ??= fs.mkdir(base, { recursive: true });
    return made;
  };
  let directories = true;
  const syncDirectory = async () => {
    if (!directories) return;
    let handle: FileHandleLike;
    try {
      handle = await fs.open(base, 'r');
    } catch (err) {
      // Windows cannot open a directory to flush it: there only the file itself is flushed.
      if (!isCode(err, 'EISDIR') && !isCode(err, 'EPERM')) throw err;
      directories = false;
      return;
    }
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
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
      const file = await fs.open(tmp, 'w');
      try {
        await file.writeFile(value, 'utf8');
        await file.datasync();
      } finally {
        await file.close();
      }
      await fs.rename(tmp, pathOf(key));
      await syncDirectory();
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

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function isMissing(err: unknown): boolean {
  return isCode(err, 'ENOENT');
}
