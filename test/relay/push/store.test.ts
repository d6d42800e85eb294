import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushRegistration } from '../../../protocol/index.js';
import { createMemoryPushStore, createRedisPushStore, type PushStore } from '../../../relay/push/index.js';
import { connectRedis, type RedisClient } from '../../../relay/redis/index.js';
import { type RedisBackend, redisBackends } from '../../support/redis-backends.js';
import { dumpText } from '../../support/redis-inspect.js';

/*
 * The push store's contract (relay/push/contract.ts) on the in-process store, a real redis-server
 * and a real 3-primary Redis Cluster (each call on the user's slot: a call that was not would fail
 * with CROSSSLOT).
 */

let n = 0;
const uid = () => `U${String(n++).padStart(20, '0')}A`;
const web: PushRegistration = {
  kind: 'webpush',
  endpoint: 'https://push.example/abc',
  p256dh: `B${'A'.repeat(86)}`,
  auth: 'A'.repeat(22),
};
const fcm: PushRegistration = { kind: 'fcm', token: 'fcm-token' };
const HOUR = 3_600_000;

interface Fixture {
  store: PushStore;
  /** Every key (and value) naming `text`. */
  traces(text: string): Promise<string[]>;
}

function contract(open: () => Fixture) {
  let f: Fixture;
  beforeAll(() => {
    f = open();
  });

  it('keeps one registration per device, the newest, and lists only kinds', async () => {
    const u = uid();
    await f.store.register(u, 0, web);
    await f.store.register(u, 0, fcm);
    await f.store.register(u, 2, web);
    expect(await f.store.list(u)).toEqual([
      { slot: 0, kind: 'fcm' },
      { slot: 2, kind: 'webpush' },
    ]);
    await f.store.remove(u, 2);
    expect(await f.store.list(u)).toEqual([{ slot: 0, kind: 'fcm' }]);
  });

  it('wakes a device once per coalesce period, again after it connected, never while it is online', async () => {
    const u = uid();
    await f.store.register(u, 0, web);
    const first = await f.store.claim(u, HOUR);
    expect(first.wake.map((w) => [w.slot, w.registration])).toEqual([[0, web]]);
    expect(await f.store.claim(u, HOUR)).toEqual({ wake: [], coalesced: 1 });
    const conn = { uid: u, slot: 0, token: '0.a' };
    await f.store.online([conn], HOUR, true);
    expect(await f.store.claim(u, HOUR)).toEqual({ wake: [], coalesced: 0 });
    await f.store.offline(conn);
    expect((await f.store.claim(u, HOUR)).wake).toHaveLength(1);
  });

  it('lets a newer connection of a device keep it online when the older one leaves or refreshes', async () => {
    const u = uid();
    await f.store.register(u, 0, web);
    const old = { uid: u, slot: 0, token: '0.old' };
    const fresh = { uid: u, slot: 0, token: '0.new' };
    await f.store.online([old], HOUR, true);
    await f.store.online([fresh], HOUR, true);
    await f.store.online([old], HOUR, false);
    await f.store.offline(old);
    expect(await f.store.claim(u, HOUR)).toEqual({ wake: [], coalesced: 0 });
  });

  it('marks no device without a registration, and drops a registration only if unchanged', async () => {
    const u = uid();
    await f.store.online([{ uid: u, slot: 0, token: '0.x' }], HOUR, true);
    expect(await f.traces(u)).toEqual([]);
    await f.store.register(u, 0, web);
    const [woken] = (await f.store.claim(u, HOUR)).wake;
    await f.store.register(u, 0, fcm);
    expect(await f.store.drop(u, 0, woken!.raw)).toBe(false);
    expect(await f.store.list(u)).toEqual([{ slot: 0, kind: 'fcm' }]);
    expect(await f.store.drop(u, 0, JSON.stringify(fcm))).toBe(true);
    expect(await f.store.list(u)).toEqual([]);
  });

  it('forgets every registration and mark of a user', async () => {
    const u = uid();
    await f.store.register(u, 0, web);
    await f.store.register(u, 1, fcm);
    await f.store.online([{ uid: u, slot: 1, token: '1.y' }], HOUR, true);
    await f.store.claim(u, HOUR);
    await f.store.forget(u);
    expect(await f.traces(u)).toEqual([]);
    expect(await f.store.list(u)).toEqual([]);
  });
}

describe('the in-process push store', () => {
  contract(() => {
    const store = createMemoryPushStore();
    return {
      store,
      // Registrations are what it can show; its marks are checked by their effect on claim.
      traces: async (text) => ((await store.list(text)).length > 0 ? [text] : []),
    };
  });
});

describe.each(redisBackends())('the Redis push store on %s', (_, start) => {
  let backend: RedisBackend;
  let client: RedisClient;
  beforeAll(async () => {
    backend = await start();
    client = connectRedis(backend.endpoint, { autoPipelining: true });
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client.quit();
    await backend.stop();
  });
  contract(() => ({
    store: createRedisPushStore(client),
    async traces(text) {
      const found: string[] = [];
      for (const admin of backend.admins())
        for (const [key] of await dumpText(admin)) if (key.includes(text)) found.push(key);
      return found.sort();
    },
  }));
});
