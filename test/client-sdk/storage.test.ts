import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ClientError,
  createFileStorage,
  type FileSystem,
  loadOrCreateIdentity,
  MemoryStorage,
  type Storage,
} from '../../client-sdk/index.js';

const dirs: string[] = [];
async function fileStorage(): Promise<{ storage: Storage; dir: string }> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'passby-storage-'));
  dirs.push(dir);
  return { storage: createFileStorage(join(dir, 'nested'), fs), dir };
}

afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

const kinds: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => new MemoryStorage()],
  ['file storage', async () => (await fileStorage()).storage],
];

describe.each(kinds)('%s', (_name, make) => {
  it('returns what was set, and undefined for what was not', async () => {
    const s = await make();
    expect(await s.get('seen/m:abc:1')).toBeUndefined();
    await s.set('seen/m:abc:1', '42');
    expect(await s.get('seen/m:abc:1')).toBe('42');
    await s.set('seen/m:abc:1', '43');
    expect(await s.get('seen/m:abc:1')).toBe('43');
  });

  it('lists keys by prefix and forgets deleted ones', async () => {
    const s = await make();
    await s.set('outbox/1/a', 'x');
    await s.set('outbox/2/b', 'y');
    await s.set('key/q', 'z');
    expect((await s.keys('outbox/')).sort()).toEqual(['outbox/1/a', 'outbox/2/b']);
    await s.delete('outbox/1/a');
    await s.delete('never/set');
    expect(await s.keys('outbox/')).toEqual(['outbox/2/b']);
  });
});

describe('MemoryStorage', () => {
  it('keeps bytes as they are beside strings, each read back only the way it was written', async () => {
    const s = new MemoryStorage();
    const bytes = Uint8Array.from([0, 1, 254, 255]);
    await s.setBytes('chunk/a/f/0', bytes);
    await s.set('file/a/f', '42');
    expect(await s.getBytes('chunk/a/f/0')).toEqual(bytes);
    expect(await s.get('chunk/a/f/0')).toBeUndefined();
    expect(await s.getBytes('file/a/f')).toBeUndefined();
    expect((await s.keys('')).sort()).toEqual(['chunk/a/f/0', 'file/a/f']);
    await s.delete('chunk/a/f/0');
    expect(await s.getBytes('chunk/a/f/0')).toBeUndefined();
  });
});

describe('file storage', () => {
  it('keeps values across instances over the same directory', async () => {
    const { dir } = await fileStorage();
    const one = createFileStorage(dir, fs);
    await one.set('identity', 'secret');
    const two = createFileStorage(dir, fs);
    expect(await two.get('identity')).toBe('secret');
    expect((await fs.readdir(dir)).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('flushes the temporary file before the rename and the directory after it', async () => {
    const { dir } = await fileStorage();
    const calls: string[] = [];
    const name = (path: string) => (path === dir ? 'dir' : path.endsWith('.tmp') ? 'tmp' : path);
    const recording: FileSystem = {
      ...fs,
      async open(path, flags) {
        const handle = await fs.open(path, flags);
        const what = name(path);
        calls.push(`open ${what}`);
        return {
          writeFile: async (data, encoding) => {
            calls.push(`write ${what}`);
            await handle.writeFile(data, encoding);
          },
          datasync: async () => {
            calls.push(`datasync ${what}`);
            await handle.datasync();
          },
          sync: async () => {
            calls.push(`sync ${what}`);
            await handle.sync();
          },
          close: async () => {
            calls.push(`close ${what}`);
            await handle.close();
          },
        };
      },
      async rename(from, to) {
        calls.push(`rename ${name(from)}`);
        await fs.rename(from, to);
      },
    };
    const storage = createFileStorage(dir, recording);
    await storage.set('outbox/1/a', 'kept');
    expect(calls).toEqual([
      'open tmp',
      'write tmp',
      'datasync tmp',
      'close tmp',
      'rename tmp',
      'open dir',
      'sync dir',
      'close dir',
    ]);
    expect(await createFileStorage(dir, fs).get('outbox/1/a')).toBe('kept');
  });

  it('refuses an fs object that lacks a call it needs', () => {
    expect(() => createFileStorage('/tmp/x', { readFile: fs.readFile } as never)).toThrow(TypeError);
  });
});

describe('loadOrCreateIdentity', () => {
  it('creates an identity once and loads the same one afterwards', async () => {
    const storage = new MemoryStorage();
    const first = await loadOrCreateIdentity(storage);
    const second = await loadOrCreateIdentity(storage);
    expect(second.id).toBe(first.id);
  });
});

describe('storage errors', () => {
  it("name the platform's error in their own message, not only in cause", () => {
    const quota = new DOMException('the quota has been exceeded', 'QuotaExceededError');
    const error = new ClientError('storage', 'an outbox write failed', { cause: quota });
    expect(error.message).toBe('an outbox write failed (QuotaExceededError: the quota has been exceeded)');
    expect(error.cause).toBe(quota);
  });
});
