import { latLngToCell } from 'h3-js';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceUpdate, SocialStore } from '../../../relay/social/contract.js';
import { placeOf } from '../../../relay/social/geo.js';
import { createRedisSocialStore } from '../../../relay/social/redis.js';
import { commandsOf } from '../../support/redis-inspect.js';
import { type RedisServer, startRedis } from '../../support/redis-server.js';
import { newUid, T0, WINDOW } from './contract.js';

/*
 * What a turn of presence updates costs the Redis social store on a standalone server: one
 * script call per turn for the updates, two for the friend lists, one for the notified marks
 * (the contract cases, presence-cases.ts, check what they do, on a Cluster too).
 */

const MINUTE = 60_000;
const PARIS = latLngToCell(48.8584, 2.2945, 10);
const BERLIN = latLngToCell(52.52, 13.405, 10);

let redis: RedisServer;
let admin: Redis;
beforeAll(async () => {
  redis = await startRedis();
  admin = redis.client();
});
afterAll(() => redis?.stop());

describe('presence updates on one redis server', () => {
  let connection: Redis;
  let store: SocialStore;

  beforeEach(async () => {
    await admin.flushall();
    connection = new Redis(redis.url, { enableAutoPipelining: true });
    store = createRedisSocialStore(connection);
  });
  afterEach(async () => {
    await connection.quit();
  });

  const update = (uid: string, now: number, friends: string[], cell = PARIS): PresenceUpdate => ({
    uid,
    now,
    windowMs: WINDOW,
    intervalMs: MINUTE,
    maxKmh: 300,
    place: placeOf(cell),
    friends,
  });

  /** Three pairs of friends, each with proximity on for the other. */
  type Pair = [string, string];
  async function pairs(): Promise<[Pair, Pair, Pair]> {
    const out: Pair[] = [];
    for (let i = 0; i < 3; i++) {
      const [a, b] = [newUid(), newUid()];
      await store.requestFriend(a, b);
      await store.acceptFriend(b, a);
      await store.setConsent(a, b, { proximity: true, autoAccept: false });
      await store.setConsent(b, a, { proximity: true, autoAccept: false });
      out.push([a, b]);
    }
    return [out[0]!, out[1]!, out[2]!];
  }

  /** Runs each new script once, so that what is counted is EVALSHA, not a first NOSCRIPT and EVAL. */
  async function warm(): Promise<void> {
    const [x, y] = [newUid(), newUid()];
    await store.proximityFriends(x);
    await store.requestFriend(x, y);
    await store.acceptFriend(y, x);
    await store.setConsent(x, y, { proximity: true, autoAccept: false });
    await store.proximityFriends(x);
    await store.updatePresence(update(x, T0, [y]));
    await store.markNotified(x, y, T0);
  }

  it("reads a turn's friend lists with two script calls: own lists, then the candidates' side", async () => {
    await warm();
    const users = (await pairs()).flat();
    let lists: string[][] = [];
    const counts = await commandsOf(admin, async () => {
      lists = await Promise.all(users.map((u) => store.proximityFriends(u)));
    });
    expect(lists).toEqual(users.map((_, i) => [users[i % 2 === 0 ? i + 1 : i - 1]]));
    expect(counts).toEqual({ script: 2, hgetall: 6, hget: 6 });
  });

  it("runs a turn's presence updates as one script call, and a turn's notified marks as another", async () => {
    await warm();
    const [[a1, b1], [a2, b2], [a3, b3]] = await pairs();
    let met: string[] = [];
    const counts = await commandsOf(admin, async () => {
      const outcomes = await Promise.all([
        store.updatePresence(update(a1, T0, [b1])),
        store.updatePresence(update(b1, T0 + 1, [a1])),
        store.updatePresence(update(a2, T0 + 2, [b2])),
        store.updatePresence(update(b2, T0 + 3, [a2])),
        store.updatePresence(update(a3, T0 + 4, [b3])),
        store.updatePresence(update(b3, T0 + 5, [a3])),
      ]);
      met = outcomes.flatMap((o) => (o.status === 'ok' ? o.met.map((m) => m.friend) : []));
    });
    // Each pair's second update meets the first (one encounter each).
    expect(met).toEqual([a1, a2, a3]);
    // Per update: the slot (GET, SET), the presence (GET, SET), the friend's presence (GET); per
    // encounter, the mark (GET, SET).
    expect(counts).toEqual({ script: 1, get: 6 * 3 + 3, set: 6 * 2 + 3 });
    const marked = await commandsOf(admin, () =>
      Promise.all([
        store.markNotified(a1, b1, T0),
        store.markNotified(a2, b2, T0 + 2),
        store.markNotified(b3, a3, T0 + 4),
      ]),
    );
    expect(marked).toEqual({ script: 1, get: 3, set: 3 });
    const again = await Promise.all([store.updatePresence(update(a1, T0 + MINUTE, [b1]))]);
    expect(again).toEqual([{ status: 'ok', met: [] }]);
  });

  it('stores the centre of the cell with the presence, and nothing finer', async () => {
    const alice = newUid();
    await store.updatePresence(update(alice, T0, []));
    const value = await admin.get(`pb:{${alice}}:pr`);
    const { lat, lng } = placeOf(PARIS);
    expect(value).toBe(`${T0}:${T0 + WINDOW}:${PARIS}:::${lat}:${lng}`);
    expect(await admin.pttl(`pb:{${alice}}:pr`)).toBeLessThanOrEqual(WINDOW);
  });

  it("reads an older relay's presence value without a centre: matched, its jump not checked", async () => {
    const [alice, bob] = [newUid(), newUid()];
    await admin.set(`pb:{${alice}}:pr`, `${T0}:${T0 + WINDOW}:${PARIS}`, 'PX', WINDOW);
    expect(await store.updatePresence(update(bob, T0 + 1, [alice]))).toEqual({
      status: 'ok',
      met: [{ friend: alice, since: T0, until: T0 + WINDOW }],
    });
    // The one value without a centre cannot be checked (one window after an upgrade, at most).
    expect(await store.updatePresence(update(alice, T0 + MINUTE, [], BERLIN))).toEqual({
      status: 'ok',
      met: [],
    });
    expect(await store.updatePresence(update(alice, T0 + 2 * MINUTE, [], PARIS))).toEqual({
      status: 'implausible_move',
    });
  });

  it('answers every update of a turn with the error when the script call fails', async () => {
    const alice = newUid();
    await admin.config('SET', 'maxmemory', '1');
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    try {
      const outcomes = await Promise.allSettled([
        store.updatePresence(update(alice, T0, [])),
        store.updatePresence(update(newUid(), T0, [])),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(await store.updatePresence(update(alice, T0 + 1, []))).toEqual({ status: 'ok', met: [] });
  });
});
