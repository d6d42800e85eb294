import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shardKey } from '../../../relay/redis/index.js';
import type { SocialStore } from '../../../relay/social/contract.js';
import { createMemorySocialStore, splitSocialStore } from '../../../relay/social/index.js';
import { createRedisSocialStore } from '../../../relay/social/redis.js';
import { commandsOf, dumpText } from '../../support/redis-inspect.js';
import { type RedisServer, startRedis } from '../../support/redis-server.js';
import { redisHooks } from './account-cases.js';
import { MONTH, newHash, newToken, newUid, socialContract, T0, WINDOW } from './contract.js';
import { redriveCases } from './redrive-cases.js';

let redis: RedisServer;
let admin: Redis;
let presence: RedisServer;
let presenceAdmin: Redis;
beforeAll(async () => {
  [redis, presence] = await Promise.all([startRedis(), startRedis()]);
  admin = redis.client();
  presenceAdmin = presence.client();
});
afterAll(async () => {
  await Promise.all([redis?.stop(), presence?.stop()]);
});

socialContract('redis', async () => {
  await admin.flushall();
  const connection = new Redis(redis.url, { enableAutoPipelining: true });
  return {
    store: createRedisSocialStore(connection),
    close: () => connection.quit().then(() => {}),
    ...redisHooks(connection, () => [admin]),
  };
});

// As a relay runs them: presence, tokens and in-range marks on a Redis of their own (no
// persistence), or in the relay's process when none is configured.
socialContract('redis with a presence redis', async () => {
  await Promise.all([admin.flushall(), presenceAdmin.flushall()]);
  const durable = new Redis(redis.url, { enableAutoPipelining: true });
  const ephemeral = new Redis(presence.url, { enableAutoPipelining: true });
  return {
    store: splitSocialStore(createRedisSocialStore(durable), createRedisSocialStore(ephemeral)),
    close: async () => {
      await Promise.all([durable.quit(), ephemeral.quit()]);
    },
    ...redisHooks(durable, () => [admin, presenceAdmin]),
  };
});

socialContract('redis with presence in process', async () => {
  await admin.flushall();
  const durable = new Redis(redis.url, { enableAutoPipelining: true });
  return {
    store: splitSocialStore(createRedisSocialStore(durable), createMemorySocialStore()),
    close: () => durable.quit().then(() => {}),
    ...redisHooks(durable, () => [admin]),
  };
});

redriveCases('redis', async () => {
  await admin.flushall();
  const client = new Redis(redis.url, { enableAutoPipelining: true });
  return { client, close: () => client.quit().then(() => {}) };
});

