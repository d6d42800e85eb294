import { createHash, randomFillSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, createIdentity, type PassbyClient, type Progress } from '../../client-sdk/index.js';
import { freePort, type RedisServer, startRedis } from '../support/redis-server.js';
import { type RelayChild, spawnRelay } from '../support/relay-child.js';

const MiB = 1024 * 1024;
let redis: RedisServer;
let relay: RelayChild;
let env: Record<string, string>;
const clients: PassbyClient[] = [];

beforeAll(async () => {
  redis = await startRedis({ persistence: true });
  env = { PASSBY_PORT: String(await freePort()), PASSBY_REDIS_URL: redis.url, PASSBY_LOG_LEVEL: 'warn' };
  relay = await spawnRelay({ ...env, PASSBY_LOG_LEVEL: 'info' });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  if (relay && relay.process.exitCode === null && relay.process.signalCode === null) {
    relay.process.kill('SIGKILL');
    await relay.exited;
  }
  await redis?.stop();
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('a 50 MiB file through a relay that is killed mid-transfer', () => {
  it('still arrives, every byte verified, after the relay restarts', { timeout: 240_000 }, async () => {
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    const options = { url: relay.url, WebSocket, backoff: { baseMs: 100, maxMs: 1000 } };
    const alice = await createClient({ ...options, identity: a });
    const bob = await createClient({ ...options, identity: b });
    clients.push(alice, bob);
    await Promise.all([alice.once('open'), bob.once('open')]);

    const data = randomFillSync(new Uint8Array(50 * MiB));
    const sent: Progress[] = [];
    const received: Progress[] = [];
    alice.on('progress', (p) => {
      sent.push(p);
    });
    const states: string[] = [];
    bob.on('state', ({ to }) => {
      states.push(to);
    });

    // Kill the relay once Bob has verified a fifth of the file, then start it on the same port.
    let restarted: Promise<void> | undefined;
    bob.on('progress', (p) => {
      received.push(p);
      if (restarted === undefined && p.bytes >= 10 * MiB) {
        restarted = (async () => {
          relay.process.kill('SIGKILL');
          await relay.exited;
          relay = await spawnRelay({ ...env, PASSBY_LOG_LEVEL: 'info' });
        })();
      }
    });

    const file = bob.once('file');
    const result = await alice.sendFile(b.id, data, { name: 'video.mp4', type: 'video/mp4' });
    const got = await file;
    expect(restarted).toBeDefined();
    await restarted;

    expect(result.size).toBe(50 * MiB);
    expect(got.size).toBe(50 * MiB);
    expect(sha256(got.bytes)).toBe(sha256(data));
    expect(states).toContain('backoff');
    expect(states.at(-1)).toBe('open');
    const last = (list: Progress[]) => list.at(-1)!;
    expect(last(sent)).toMatchObject({ bytes: 50 * MiB, total: 50 * MiB });
    expect(last(received)).toMatchObject({ bytes: 50 * MiB, total: 50 * MiB });
    expect(received.every((p, i) => i === 0 || p.bytes >= received[i - 1]!.bytes)).toBe(true);
  });
});
