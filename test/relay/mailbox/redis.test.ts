import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  messageEntryId,
  receiptEntryId,
  type SendInput,
  type Store,
} from '../../../relay/mailbox/contract.js';
import { createRedisStore } from '../../../relay/mailbox/redis.js';
import { shardKey } from '../../../relay/redis/index.js';
import { waitFor } from '../../support/poll.js';
import { commandsOf, dumpKeys, dumpText } from '../../support/redis-inspect.js';
import { freePort, type RedisServer, startRedis } from '../../support/redis-server.js';
import { CONTRACT_LIMITS, newUid, storeContract } from './contract.js';
import { devicesContract } from './contract-devices.js';
import { eraseContract } from './contract-erase.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY = 24 * 3600 * 1000;

let redis: RedisServer;
let admin: Redis;
beforeAll(async () => {
  redis = await startRedis();
  admin = redis.client();
});
afterAll(async () => {
  await redis.stop();
});

const make = async (limits = CONTRACT_LIMITS) => {
  await admin.flushall();
  const store = await createRedisStore({ url: redis.url, limits });
  return {
    store,
    close: () => store.close(),
    setLiveMask: async (uid: string, mask: number) => {
      await admin.hset(`pb:{${uid}}:d`, 'm', String(mask));
    },
    dump: () => dumpText(admin),
  };
};
storeContract('redis', make);
devicesContract('redis', make);
eraseContract('redis', make);

