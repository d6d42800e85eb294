import * as fs from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
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
  type IncomingMessage,
  MemoryStorage,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { redisBackends } from '../support/redis-backends.js';
import { useRelay } from '../support/relay-fixture.js';
import { sameDevice } from '../support/same-device.js';
import { AckLosingWebSocket, ChunkTamperingWebSocket, TamperingWebSocket } from './lossy-sockets.js';

// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({}, { backend });
  const clients: PassbyClient[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  async function connected(identity: Identity, extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
    const client = await createClient({
      url: fixture.relay.url,
      identity,
      storage: sameDevice(identity),
      WebSocket,
      ...extra,
    });
    clients.push(client);
    if (client.state.kind !== 'open') await client.once('open');
    return client;
  }

  function collect(client: PassbyClient): IncomingMessage[] {
    const got: IncomingMessage[] = [];
    client.on('message', (m) => {
      got.push(m);
    });
    return got;
  }

  function until<T>(client: PassbyClient, event: 'message', count: number, list: T[]): Promise<void> {
    return new Promise((resolve) => {
      if (list.length >= count) return resolve();
      const off = client.on(event, () => {
        queueMicrotask(() => {
          if (list.length >= count) {
            off();
            resolve();
          }
        });
      });
    });
  }

  describe('client with a real relay and Redis', () => {
    it('exchanges text both ways, each side proving who sent it', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const alice = await connected(a);
      const bob = await connected(b);
      const toBob = bob.once('message');
      const sent = await alice.send(bob.id, 'hello bob');
      expect(sent).toMatchObject({ to: bob.id, dup: false });
      expect(await toBob).toMatchObject({ from: alice.id, kind: 'text', text: 'hello bob', mid: sent.mid });
      const toAlice = alice.once('message');
      await bob.send(alice.id, new Uint8Array([0, 1, 2, 255]));
      expect(await toAlice).toMatchObject({
        from: bob.id,
        kind: 'bytes',
        bytes: new Uint8Array([0, 1, 2, 255]),
      });
    });

    it('delivers what was sent while the recipient was away, then says the backlog is drained', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const bobStorage = new MemoryStorage();
      const first = await connected(b, { storage: bobStorage });
      await first.close();
      const alice = await connected(a);
      for (let i = 0; i < 5; i++) await alice.send(b.id, `while away ${i}`);
      const bob = await createClient({
        url: fixture.relay.url,
        identity: b,
        WebSocket,
        storage: bobStorage,
        autoConnect: false,
      });
      clients.push(bob);
      const got = collect(bob);
      const drained = bob.once('drained');
      bob.connect();
      await drained;
      expect(got.map((m) => (m.kind === 'text' ? m.text : ''))).toEqual(
        [0, 1, 2, 3, 4].map((i) => `while away ${i}`),
      );
    });

    it('never shows a message twice to a client restarted with the same storage', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const dir = await mkdtemp(join(tmpdir(), 'passby-bob-'));
      // Bob's first run handles every message, but none of its acks reaches the relay.
      const bob1 = await connected(b, { storage: createFileStorage(dir, fs), WebSocket: AckLosingWebSocket });
      const seen1 = collect(bob1);
      const alice = await connected(a);
      for (let i = 0; i < 10; i++) await alice.send(b.id, `m${i}`);
      await until(bob1, 'message', 10, seen1);
      await bob1.close();
      // The relay still holds all ten and delivers them again; the second run drops every one.
      // A new process would open the same directory: a fresh FileStorage over it.
      const storage = createFileStorage(dir, fs);
      const bob2 = await createClient({
        url: fixture.relay.url,
        identity: b,
        WebSocket,
        storage,
        autoConnect: false,
      });
      clients.push(bob2);
      const seen2 = collect(bob2);
      const drained = bob2.once('drained');
      bob2.connect();
      await drained;
      const fresh = bob2.once('message');
      await alice.send(b.id, 'm10');
      expect(await fresh).toMatchObject({ kind: 'text', text: 'm10' });
      expect(seen1.map((m) => m.mid)).toHaveLength(10);
      expect(seen2).toHaveLength(1);
      expect(new Set([...seen1, ...seen2].map((m) => m.mid)).size).toBe(11);
      dirs.push(dir);
    });

    it('rejects and reports a tampered ciphertext, and never hands it to the app', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const bob = await connected(b);
      const got = collect(bob);
      const evil = await connected(a, { WebSocket: TamperingWebSocket });
      const rejected = bob.once('rejected');
      const { mid } = await evil.send(b.id, 'pay 10 to alice');
      expect(await rejected).toMatchObject({ from: a.id, mid, error: { code: 'tampered' } });
      await evil.close();
      // The forgery was acknowledged (the relay dropped it) and the next honest message still flows.
      const honest = await connected(a);
      const next = bob.once('message');
      await honest.send(b.id, 'pay 10 to alice');
      expect(await next).toMatchObject({ from: a.id, text: 'pay 10 to alice' });
      expect(got).toHaveLength(1);
    });

    it('reports a receipt once the recipient has acknowledged', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const alice = await connected(a);
      const bob = await connected(b);
      collect(bob);
      const receipt = alice.once('receipt');
      const { mid } = await alice.send(bob.id, 'tell me when', { receipt: true });
      expect(await receipt).toMatchObject({ to: bob.id, mid, status: 'delivered' });
    });

    it('refuses a send, a file and a friend request to an ID the relay has never seen with one code', async () => {
      const alice = await connected(await createIdentity());
      const stranger = await createIdentity();
      const unknown = { name: 'PassbyError', code: 'unknown_recipient' };
      await expect(alice.send(stranger.id, 'anyone?')).rejects.toMatchObject(unknown);
      await expect(alice.sendFile(stranger.id, new Uint8Array(10), { name: 'a' })).rejects.toMatchObject(
        unknown,
      );
      await expect(alice.friends.request(stranger.id)).rejects.toMatchObject(unknown);
    });

    it('sends a file across several chunks with progress on both sides', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const alice = await connected(a);
      const bob = await connected(b);
      const data = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) & 255);
      const progress: string[] = [];
      alice.on('progress', (p) => {
        progress.push(`send ${p.bytes}/${p.total}`);
      });
      bob.on('progress', (p) => {
        progress.push(`receive ${p.bytes}/${p.total}`);
      });
      const file = bob.once('file');
      const sent = await alice.sendFile(b.id, data, { name: 'pattern.bin' });
      const got = await file;
      expect(got).toMatchObject({ from: a.id, fileId: sent.fileId, name: 'pattern.bin', size: 300_000 });
      expect(Buffer.from(got.bytes).equals(Buffer.from(data))).toBe(true);
      expect(progress).toContain('send 300000/300000');
      expect(progress).toContain('receive 300000/300000');
    });

    it('rejects a file with a tampered chunk and never hands any of it to the app', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const bob = await connected(b);
      const files: string[] = [];
      bob.on('file', (f) => {
        files.push(f.fileId);
      });
      const alice = await connected(a, { WebSocket: ChunkTamperingWebSocket, fileChunkBytes: 10_000 });
      const rejected = bob.once('rejected');
      const { fileId } = await alice.sendFile(b.id, new Uint8Array(60_000).fill(7), { name: 'x.bin' });
      expect(await rejected).toMatchObject({ from: a.id, mid: fileId, error: { code: 'file_corrupt' } });
      expect(files).toEqual([]);
    });
  });
});
