import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { RedisEndpoint } from '../../relay/redis/index.js';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';

/**
 * The two Redis deployments the relay supports, behind one shape, so an integration test runs
 * on both with `describe.each(redisBackends())`: one standalone redis-server, and a Redis Cluster
 * of 3 primaries with a replica each (test/support/redis-cluster.ts). Start one per test file
 * (a cluster takes seconds) and flush() it between tests.
 */
export interface RedisBackend {
  readonly cluster: boolean;
  /** Relay config: the server's URL, or every node as a comma-separated redis:// seed list. */
  readonly config: { redisUrl: string; redisCluster: number };
  /** The same for a relay process: PASSBY_REDIS_URL and PASSBY_REDIS_CLUSTER. */
  readonly env: Record<string, string>;
  /** The same for createRedisStore. */
  readonly endpoint: RedisEndpoint;
  /** The standalone server (undefined on a cluster). */
  readonly server: RedisServer | undefined;
  /** The cluster's nodes (undefined on one server). */
  readonly nodes: RedisCluster | undefined;
  /** Where the keys are, for inspection: the one server, or a client per primary. */
  admins(): Redis[];
  /** A client of the server (a cluster: the primary) that holds `key`'s slot. */
  adminFor(key: string): Redis;
  /** That server's process, to crash, restart or pause. */
  serverFor(key: string): RedisServer;
  /** Deletes every key on every primary. */
  flush(): Promise<void>;
  /** CLIENT KILL TYPE pubsub on every primary; how many connections were killed in all. */
  killPubsub(): Promise<number>;
  stop(): Promise<void>;
}

export type StartBackend = (options?: { persistence?: boolean }) => Promise<RedisBackend>;

export async function standaloneRedis(options: { persistence?: boolean } = {}): Promise<RedisBackend> {
  const server = await startRedis(options);
  const admin = server.client();
  return {
    cluster: false,
    config: { redisUrl: server.url, redisCluster: 0 },
    env: { PASSBY_REDIS_URL: server.url },
    endpoint: { urls: [server.url], cluster: false },
    server,
    nodes: undefined,
    admins: () => [admin],
    adminFor: () => admin,
    serverFor: () => server,
    flush: async () => {
      await admin.flushall();
    },
    killPubsub: () => server.killPubsub(),
    stop: () => server.stop(),
  };
}

export async function redisCluster(options: { persistence?: boolean } = {}): Promise<RedisBackend> {
  const nodes = await startRedisCluster({ primaries: 3, replicas: 1, ...options });
  const admin: Cluster = nodes.client();
  // Until its first slot map, a Cluster client takes every seed node for a primary.
  if (admin.status !== 'ready') await new Promise((resolve) => admin.once('ready', resolve));
  const urls = nodes.seeds.split(',').map((seed) => `redis://${seed}`);
  // A plain client per primary (they stay primaries: no test here fails one over), which
  // reconnects by itself after the node is restarted, unlike the Cluster client's pool.
  const masters = new Set(admin.nodes('master').map((n) => n.options.port));
  const clients = new Map(nodes.nodes.filter((n) => masters.has(n.port)).map((n) => [n.port, n.client()]));
  admin.disconnect();
  const slotOwners = admin.slots.map((owners) => Number(owners[0]?.split(':')[1]));
  const primaries = () => [...clients.values()];
  return {
    cluster: true,
    config: { redisUrl: urls.join(','), redisCluster: 1 },
    env: { PASSBY_REDIS_URL: urls.join(','), PASSBY_REDIS_CLUSTER: '1' },
    endpoint: { urls, cluster: true },
    server: undefined,
    nodes,
    admins: primaries,
    adminFor,
    serverFor(key) {
      const port = slotOwners[calculateSlot(key)];
      const server = nodes.nodes.find((n) => n.port === port);
      if (server === undefined) throw new Error(`no node on port ${port}`);
      return server;
    },
    flush: async () => {
      await Promise.all(primaries().map((node) => node.flushall()));
    },
    killPubsub: async () => {
      let killed = 0;
      for (const node of primaries()) killed += (await node.client('KILL', 'TYPE', 'pubsub')) as number;
      return killed;
    },
    stop: () => nodes.stop(),
  };

  function adminFor(key: string): Redis {
    const port = slotOwners[calculateSlot(key)];
    const node = port === undefined ? undefined : clients.get(port);
    if (node === undefined) throw new Error(`no primary known for ${key} (slot owner ${port})`);
    return node;
  }
}

/** For describe.each: [name, start] for one Redis and for a Redis Cluster. */
export function redisBackends(): [string, StartBackend][] {
  return [
    ['one Redis', standaloneRedis],
    ['a Redis Cluster', redisCluster],
  ];
}
