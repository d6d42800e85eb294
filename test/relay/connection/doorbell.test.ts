import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../../../relay/index.js';
import type { Store } from '../../../relay/mailbox/contract.js';
import { createRedisStore } from '../../../relay/mailbox/redis.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { type RedisBackend, redisBackends } from '../../support/redis-backends.js';
import { TEST_DISCOVERY_SECRET } from '../../support/relay-fixture.js';

/*
 * A doorbell is a hint (DESIGN R5). To lose one on purpose, a second store on the same Redis
 * files the entry with `bell: false`: exactly what a send looks like to a relay node whose
 * subscriber was away when the bell was published.
 */

const LIMITS = { mailboxMaxMessages: 100, mailboxMaxBytes: 1 << 20, receiptTtlMs: 60_000 };

// On one Redis and on a Redis Cluster (3 primaries with a replica each: a subscriber per primary).
describe.each(redisBackends())('doorbells are hints, on %s', (_, start) => {
  let redis: RedisBackend;
  let writer: Store;
  const relays: Relay[] = [];

  beforeAll(async () => {
    redis = await start();
    writer = await createRedisStore({ endpoint: redis.endpoint, limits: LIMITS });
  }, 60_000);
  afterAll(async () => {
    for (const relay of relays) await relay.close();
    await writer?.close();
    await redis?.stop();
  });

  async function relayWith(safetyPullMs: number): Promise<Relay> {
    const relay = await startRelay({
      config: { ...redis.config, discoverySecret: TEST_DISCOVERY_SECRET, safetyPullMs },
    });
    relays.push(relay);
    return relay;
  }

  /** Files a message for `to` without ringing its doorbell. */
  async function fileSilently(from: string, to: string, mid: string): Promise<void> {
    const result = await writer.send({
      from,
      to,
      mid,
      body: Buffer.from(mid),
      ttlMs: 60_000,
      receipt: false,
      now: Date.now(),
      bell: false,
    });
    expect(result).toMatchObject({ status: 'stored', dup: false });
  }

  it('hands an online recipient an entry whose doorbell never rang, within the safety pull period', async () => {
    const relay = await relayWith(400);
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const receiver = await RawClient.login(relay.url, bob);
    await receiver.next('drained');
    const filedAt = Date.now();
    await fileSilently(alice.id, bob.id, 'no-bell');
    const msg = await receiver.next('msg');
    expect(msg).toMatchObject({ from: alice.id, mid: 'no-bell' });
    // Bounded by the period (400 ms, plus a tick of the pull's spread), not by a next doorbell that
    // never comes: the bound leaves room for a loaded machine.
    expect(Date.now() - filedAt).toBeLessThan(10_000);
    receiver.send({ t: 'ack', id: msg.id });
    await receiver.close();
  });

  it("re-reads every local mailbox once the subscriber's connection is back", async () => {
    // A safety pull far beyond the test: only the re-read after the reconnect can deliver.
    const relay = await relayWith(600_000);
    const [alice, bob, carol] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
    const rb = await RawClient.login(relay.url, bob);
    const rc = await RawClient.login(relay.url, carol);
    await Promise.all([rb.next('drained'), rc.next('drained')]);
    await fileSilently(alice.id, bob.id, 'lost-bell-1');
    await fileSilently(alice.id, carol.id, 'lost-bell-2');
    // On a cluster, on every primary: the relay's sharded subscribers are one per primary.
    expect(await redis.killPubsub()).toBeGreaterThanOrEqual(1);
    expect(await rb.next('msg')).toMatchObject({ mid: 'lost-bell-1' });
    expect(await rc.next('msg')).toMatchObject({ mid: 'lost-bell-2' });
    // And doorbells ring again afterwards: the relay subscribed anew.
    const ra = await RawClient.login(relays[0]!.url, alice);
    await ra.sendAndWait({ t: 'send', to: bob.id, mid: 'after', body: Buffer.from('after') });
    expect(await rb.next('msg', (f) => f.mid === 'after')).toMatchObject({ from: alice.id });
    await Promise.all([ra.close(), rb.close(), rc.close()]);
  });
});
