import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '../../client-sdk/index.js';
import { userSlot } from '../../relay/redis/index.js';
import { AppClients, AppLedger } from '../support/app-ledger.js';
import { clusterEnv, pacedSends, primaryClients } from '../support/cluster-stream.js';
import { health } from '../support/healthz.js';
import { expectNoKeysLeft, keysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { spawnRelay, stopRelays } from '../support/relay-child.js';

const run = promisify(execFile);

/*
 * Slots move between the primaries of a Redis Cluster in the middle of a stream
 * (`redis-cli --cluster reshard`), among them the slots of both recipients and of the shard that
 * indexes their expiries: while a slot migrates its keys sit on two nodes and a script over them
 * is answered ASK or TRYAGAIN, which the relay must ride out. Nothing confirmed may be lost or
 * reach the app twice (D2, D4), and an entry filed before the move, with a short TTL, still
 * expires on the slot's new owner: the sweep reads the slots each primary serves now, and the
 * sender gets its `expired` receipt (P5, D6).
 *
 * Two relays: the sender on one, the recipient on the other, so every delivery needs a doorbell
 * (SSUBSCRIBE on the slot's primary) or the safety pull, left at its 30 s default so that a
 * doorbell lost after the move would show as a delay the test does not wait for.
 */
let cluster: RedisCluster | undefined;
const apps = new AppClients();

afterEach(async () => {
  await stopRelays();
  await cluster?.stop();
  cluster = undefined;
  await apps.closeAll();
});

/** Slots moved: redis-cli takes a source's lowest slots first. */
const MOVED_SLOTS = 200;
const COUNT = 500;
/** The short-lived entry's TTL: longer than the move, so it expires on the new owner. */
const TTL_SECONDS = 8;

/** An identity whose slot is below `below` (every user's keys hash to one slot). */
async function identityBelow(below: number): Promise<Identity> {
  for (let i = 0; i < 20_000; i++) {
    const identity = await createIdentity();
    if (userSlot(identity.id) < below) return identity;
  }
  throw new Error(`no identity with a slot below ${below}`);
}

describe('slots moved between cluster primaries mid-stream', () => {
  it("loses and repeats nothing, and an entry filed before the move expires on the slot's new owner", {
    timeout: 60_000,
  }, async () => {
    const c = await startRedisCluster({ primaries: 3, replicas: 0 });
    cluster = c;
    const env = clusterEnv(c, { PASSBY_SWEEP_INTERVAL_MS: '200' });
    const [senderNode, recipientNode] = await Promise.all([spawnRelay(env), spawnRelay(env)]);
    const nodes = await c.topology();
    const source = nodes.find((n) => n.slots.some(([from]) => from === 0))!;
    const target = nodes.find((n) => n.role === 'primary' && n !== source)!;
    // Bob (the stream's recipient) and Carol (offline, the short-lived entry's) in moved slots.
    const [a, b, carol] = [await createIdentity(), await identityBelow(MOVED_SLOTS), await identityBelow(50)];
    const carolKey = `pb:{${carol.id}}:q`;
    const sourceAdmin = c.nodes.find((n) => n.port === source.port)!.client();
    const targetAdmin = c.nodes.find((n) => n.port === target.port)!.client();
    await (await apps.connect(senderNode.url, carol)).close(); // registered, then offline

    const ledger = new AppLedger();
    const alice = await apps.connect(senderNode.url, a);
    // The receipt's `at` (relay time of the expiry) and when it reached Alice.
    const expired = new Promise<{ at: number; arrived: number }>((resolve) =>
      alice.on('receipt', (r) => {
        if (r.to === carol.id && r.mid === 'short' && r.status === 'expired')
          resolve({ at: r.at, arrived: Date.now() });
      }),
    );
    const filedAt = Date.now();
    const { exp } = await alice.send(carol.id, 'gone soon', {
      mid: 'short',
      ttlSeconds: TTL_SECONDS,
      receipt: true,
    });
    expect(await sourceAdmin.exists(carolKey)).toBe(1);

    const bob = await apps.connect(recipientNode.url, b);
    let reshard: Promise<unknown> | undefined;
    let movedAt = 0;
    ledger.receiveWith(bob, () => {
      if (ledger.seen.size === 100 && reshard === undefined) {
        reshard = run('redis-cli', [
          '--cluster',
          'reshard',
          `127.0.0.1:${source.port}`,
          '--cluster-from',
          source.id,
          '--cluster-to',
          target.id,
          '--cluster-slots',
          String(MOVED_SLOTS),
          '--cluster-yes',
        ]).then(() => {
          movedAt = Date.now();
        });
      }
      return undefined;
    });
    // 100 a second for 5 s: the move (about a second) lands in the middle.
    const streaming = pacedSends(ledger, alice, b.id, { count: COUNT, perTick: 2, tickMs: 20 });
    await waitFor('the reshard to start', () => reshard !== undefined, { timeoutMs: 10_000 });
    await within('the reshard', reshard!, 30_000);
    const confirmedAtMove = ledger.confirmed.size;
    expect((await c.primaryOf(userSlot(b.id))).port).toBe(target.port);
    expect((await c.primaryOf(userSlot(carol.id))).port).toBe(target.port);
    // The entry moved before it was due: it is on the new owner now, not on the old one.
    expect(movedAt).toBeLessThan(exp);
    expect(await targetAdmin.exists(carolKey)).toBe(1);
    await expect(sourceAdmin.exists(carolKey)).rejects.toThrow(/^MOVED /);

    await within('every send answered', Promise.all(await streaming), 20_000);
    await waitFor(
      'Bob seeing every confirmed message',
      () => ledger.lost().length === 0,
      { timeoutMs: 10_000 },
      () => `${ledger.lost().length} missing`,
    ).catch(() => undefined);
    expect(ledger.refused).toEqual(new Map());
    expect(ledger.confirmed.size).toBe(COUNT);
    expect(confirmedAtMove).toBeLessThan(COUNT);
    expect(ledger.lost()).toEqual([]);
    expect(ledger.duplicates()).toEqual([]);

    // Expired on the new owner, within the sweep's margin, and the sender told.
    const receipt = await within('the expired receipt', expired, (TTL_SECONDS + 5) * 1000);
    console.info(
      `reshard: ${MOVED_SLOTS} slots moved ${movedAt - filedAt} ms after the short entry was filed ` +
        `(due ${exp - filedAt} ms after); its expired receipt reached the sender ${receipt.arrived - exp} ms ` +
        `after it was due; ${confirmedAtMove} of ${COUNT} confirmed when the move ended`,
    );
    // Not early (P5 is "at the latest"; the relay never drops an entry before its exp), and within
    // a few sweep intervals and the receipt's way.
    expect(receipt.at).toBeGreaterThanOrEqual(exp);
    expect(receipt.arrived - exp).toBeLessThan(2_000);
    expect(await targetAdmin.exists(carolKey)).toBe(0);
    const primaries = await primaryClients(c);
    await waitFor(
      'every mailbox emptied',
      async () => (await Promise.all(primaries.map(keysLeft))).every((left) => left.length === 0),
      { timeoutMs: 10_000, intervalMs: 100 },
    ).catch(() => undefined);
    for (const admin of primaries) await expectNoKeysLeft(admin, 100);
    for (const node of [senderNode, recipientNode])
      expect(await health(node.port)).toMatchObject({ code: 200, status: 'ok' });
  });
});
