import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { PassbyError } from '../../protocol/index.js';
import {
  AccountHandlers,
  type AccountSignals,
  createAccounts,
  createMemoryDevices,
  createRedisDevices,
  type DeviceStore,
} from '../account/index.js';
import { presenceEndpointOf, type RelayConfig, redisEndpointOf } from '../config/index.js';
import { Hub, InflightBudget, initCrypto, Session } from '../connection/index.js';
import type { Store } from '../mailbox/index.js';
import { createMemoryStore, createRedisStore, SELF_TIMED, type StoreLimits } from '../mailbox/index.js';
import {
  createMemoryPushStore,
  createRedisPushStore,
  FAIL_REASONS,
  PushHandlers,
  type PushStore,
  pushSenders,
  Waker,
} from '../push/index.js';
import {
  type AofRewriter,
  aofRewriter,
  connectRedis,
  type RedisClient,
  type RedisEndpoint,
  release,
} from '../redis/index.js';
import type { SocialStore } from '../social/index.js';
import {
  checkDiscoveryFingerprint,
  createMemorySocialStore,
  createRedisSocialStore,
  SocialHandlers,
  splitSocialStore,
} from '../social/index.js';
import type { Logger } from '../telemetry/index.js';
import { Metrics, timeStore, VERSION } from '../telemetry/index.js';
import { AccountSweeper } from './account-sweeper.js';
import { HealthCheck } from './health.js';
import { httpRoutes } from './http-routes.js';
import { createAdminServer, createPublicServer } from './listeners.js';
import { Sweeper } from './sweeper.js';

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Largest WebSocket message read at all; larger ones are closed with 1009 by ws. Frames
 * between the protocol limit and this get the in-band `payload_too_large` answer. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface Relay {
  /** ws://host:port/ */
  readonly url: string;
  readonly port: number;
  /** The admin listener's port (/metrics, /healthz), null without PASSBY_ADMIN_PORT. */
  readonly adminPort: number | null;
  readonly store: Store;
  readonly metrics: Metrics;
  /** Resolves once no wake-up push waits for its decision, a retry or its push service (tests). */
  wakeupsIdle(): Promise<void>;
  /** With TLS: reads the certificate and key again (SIGHUP); false when off or the files are bad. */
  reloadTls(): boolean;
  /** Graceful stop: refuse new connections, close sockets with going_away, let writes finish. */
  close(): Promise<void>;
}

export interface RelayDeps {
  config: Readonly<RelayConfig>;
  log: Logger;
  /** Defaults to Date.now. */
  now?: () => number;
}

export interface Stores {
  store: Store;
  social: SocialStore;
  /** The identities' devices, the seen index and the erase journal (relay/account). */
  devices: DeviceStore;
  /** Wake-up push registrations and the devices' online and wake marks (relay/push). */
  push: PushStore;
  /** The store's methods it times itself (into the same metric), which timeStore leaves alone. */
  selfTimed: readonly string[];
  /** Asks Redis to rewrite its AOF now and then (none for the in-process store). */
  aof?: AofRewriter;
  close(): Promise<void>;
}

export async function openStores(
  config: Readonly<RelayConfig>,
  log: Logger,
  metrics?: Metrics,
): Promise<Stores> {
  const limits = {
    mailboxMaxMessages: config.mailboxMaxMessages,
    mailboxMaxBytes: config.mailboxMaxBytes,
    receiptTtlMs: config.maxTtlSeconds * 1000,
  };
  const endpoint = redisEndpointOf(config);
  if (endpoint === null) {
    log.warn(
      'no PASSBY_REDIS_URL: using the in-process store; undelivered messages do not survive a restart',
    );
    const store = createMemoryStore(limits);
    const devices = createMemoryDevices(store);
    return {
      store,
      social: createMemorySocialStore(),
      devices,
      push: createMemoryPushStore(),
      selfTimed: [],
      close: () => store.close(),
    };
  }
  return openRedisStores(config, endpoint, limits, log, metrics);
}