describe('redis social store', () => {
  let connection: Redis;
  let store: SocialStore;
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    await admin.flushall();
    connection = new Redis(redis.url, { enableAutoPipelining: true });
    store = createRedisSocialStore(connection);
    [alice, bob] = [newUid(), newUid()];
  });
  afterEach(async () => {
    await connection.quit();
  });

  it('keeps no pending match, nor its index entry, past its own expiry', async () => {
    const hash = newHash();
    await store.lookup(alice, [hash], T0, MONTH);
    await store.lookup(bob, [hash], T0 + MONTH / 2, MONTH);
    // The hash's key lives until bob's entry expires; alice's entry must not live that long.
    const pend = `pb:pend:{${hash}}`;
    // One server: one shard per index (slot 0's); a Cluster has one per slot (redis-cluster.test.ts).
    const index = shardKey('pb:', 'pendx', 0);
    expect(await admin.pttl(pend)).toBeGreaterThan(MONTH - 60_000);
    for (let more = true; more; ) ({ more } = await store.sweepPending(T0 + MONTH, 1));
    expect(Object.keys(await admin.hgetall(pend))).toEqual([bob]);
    expect(await admin.zrange(index, 0, -1)).toEqual([`${hash}:${bob}`]);
    await store.setDiscoverable(alice, hash, T0 + MONTH + 1, MONTH);
    expect(await admin.exists(pend, index)).toBe(0);
  });

  it('leaves no presence, token or in-range key that lives longer than the window', async () => {
    const window = 2_000;
    const now = Date.now();
    const at = newToken();
    await store.setPresence(alice, '8a1fb46622dffff', now, window);
    await store.setPresence(bob, null, now, window);
    await store.postTokens(alice, [at], [newToken(), newToken()], now, window);
    await store.postTokens(bob, [newToken()], [at], now, window);
    await store.markInRange(alice, bob, now, now + window);
    await store.spendLookups(alice, 1, 10, now, window);

    const keys = [...(await dumpText(admin)).keys()];
    const windowed = keys.filter((key) => /^pb:(\{[^}]+\}:(pr|tok|lk)|tok:\{|near:\{)/.test(key));
    // 2 presence, 2 token lists, 4 token index entries (one shared), 1 mark, 1 look-up budget.
    expect(windowed).toHaveLength(2 + 2 + 4 + 1 + 1);
    expect(
      windowed.every((key) => key.startsWith('pb:tok:') || key.includes(alice) || key.includes(bob)),
    ).toBe(true);
    const ttls = await Promise.all(windowed.map((key) => admin.pttl(key)));
    // A key that already expired reads -2 and holds nothing either.
    expect(ttls.filter((ms) => ms > window || ms === -1)).toEqual([]);
    expect(ttls.some((ms) => ms > 0)).toBe(true);
  });

  it("lets an in-range mark live until its end by the relay's clock, whatever Redis's clock says", async () => {
    const ahead = Date.now() + 3_600_000;
    expect(await store.inRange(alice, bob, ahead)).toBe(false);
    await store.markInRange(alice, bob, ahead, ahead + WINDOW);
    const ms = await admin.pttl(`pb:near:{${[alice, bob].sort().join(':')}}`);
    expect(ms).toBeGreaterThan(WINDOW - 60_000);
    expect(ms).toBeLessThanOrEqual(WINDOW);
    expect(await store.inRange(bob, alice, ahead + WINDOW - 1)).toBe(true);
  });

  it('holds discovery under exactly the hashes it was given, for at most 30 days', async () => {
    const [mine, looked, renamed] = [newHash(), newHash(), newHash()];
    await store.setDiscoverable(bob, mine, T0, MONTH);
    await store.lookup(alice, [mine, looked], T0, MONTH);
    await store.setDiscoverable(bob, renamed, T0 + 1, MONTH);

    const all = await dumpText(admin);
    const keys = [...all.keys()].sort();
    const index = shardKey('pb:', 'pendx', 0);
    expect(keys).toEqual([`pb:disc:{${renamed}}`, `pb:pend:{${looked}}`, index, `pb:{${bob}}:disc`].sort());
    expect(all.get(`pb:disc:{${renamed}}`)).toEqual([`${T0 + 1 + MONTH}:${bob}`]);
    expect(all.get(`pb:{${bob}}:disc`)).toEqual([renamed]);
    expect(all.get(`pb:pend:{${looked}}`)?.[0]).toBe(alice);
    // Nothing the relay could not have been given: no phone-number-looking string anywhere.
    const text = [...all].flat(2).join(' ');
    expect(text).not.toMatch(/\+\d{8,15}/);
    for (const key of keys) {
      const ms = await admin.pttl(key);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(MONTH);
    }
    await store.setDiscoverable(bob, null, T0 + 2, MONTH);
    expect([...(await dumpText(admin)).keys()].sort()).toEqual([`pb:pend:{${looked}}`, index].sort());
  });

  it("deletes both users' friend keys when their last link goes", async () => {
    const carol = newUid();
    await store.requestFriend(alice, bob);
    await store.requestFriend(carol, alice);
    await store.acceptFriend(bob, alice);
    await store.setConsent(alice, bob, { proximity: true, autoAccept: true });
    expect(await admin.exists(`pb:{${alice}}:fr`, `pb:{${bob}}:fr`, `pb:{${carol}}:fr`)).toBe(3);
    await store.removeFriend(bob, alice);
    expect(await admin.exists(`pb:{${bob}}:fr`)).toBe(0);
    await store.declineFriend(alice, carol);
    // Declined, the request stays outgoing on carol's side until she withdraws it.
    expect(await admin.exists(`pb:{${alice}}:fr`, `pb:{${carol}}:fr`)).toBe(2);
    await store.removeFriend(carol, alice);
    expect([...(await dumpText(admin)).keys()]).toEqual([]);
  });

  it('reads a budget written before its end was kept, and keeps counting it', async () => {
    const key = `pb:{${alice}}:lk`;
    await admin.set(key, `${T0}:4`, 'PX', WINDOW);
    const before = (await store.summary(alice, T0)).rates.lookups;
    // Its end from the key's TTL: at most the window from the relay's now.
    expect(before?.used).toBe(4);
    expect(before?.windowEndsAt).toBeGreaterThan(T0 + WINDOW - 60_000);
    expect(before?.windowEndsAt).toBeLessThanOrEqual(T0 + WINDOW);
    expect(await store.spendLookups(alice, 6, 10, T0 + 1, WINDOW)).toBe(true);
    expect(await store.spendLookups(alice, 1, 10, T0 + 2, WINDOW)).toBe(false);
    expect((await store.summary(alice, T0 + 3)).rates.lookups).toEqual({
      used: 10,
      windowEndsAt: T0 + WINDOW,
    });
  });

  it('keeps its keys under the prefix it was given', async () => {
    const other = createRedisSocialStore(connection, { keyPrefix: 'other:' });
    await other.requestFriend(alice, bob);
    await other.setDiscoverable(alice, newHash(), T0, MONTH);
    await other.lookup(bob, [newHash()], T0, MONTH);
    await other.spendLookups(bob, 1, 5, T0, WINDOW);
    await other.setPresence(alice, null, T0, WINDOW);
    await other.postTokens(alice, [newToken()], [newToken()], T0, WINDOW);
    await other.markInRange(alice, bob, Date.now(), Date.now() + WINDOW);
    const keys = [...(await dumpText(admin)).keys()];
    expect(keys.length).toBeGreaterThanOrEqual(11);
    expect(keys.filter((key) => !key.startsWith('other:'))).toEqual([]);
  });

  it('shares a connection with a second store, defining nothing on it', async () => {
    // The scripts are read once per process (relay/social/redis-calls.ts) and sent by SHA1.
    const before = Object.keys(connection).sort();
    const second = createRedisSocialStore(connection);
    expect(Object.keys(connection).sort()).toEqual(before);
    await store.requestFriend(alice, bob);
    expect(await second.acceptFriend(bob, alice)).toBe(true);
  });

  it('runs again after the server lost its scripts (EVALSHA falls back to EVAL)', async () => {
    await store.requestFriend(alice, bob);
    await admin.script('FLUSH');
    expect(await store.acceptFriend(bob, alice)).toBe(true);
  });

  describe('round trips (single-slot calls, sent together where they do not depend on each other)', () => {
    /** Runs each script once, so that what is counted is EVALSHA, not a first NOSCRIPT and EVAL. */
    async function warm(): Promise<void> {
      const [x, y] = [newUid(), newUid()];
      await store.requestFriend(x, y);
      await store.lookup(x, [newHash()], T0, MONTH);
      await store.postTokens(x, [newToken()], [], T0, WINDOW);
    }

    it('runs a friend request as three single-slot scripts: own side, other side, outbox cleared', async () => {
      await warm();
      expect(await commandsOf(admin, () => store.requestFriend(alice, bob))).toEqual({
        script: 3,
        hget: 2,
        hset: 2,
        zscore: 2,
        zadd: 1,
        zrem: 1,
      });
      expect([...(await dumpText(admin)).keys()].filter((key) => key.startsWith('pb:linkq:'))).toEqual([]);
    });

    it('looks up 64 hashes with one script per hash, each in its own slot', async () => {
      await warm();
      const hashes = Array.from({ length: 64 }, newHash);
      await store.setDiscoverable(bob, hashes[0]!, T0, MONTH);
      const counts = await commandsOf(admin, () => store.lookup(alice, hashes, T0, MONTH));
      // Per miss: the pend key's PTTL and PEXPIRE, and its index shard's (63 shards, one each).
      expect(counts).toEqual({
        script: 64,
        get: 64,
        hgetall: 63,
        hset: 63,
        zadd: 63,
        pttl: 126,
        pexpire: 126,
      });
    });

    it('posts 256 token sets with one script per token and replaces them', async () => {
      await warm();
      const at = Array.from({ length: 256 }, newToken);
      const near = Array.from({ length: 256 * 7 }, newToken);
      await store.postTokens(bob, [newToken()], [at[17]!], T0, WINDOW);
      let matched: string[] = [];
      const first = await commandsOf(admin, async () => {
        matched = await store.postTokens(alice, at, near, T0 + 1, WINDOW);
      });
      expect(matched).toEqual([bob]);
      // The list swap, then one token-post.lua per token (HGETALL, HSET, PEXPIRE each).
      expect(first).toEqual({ script: 2049, smembers: 1, hgetall: 2048, hset: 2048, sadd: 3, pexpire: 2049 });
      const second = await commandsOf(admin, () => store.postTokens(alice, [newToken()], [], T0 + 2, WINDOW));
      // The swap (SMEMBERS, DEL, SADD, PEXPIRE), an HDEL per old token, one token-post.lua.
      expect(second).toEqual({
        script: 2,
        smembers: 1,
        del: 1,
        sadd: 1,
        pexpire: 2,
        hdel: 2048,
        hgetall: 1,
        hset: 1,
      });
      expect(await admin.scard(`pb:{${alice}}:tok`)).toBe(1);
    });

    it('reads the presence of many users with one GET each and no script (auto-pipelined)', async () => {
      const users = Array.from({ length: 50 }, newUid);
      await store.setPresence(users[7]!, '8a1fb46622dffff', T0, WINDOW);
      const counts = await commandsOf(admin, async () => {
        const found = await store.presenceOf(users, T0 + 1);
        expect(found.filter((p) => p !== null)).toHaveLength(1);
      });
      expect(counts).toEqual({ get: 50 });
    });
  });
});

