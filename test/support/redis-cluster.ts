import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { waitFor } from './poll.js';
import { freePort, type RedisServer, startRedis } from './redis-server.js';

const run = promisify(execFile);

/**
 * A real Redis Cluster for one test file: `primaries` redis-server processes with
 * `--cluster-enabled yes`, each with `replicas` replicas, on free loopback ports (each node's
 * cluster bus port, port + 10000, free too), joined by `redis-cli --cluster create`. Never the
 * shared server on 6379.
 */
export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** The nodes as seed addresses, `127.0.0.1:port,...`. */
  readonly seeds: string;
  /** An ioredis Cluster client for assertions. */
  client(): Cluster;
  stop(): Promise<void>;
}

export async function startRedisCluster(
  options: { primaries?: number; replicas?: number; persistence?: boolean } = {},
): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicas ?? 1;
  const nodes: RedisServer[] = [];
  const clients: Cluster[] = [];
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      const port = await clusterPort();
      nodes.push(
        await startRedis({
          port,
          persistence: options.persistence ?? false,
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        }),
      );
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    // Every node must see the whole cluster (state ok, every primary and replica known as such)
    // before a test uses it: cluster_state turns ok before the replicas are known everywhere.
    for (const node of nodes) {
      const admin = node.client();
      await waitFor(
        `node ${node.port} to see ${primaries} primaries with ${replicas} replicas each`,
        async () => {
          if (!/cluster_state:ok/.test(String(await admin.cluster('INFO')))) return false;
          const lines = String(await admin.cluster('NODES'))
            .trim()
            .split('\n');
          const flags = lines.map((line) => line.split(' ')[2] ?? '');
          const masters = flags.filter((f) => f.includes('master')).length;
          const slaves = flags.filter((f) => f.includes('slave')).length;
          return masters === primaries && slaves === primaries * replicas;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      admin.disconnect();
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    client() {
      const c = new Cluster(
        nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { redisOptions: { maxRetriesPerRequest: 3 } },
      );
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    if (await isFree(port + 10_000)) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
