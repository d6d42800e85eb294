import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageEntryId, receiptEntryId, type Store } from '../../../relay/mailbox/contract.js';
import { createRedisStore, type RedisStoreOptions } from '../../../relay/mailbox/redis.js';
import { shardKey, userSlot } from '../../../relay/redis/index.js';
import { waitFor } from '../../support/poll.js';
import { type RedisCluster, startRedisCluster } from '../../support/redis-cluster.js';
import { dumpText } from '../../support/redis-inspect.js';
import { CONTRACT_LIMITS, newUid, storeContract } from './contract.js';
import { devicesContract } from './contract-devices.js';
import { eraseContract } from './contract-erase.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY = 24 * 3600 * 1000;

/*
 * The mailbox on a real Redis Cluster: 3 primaries with a replica each (redis-server processes
 * with --cluster-enabled, joined by redis-cli --cluster create, on free loopback ports). Every
 * script call must touch one slot: a call that did not would fail with CROSSSLOT, and one routed
 * to the wrong node with MOVED past the redirections ioredis follows.
 */

let cluster: RedisCluster;
let admin: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicas: 1 });
  admin = cluster.client();
  // Until its first slot map, a Cluster client takes every seed node for a primary.
  if (admin.status !== 'ready') await new Promise((resolve) => admin.once('ready', resolve));
}, 60_000);
afterAll(async () => {
  await cluster.stop();
});

async function flush(): Promise<void> {
  await Promise.all(admin.nodes('master').map((node) => node.flushall()));
}

function open(over: Partial<RedisStoreOptions> = {}): Promise<Store> {
  return createRedisStore({
    endpoint: { urls: cluster.seeds.split(',').map((s) => `redis://${s}`), cluster: true },
    limits: CONTRACT_LIMITS,
    ...over,
  });
}

/** Every key of every primary with its values as text. */
async function dumpAll(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const node of admin.nodes('master')) for (const [k, v] of await dumpText(node)) out.set(k, v);
  return out;
}

const make = async (limits = CONTRACT_LIMITS) => {
  await flush();
  const store = await open({ limits });
  return {
    store,
    close: () => store.close(),
    setLiveMask: async (uid: string, mask: number) => {
      await admin.hset(`pb:{${uid}}:d`, 'm', String(mask));
    },
    dump: dumpAll,
  };
};
storeContract('redis cluster', make);
devicesContract('redis cluster', make);
eraseContract('redis cluster', make);

/** Users until their keys land on `count` different slots served by different primaries. */
function usersOnDistinctSlots(count: number): string[] {
  const nodes = new Map<string, string>();
  while (nodes.size < count) {
    const uid = newUid();
    const node = admin.slots[userSlot(uid)]?.[0];
    if (node !== undefined && !nodes.has(node)) nodes.set(node, uid);
  }
  return [...nodes.values()];
}

