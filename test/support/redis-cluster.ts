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
  /** CLUSTER NODES as one live node sees it now (nodes that were crashed are skipped as sources). */
  topology(): Promise<ClusterNode[]>;
  /** The node (of `nodes`) that `topology()` names as the primary serving `slot`. */
  primaryOf(slot: number): Promise<RedisServer>;
  /**
   * Moves `slots` from primary `from` to primary `to` by hand, one slot at a time, as a reshard
   * does it (SETSLOT IMPORTING / MIGRATING, MIGRATE of its keys, SETSLOT NODE on every primary),
   * for slots `redis-cli --cluster reshard` would not pick (it takes a source's lowest first).
   */
  moveSlots(slots: readonly number[], from: ClusterNode, to: ClusterNode): Promise<void>;
  stop(): Promise<void>;
}

/** One line of CLUSTER NODES. */
export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly role: 'primary' | 'replica';
  /** The primary's id, for a replica. */
  readonly primaryId: string | undefined;
  /** Flagged `fail` (the cluster agreed it is down) or `fail?` (this node suspects it). */
  readonly failing: boolean;
  /** Slot ranges served, inclusive, for a primary. */
  readonly slots: readonly (readonly [number, number])[];
}

/** Parses CLUSTER NODES (`<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...`). */
export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', primary = '', , , , , ...ranges] = line.split(' ');
      const slots = ranges
        .filter((r) => !r.startsWith('['))
        .map((r) => {
          const [from, to = from] = r.split('-');
          return [Number(from), Number(to)] as const;
        });
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        role: flags.includes('master') ? 'primary' : 'replica',
        primaryId: primary === '-' ? undefined : primary,
        failing: /(^|,)fail\??(,|$)/.test(flags),
        slots,
      } as const;
    });
}

export async function startRedisCluster(
  options: {
    primaries?: number;
    replicas?: number;
    persistence?: boolean;
    /**
     * `cluster-node-timeout` (Redis's default: 15 s): how long a primary may be unreachable before
     * the others call it failed and its replica takes over. A failover test shortens it.
     */
    nodeTimeoutMs?: number;
  } = {},
): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicas ?? 1;
  const timeout =
    options.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(options.nodeTimeoutMs)];
  const nodes: RedisServer[] = [];
  const clients: Cluster[] = [];
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      const port = await clusterPort();
      nodes.push(
        await startRedis({
          port,
          persistence: options.persistence ?? false,
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            // A replica's first sync at once, not after Redis's 5 s wait for more replicas.
            '--repl-diskless-sync-delay',
            '0',
            ...timeout,
          ],
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
          if (masters !== primaries || slaves !== primaries * replicas) return false;
          // A replica that never finished its first sync is not eligible for a failover (its
          // data counts as too old), so a test that kills a primary at once would see none.
          const replication = String(await admin.info('replication'));
          return !/role:slave/.test(replication) || /master_link_status:up/.test(replication);
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
    topology,
    async primaryOf(slot) {
      const owner = (await topology()).find(
        (n) => n.role === 'primary' && n.slots.some(([from, to]) => from <= slot && slot <= to),
      );
      const node = nodes.find((n) => n.port === owner?.port);
      if (node === undefined) throw new Error(`no primary serves slot ${slot}`);
      return node;
    },
    async moveSlots(slots, from, to) {
      const primaries = (await topology()).filter((n) => n.role === 'primary' && !n.failing);
      const admins = new Map(primaries.map((n) => [n.id, nodes.find((s) => s.port === n.port)!.client()]));
      const src = admins.get(from.id)!;
      const dst = admins.get(to.id)!;
      try {
        for (const slot of slots) {
          await dst.cluster('SETSLOT', slot, 'IMPORTING', from.id);
          await src.cluster('SETSLOT', slot, 'MIGRATING', to.id);
          for (;;) {
            const keys = (await src.cluster('GETKEYSINSLOT', slot, 100)) as string[];
            if (keys.length === 0) break;
            await src.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
          }
          for (const admin of [dst, src, ...admins.values()])
            await admin.cluster('SETSLOT', slot, 'NODE', to.id);
        }
      } finally {
        for (const admin of admins.values()) admin.disconnect();
      }
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };

  async function topology(): Promise<ClusterNode[]> {
    for (const node of nodes) {
      if (!node.running()) continue;
      const admin = node.client();
      try {
        return parseClusterNodes(String(await admin.cluster('NODES')));
      } finally {
        admin.disconnect();
      }
    }
    throw new Error('no cluster node is running');
  }
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