describe('a social store split in two on two Redis servers', () => {
  it('asks each server only about its own half in an erase: no SCAN of the durable one', async () => {
    await Promise.all([admin.flushall(), presenceAdmin.flushall()]);
    const durable = new Redis(redis.url, { enableAutoPipelining: true });
    const ephemeral = new Redis(presence.url, { enableAutoPipelining: true });
    const store = splitSocialStore(createRedisSocialStore(durable), createRedisSocialStore(ephemeral));
    const [alice, bob] = [newUid(), newUid()];
    await store.requestFriend(alice, bob);
    await store.lookup(alice, [newHash()], T0, MONTH);
    await store.setPresence(alice, null, T0, WINDOW);
    await store.postTokens(alice, [newToken()], [newToken()], T0, WINDOW);
    await store.markInRange(alice, bob, T0, T0 + WINDOW);
    let windowed: Record<string, number> = {};
    const lasting = await commandsOf(admin, async () => {
      windowed = await commandsOf(presenceAdmin, () => store.forget(alice, T0 + 1));
    });
    expect(lasting.scan).toBeUndefined();
    expect(windowed.scan).toBeGreaterThan(0);
    expect([windowed.zscan, windowed.hgetall]).toEqual([undefined, undefined]);
    expect(lasting.zscan).toBeGreaterThan(0);
    expect([...(await dumpText(admin)).keys()].filter((key) => key.includes(alice))).toEqual([]);
    expect([...(await dumpText(presenceAdmin)).keys()]).toEqual([]);
    await Promise.all([durable.quit(), ephemeral.quit()]);
  });
});

describe('presence in redis', () => {
  it('is gone, with its tokens and in-range mark, once the window has passed', async () => {
    await admin.flushall();
    const connection = new Redis(redis.url, { enableAutoPipelining: true });
    const store = createRedisSocialStore(connection);
    const [alice, bob] = [newUid(), newUid()];
    const window = 300;
    const now = Date.now();
    // Wait on Redis's own expiry events, not on a timer.
    await admin.config('SET', 'notify-keyspace-events', 'Ex');
    const listener = redis.client();
    await listener.subscribe('__keyevent@0__:expired');
    await store.setPresence(alice, '8a1fb46622dffff', now, window);
    await store.postTokens(bob, [newToken()], Array.from({ length: 7 }, newToken), now, window);
    await store.markInRange(alice, bob, now, now + window);
    const windowed = (await dumpText(admin)).size;
    expect(windowed).toBeGreaterThanOrEqual(4);
    const expired = new Set<string>();
    await new Promise<void>((resolve) => {
      listener.on('message', (_channel: string, key: string) => {
        expired.add(key);
        if (expired.size === windowed) resolve();
      });
    });
    expect(await dumpText(admin)).toEqual(new Map());
    listener.disconnect();
    await connection.quit();
  });
});