describe('redis cluster mailbox', () => {
  it('delivers a turn of sends to users on every primary, one script call per slot, and acks them', async () => {
    await flush();
    const store = await open();
    try {
      const [alice, ...others] = usersOnDistinctSlots(3);
      for (const uid of [alice!, ...others]) await store.register(uid, 'K'.repeat(43));
      const results = await Promise.all(
        others.flatMap((to) =>
          ['a', 'b'].map((mid) =>
            store.send({
              from: alice!,
              to,
              mid,
              body: Buffer.from(mid),
              ttlMs: DAY,
              receipt: true,
              now: T0,
              bell: false,
            }),
          ),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'stored']);
      for (const to of others) {
        const { entries } = await store.fetch(to, 0, 0, 10, T0);
        expect(entries.map((e) => e.id)).toEqual([messageEntryId(alice!, 'a'), messageEntryId(alice!, 'b')]);
        const acked = await store.ackAll(
          to,
          0,
          entries.map((e) => e.id),
          T0,
        );
        expect(acked).toEqual([{ deleted: true }, { deleted: true }]);
      }
      // The receipts crossed slots (the second step) into alice's mailbox, on another primary.
      const receipts = (await store.fetch(alice!, 0, 0, 10, T0)).entries.map((e) => e.id).sort();
      expect(receipts).toEqual(
        others.flatMap((to) => ['a', 'b'].map((mid) => receiptEntryId(to, mid))).sort(),
      );
    } finally {
      await store.close();
    }
  });

  it('files a receipt whose second step a relay never ran, once its note is due', async () => {
    await flush();
    const store = await open();
    try {
      const [alice, bob] = usersOnDistinctSlots(2);
      await store.register(alice!, 'A'.repeat(43));
      await store.register(bob!, 'B'.repeat(43));
      // What ack.lua leaves in bob's shard before the relay files the receipt in alice's slot.
      const shard = shardKey('pb:', 'expiry', userSlot(bob!));
      const note = `r ${alice} ${receiptEntryId(bob!, 'lost')} d${T0}`;
      await admin.zadd(shard, T0 + 30_000, note);
      expect(await store.sweep(T0 + 29_999, 100)).toEqual({ expired: 0, receipts: 0, more: false });
      expect(await store.sweep(T0 + 30_000, 100)).toEqual({ expired: 0, receipts: 1, more: false });
      expect((await store.fetch(alice!, 0, 0, 10, T0)).entries).toMatchObject([
        { kind: 'receipt', id: receiptEntryId(bob!, 'lost'), status: 'delivered', at: T0 },
      ]);
      expect(await admin.zscore(shard, note)).toBeNull();
      // Filing it again (a note left twice) files nothing new.
      await admin.zadd(shard, T0 + 30_000, note);
      expect(await store.sweep(T0 + 30_000, 100)).toEqual({ expired: 0, receipts: 0, more: false });
      expect((await store.fetch(alice!, 0, 0, 10, T0)).entries).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('sweeps every primary, and one relay at a time: another takes over when the holder is gone', async () => {
    await flush();
    const first = await open({ sweepLeaseMs: 400 });
    const second = await open({ sweepLeaseMs: 400 });
    try {
      const [alice, ...others] = usersOnDistinctSlots(3);
      for (const uid of [alice!, ...others]) await first.register(uid, 'K'.repeat(43));
      const sendAll = (mid: string) =>
        Promise.all(
          others.map((to) =>
            first.send({
              from: alice!,
              to,
              mid,
              body: Buffer.from('x'),
              ttlMs: 1_000,
              receipt: false,
              now: T0,
              bell: false,
            }),
          ),
        );
      await sendAll('one');
      expect(await first.sweep(T0 + 1_000, 100)).toMatchObject({ expired: 2 });
      await sendAll('two');
      // The first holds every node's lease: the second sweeps nothing meanwhile.
      expect(await second.sweep(T0 + 1_000, 100)).toMatchObject({ expired: 0 });
      // The first goes without a word (its leases stay until they run out), the second takes over.
      await first.close();
      let expired = 0;
      await waitFor(
        'the second relay to take the leases over',
        async () => {
          expired += (await second.sweep(T0 + 1_000, 100)).expired;
          return expired === 2;
        },
        { timeoutMs: 10_000 },
      );
      for (const to of others) expect((await second.fetch(to, 0, 0, 10, T0 + 1_000)).entries).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('forgets the receipt notes naming a user in the shards of every primary', async () => {
    await flush();
    const store = await open();
    try {
      const [alice, bob, eve] = usersOnDistinctSlots(3);
      const shards = [shardKey('pb:', 'expiry', userSlot(bob!)), shardKey('pb:', 'expiry', userSlot(alice!))];
      const named = [
        `r ${eve} ${receiptEntryId(bob!, 'a')} d${T0}`,
        `r ${alice} ${receiptEntryId(eve!, 'b')} e${T0}`,
      ];
      const kept = `r ${bob} ${receiptEntryId(alice!, 'c')} d${T0}`;
      await admin.zadd(shards[0]!, T0, named[0]!);
      await admin.zadd(shards[1]!, T0, named[1]!, T0, kept);
      await store.forget([eve!], T0);
      expect([await admin.zrange(shards[0]!, 0, -1), await admin.zrange(shards[1]!, 0, -1)]).toEqual([
        [],
        [kept],
      ]);
    } finally {
      await store.close();
    }
  });

  it('confirms a send only once the replicas asked for have it (WAIT)', async () => {
    await flush();
    const one = await open({ waitReplicas: 1, waitTimeoutMs: 2_000 });
    const two = await open({ waitReplicas: 2, waitTimeoutMs: 200 });
    try {
      const [alice, bob] = usersOnDistinctSlots(2);
      await one.register(alice!, 'A'.repeat(43));
      await one.register(bob!, 'B'.repeat(43));
      const input = {
        from: alice!,
        to: bob!,
        body: Buffer.from('x'),
        ttlMs: DAY,
        receipt: false,
        now: T0,
        bell: false,
      };
      expect(await one.send({ ...input, mid: 'confirmed' })).toMatchObject({ status: 'stored', dup: false });
      // Each primary has one replica: two never confirm, so the send is not confirmed...
      await expect(two.send({ ...input, mid: 'unconfirmed' })).rejects.toMatchObject({
        code: 'store_unavailable',
      });
      // ...though the primary has it: the client's retry is a dup, not a second copy.
      expect(await one.send({ ...input, mid: 'unconfirmed' })).toMatchObject({ status: 'stored', dup: true });
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('rings the doorbell of a user on any primary through sharded pub/sub', async () => {
    await flush();
    const writer = await open();
    const reader = await open();
    try {
      const users = usersOnDistinctSlots(3);
      for (const uid of users) await writer.register(uid, 'K'.repeat(43));
      const heard = new Map<string, number>();
      reader.onSignal((uid, signal) => {
        if (signal.type === 'bell') heard.set(uid, signal.seq);
      });
      for (const uid of users) await reader.watch(uid);
      const sent = await Promise.all(
        users.map((to) =>
          writer.send({
            from: users[0]!,
            to,
            mid: 'ding',
            body: Buffer.from('x'),
            ttlMs: DAY,
            receipt: false,
            now: T0,
            bell: true,
          }),
        ),
      );
      await waitFor('a doorbell for every user', async () => heard.size === users.length, {
        timeoutMs: 5_000,
      });
      expect(users.map((uid) => heard.get(uid))).toEqual(
        sent.map((r) => (r.status === 'stored' ? r.seq : -1)),
      );
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});
