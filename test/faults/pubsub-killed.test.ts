import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '../../client-sdk/index.js';
import { createRedisStore, type Store } from '../../relay/index.js';
import { AppClients, AppLedger } from '../support/app-ledger.js';
import { HealthWatch, health, lateProbes, stopHealthWatches } from '../support/healthz.js';
import { expectNoKeysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import { type RedisBackend, redisBackends } from '../support/redis-backends.js';
import { type RelayChild, spawnRelay, stopRelays } from '../support/relay-child.js';
import { sealBytes } from '../support/sealed-sender.js';

/*
 * The relay's subscriber connection killed (CLIENT KILL TYPE pubsub) while recipients stay
 * online. A doorbell published while it is down reaches nobody; the mailbox in Redis is the truth
 * and the doorbell only a hint, so no entry may be stranded (DESIGN R5): once the subscriber is
 * back every local session re-reads its mailbox, and a slow safety pull bounds the wait for an
 * entry whose doorbell never rang at all.
 *
 * PASSBY_SAFETY_PULL_MS: 60000 where the re-read after the reconnect must do the work alone (the
 * pull would come long after these tests' deadlines), 1000 where the pull itself is tested (so
 * its bound fits in a short test).
 *
 * "Another relay node" is a Store in this test process on the same Redis: it writes an entry
 * (and rings, or not) exactly as a node would, at a moment the test chooses.
 *
 * On one Redis and on a Redis Cluster (3 primaries with a replica each), where the subscriber
 * connections are one per primary (sharded pub/sub) and the kill hits every primary at once.
 * One backend per describe block, emptied before each test.
 */
let redis: RedisBackend;
let node: Store;
const apps = new AppClients();
const LIMITS = { mailboxMaxMessages: 10_000, mailboxMaxBytes: 64 * 1024 * 1024, receiptTtlMs: 60_000 };

afterEach(async () => {
  await stopHealthWatches();
  await stopRelays();
  await node?.close();
  await apps.closeAll();
});

async function relayOn(safetyPullMs: number): Promise<RelayChild> {
  const relay = await spawnRelay({
    ...redis.env,
    PASSBY_SAFETY_PULL_MS: String(safetyPullMs),
  });
  expect(await health(relay.port)).toMatchObject({ code: 200, status: 'ok' });
  return relay;
}

/** Files a message from `from` to `to` the way another node would, ringing the doorbell or not. */
async function fileEntry(from: Identity, to: Identity, mid: string, bell: boolean): Promise<void> {
  const body = sealBytes(from, to, mid, new TextEncoder().encode(mid));
  const now = Date.now();
  const result = await node.send({
    from: from.id,
    to: to.id,
    mid,
    body,
    ttlMs: 60_000,
    receipt: false,
    now,
    bell,
  });
  expect(result.status).toBe('stored');
}

const bell = (uid: string) => `pb:{${uid}}:bell`;

/** PUBSUB SHARDNUMSUB on the server (on a cluster, the primary) that holds the channel's slot. */
async function shardNumSub(channel: string): Promise<[string, number]> {
  return (await redis.adminFor(channel).pubsub('SHARDNUMSUB', channel)) as [string, number];
}

/**
 * Kills the subscriber connections, then files the entry while nobody listens on the recipient's
 * doorbell (checked with PUBSUB SHARDNUMSUB; the relay reconnects within ~50 ms, so it tries again
 * when the reconnect won the race). Resolves once a doorbell was certainly lost.
 */
async function fileWithLostDoorbell(from: Identity, to: Identity, mid: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    expect(await redis.killPubsub()).toBeGreaterThan(0);
    const [, listeners] = await shardNumSub(bell(to.id));
    if (listeners === 0) return fileEntry(from, to, mid, true);
    await waitFor(
      'the subscriber back',
      async () => {
        const [, n] = await shardNumSub(bell(to.id));
        return n > 0;
      },
      { timeoutMs: 5000 },
    );
  }
  throw new Error('the relay resubscribed before every attempt to file with its subscriber gone');
}

