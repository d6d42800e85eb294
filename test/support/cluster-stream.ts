import type { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import type { PassbyClient } from '../../client-sdk/index.js';
import type { AppClients, AppLedger } from './app-ledger.js';
import { pause } from './poll.js';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';
import { stopRelays } from './relay-child.js';

/*
 * What the cluster fault tests (test/faults/cluster-*.test.ts) share: a relay's environment for
 * a cluster, a paced stream of SDK sends that spans the fault, and plain clients on the
 * primaries serving now, for raw checks of what Redis holds.
 */

/**
 * A Redis Cluster of its own for each test that calls the returned function, stopped after the
 * test with the relays (first: none is left talking to a stopped cluster) and the apps.
 */
export function clusterPerTest(apps: AppClients): typeof startRedisCluster {
  let cluster: RedisCluster | undefined;
  afterEach(async () => {
    await stopRelays();
    await cluster?.stop();
    cluster = undefined;
    await apps.closeAll();
  });
  return async (options) => {
    cluster = await startRedisCluster(options);
    return cluster;
  };
}

/** PASSBY_* settings for a relay on `cluster`, plus `extra`. */
export function clusterEnv(
  cluster: RedisCluster,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PASSBY_REDIS_URL: cluster.seeds
      .split(',')
      .map((s) => `redis://${s}`)
      .join(','),
    PASSBY_REDIS_CLUSTER: '1',
    ...extra,
  };
}

/**
 * Sends `count` messages `<prefix><i>` from `from` to `to` through the SDK, `perTick` every
 * `tickMs` (the sender's pacing, so the stream lasts long enough to span the fault), recording
 * each confirmation in `ledger`. Resolves with every send's promise once all were handed to the
 * SDK; each of those resolves when the SDK has its answer.
 */
export async function pacedSends(
  ledger: AppLedger,
  from: PassbyClient,
  to: string,
  options: { count: number; perTick: number; tickMs: number; prefix?: string },
): Promise<Promise<unknown>[]> {
  const sends: Promise<unknown>[] = [];
  const prefix = options.prefix ?? 'm';
  for (let i = 0; i < options.count; i++) {
    sends.push(ledger.send(from, to, `${prefix}${i}`, `${prefix}${i}`));
    if ((i + 1) % options.perTick === 0) await pause(options.tickMs);
  }
  return sends;
}

/** A plain client on each primary serving slots now (after a failover: the promoted replicas). */
export async function primaryClients(cluster: RedisCluster): Promise<Redis[]> {
  const ports = new Set(
    (await cluster.topology()).filter((n) => n.role === 'primary' && !n.failing).map((n) => n.port),
  );
  return cluster.nodes.filter((n) => ports.has(n.port)).map((n) => n.client());
}
