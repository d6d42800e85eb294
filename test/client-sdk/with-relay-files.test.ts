import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  createFileStorage,
  createIdentity,
  type Identity,
  type IncomingFile,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { redisBackends } from '../support/redis-backends.js';
import { useRelay } from '../support/relay-fixture.js';
import { KillableWebSocket } from './lossy-sockets.js';

/*
 * A file is acknowledged only once the app's `file` handler returned or resolved: whatever happens
 * before (the handler throws, the app stops mid-file), the file comes again, whole, exactly once.
 */

// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({}, { backend });
  const clients: PassbyClient[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  async function start(identity: Identity, extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
    const c = await createClient({
      url: fixture.relay.url,
      identity,
      WebSocket,
      backoff: { baseMs: 20, maxMs: 100 },
      ...extra,
    });
    clients.push(c);
    return c;
  }

  async function opened(c: PassbyClient): Promise<PassbyClient> {
    if (c.state.kind !== 'open') await c.once('open');
    return c;
  }

  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const pattern = (size: number) => new Uint8Array(size).map((_, i) => (i * 131 + (i >> 8)) & 255);

  async function tempDir(): Promise<string> {
    const dir = await fs.mkdtemp(join(tmpdir(), 'passby-files-'));
    dirs.push(dir);
    return dir;
  }

  describe('files with a real relay and Redis', () => {
    it('gives a file whose handler threw to the app again after a reconnect, every byte verified, once', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const bob = await opened(await start(b, { WebSocket: KillableWebSocket }));
      const alice = await opened(await start(a, { fileChunkBytes: 10_000 }));
      const data = pattern(95_000); // ten chunks
      let calls = 0;
      const handled: IncomingFile[] = [];
      const success = new Promise<IncomingFile>((resolve) => {
        bob.on('file', (f) => {
          if (++calls === 1) throw new Error('the app could not save it this time');
          handled.push(f);
          resolve(f);
        });
      });
      const failed = bob.once('error');
      const { fileId } = await alice.sendFile(b.id, data, { name: 'clip.mp4', type: 'video/mp4' });
      expect(await failed).toMatchObject({ error: { code: 'handler_failed' }, mid: fileId });
      KillableWebSocket.killAll(); // the network drops; bob reconnects by himself
      const got = await success;
      expect(got).toMatchObject({ from: a.id, fileId, name: 'clip.mp4', size: 95_000 });
      expect(sha256(got.bytes)).toBe(sha256(data));
      expect(calls).toBe(2);
      // Handled now: another reconnect delivers nothing of it again.
      const drained = new Promise<void>((resolve) => {
        bob.on('state', ({ to }) => {
          if (to === 'open') bob.once('drained').then(() => resolve());
        });
      });
      KillableWebSocket.killAll();
      await drained;
      expect(calls).toBe(2);
      expect(handled).toHaveLength(1);
    });

    it('gives a file whose handler threw to the next process with the same storage', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const dir = await tempDir();
      const bob1 = await opened(await start(b, { storage: createFileStorage(dir, fs) }));
      bob1.on('file', () => {
        throw new Error('the app crashed in its handler');
      });
      const failed = bob1.once('error');
      const alice = await opened(await start(a, { fileChunkBytes: 10_000 }));
      const data = pattern(45_000);
      const { fileId } = await alice.sendFile(b.id, data, { name: 'photo.jpg', type: 'image/jpeg' });
      expect(await failed).toMatchObject({ error: { code: 'handler_failed' }, mid: fileId });
      await bob1.close();

      // A new process opens the same directory: a fresh FileStorage over it.
      const bob2 = await start(b, { storage: createFileStorage(dir, fs), autoConnect: false });
      const files: IncomingFile[] = [];
      bob2.on('file', (f) => {
        files.push(f);
      });
      const drained = bob2.once('drained');
      bob2.connect();
      await drained;
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({ from: a.id, fileId, size: 45_000 });
      expect(sha256(files[0]!.bytes)).toBe(sha256(data));
    });

    it('completes a file in the next process when the first one stopped in the middle of it', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const dir = await tempDir();
      const bob1 = await opened(await start(b, { storage: createFileStorage(dir, fs) }));
      const early: IncomingFile[] = [];
      bob1.on('file', (f) => {
        early.push(f);
      });
      const halfway = new Promise<void>((resolve) => {
        bob1.on('progress', (p) => {
          if (p.bytes >= 100_000) resolve();
        });
      });
      const alice = await opened(await start(a, { fileChunkBytes: 10_000 }));
      const data = pattern(300_000);
      const sent = alice.sendFile(b.id, data, { name: 'video.mp4', type: 'video/mp4' });
      await halfway;
      await bob1.close();
      const { fileId } = await sent;

      expect(early).toEqual([]);

      const bob2 = await start(b, { storage: createFileStorage(dir, fs), autoConnect: false });
      const files: IncomingFile[] = [];
      bob2.on('file', (f) => {
        files.push(f);
      });
      const rejected: string[] = [];
      bob2.on('rejected', ({ error }) => {
        rejected.push(error.code);
      });
      const drained = bob2.once('drained');
      bob2.connect();
      await drained;
      expect(rejected).toEqual([]);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({ fileId, size: 300_000 });
      expect(sha256(files[0]!.bytes)).toBe(sha256(data));
    });
  });
});
