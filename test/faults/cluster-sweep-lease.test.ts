import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '../../client-sdk/index.js';
import { userSlot } from '../../relay/redis/index.js';
import { AppClients } from '../support/app-ledger.js';
import { clusterEnv, clusterPerTest, primaryClients } from '../support/cluster-stream.js';
import { health } from '../support/healthz.js';
import { expectNoKeysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import type { RedisCluster } from '../support/redis-cluster.js';
import { type RelayChild, spawnRelay } from '../support/relay-child.js';

/*
 * Two relays on a Redis Cluster; one relay at a time sweeps each primary, under a lease
 * (`pb:sweep:{tag}:<node>`, its value the holder, `<pid>:<random>`). The relay holding leases is
 * SIGKILLed just after entries with a 1 s TTL were filed on the primaries it sweeps: it cannot
 * release them, so they run out (sweepLeaseMs = max(5 x PASSBY_SWEEP_INTERVAL_MS,
 * 2 x PASSBY_REDIS_COMMAND_TIMEOUT_MS), 2 s here), the survivor takes them over and the entries
 * still expire once the lease has run out (the bound is taken from the kill), with the sender
 * told (P5, D6).
 */
const apps = new AppClients();
const startCluster = clusterPerTest(apps);

const SWEEP_INTERVAL_MS = 200;
const COMMAND_TIMEOUT_MS = 1_000;
const LEASE_MS = Math.max(5 * SWEEP_INTERVAL_MS, 2 * COMMAND_TIMEOUT_MS);
/** Due while the dead holder's lease still stands: the entries wait for it to run out. */
const TTL_SECONDS = 1;

interface Lease {
  admin: Redis;
  port: number;
  key: string;
  holder: string;
}

/** The sweep leases on each primary now, with their holders. */
async function leasesOn(primaries: readonly Redis[]): Promise<Lease[]> {
  const out: Lease[] = [];
  for (const admin of primaries) {
    for (const key of await admin.keys('pb:sweep:*')) {
      const holder = await admin.get(key);
      if (holder !== null) out.push({ admin, port: admin.options.port!, key, holder });
    }
  }
  return out;
}

const pidOf = (holder: string) => Number(holder.split(':')[0]);

describe("the sweep's leases on a Redis Cluster", () => {
  it('pass to the surviving relay when their holder is SIGKILLed, and entries still expire', {
    timeout: 60_000,
  }, async () => {
    const c = await startCluster({ primaries: 3, replicas: 0 });
    const env = clusterEnv(c, {
      PASSBY_SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
      PASSBY_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    });
    const relays = await Promise.all([spawnRelay(env), spawnRelay(env)]);
    const primaries = await primaryClients(c);
    // Every primary's lease taken (by either relay: they race for each one).
    const leases = await waitFor(
      'a sweep lease on every primary',
      async () => {
        const found = await leasesOn(primaries);
        return new Set(found.map((l) => l.port)).size === primaries.length && found;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const victim = relays.find((r) => r.process.pid === pidOf(leases[0]!.holder))!;
    const survivor = relays.find((r) => r !== victim)!;
    const swept = leases.filter((l) => pidOf(l.holder) === victim.process.pid);
    const victimPorts = new Set(swept.map((l) => l.port));

    // One offline recipient per primary the victim sweeps, registered then gone.
    const recipients: Identity[] = [];
    for (const port of victimPorts) recipients.push(await identityOn(c, port));
    for (const r of recipients) await (await apps.connect(survivor.url, r)).close();
    const alice = await apps.connect(survivor.url, await createIdentity());
    const expired = new Map<string, number>();
    alice.on('receipt', (r) => {
      if (r.status === 'expired') expired.set(r.to, Date.now());
    });
    const sent = await Promise.all(
      recipients.map((r, i) =>
        alice.send(r.id, 'short', { mid: `short${i}`, ttlSeconds: TTL_SECONDS, receipt: true }),
      ),
    );
    const filedAt = Date.now();
    const killedAt = Date.now();
    await kill(victim);
    // Killed before anything it sweeps was due: the entries wait for the survivor.
    expect(killedAt).toBeLessThan(Math.min(...sent.map((s) => s.exp)));

    await waitFor(
      'an expired receipt for every entry',
      () => expired.size === recipients.length,
      { timeoutMs: TTL_SECONDS * 1000 + LEASE_MS + 5_000 },
      () => `${expired.size} of ${recipients.length}`,
    );
    // How long after its exp each entry's receipt reached the sender, the latest.
    const late = Math.max(...sent.map((s) => expired.get(s.to)! - s.exp));
    const lastArrival = Math.max(...expired.values());
    console.info(
      `sweep lease: holder killed ${killedAt - filedAt} ms after filing; ${recipients.length} entries ` +
        `expired at most ${late} ms after they were due, the last receipt ${lastArrival - killedAt} ms ` +
        `after the kill (lease ${LEASE_MS} ms)`,
    );
    // Once the dead holder's lease ran out (at the latest LEASE_MS after the kill), within a
    // margin for the survivor's next sweep (it probes every slot of the node), the receipt's
    // filing and its delivery, on two shared cores.
    expect(lastArrival - killedAt).toBeLessThan(LEASE_MS + 2_000);
    // The survivor holds every lease the victim held.
    const now = await leasesOn(primaries);
    for (const port of victimPorts)
      expect(now.filter((l) => l.port === port).map((l) => pidOf(l.holder))).toContain(survivor.process.pid);
    for (const admin of primaries) await expectNoKeysLeft(admin);
    expect(await health(survivor.port)).toMatchObject({ code: 200, status: 'ok' });
  });
});

/** An identity whose keys live on the primary on `port`. */
async function identityOn(c: RedisCluster, port: number): Promise<Identity> {
  const ranges = (await c.topology()).find((n) => n.port === port)!.slots;
  for (let i = 0; i < 1_000; i++) {
    const identity = await createIdentity();
    const slot = userSlot(identity.id);
    if (ranges.some(([from, to]) => from <= slot && slot <= to)) return identity;
  }
  throw new Error(`no identity on the primary at ${port}`);
}

async function kill(relay: RelayChild): Promise<void> {
  relay.process.kill('SIGKILL');
  expect((await relay.exited).signal).toBe('SIGKILL');
  await within('the port refused', health(relay.port), 2_000);
}