async function openRedisStores(
  config: Readonly<RelayConfig>,
  endpoint: RedisEndpoint,
  limits: StoreLimits,
  log: Logger,
  metrics: Metrics | undefined,
): Promise<Stores> {
  const commandTimeoutMs = config.redisCommandTimeoutMs;
  const onConnection = (role: string, connection: RedisClient) =>
    metrics?.watchRedis(role, () => connection.status === 'ready');
  const timing = metrics ? (op: string) => metrics.storeOperation(`mailbox.${op}`) : undefined;
  // A relay that dies hands its sweeps on within a few sweep intervals.
  const sweepLeaseMs = Math.max(5 * config.sweepIntervalMs, 2 * commandTimeoutMs);
  const store = await createRedisStore({
    endpoint,
    limits,
    log,
    commandTimeoutMs,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
    sweepLeaseMs,
    shardRefreshMs: config.sweepRefreshMs,
    onConnection,
    timing,
  });
  const opened: RedisClient[] = [];
  const connect = async (role: string, at: RedisEndpoint) => {
    const client = connectRedis(at, { commandTimeoutMs, autoPipelining: true });
    opened.push(client);
    onConnection(role, client);
    client.on('error', (err: Error) => log.warn({ err, role }, 'redis connection error'));
    await client.connect();
    return client;
  };
  try {
    const redis = await connect('social', endpoint);
    if (config.discoverySecret !== null)
      await checkDiscoveryFingerprint(redis, config.discoverySecret, config.discoverySecretPrevious, log);
    const durable = createRedisSocialStore(redis, { sweepLeaseMs, shardRefreshMs: config.sweepRefreshMs });
    // Presence, tokens and in-range marks never go where a disk keeps them (DESIGN P8).
    const presenceAt = presenceEndpointOf(config);
    const ephemeral = presenceAt
      ? createRedisSocialStore(await connect('presence', presenceAt), { sweepLeaseMs })
      : createMemorySocialStore();
    if (presenceAt === null) {
      log.warn(
        'no PASSBY_PRESENCE_REDIS_URL: presence is kept in this process, so proximity matches only ' +
          'users connected to this node; set it (a Redis without persistence) to run several nodes',
      );
    }
    log.info({ cluster: endpoint.cluster, presence: presenceAt ? 'redis' : 'process' }, 'connected to redis');
    // The account indexes (the erase journal, the seen index) are read again once a minute when
    // nothing says they hold anything due: a node files its own erases as due at once, so the
    // minute bounds only how long another node takes to finish an erase a crashed one left.
    const devices = createRedisDevices(redis, { leaseMs: sweepLeaseMs, shardRefreshMs: 60_000 });
    return {
      store,
      social: splitSocialStore(durable, ephemeral),
      devices,
      push: createRedisPushStore(redis),
      selfTimed: metrics ? SELF_TIMED : [],
      aof: aofRewriter(redis, 'pb:', config.aofRewriteSeconds * 1000),
      async close() {
        await store.close();
        await Promise.all(opened.map(release));
      },
    };
  } catch (err) {
    await store.close();
    for (const client of opened) client.disconnect();
    if (err instanceof PassbyError) throw err;
    throw new PassbyError('store_unavailable', 'could not connect to Redis', { cause: err });
  }
}

