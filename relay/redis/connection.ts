import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { DEFAULTS } from '../config/index.js';

/**
 * One Redis server or a Redis Cluster, behind the same commands: ioredis's Cluster routes each
 * command to the primary of its key's slot and follows MOVED and ASK while slots move.
 */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server, or a Cluster reached through seed nodes. */
export interface RedisEndpoint {
  /**
   * redis:// or rediss:// URLs. One for a standalone server; on a Cluster, seed nodes (any one
   * is enough to find the others), whose user, password and TLS apply to every node.
   */
  urls: readonly string[];
  cluster: boolean;
}

export interface ConnectOptions {
  /** Longest a command may wait for its reply before it fails (DEFAULTS.redisCommandTimeoutMs). */
  commandTimeoutMs?: number;
  /** Commands of one event-loop turn leave in one write (the command connections). */
  autoPipelining?: boolean;
  /** A connection for SSUBSCRIBE: on a Cluster, one subscriber per primary (sharded pub/sub). */
  subscriber?: boolean;
}

/**
 * How often a Cluster subscriber re-reads the slot table by itself (besides whenever the
 * relay's command connection finds a slot moved): the longest a reshard leaves a moved slot's
 * doorbells unheard, when no command of the relay touches that slot.
 */
export const SUBSCRIBER_SLOTS_REFRESH_MS = 5_000;

/**
 * A connection (not yet connected: call connect()) that fails a command rather than let it
 * wait: see failFast. On a Cluster, a command is still retried while the cluster itself says so
 * (MOVED, ASK, TRYAGAIN, CLUSTERDOWN during a failover), up to a bounded number of redirections.
 */
export function connectRedis(endpoint: RedisEndpoint, options: ConnectOptions = {}): RedisClient {
  const node: RedisOptions = {
    ...failFast(options.commandTimeoutMs),
    // The relay subscribes again itself after a reconnect, then re-reads every mailbox.
    ...(options.subscriber ? { autoResubscribe: false } : {}),
  };
  if (!endpoint.cluster) {
    return new Redis(endpoint.urls[0]!, { ...node, enableAutoPipelining: options.autoPipelining ?? false });
  }
  const seeds = endpoint.urls.map((url) => new URL(url));
  const first = seeds[0]!;
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: options.autoPipelining ?? false,
    shardedSubscribers: options.subscriber ?? false,
    // Writes and reads both go to primaries: a replica may lag (asynchronous replication).
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnMoved: 0,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: Math.min(options.commandTimeoutMs ?? DEFAULTS.redisCommandTimeoutMs, 2_000),
    // A subscriber never hears MOVED (Redis only drops its channels of a slot that moved away):
    // it re-reads the slot table on a period, and moves its channels to a slot's new owner.
    ...(options.subscriber ? { slotsRefreshInterval: SUBSCRIBER_SLOTS_REFRESH_MS } : {}),
    redisOptions: {
      ...node,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
  return new Cluster(
    seeds.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    clusterOptions,
  );
}

/**
 * Connection options that make a command fail rather than wait: after `commandTimeoutMs`
 * without a reply, at once while the connection is down (no offline queue), and when the
 * connection drops under it (no re-send after the reconnect: the frame is answered
 * `store_unavailable` and the client retries it, which is idempotent). Nothing piles up in
 * ioredis's queues while Redis is away; what sits in the socket while Redis is frozen is what
 * `unsentBytes` reports.
 */
export function failFast(commandTimeoutMs = DEFAULTS.redisCommandTimeoutMs) {
  return {
    lazyConnect: true,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  } as const;
}

/** The connection to the Cluster primary whose node key ("host:port", as in its slot table) is `key`. */
export function primaryByKey(cluster: Cluster, key: string): Redis | undefined {
  return cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === key);
}

/** The connections to the servers: one, or one per Cluster node known. */
export function serverConnections(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('all') : [client];
}

/** Bytes written toward Redis that it has not read yet (a frozen server), over every node. */
export function unsentBytes(client: RedisClient): number {
  let bytes = 0;
  for (const connection of serverConnections(client)) bytes += connection.stream?.writableLength ?? 0;
  return bytes;
}

/**
 * QUIT is queued behind the commands under way, so their replies arrive first. A connection that
 * is not up (Redis unreachable) is dropped instead: QUIT would wait in the offline queue.
 */
export async function release(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit();
  else client.disconnect();
}