describe.each(redisBackends())('on %s', (_, start) => {
  beforeAll(async () => {
    redis = await start();
  }, 60_000);
  afterAll(() => redis?.stop());
  beforeEach(async () => {
    await redis.flush();
    node = await createRedisStore({ endpoint: redis.endpoint, limits: LIMITS });
  });

  describe('the subscriber connection killed while the recipient stays online', () => {
    it('delivers an entry whose doorbell rang while the subscriber was gone, without the safety pull', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const relay = await relayOn(60_000);
      const watch = new HealthWatch(relay.port);
      const ledger = new AppLedger();
      await (await apps.connect(relay.url, a)).close(); // Alice's key is known to the relay
      const bob = await apps.connect(relay.url, b);
      ledger.receiveWith(bob);
      await waitFor(
        'Bob subscribed',
        async () => {
          const [, n] = await shardNumSub(bell(b.id));
          return n > 0;
        },
        { timeoutMs: 5000 },
      );

      for (let round = 0; round < 3; round++) {
        await fileWithLostDoorbell(a, b, `lost${round}`);
        ledger.confirm(a.id, `lost${round}`);
        await waitFor(`Bob seeing lost${round}`, () => ledger.lost().length === 0, { timeoutMs: 5000 }).catch(
          () => undefined,
        );
        expect(ledger.lost(), `round ${round}`).toEqual([]);
      }
      expect(ledger.duplicates()).toEqual([]);
      const probes = await watch.stop();
      expect.soft(lateProbes(probes), 'probes over 1 s').toEqual([]);
      expect(await health(relay.port)).toMatchObject({ code: 200, status: 'ok' });
      for (const admin of redis.admins()) await expectNoKeysLeft(admin);
    });

    it('strands nothing of a cross-node stream while the subscriber is killed again and again', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      // Alice on one node, Bob on another: every message reaches Bob's node by its doorbell.
      const [alicesNode, bobsNode] = await Promise.all([relayOn(60_000), relayOn(60_000)]);
      const watch = new HealthWatch(bobsNode.port);
      const ledger = new AppLedger();
      const bob = await apps.connect(bobsNode.url, b);
      const kills: Promise<number>[] = [];
      ledger.receiveWith(bob, () => {
        if (ledger.seen.size % 100 === 0 && kills.length < 5) kills.push(redis.killPubsub());
        return undefined;
      });
      const alice = await apps.connect(alicesNode.url, a);
      const sends = Array.from({ length: 600 }, (_, i) => ledger.send(alice, b.id, `s${i}`, `s${i}`));
      await within('every send confirmed', Promise.all(sends), 20_000);
      expect(ledger.refused).toEqual(new Map());
      await waitFor(
        'Bob seeing every confirmed message',
        () => ledger.lost().length === 0,
        { timeoutMs: 5000 },
        () => `${ledger.lost().length} stranded, e.g. ${ledger.lost().slice(0, 3)}`,
      ).catch(() => undefined);
      expect(ledger.lost()).toEqual([]);
      expect(ledger.duplicates()).toEqual([]);
      // The fault happened: the first kill found both nodes' subscribers (later ones may find a
      // node still reconnecting).
      expect(kills).toHaveLength(5);
      expect((await Promise.all(kills))[0]).toBeGreaterThanOrEqual(2);
      expect.soft(lateProbes(await watch.stop()), 'probes over 1 s').toEqual([]);
      for (const admin of redis.admins()) await expectNoKeysLeft(admin);
    });
  });

  describe('an entry whose doorbell never rang', () => {
    it('reaches its online recipient within the safety pull interval', async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const relay = await relayOn(1000);
      const ledger = new AppLedger();
      await (await apps.connect(relay.url, a)).close();
      await apps.connectDrained(relay.url, b, (bob) => ledger.receiveWith(bob));
      const filed = Date.now();
      await fileEntry(a, b, 'silent', false);
      ledger.confirm(a.id, 'silent');
      // One pull interval, plus a second for the fetch, the delivery and the SDK's decryption.
      await waitFor('Bob seeing the silent entry', () => ledger.lost().length === 0, {
        timeoutMs: 2000,
      }).catch(() => undefined);
      expect(ledger.lost()).toEqual([]);
      expect(Date.now() - filed).toBeLessThan(2000);
      expect(ledger.duplicates()).toEqual([]);
      for (const admin of redis.admins()) await expectNoKeysLeft(admin);
    });
  });
});
