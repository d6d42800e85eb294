import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../relay/index.js';
import { connectRedis, type RedisClient, release } from '../../../relay/redis/index.js';
import { checkDiscoveryFingerprint } from '../../../relay/social/index.js';
import { createRedisSocialStore } from '../../../relay/social/redis.js';
import { waitFor } from '../../support/poll.js';
import { type RedisCluster, startRedisCluster } from '../../support/redis-cluster.js';
import { dumpText } from '../../support/redis-inspect.js';
import { redisHooks } from './account-cases.js';
import { MONTH, newHash, newUid, socialContract, T0 } from './contract.js';
import { redriveCases } from './redrive-cases.js';

/*
 * The social store on a real Redis Cluster (3 primaries, a replica each): every script call must
 * keep its keys in one slot, or the Cluster answers CROSSSLOT and the case fails.
 */

let cluster: RedisCluster;
let admin: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  admin = cluster.client();
  await waitFor('the admin client to know the slots', () => admin.status === 'ready', { timeoutMs: 10_000 });
}, 60_000);
afterAll(() => cluster?.stop());

async function connect(): Promise<{ client: RedisClient; close(): Promise<void> }> {
  await Promise.all(admin.nodes('master').map((node) => node.flushall()));
  const client = connectRedis(
    { urls: cluster.seeds.split(',').map((s) => `redis://${s}`), cluster: true },
    { autoPipelining: true },
  );
  await client.connect();
  return { client, close: () => release(client) };
}

socialContract('redis cluster', async () => {
  const { client, close } = await connect();
  return { store: createRedisSocialStore(client), close, ...redisHooks(client, () => admin.nodes('master')) };
});

redriveCases('redis cluster', connect);

describe('redis social store on a cluster', () => {
  it('spreads its keys over every primary, and sweeps pending matches on each', async () => {
    const { client, close } = await connect();
    try {
      const store = createRedisSocialStore(client);
      const hashes = Array.from({ length: 30 }, newHash);
      await store.lookup(newUid(), hashes, T0, MONTH);
      const perNode = await Promise.all(admin.nodes('master').map((node) => node.dbsize()));
      expect(perNode.every((n) => n > 0)).toBe(true);
      let removed = 0;
      for (let more = true; more; ) {
        const result = await store.sweepPending(T0 + MONTH, 7);
        removed += result.removed;
        more = result.more;
      }
      expect(removed).toBe(30);
      // Nothing left but each primary's sweep lease (a relay's random name, for seconds).
      const left = await Promise.all(admin.nodes('master').map((node) => node.keys('*')));
      expect(left.map((keys) => keys.filter((k) => !k.startsWith('pb:sweep:')))).toEqual([[], [], []]);
      expect(left.map((keys) => keys.length)).toEqual([1, 1, 1]);
    } finally {
      await close();
    }
  });

  it('finds what an erase must delete on every primary: in-range marks, pending matches, link outboxes', async () => {
    const { client, close } = await connect();
    try {
      const store = createRedisSocialStore(client);
      const zed = newUid();
      const others = Array.from({ length: 30 }, newUid);
      for (const other of others) {
        await store.markInRange(zed, other, Date.now(), Date.now() + 60_000);
        await store.requestFriend(other, zed);
      }
      await store.lookup(zed, Array.from({ length: 30 }, newHash), T0, MONTH);
      const holding = async () =>
        Promise.all(
          admin.nodes('master').map(async (node) => {
            const all = await dumpText(node);
            return [...all].filter(([key, values]) => [key, ...values].some((v) => v.includes(zed))).length;
          }),
        );
      expect((await holding()).every((n) => n > 0)).toBe(true);
      await store.forget(zed, T0 + 1);
      expect(await holding()).toEqual([0, 0, 0]);
      expect(await store.friends(others[0]!)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('checks the discovery secret fingerprint through a cluster client', async () => {
    const { client, close } = await connect();
    try {
      const log = createLogger('silent');
      await checkDiscoveryFingerprint(client, 'secret-one', null, log);
      await checkDiscoveryFingerprint(client, 'secret-one', null, log);
      await expect(checkDiscoveryFingerprint(client, 'secret-two', null, log)).rejects.toThrow(/differs/);
    } finally {
      await close();
    }
  });
});
