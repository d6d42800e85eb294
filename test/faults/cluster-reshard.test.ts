import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '../../client-sdk/index.js';
import { SUBSCRIBER_SLOTS_REFRESH_MS, userSlot } from '../../relay/redis/index.js';
import { AppClients, AppLedger } from '../support/app-ledger.js';
import { clusterEnv, clusterPerTest, pacedSends, primaryClients } from '../support/cluster-stream.js';
import { health } from '../support/healthz.js';
import { expectNoKeysLeft, keysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import type { ClusterNode } from '../support/redis-cluster.js';
import { spawnRelay } from '../support/relay-child.js';

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
 *
 * redis-cli moves a source's lowest slots, and the relay's lease call for that node is routed by
 * the node's lowest slot, so it meets a MOVED and refreshes the relay's slot table by chance. The
 * second case moves slots from the middle of a range, by hand, while nothing runs, so only the
 * relay's own handling of a stale slot table can find them.
 */
const apps = new AppClients();
const startCluster = clusterPerTest(apps);

/** Slots moved: redis-cli takes a source's lowest slots first. */
const MOVED_SLOTS = 200;
const COUNT = 500;
/** The short-lived entry's TTL: longer than the move, so it expires on the new owner. */
const TTL_SECONDS = 8;

/** `redis-cli --cluster reshard` of `slots` slots (the source's lowest) from `source` to `target`. */
async function moveSlots(source: ClusterNode, target: ClusterNode, slots: number): Promise<void> {
  await run('redis-cli', [
    '--cluster',
    'reshard',
    `127.0.0.1:${source.port}`,
    '--cluster-from',
    source.id,
    '--cluster-to',
    target.id,
    '--cluster-slots',
    String(slots),
    '--cluster-yes',
  ]);
}

/** The redirections the primaries answered (INFO errorstats: MOVED, ASK, TRYAGAIN), summed. */
async function redirections(primaries: readonly Redis[]): Promise<Record<string, number>> {
  const out: Record<string, number> = { MOVED: 0, ASK: 0, TRYAGAIN: 0 };
  for (const admin of primaries) {
    for (const [, name, count] of String(await admin.info('errorstats')).matchAll(
      /^errorstat_(\w+):count=(\d+)/gm,
    )) {
      if (name !== undefined && Object.hasOwn(out, name)) out[name]! += Number(count);
    }
  }
  return out;
}

/** An identity whose slot is in [from, to]. */
async function identityIn(from: number, to: number): Promise<Identity> {
  for (let i = 0; i < 20_000; i++) {
    const identity = await createIdentity();
    const slot = userSlot(identity.id);
    if (from <= slot && slot <= to) return identity;
  }
  throw new Error(`no identity with a slot in ${from}-${to}`);
}

/** An identity whose slot is below `below` (every user's keys hash to one slot). */
async function identityBelow(below: number): Promise<Identity> {
  for (let i = 0; i < 20_000; i++) {
    const identity = await createIdentity();
    if (userSlot(identity.id) < below) return identity;
  }
  throw new Error(`no identity with a slot below ${below}`);
}

/**
 * A 3-primary cluster with two relays on it; `source` serves slot 0 (the slots both cases move
 * from), `target` is another primary.
 */
async function twoRelaysOnCluster() {
  const c = await startCluster({ primaries: 3, replicas: 0 });
  // Each sweep reads every shard again (PASSBY_SWEEP_REFRESH_MS): the bounds below are the sweep's.
  const env = clusterEnv(c, { PASSBY_SWEEP_INTERVAL_MS: '200', PASSBY_SWEEP_REFRESH_MS: '200' });
  const [senderNode, recipientNode] = await Promise.all([spawnRelay(env), spawnRelay(env)]);
  const nodes = await c.topology();
  const source = nodes.find((n) => n.slots.some(([from]) => from === 0))!;
  const target = nodes.find((n) => n.role === 'primary' && n !== source)!;
  return { c, senderNode, recipientNode, source, target };
}

describe('slots moved between cluster primaries mid-stream', () => {
  it("loses and repeats nothing, and an entry filed before the move expires on the slot's new owner", {
    timeout: 60_000,
  }, async () => {
    const { c, senderNode, recipientNode, source, target } = await twoRelaysOnCluster();
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
        reshard = moveSlots(source, target, MOVED_SLOTS).then(() => {
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
    // a few sweep ticks and the receipt's way.
    expect(receipt.at).toBeGreaterThanOrEqual(exp);
    expect(receipt.arrived - exp).toBeLessThan(3_000);
    expect(await targetAdmin.exists(carolKey)).toBe(0);
    const primaries = await primaryClients(c);
    // The redirections the relays rode out (the test's own MOVED check above is one of them).
    console.info(
      `reshard: redirections answered by the primaries ${JSON.stringify(await redirections(primaries))}`,
    );
    await waitFor(
      'every mailbox emptied',
      async () => (await Promise.all(primaries.map(keysLeft))).every((left) => left.length === 0),
      { timeoutMs: 10_000, intervalMs: 100 },
    ).catch(() => undefined);
    for (const admin of primaries) await expectNoKeysLeft(admin, 100);
    for (const node of [senderNode, recipientNode])
      expect(await health(node.port)).toMatchObject({ code: 200, status: 'ok' });
  });

  it("expires entries on both sides of a move nobody's traffic crossed, and hears the moved slots' doorbells", {
    timeout: 60_000,
  }, async () => {
    // Slots from the middle of a primary's range, moved while the relays are idle: no command of
    // theirs meets a MOVED, so their slot tables stay stale until something refreshes them.
    const { c, senderNode, recipientNode, source, target } = await twoRelaysOnCluster();
    const moved = Array.from({ length: 50 }, (_, i) => 100 + i);
    // Carol (offline) in a moved slot, Dave (offline) in a slot that stays; Bob online, moved.
    const carol = await identityIn(100, 149);
    const dave = await identityIn(200, source.slots[0]![1]);
    const b = await identityIn(100, 149);
    for (const who of [carol, dave]) await (await apps.connect(senderNode.url, who)).close();
    const ledger = new AppLedger();
    const bob = await apps.connectDrained(recipientNode.url, b, (client) => ledger.receiveWith(client));
    const alice = await apps.connect(senderNode.url, await createIdentity());
    const expired = new Map<string, number>();
    alice.on('receipt', (r) => {
      if (r.status === 'expired') expired.set(r.to, Date.now());
    });
    const sent = await Promise.all(
      [carol, dave].map((who, i) =>
        alice.send(who.id, 'short', { mid: `short${i}`, ttlSeconds: 3, receipt: true }),
      ),
    );
    await c.moveSlots(moved, source, target);
    const movedAt = Date.now();
    expect((await c.primaryOf(userSlot(carol.id))).port).toBe(target.port);
    expect((await c.primaryOf(userSlot(dave.id))).port).toBe(source.port);
    expect(movedAt).toBeLessThan(Math.min(...sent.map((s) => s.exp)));

    await waitFor(
      'both entries expired, the sender told',
      () => expired.size === 2,
      { timeoutMs: 8_000 },
      () =>
        `expired: ${[...expired.keys()].map((id) => (id === carol.id ? 'carol' : 'dave')).join(', ') || 'none'}`,
    );
    const late = Math.max(...sent.map((s) => expired.get(s.to)! - s.exp));
    // A doorbell of a moved slot, with the safety pull 30 s away: the recipient's relay must
    // listen on the slot's new owner.
    const rungAt = Date.now();
    await ledger.send(alice, b.id, 'after the move', 'after');
    await waitFor('Bob seeing the message sent after the move', () => ledger.seen.has(`${alice.id}/after`), {
      timeoutMs: SUBSCRIBER_SLOTS_REFRESH_MS + 3_000,
    });
    console.info(
      `idle move: entries expired at most ${late} ms after due; a doorbell of a moved slot heard ` +
        `${Date.now() - rungAt} ms after its send`,
    );
    // The first sweep after the move re-reads the slot table, the next visits the moved slots:
    // a few sweep ticks (each probes every slot's shards), on two shared cores.
    expect(late).toBeLessThan(3_000);
    expect(ledger.duplicates()).toEqual([]);
    expect(bob.state.kind).toBe('open');
  });
});