export async function startRelay({ config, log, now = Date.now }: RelayDeps): Promise<Relay> {
  await initCrypto();
  const metrics = new Metrics();
  const senders = pushSenders(config, log);
  const stores = await openStores(config, log, metrics);
  const store = timeStore(stores.store, 'mailbox', metrics, stores.selfTimed);
  let discoveryKey = config.discoverySecret;
  if (discoveryKey === null) {
    // Only with the in-process store (config requires a secret with Redis): nothing outlives
    // the process anyway, so a random key loses nothing.
    discoveryKey = randomBytes(32).toString('hex');
  }
  const socialStore = timeStore(stores.social, 'social', metrics);
  const pushStore = timeStore(stores.push, 'push', metrics);
  for (const reason of FAIL_REASONS) metrics.wakeupFailed(reason, 0);
  // The hub is made below (it tells the waker of attaches); the waker asks it only later.
  const waker: Waker = new Waker({
    store: pushStore,
    senders,
    allHere: (uid): boolean => hub.allHere(uid),
    metrics: {
      sent: () => metrics.wakeupsSent++,
      failed: (reason) => metrics.wakeupFailed(reason),
      coalesced: (n) => {
        metrics.wakeupsCoalesced += n;
      },
    },
    log,
    coalesceMs: config.pushCoalesceSeconds * 1000,
    onlineMs: config.pushOnlineSeconds * 1000,
  });
  const wake = (uid: string) => waker.filed(uid);
  store.onReceipts((filedFor) => {
    for (const uid of filedFor) wake(uid);
  });
  const previousDiscoveryKey = config.discoverySecretPrevious;
  const social = new SocialHandlers({
    config,
    store,
    social: socialStore,
    discoveryKey,
    previousDiscoveryKey,
    wake,
    now,
  });
  const hub: Hub = new Hub(store, log, config.safetyPullMs, waker);
  const devices = timeStore(stores.devices, 'account', metrics);
  const accounts = createAccounts(devices, {
    mailbox: store,
    social: socialStore,
    notifier: store,
    push: pushStore,
  });
  const signals: AccountSignals = {
    revoked: (uid, slot) => hub.control(uid, { type: 'revoke', slot }),
    erased: (uid) => hub.control(uid, { type: 'erased' }),
    devicesChanged: (uid) => hub.control(uid, { type: 'devices' }),
  };
  const accountSweeper = new AccountSweeper({
    config,
    devices,
    accounts,
    mailbox: store,
    push: pushStore,
    signals,
    connected: () => hub.all(),
    metrics,
    log,
    now,
  });
  const account = new AccountHandlers({
    config,
    identities: store,
    mailbox: store,
    push: pushStore,
    devices,
    accounts,
    signals,
    eraseSoon: () => accountSweeper.runSoon(),
    now,
  });
  const health = new HealthCheck(store);
  const budget = new InflightBudget(config.inflightBytes, () => store.unsentBytes());
  // One object for every connection: an idle connection holds no copy of its own.
  const push = new PushHandlers(
    pushStore,
    new Set(senders.keys()),
    config.pushInsecureEndpoints === 1,
    (conn) => waker.registered(conn),
  );
  const sessions = new Set<Session>();
  const sessionDeps = {
    config,
    store,
    hub,
    metrics,
    social,
    devices,
    account,
    push,
    wake,
    budget,
    now,
    sessions,
  };
  const sweeper = new Sweeper(store, socialStore, metrics, log, config.sweepIntervalMs, now, stores.aof);
  let nextConn = 1;
  let stopping = false;

  const routes = {
    health,
    metrics,
    log,
    storeKind: store.kind,
    connections: () => sessions.size,
    stopping: () => stopping,
  };
  const listener = createPublicServer(config, httpRoutes(routes, config.adminPort === null));
  const http = listener.server;
  const admin = config.adminPort === null ? null : createAdminServer(httpRoutes(routes, true));
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
  });

  http.on('upgrade', (req, socket, head) => {
    if (stopping) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // It joins `sessions`, and leaves it when its socket closes (no closure per connection).
      new Session(ws, sessionDeps, nextConn++, log);
    });
  });

  // Dead peers: a connection that has not answered the previous ping is dropped (one the relay
  // itself stopped reading could not have read the pong: it is spared).
  const heartbeat = setInterval(() => {
    for (const session of sessions) {
      if (!session.alive && !session.throttled) {
        session.terminate();
        continue;
      }
      session.alive = false;
      session.ping();
    }
  }, config.pingIntervalMs);
  heartbeat.unref();
  // Stalled readers: deliveries waiting for an ack for longer than the ack timeout (R3).
  const stallCheck = setInterval(
    () => {
      try {
        const at = now();
        for (const session of sessions) if (session.stalled(at)) session.close('slow_consumer');
      } catch (err) {
        log.error({ err }, 'stall check failed');
      }
    },
    Math.min(1_000, config.ackTimeoutMs),
  );
  stallCheck.unref();

  const port = await listen(http, config.port, config.host);
  const adminPort = admin === null ? null : await listen(admin, config.adminPort!, config.adminHost);
  sweeper.start();
  accountSweeper.start();
  const tls = listener.scheme === 'wss';
  log.info(
    { port, adminPort, tls, store: store.kind, relayId: config.relayId, version: VERSION },
    'relay listening',
  );

  return {
    url: `${listener.scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/`,
    port,
    adminPort,
    store,
    metrics,
    wakeupsIdle: () => waker.idle(),
    reloadTls() {
      if (!tls) return false;
      try {
        listener.reloadTls();
        log.info('tls certificate reloaded');
        return true;
      } catch (err) {
        log.error({ err }, 'tls certificate reload failed; the previous one stays');
        return false;
      }
    },
    async close() {
      if (stopping) return;
      stopping = true;
      log.info({ connections: sessions.size }, 'shutting down');
      clearInterval(heartbeat);
      clearInterval(stallCheck);
      hub.stop();
      waker.stop();
      sweeper.stop();
      accountSweeper.stop();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      for (const session of sessions) session.close('going_away');
      const writes = Promise.allSettled([...sessions].map((s) => s.settled()));
      const grace = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([writes, grace]);
      await sweeper.idle();
      await accountSweeper.idle();
      for (const ws of wss.clients) ws.terminate();
      http.closeAllConnections();
      await closed;
      if (admin !== null) {
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
      }
      await stores.close();
      log.info('relay stopped');
    },
  };
}
