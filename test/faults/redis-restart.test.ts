import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity } from '../../client-sdk/index.js';
import { AppClients, AppLedger } from '../support/app-ledger.js';
import { HealthWatch, health, healthBecomes, lateProbes, stopHealthWatches } from '../support/healthz.js';
import { expectNoKeysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import { type RedisBackend, redisBackends } from '../support/redis-backends.js';
import { type RelayChild, spawnRelay, stopRelays } from '../support/relay-child.js';

/*
 * Redis killed (SIGKILL, no save) under a live stream and started again on its AOF (fsync
 * always). What was confirmed before the kill survives it, whether its recipient was offline
 * (a backlog in Redis) or online (deliveries and acks under way); sends made while Redis is down
 * are refused as store_unavailable, retried by the SDK and stored once it is back; /healthz says
 * 503 while Redis is down and 200 again within about a second of its return (DESIGN D4, R4, R5).
 *
 * PASSBY_REDIS_COMMAND_TIMEOUT_MS=1000: a command waiting on the dead Redis fails after a second
 * rather than the default two, so the refusals (and the SDK's retries) come sooner. No safety
 * pull is shortened: after the subscriber connection comes back the relay must re-read every
 * local mailbox itself, and the default 30 s pull is beyond this test's deadlines.
 *
 * On a Redis Cluster (3 primaries with a replica each, AOF on every node) the node killed is the
 * primary of Carol's mailbox, started again well within cluster-node-timeout (15 s), so it comes
 * back as the same primary rather than being failed over (failover is test/faults/cluster-*). The
 * other primaries keep serving meanwhile, so /healthz need not say 503 there: only the standalone
 * case asserts it; on both it must be ok again soon after the restart, and no probe may be slow.
 */
const apps = new AppClients();

afterEach(async () => {
  await stopHealthWatches();
  await apps.closeAll();
  await stopRelays();
});

describe.each(redisBackends())('Redis restarted with AOF under a live stream, on %s', (_, start) => {
  let redis: RedisBackend;
  beforeAll(async () => {
    redis = await start({ persistence: true });
  }, 60_000);
  afterAll(() => redis?.stop());

  it('loses no confirmed message, online or offline, and shows none twice', async () => {
    const [a, b, c] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]);
    const relay: RelayChild = await spawnRelay({
      ...redis.env,
      PASSBY_REDIS_COMMAND_TIMEOUT_MS: '1000',
    });
    expect(await health(relay.port)).toMatchObject({ code: 200, status: 'ok' });
    const ledger = new AppLedger();

    // Bob is offline: 100 confirmed messages wait for him in Redis when it is killed.
    await (await apps.connect(relay.url, b)).close();
    const alice = await apps.connect(relay.url, a);
    await within(
      'the backlog confirmed',
      Promise.all(Array.from({ length: 100 }, (_, i) => ledger.send(alice, b.id, `b${i}`, `b${i}`))),
      10_000,
    );
    expect(ledger.confirmed.size).toBe(100);

    // Carol is online: Redis dies from inside her app's handler of the 100th message.
    const carol = await apps.connect(relay.url, c);
    // The one server, or the primary that holds Carol's mailbox.
    const victim = redis.serverFor(`pb:{${c.id}}:e`);
    let crashed: Promise<void> | undefined;
    ledger.receiveWith(carol, () => {
      if (ledger.seen.size === 100 && crashed === undefined) crashed = victim.crash();
      return undefined;
    });
    const sends = Array.from({ length: 300 }, (_, i) => ledger.send(alice, c.id, `c${i}`, `c${i}`));
    await waitFor('the crash', () => crashed !== undefined, { timeoutMs: 10_000 });
    await crashed;

    const watch = new HealthWatch(relay.port);
    // Soft: a /healthz that lies still lets the rest of the fault show what it does.
    const down = redis.cluster ? [] : await healthBecomes(relay.port, 'unavailable', 3000);
    if (!redis.cluster)
      expect
        .soft(down.at(-1), '/healthz while Redis is down')
        .toMatchObject({ code: 503, status: 'unavailable' });
    await victim.start();
    const back = Date.now();
    const up = await healthBecomes(relay.port, 'ok', 2000);
    expect.soft(up.at(-1), '/healthz once Redis is back').toMatchObject({ code: 200, status: 'ok' });
    expect.soft(Date.now() - back, 'ms from the restart to /healthz ok').toBeLessThan(2000);
    const probes = await watch.stop();
    expect.soft(lateProbes([...probes, ...down, ...up]), 'probes over 1 s').toEqual([]);

    await within('every send confirmed', Promise.all(sends), 20_000);
    const toCarol = () => ledger.lost().filter((key) => key.startsWith(`${a.id}/c`));
    await waitFor(
      'Carol seeing every confirmed message',
      () => toCarol().length === 0,
      { timeoutMs: 15_000 },
      () => `${toCarol().length} missing, e.g. ${toCarol().slice(0, 3)}`,
    );
    await apps.connectDrained(relay.url, b, (bob) => ledger.receiveWith(bob));

    expect(ledger.refused).toEqual(new Map());
    expect(ledger.confirmed.size).toBe(400);
    expect(ledger.lost()).toEqual([]);
    expect(ledger.duplicates()).toEqual([]);
    for (const admin of redis.admins()) await expectNoKeysLeft(admin);
  });
});