describe('redis store', () => {
  let store: Store;
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    await admin.flushall();
    store = await createRedisStore({
      url: redis.url,
      limits: { ...CONTRACT_LIMITS, mailboxMaxMessages: 100 },
    });
    alice = newUid();
    bob = newUid();
    await store.register(alice, 'A'.repeat(43));
    await store.register(bob, 'B'.repeat(43));
  });
  afterEach(async () => {
    await store.close();
  });

  function send(over: Partial<SendInput> = {}) {
    return store.send({
      from: alice,
      to: bob,
      mid: 'm1',
      body: Buffer.from('hello'),
      ttlMs: DAY,
      receipt: false,
      now: T0,
      bell: true,
      ...over,
    });
  }

  /** Fetches and acks everything in each mailbox (receipts filed meanwhile too) until all are empty. */
  async function drain(users: string[], now: number): Promise<number> {
    let acked = 0;
    for (let busy = true; busy; ) {
      busy = false;
      for (const uid of users) {
        const { entries } = await store.fetch(uid, 0, 0, 1000, now);
        for (const entry of entries) {
          expect(await store.ack(uid, 0, entry.id, now)).toEqual({ deleted: true });
          acked++;
          busy = true;
        }
      }
    }
    return acked;
  }

  it('lists in the expiry index only what expires out of send order', async () => {
    const x = `pb:{${bob}}:x`;
    for (const [mid, ttlMs] of [
      ['a', DAY],
      ['b', 2 * DAY],
      ['c', 2 * DAY],
    ] as const)
      await send({ mid, ttlMs });
    expect(await admin.exists(x)).toBe(0);
    await send({ mid: 'short', ttlMs: 1_000 });
    expect(await admin.zrange(x, 0, -1)).toEqual([messageEntryId(alice, 'short')]);
    expect(await store.sweep(T0 + 1_000, 100)).toEqual({ expired: 1, receipts: 0, more: false });
    expect(await store.sweep(T0 + DAY, 100)).toEqual({ expired: 1, receipts: 0, more: false });
    expect((await store.fetch(bob, 0, 0, 10, T0 + DAY)).entries.map((e) => e.id)).toEqual(
      ['b', 'c'].map((mid) => messageEntryId(alice, mid)),
    );
  });

  it('leaves only identity keys, with no message ID or payload byte, once everything is acked or expired', async () => {
    const carol = newUid();
    await store.register(carol, 'C'.repeat(43));
    const users = [alice, bob, carol];
    const marker = 'PAYLOAD-7f3a';
    const mids: string[] = [];
    let n = 0;
    for (const from of users) {
      for (const to of users) {
        for (let i = 0; i < 6; i++) {
          const mid = `secret-mid-${n++}`;
          mids.push(mid);
          const body = Buffer.concat([Buffer.from(marker), Buffer.from([0, 255, n])]);
          const result = await send({
            from,
            to,
            mid,
            body,
            receipt: i % 2 === 0,
            ttlMs: i < 4 ? DAY : 1_000,
          });
          expect(result).toMatchObject({ status: 'stored', dup: false });
        }
      }
    }
    const holds = (keys: Map<string, Buffer[]>, needle: string) =>
      [...keys].some(([key, values]) => key.includes(needle) || values.some((v) => v.includes(needle)));
    const before = await dumpKeys(admin);
    expect(holds(before, marker) && mids.every((mid) => holds(before, mid))).toBe(true);

    const swept = await store.sweep(T0 + 1_000, 1000);
    expect(swept).toEqual({ expired: 18, receipts: 9, more: false });
    expect(await drain(users, T0 + 1_000)).toBe(36 + 18 + 9);

    const after = await dumpKeys(admin);
    // Besides identities, only the sweep's lease: the holding relay's random name, for seconds.
    const lease = [...after.keys()].filter((k) => k.startsWith('pb:sweep:'));
    expect(lease).toHaveLength(1);
    expect([...after.keys()].filter((k) => !lease.includes(k)).sort()).toEqual(
      users.map((uid) => `pb:{${uid}}:pk`).sort(),
    );
    expect(holds(after, marker)).toBe(false);
    expect(mids.filter((mid) => holds(after, mid))).toEqual([]);
  });

  it('keeps its keys under the prefix it was given', async () => {
    const other = await createRedisStore({ url: redis.url, limits: CONTRACT_LIMITS, keyPrefix: 'other:' });
    await admin.flushall();
    await other.register(bob, 'B'.repeat(43));
    await other.send({
      from: alice,
      to: bob,
      mid: 'p',
      body: Buffer.from('x'),
      ttlMs: DAY,
      receipt: false,
      now: T0,
      bell: true,
    });
    const keys = [...(await dumpKeys(admin)).keys()];
    await other.close();
    expect(keys.length).toBeGreaterThan(1);
    expect(keys.every((key) => key.startsWith('other:'))).toBe(true);
  });

  it('sends arguments byte-exact: a non-ASCII prefix, every byte value in a body', async () => {
    const other = await createRedisStore({ url: redis.url, limits: CONTRACT_LIMITS, keyPrefix: 'pré·fix:' });
    await other.register(bob, 'B'.repeat(43));
    const body = Buffer.from(Array.from({ length: 512 }, (_, i) => i & 0xff));
    const results = await Promise.all(
      ['a', 'b'].map((mid) =>
        other.send({ from: alice, to: bob, mid, body, ttlMs: DAY, receipt: false, now: T0, bell: true }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored']);
    const { entries } = await other.fetch(bob, 0, 0, 10, T0);
    expect(entries.map((e) => (e.kind === 'msg' ? Buffer.from(e.body).equals(body) : false))).toEqual([
      true,
      true,
    ]);
    expect((await admin.keys('pré·fix:*')).length).toBeGreaterThan(1);
    expect(await other.ack(bob, 0, messageEntryId(alice, 'a'), T0)).toEqual({ deleted: true });
    await other.close();
  });

  it('keeps a payload in a field of its own beside a header that only counts its bytes, both gone with the last ack', async () => {
    await admin.hset(`pb:{${bob}}:d`, 'm', '3');
    const body = Buffer.alloc(65_536, 0xa7);
    const stored = await send({ mid: 'big', body });
    const id = messageEntryId(alice, 'big');
    const fields = async () => admin.hgetallBuffer(`pb:{${bob}}:e`);
    const before = await fields();
    expect(before[id]?.toString('latin1')).toBe(
      `0${stored.status === 'stored' && stored.seq}:${T0}:${T0 + DAY}:65536`,
    );
    expect(before[`b:${id}`]?.equals(body)).toBe(true);
    expect(before.b?.toString()).toBe('65536');
    // One device of two acks: the payload stays, whole, for the other.
    expect(await store.ack(bob, 0, id, T0)).toEqual({ deleted: true });
    expect((await fields())[`b:${id}`]?.equals(body)).toBe(true);
    expect(await store.ack(bob, 1, id, T0)).toEqual({ deleted: true });
    expect(await admin.exists(`pb:{${bob}}:e`)).toBe(0);
  });

  it('rings doorbells that carry the seq and nothing else', async () => {
    const listener = redis.client();
    await listener.ssubscribe(`pb:{${bob}}:bell`);
    const heard = new Promise<[string, string]>((resolve) =>
      listener.on('smessage', (channel: string, message: string) => resolve([channel, message])),
    );
    const result = await send({ body: Buffer.from('secret') });
    if (result.status !== 'stored') throw new Error(`expected stored, got ${result.status}`);
    expect(await heard).toEqual([`pb:{${bob}}:bell`, `b${result.seq}`]);
    listener.disconnect();
  });

  it('sends again after the server lost its scripts (EVALSHA falls back to EVAL)', async () => {
    await send({ mid: 'before' });
    await admin.script('FLUSH');
    const counts = await commandsOf(admin, () => send({ mid: 'after' }));
    expect(counts).toMatchObject({ script: 2, hmget: 1 });
    expect((await store.fetch(bob, 0, 0, 10, T0)).entries).toHaveLength(2);
  });

  it('keeps no trace of a rejected share: parts, offer and group are gone, only the receipt waits', async () => {
    const secret = Buffer.from('held-part-secret-bytes');
    await send({ mid: 'part-1', offer: 'trip', body: secret });
    await send({ mid: 'part-2', offer: 'trip', body: secret });
    const offered = await store.share({
      from: alice,
      to: bob,
      mid: 'trip',
      preview: Buffer.from('preview-secret'),
      ttlMs: DAY,
      receipt: false,
      parts: 2,
      auto: false,
      now: T0,
    });
    expect(offered.status).toBe('stored');
    expect(await store.answer(bob, messageEntryId(alice, 'trip'), false, T0)).toBe('rejected');
    const keys = await dumpKeys(admin);
    for (const [key, values] of keys) {
      const text = `${key} ${Buffer.concat(values).toString('latin1')}`;
      expect(text).not.toContain('held-part-secret');
      expect(text).not.toContain('preview-secret');
      expect(text).not.toContain('part-1');
      if (key.includes(bob)) expect(key).toMatch(/:pk$/);
    }
    // Alice's receipt names the share, and is all that is left of it.
    expect([...keys.keys()].filter((k) => k.includes(alice) && !k.endsWith(':pk')).length).toBeGreaterThan(0);
  });

  it('sends and acks issued in one event-loop turn as one script call each, with one TIME and one write per structure of a mailbox', async () => {
    await send({ mid: 'waiting' });
    const mids = Array.from({ length: 20 }, (_, i) => `batch-${i}`);
    const stored = await commandsOf(admin, () => Promise.all(mids.map((mid) => send({ mid }))));
    // One ZADD (q): the mailbox was not empty and every exp is in order, so its expiry index
    // entry cannot move (field i).
    expect(stored).toEqual({ script: 1, time: 1, hmget: 1, zadd: 1, hset: 1, spublish: 1 });
    const acked = await commandsOf(admin, () =>
      Promise.all(mids.map((mid) => store.ack(bob, 0, messageEntryId(alice, mid), T0))),
    );
    // One HGET of the live device mask per mailbox (pb:{uid}:d m): whether other devices wait.
    expect(acked).toEqual({ script: 1, hmget: 1, hget: 1, zrem: 2, hdel: 1, hset: 1 });
    const last = await commandsOf(admin, () => store.ack(bob, 0, messageEntryId(alice, 'waiting'), T0));
    expect(last).toEqual({ script: 1, hmget: 1, hget: 1, del: 1, zrem: 1 });
    expect(await store.fetch(bob, 0, 0, 100, T0)).toEqual({ entries: [], last: 0, more: false });
  });

  it('reads, counts and deletes entries an older relay stored with their content inline', async () => {
    const e = `pb:{${bob}}:e`;
    const body = Buffer.concat([Buffer.from([1, 0x3a, 0]), Buffer.alloc(300, 0x37)]);
    const old = messageEntryId(alice, 'old');
    const receipt = receiptEntryId(alice, 'r');
    const exp = T0 + DAY;
    await admin.hset(e, old, Buffer.concat([Buffer.from(`01000:${T0}:${exp}:`), body]));
    await admin.hset(e, receipt, `d1001:${T0}:${exp}:`, 'n', '1', 'b', String(body.length), 'c', '2');
    await admin.hset(e, 's', '1001', 'm', String(exp), 'i', String(exp));
    await admin.zadd(`pb:{${bob}}:q`, 1000, old, 1001, receipt);
    await send({ mid: 'new', body: Buffer.from('fresh') });
    const { entries } = await store.fetch(bob, 0, 0, 10, T0);
    expect(
      entries.map((x) => [x.kind, x.kind === 'msg' ? Buffer.from(x.body).toString('latin1') : '']),
    ).toEqual([
      ['msg', body.toString('latin1')],
      ['receipt', ''],
      ['msg', 'fresh'],
    ]);
    expect(await store.summary(bob, [0], T0)).toMatchObject({
      entries: 3,
      messages: 2,
      bytes: body.length + 5,
    });
    expect(await store.ack(bob, 0, old, T0)).toEqual({ deleted: true });
    expect(await admin.hmget(e, 'n', 'b', 'c')).toEqual(['1', '5', '2']);
    await store.ackAll(bob, 0, [receipt, messageEntryId(alice, 'new')], T0);
    expect(await admin.exists(e)).toBe(0);
  });

  it('splits a turn of large sends into script calls of about 1 MiB of payload each', async () => {
    const roomy = await createRedisStore({
      url: redis.url,
      limits: { ...CONTRACT_LIMITS, mailboxMaxMessages: 100, mailboxMaxBytes: 10_000_000 },
    });
    const body = Buffer.alloc(65_536, 1);
    const mids = Array.from({ length: 40 }, (_, i) => `large-${i}`);
    const input = { from: alice, to: bob, body, ttlMs: DAY, receipt: false, now: T0, bell: true };
    const calls = await commandsOf(admin, async () => {
      const results = await Promise.all(mids.map((mid) => roomy.send({ ...input, mid })));
      expect(results.map((r) => r.status)).toEqual(mids.map(() => 'stored'));
    });
    // 16 bodies of 64 KiB reach 1 MiB: 16 + 16 + 8.
    expect(calls.script).toBe(3);
    const { entries } = await roomy.fetch(bob, 0, 0, 100, T0);
    expect(entries.map((e) => e.kind === 'msg' && e.mid)).toEqual(mids);
    await roomy.close();
  });

  it('runs the commands of a turn once per mailbox, not once per operation', async () => {
    const users = [newUid(), newUid(), newUid()];
    for (const uid of users) await store.register(uid, 'U'.repeat(43));
    const sends = users.flatMap((to) => Array.from({ length: 10 }, (_, i) => ({ to, mid: `t${i}` })));
    const stored = await commandsOf(admin, () => Promise.all(sends.map((s) => send(s))));
    expect(stored).toEqual({ script: 1, time: 1, hmget: 3, exists: 3, zadd: 6, hset: 3, spublish: 3 });
    const acked = await commandsOf(admin, () =>
      Promise.all(sends.map((s) => store.ack(s.to, 0, messageEntryId(alice, s.mid), T0))),
    );
    expect(acked).toEqual({ script: 1, hmget: 3, hget: 3, del: 3, zrem: 3 });
  });

  it('forgets the receipt notes naming a user, as sender or recipient, and keeps the others', async () => {
    const eve = newUid();
    const shard = shardKey('pb:', 'expiry', 0);
    const notes = [
      `r ${eve} ${receiptEntryId(bob, 'a')} d${T0}`,
      `r ${alice} ${receiptEntryId(eve, 'b')} e${T0}`,
      `r ${alice} ${receiptEntryId(bob, 'c')} d${T0}`,
    ];
    for (const note of notes) await admin.zadd(shard, T0 + 30_000, note);
    await store.forget([eve], T0);
    expect(await admin.zrange(shard, 0, -1)).toEqual([notes[2]]);
  });

  it('counts the receipts noted for a user and not filed yet in its summary', async () => {
    const shard = shardKey('pb:', 'expiry', 0);
    await admin.zadd(shard, T0 + 30_000, `r ${alice} ${receiptEntryId(bob, 'a')} d${T0}`);
    expect(await store.summary(alice, [0], T0)).toMatchObject({ entries: 0, receipts: 1 });
  });

  it('acks an entry for one device of two with one script running 3 commands', async () => {
    await admin.hset(`pb:{${bob}}:d`, 'm', '3');
    await send({ mid: 'a' });
    expect(await commandsOf(admin, () => store.ack(bob, 1, messageEntryId(alice, 'a'), T0))).toEqual({
      script: 1,
      hmget: 1,
      hget: 1,
      hset: 1,
    });
  });

  describe('commands per operation (one script call each)', () => {
    it('sends into an empty mailbox with one script running 7 commands', async () => {
      expect(await commandsOf(admin, () => send())).toEqual({
        script: 1,
        time: 1,
        hmget: 1,
        exists: 1,
        zadd: 2,
        hset: 1,
        spublish: 1,
      });
    });

    it('sends into a waiting mailbox without a doorbell with one script running 4 commands', async () => {
      await send({ mid: 'first' });
      expect(await commandsOf(admin, () => send({ bell: false }))).toEqual({
        script: 1,
        time: 1,
        hmget: 1,
        zadd: 1,
        hset: 1,
      });
    });

    it('fetches with one script running 2 commands', async () => {
      await send({ mid: 'a' });
      await send({ mid: 'b' });
      expect(await commandsOf(admin, () => store.fetch(bob, 0, 0, 10, T0))).toEqual({
        script: 1,
        zrangebyscore: 1,
        hmget: 1,
      });
    });

    it('probes many mailboxes with one script running one command each (the safety pull)', async () => {
      await send({ mid: 'a' });
      const probes = [bob, alice, bob].map((uid) => ({ uid, after: 0 }));
      expect(await commandsOf(admin, () => store.newer(probes))).toEqual({ script: 1, zrangebyscore: 3 });
    });

    it('acks an entry that is not the last with one script running 6 commands', async () => {
      // The HGET reads the live device mask: an ack deletes only once every live device acked.
      await send({ mid: 'a' });
      await send({ mid: 'b' });
      expect(await commandsOf(admin, () => store.ack(bob, 0, messageEntryId(alice, 'a'), T0))).toEqual({
        script: 1,
        hmget: 1,
        hget: 1,
        zrem: 2,
        hdel: 1,
        hset: 1,
      });
    });

    it('acks the last entry and files its receipt in two steps: the ack notes it, a second script files it', async () => {
      // The ack (bob's slot): HMGET, HGET (the live device mask), DEL, ZREM (index), ZADD (the note). The receipt (alice's
      // slot): HMGET, EXISTS (alice's mailbox is empty), TIME, ZADD x2, HSET, SPUBLISH. Then the
      // note goes: ZREM.
      await send({ receipt: true });
      expect(await commandsOf(admin, () => store.ack(bob, 0, messageEntryId(alice, 'm1'), T0))).toEqual({
        script: 2,
        time: 1,
        hmget: 2,
        hget: 1,
        exists: 1,
        del: 1,
        zrem: 2,
        zadd: 3,
        hset: 1,
        spublish: 1,
      });
    });
  });
});

describe('redis store start-up', () => {
  it('rejects, and stops trying, when Redis cannot be reached', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const failure = await createRedisStore({ url, limits: CONTRACT_LIMITS }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'store_unavailable', cause: { code: 'ECONNREFUSED' } });
  });
});

describe('redis store with AOF persistence', () => {
  it('keeps a stored message across a Redis restart', async () => {
    const durable = await startRedis({ persistence: true });
    const store = await createRedisStore({ url: durable.url, limits: CONTRACT_LIMITS });
    try {
      const [alice, bob] = [newUid(), newUid()];
      await store.register(bob, 'B'.repeat(43));
      const body = Buffer.from([0, 1, 2, 254, 255]);
      const sent = await store.send({
        from: alice,
        to: bob,
        mid: 'kept',
        body,
        ttlMs: DAY,
        receipt: true,
        now: T0,
        bell: true,
      });
      expect(sent.status).toBe('stored');
      await durable.restart();
      // Commands fail at once while the connection is down (no offline queue): wait for it.
      await waitFor('the store is connected again', () => store.healthy(), { timeoutMs: 10_000 });
      const { entries } = await store.fetch(bob, 0, 0, 10, T0);
      expect(entries).toEqual([
        expect.objectContaining({ id: messageEntryId(alice, 'kept'), body: new Uint8Array(body) }),
      ]);
      expect(await store.publicKeys([bob])).toEqual(['B'.repeat(43)]);
    } finally {
      await store.close();
      await durable.stop();
    }
  });
});
