import type { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../../client-sdk/index.js';
import { AppClients, AppLedger } from '../support/app-ledger.js';
import { HealthWatch, health, lateProbes, stopHealthWatches } from '../support/healthz.js';
import { expectNoKeysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { type RelayChild, spawnRelay, stopRelays } from '../support/relay-child.js';
import { TcpBalancer } from '../support/tcp-balancer.js';

/*
 * Two relay nodes on one Redis (a standalone server, and a Redis Cluster of 3 primaries with a
 * replica each) behind a balancer, one of them SIGKILLed mid-stream: its clients reconnect
 * through the balancer to the survivor, which must hand over everything the dead node confirmed
 * or left unacknowledged, with the SDK's retries stored once (DESIGN D3, D4), while the
 * survivor's /healthz stays ok and prompt throughout.
 */
let redis: RedisServer | undefined;
let cluster: RedisCluster | undefined;
let env: Record<string, string>;
/** Where the keys are: the server, or every primary of the cluster. */
let admins: () => Redis[];
let balancer: TcpBalancer | undefined;
const apps = new AppClients();

afterEach(async () => {
  await stopHealthWatches();
  await stopRelays();
  await balancer?.close();
  balancer = undefined;
  await redis?.stop();
  await cluster?.stop();
  redis = cluster = undefined;
  await apps.closeAll();
});

async function standalone(): Promise<void> {
  const server = await startRedis({ persistence: true });
  redis = server;
  const admin = server.client();
  admins = () => [admin];
  env = { PASSBY_REDIS_URL: server.url };
}

async function onCluster(): Promise<void> {
  cluster = await startRedisCluster({ primaries: 3, replicas: 1, persistence: true });
  const admin: Cluster = cluster.client();
  if (admin.status !== 'ready') await new Promise((resolve) => admin.once('ready', resolve));
  admins = () => admin.nodes('master');
  env = {
    PASSBY_REDIS_URL: cluster.seeds
      .split(',')
      .map((s) => `redis://${s}`)
      .join(','),
    PASSBY_REDIS_CLUSTER: '1',
  };
}

async function twoNodes(): Promise<[RelayChild, RelayChild]> {
  const nodes = await Promise.all([0, 1].map(() => spawnRelay(env)));
  for (const node of nodes) expect(await health(node.port)).toMatchObject({ code: 200, status: 'ok' });
  balancer = await TcpBalancer.start(nodes.map((n) => n.port));
  return nodes as [RelayChild, RelayChild];
}

async function kill(node: RelayChild): Promise<void> {
  node.process.kill('SIGKILL');
  expect((await node.exited).signal).toBe('SIGKILL');
  expect(await health(node.port)).toMatchObject({ code: 0, status: 'refused' });
}

describe.each([
  ['one Redis', standalone],
  ['a Redis Cluster', onCluster],
])('two relay nodes on %s, one killed mid-stream', (_, start) => {
  beforeEach(start, 60_000);
  for (const victim of ['recipient', 'sender'] as const) {
    it(`loses and repeats nothing when the ${victim}'s node dies`, { timeout: 60_000 }, async () => {
      const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
      const [first, second] = await twoNodes();
      const lb = balancer!;
      const ledger = new AppLedger();
      // Round robin: Alice lands on the first node, Bob on the second.
      const alice = await apps.connect(lb.url, a);
      const bob = await apps.connect(lb.url, b);
      expect(lb.placed).toEqual([first.port, second.port]);
      const [dying, survivor] = victim === 'sender' ? [first, second] : [second, first];
      const watch = new HealthWatch(survivor.port);
      let killed: Promise<void> | undefined;
      ledger.receiveWith(bob, () => {
        if (ledger.seen.size === 100 && killed === undefined) killed = kill(dying);
        return undefined;
      });
      const sends = Array.from({ length: 400 }, (_, i) => ledger.send(alice, b.id, `m${i}`, `m${i}`));
      await waitFor('the kill', () => killed !== undefined, { timeoutMs: 10_000 });
      await killed;

      await within('every send confirmed', Promise.all(sends), 20_000);
      await waitFor(
        'Bob seeing every confirmed message',
        () => ledger.lost().length === 0,
        { timeoutMs: 10_000 },
        () => `${ledger.lost().length} missing`,
      ).catch(() => undefined);
      expect(ledger.refused).toEqual(new Map());
      expect(ledger.confirmed.size).toBe(400);
      expect(ledger.lost()).toEqual([]);
      expect(ledger.duplicates()).toEqual([]);
      // The dead node's client came back through the balancer, to the survivor.
      expect(lb.placed.slice(2)).toEqual([survivor.port]);
      const probes = await watch.stop();
      expect(probes.filter((p) => p.status !== 'ok')).toEqual([]);
      expect(lateProbes(probes)).toEqual([]);
      for (const admin of admins()) await expectNoKeysLeft(admin);
    });
  }
});
