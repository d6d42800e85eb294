import { LIMITS, MAX_FRAME_BYTES } from '../../protocol/index.js';

/*
 * What the relay can be configured with: the typed configuration, every environment variable
 * with its kind, range and meaning (README.md documents the same table), and the defaults, written
 * once. relay/config/config.ts reads and checks them; nothing here touches the environment.
 */

export interface RelayConfig {
  host: string;
  port: number;
  /**
   * Redis URL; null runs the embedded in-process store (laptop demo, nothing survives a restart).
   * With redisCluster, one or more seed nodes' URLs separated by commas.
   */
  redisUrl: string | null;
  /** 1: redisUrl names seed nodes of a Redis Cluster; 0: one standalone server. */
  redisCluster: number;
  /** Replicas that must hold a send before it is confirmed (Redis WAIT); 0: confirm at once. */
  redisWaitReplicas: number;
  /** Longest a send waits for redisWaitReplicas before it is answered store_unavailable. */
  redisWaitTimeoutMs: number;
  /**
   * A Redis without persistence for presence, blind-mode tokens and in-range marks (they must
   * never reach a disk, DESIGN P8); null keeps them in this process (one relay node).
   */
  presenceRedisUrl: string | null;
  presenceRedisCluster: number;
  /** Seconds between the AOF rewrites the relay asks of each Redis node with AOF on; 0: never. */
  aofRewriteSeconds: number;
  /** The identity clients sign during authentication (e.g. the public host name). */
  relayId: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxTtlSeconds: number;
  mailboxMaxMessages: number;
  mailboxMaxBytes: number;
  sendsPerSecond: number;
  sendBurst: number;
  authTimeoutMs: number;
  authSkewMs: number;
  pingIntervalMs: number;
  sweepIntervalMs: number;
  /** How often the sweep reads again an index shard it believes holds nothing due. */
  sweepRefreshMs: number;
  deliveryWindow: number;
  maxBufferedBytes: number;
  maxErrorsPerConnection: number;
  shutdownTimeoutMs: number;
  /** Longest a Redis command may take before the frame is answered `store_unavailable`. */
  redisCommandTimeoutMs: number;
  /** Period after which every connected user's mailbox is read again, doorbell or not. */
  safetyPullMs: number;
  /** Longest a connection's oldest unacknowledged delivery waits before `slow_consumer`. */
  ackTimeoutMs: number;
  /** Payload bytes of one connection's frames under way in the store before the relay stops reading it. */
  connectionInflightBytes: number;
  /** One connection's frames under way in the store before the relay stops reading it. */
  connectionInflightOps: number;
  /** Payload bytes under way in the store, all connections together, before the relay stops reading. */
  inflightBytes: number;
  /** Key of the HMAC that turns phone numbers into discovery hashes; null: random per process. */
  discoverySecret: string | null;
  discoveryTtlSeconds: number;
  lookupsPerHour: number;
  proximityWindowMs: number;
  presenceIntervalMs: number;
  maxSpeedKmh: number;
  /** How long the held parts of a share wait for its share frame; each new part renews it. */
  heldPartsTtlSeconds: number;
  /** 1: shares from anyone are filed; 0: only from friends of the recipient (`not_friends`). */
  strangerShares: number;
  /** Most devices an identity may have (protocol v4). */
  maxDevices: number;
  /** A device unseen this many days is unlinked (never an identity's last one). */
  deviceIdleDays: number;
  /** An approved device that has not connected within this many seconds is removed with its box. */
  pairingTtlSeconds: number;
  /** An account none of whose devices authenticated for this many days is erased. */
  accountIdleDays: number;
  /** Port of the admin listener (/metrics, /healthz); null: /metrics is served on the public port. */
  adminPort: number | null;
  adminHost: string;
  /** PEM certificate chain and key files; both set: the relay serves wss:// itself. */
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  tlsMinVersion: 'TLSv1.3' | 'TLSv1.2';
  /** The discovery secret before a rotation: look-ups also try it while its entries live. */
  discoverySecretPrevious: string | null;
  /** Web Push (VAPID) key pair, base64url, and the subject (mailto: or https: URL); all or none. */
  vapidPublicKey: string | null;
  vapidPrivateKey: string | null;
  vapidSubject: string | null;
  /** A Firebase service-account JSON file; null: no FCM wake-ups. */
  fcmServiceAccountFile: string | null;
  /** Base URL of the FCM HTTP v1 API. */
  fcmEndpoint: string;
  /** APNs token-based auth: the .p8 key file, its key ID, the team ID and the app's topic. */
  apnsKeyFile: string | null;
  apnsKeyId: string | null;
  apnsTeamId: string | null;
  apnsTopic: string | null;
  /** The APNs server, https://api.push.apple.com or https://api.sandbox.push.apple.com. */
  apnsHost: string;
  /** PEM CA certificates trusted for apnsHost (a private test push service); null: the system's. */
  apnsCaFile: string | null;
  /** 'background' (content-available) or 'alert' (for a notification service extension). */
  apnsPushType: string;
  /** At most one wake-up per device in this many seconds, until it connects. */
  pushCoalesceSeconds: number;
  /** 1: Web Push endpoints may be http:// (tests, a push service on the same host). */
  pushInsecureEndpoints: number;
  /** Longest a request to a push service may take. */
  pushTimeoutMs: number;
  /** A device counts as connected this long after its node last said so (refreshed every third). */
  pushOnlineSeconds: number;
}

export type Kind = 'string' | 'int' | 'url' | 'level' | 'secret' | 'tls';

export interface Variable {
  key: keyof RelayConfig;
  kind: Kind;
  min?: number;
  max?: number;
  /** An int that may be left unset (null). */
  optional?: true;
  doc: string;
}

/** Environment variable -> field, with its meaning. Defaults live in DEFAULTS, written once. */
export const VARIABLES: Readonly<Record<string, Variable>> = {
  PASSBY_HOST: { key: 'host', kind: 'string', doc: 'address to listen on' },
  PASSBY_PORT: {
    key: 'port',
    kind: 'int',
    min: 0,
    max: 65535,
    doc: 'TCP port for WebSocket and /healthz (0: any free port)',
  },
  PASSBY_REDIS_URL: {
    key: 'redisUrl',
    kind: 'url',
    doc: 'redis:// or rediss:// URL (with PASSBY_REDIS_CLUSTER=1, seed nodes separated by commas); unset runs the in-process store',
  },
  PASSBY_REDIS_CLUSTER: {
    key: 'redisCluster',
    kind: 'int',
    min: 0,
    max: 1,
    doc: '1: PASSBY_REDIS_URL names seed nodes of a Redis Cluster (their user, password and TLS apply to every node)',
  },
  PASSBY_REDIS_WAIT_REPLICAS: {
    key: 'redisWaitReplicas',
    kind: 'int',
    min: 0,
    max: 16,
    doc: 'replicas that must hold a send before it is confirmed (Redis WAIT); 0 confirms once the primary has it',
  },
  PASSBY_PRESENCE_REDIS_URL: {
    key: 'presenceRedisUrl',
    kind: 'url',
    doc: 'a Redis with no persistence for presence, tokens and in-range marks (with PASSBY_PRESENCE_REDIS_CLUSTER=1, seed nodes); unset keeps them in the relay process: one node only',
  },
  PASSBY_PRESENCE_REDIS_CLUSTER: {
    key: 'presenceRedisCluster',
    kind: 'int',
    min: 0,
    max: 1,
    doc: '1: PASSBY_PRESENCE_REDIS_URL names seed nodes of a Redis Cluster',
  },
  PASSBY_AOF_REWRITE_SECONDS: {
    key: 'aofRewriteSeconds',
    kind: 'int',
    min: 0,
    doc: 'how often the relay has each Redis node with AOF on rewrite it, so deleted payloads leave the disk; 0: never (the operator does)',
  },
  PASSBY_SWEEP_REFRESH_MS: {
    key: 'sweepRefreshMs',
    kind: 'int',
    min: 100,
    doc: 'how often the sweep reads again an expiry shard it believes holds nothing due: an entry filed through another relay node expires up to this late',
  },
  PASSBY_REDIS_WAIT_TIMEOUT_MS: {
    key: 'redisWaitTimeoutMs',
    kind: 'int',
    min: 1,
    doc: 'longest a send waits for its replicas before it is answered store_unavailable (the client retries)',
  },
  PASSBY_RELAY_ID: { key: 'relayId', kind: 'string', doc: 'identity clients sign when they authenticate' },
  PASSBY_LOG_LEVEL: {
    key: 'logLevel',
    kind: 'level',
    doc: 'pino level: fatal, error, warn, info, debug, trace, silent',
  },
  PASSBY_MAX_TTL_SECONDS: {
    key: 'maxTtlSeconds',
    kind: 'int',
    min: 1,
    max: LIMITS.maxTtlSeconds,
    doc: 'longest a payload waits (a sender may ask for less)',
  },
  PASSBY_MAILBOX_MAX_MESSAGES: {
    key: 'mailboxMaxMessages',
    kind: 'int',
    min: 1,
    doc: 'undelivered messages per recipient',
  },
  PASSBY_MAILBOX_MAX_BYTES: {
    key: 'mailboxMaxBytes',
    kind: 'int',
    min: 1,
    doc: 'undelivered payload bytes per recipient',
  },
  PASSBY_SENDS_PER_SECOND: {
    key: 'sendsPerSecond',
    kind: 'int',
    min: 1,
    doc: 'sustained sends per connection',
  },
  PASSBY_SEND_BURST: { key: 'sendBurst', kind: 'int', min: 1, doc: 'burst of sends per connection' },
  PASSBY_AUTH_TIMEOUT_MS: {
    key: 'authTimeoutMs',
    kind: 'int',
    min: 100,
    doc: 'time to complete hello + auth',
  },
  PASSBY_AUTH_SKEW_MS: {
    key: 'authSkewMs',
    kind: 'int',
    min: 1000,
    doc: 'allowed distance of the auth timestamp from relay time',
  },
  PASSBY_PING_INTERVAL_MS: {
    key: 'pingIntervalMs',
    kind: 'int',
    min: 100,
    doc: 'WebSocket ping period; a peer silent for two is dropped',
  },
  PASSBY_SWEEP_INTERVAL_MS: {
    key: 'sweepIntervalMs',
    kind: 'int',
    min: 10,
    doc: 'period of the expiry sweep (the expiry margin)',
  },
  PASSBY_DELIVERY_WINDOW: {
    key: 'deliveryWindow',
    kind: 'int',
    min: 1,
    max: 10_000,
    doc: 'unacknowledged deliveries per connection',
  },
  PASSBY_MAX_BUFFERED_BYTES: {
    key: 'maxBufferedBytes',
    kind: 'int',
    min: 65_536,
    doc: 'send buffer per connection before slow_consumer',
  },
  PASSBY_MAX_ERRORS: {
    key: 'maxErrorsPerConnection',
    kind: 'int',
    min: 1,
    doc: 'bad frames per connection before too_many_errors',
  },
  PASSBY_SHUTDOWN_TIMEOUT_MS: {
    key: 'shutdownTimeoutMs',
    kind: 'int',
    min: 0,
    doc: 'grace period for writes on SIGTERM/SIGINT',
  },
  PASSBY_REDIS_COMMAND_TIMEOUT_MS: {
    key: 'redisCommandTimeoutMs',
    kind: 'int',
    min: 50,
    doc: 'longest a Redis command may take before store_unavailable',
  },
  PASSBY_SAFETY_PULL_MS: {
    key: 'safetyPullMs',
    kind: 'int',
    min: 100,
    doc: "period of the mailbox re-read that bounds a lost doorbell's delay",
  },
  PASSBY_ACK_TIMEOUT_MS: {
    key: 'ackTimeoutMs',
    kind: 'int',
    min: 100,
    doc: 'longest the oldest unacknowledged delivery waits before slow_consumer',
  },
  PASSBY_CONNECTION_INFLIGHT_BYTES: {
    key: 'connectionInflightBytes',
    kind: 'int',
    min: MAX_FRAME_BYTES,
    doc: "payload bytes of one connection's frames under way before it is not read",
  },
  PASSBY_CONNECTION_INFLIGHT_OPS: {
    key: 'connectionInflightOps',
    kind: 'int',
    min: 1,
    doc: "one connection's frames under way before it is not read",
  },
  PASSBY_INFLIGHT_BYTES: {
    key: 'inflightBytes',
    kind: 'int',
    min: MAX_FRAME_BYTES,
    doc: 'payload bytes under way in the relay process before no socket is read',
  },
  PASSBY_DISCOVERY_SECRET: {
    key: 'discoverySecret',
    kind: 'secret',
    doc: 'HMAC key for phone-number hashes, 32+ characters; required with Redis',
  },
  PASSBY_DISCOVERY_TTL_SECONDS: {
    key: 'discoveryTtlSeconds',
    kind: 'int',
    min: 60,
    max: LIMITS.maxTtlSeconds,
    doc: 'life of a discoverability entry and of a pending contact match',
  },
  PASSBY_LOOKUPS_PER_HOUR: {
    key: 'lookupsPerHour',
    kind: 'int',
    min: 1,
    doc: 'phone numbers one user may look up an hour',
  },
  PASSBY_PROXIMITY_WINDOW_MS: {
    key: 'proximityWindowMs',
    kind: 'int',
    min: 1000,
    doc: 'sliding matching window; presence lives this long',
  },
  PASSBY_PRESENCE_INTERVAL_MS: {
    key: 'presenceIntervalMs',
    kind: 'int',
    min: 0,
    doc: 'least time between two presence updates of a user',
  },
  PASSBY_MAX_SPEED_KMH: {
    key: 'maxSpeedKmh',
    kind: 'int',
    min: 1,
    doc: 'fastest plausible move between two updates',
  },
  PASSBY_HELD_PARTS_TTL_SECONDS: {
    key: 'heldPartsTtlSeconds',
    kind: 'int',
    min: 1,
    max: LIMITS.maxTtlSeconds,
    doc: "life of an unfinished share's parts without a new part or the share frame",
  },
  PASSBY_STRANGER_SHARES: {
    key: 'strangerShares',
    kind: 'int',
    min: 0,
    max: 1,
    doc: "1: accept shares from anyone; 0: only from the recipient's friends",
  },
  PASSBY_MAX_DEVICES: {
    key: 'maxDevices',
    kind: 'int',
    min: 1,
    max: 16,
    doc: 'most devices an identity may have (protocol v4)',
  },
  PASSBY_DEVICE_IDLE_DAYS: {
    key: 'deviceIdleDays',
    kind: 'int',
    min: 1,
    max: 3650,
    doc: "days unseen after which a device is unlinked (never an identity's last one)",
  },
  PASSBY_PAIRING_TTL_SECONDS: {
    key: 'pairingTtlSeconds',
    kind: 'int',
    min: 10,
    max: 86_400,
    doc: 'seconds an approved device has to connect before it is removed with its sealed key',
  },
  PASSBY_ACCOUNT_IDLE_DAYS: {
    key: 'accountIdleDays',
    kind: 'int',
    min: 1,
    max: 3650,
    doc: 'days without any authentication after which an account is erased',
  },
  PASSBY_ADMIN_PORT: {
    key: 'adminPort',
    kind: 'int',
    min: 0,
    max: 65535,
    optional: true,
    doc: 'port for /metrics and /healthz apart from the public one; unset: /metrics on the public port',
  },
  PASSBY_ADMIN_HOST: { key: 'adminHost', kind: 'string', doc: 'address of the admin listener' },
  PASSBY_TLS_CERT_FILE: {
    key: 'tlsCertFile',
    kind: 'string',
    doc: 'PEM certificate chain; with PASSBY_TLS_KEY_FILE the relay serves wss:// (reloaded on SIGHUP)',
  },
  PASSBY_TLS_KEY_FILE: { key: 'tlsKeyFile', kind: 'string', doc: 'PEM private key of the certificate' },
  PASSBY_TLS_MIN_VERSION: {
    key: 'tlsMinVersion',
    kind: 'tls',
    doc: 'oldest TLS version: TLSv1.3 or TLSv1.2',
  },
  PASSBY_DISCOVERY_SECRET_OLD: {
    key: 'discoverySecretPrevious',
    kind: 'secret',
    doc: 'the discovery secret before a rotation, tried by look-ups during the grace period',
  },
  PASSBY_VAPID_PUBLIC_KEY: {
    key: 'vapidPublicKey',
    kind: 'string',
    doc: 'Web Push: the VAPID public key (base64url, 65 bytes); with the private key and subject, Web Push wake-ups are on',
  },
  PASSBY_VAPID_PRIVATE_KEY: {
    key: 'vapidPrivateKey',
    kind: 'secret',
    doc: 'Web Push: the VAPID private key (base64url, 32 bytes)',
  },
  PASSBY_VAPID_SUBJECT: {
    key: 'vapidSubject',
    kind: 'string',
    doc: 'Web Push: a mailto: or https: URL the push services can reach the operator at',
  },
  PASSBY_FCM_SERVICE_ACCOUNT_FILE: {
    key: 'fcmServiceAccountFile',
    kind: 'string',
    doc: 'FCM: the Firebase service-account JSON file (its project_id, client_email, private_key, token_uri); set, FCM wake-ups are on',
  },
  PASSBY_FCM_ENDPOINT: { key: 'fcmEndpoint', kind: 'string', doc: 'FCM: base URL of the HTTP v1 API' },
  PASSBY_APNS_KEY_FILE: {
    key: 'apnsKeyFile',
    kind: 'string',
    doc: 'APNs: the .p8 signing key file; with the key ID, team ID and topic, APNs wake-ups are on',
  },
  PASSBY_APNS_KEY_ID: { key: 'apnsKeyId', kind: 'string', doc: 'APNs: the key ID of the .p8 key' },
  PASSBY_APNS_TEAM_ID: { key: 'apnsTeamId', kind: 'string', doc: 'APNs: the Apple developer team ID' },
  PASSBY_APNS_TOPIC: { key: 'apnsTopic', kind: 'string', doc: "APNs: the app's bundle ID (apns-topic)" },
  PASSBY_APNS_HOST: {
    key: 'apnsHost',
    kind: 'string',
    doc: 'APNs: the server (https://api.sandbox.push.apple.com for development builds)',
  },
  PASSBY_APNS_CA_FILE: {
    key: 'apnsCaFile',
    kind: 'string',
    doc: 'APNs: PEM CA certificates to trust for PASSBY_APNS_HOST instead of the system ones (a private or test push service)',
  },
  PASSBY_APNS_PUSH_TYPE: {
    key: 'apnsPushType',
    kind: 'string',
    doc: 'APNs: background (content-available) or alert (a fixed, content-free alert for a notification service extension)',
  },
  PASSBY_PUSH_COALESCE_SECONDS: {
    key: 'pushCoalesceSeconds',
    kind: 'int',
    min: 1,
    max: 86_400,
    doc: 'at most one wake-up push per device in this many seconds, until it connects',
  },
  PASSBY_PUSH_INSECURE_ENDPOINTS: {
    key: 'pushInsecureEndpoints',
    kind: 'int',
    min: 0,
    max: 1,
    doc: '1: Web Push endpoints may be http:// (tests, a push service on the same host); 0: https:// only',
  },
  PASSBY_PUSH_TIMEOUT_MS: {
    key: 'pushTimeoutMs',
    kind: 'int',
    min: 100,
    max: 60_000,
    doc: 'longest a request to a push service may take before it is tried again',
  },
  PASSBY_PUSH_ONLINE_SECONDS: {
    key: 'pushOnlineSeconds',
    kind: 'int',
    min: 3,
    max: 3_600,
    doc: "how long a device counts as connected after its relay node last said so (each node says it every third of this): a dead node's devices are woken again after it",
  },
};

export const DEFAULTS: Readonly<RelayConfig> = Object.freeze({
  host: '0.0.0.0',
  port: 8080,
  redisUrl: null,
  redisCluster: 0,
  redisWaitReplicas: 0,
  redisWaitTimeoutMs: 1_000,
  presenceRedisUrl: null,
  presenceRedisCluster: 0,
  aofRewriteSeconds: 3_600,
  relayId: 'passby',
  logLevel: 'info',
  maxTtlSeconds: LIMITS.maxTtlSeconds,
  mailboxMaxMessages: 10_000,
  mailboxMaxBytes: 64 * 1024 * 1024,
  sendsPerSecond: 200,
  sendBurst: 400,
  authTimeoutMs: 10_000,
  authSkewMs: 60_000,
  pingIntervalMs: 30_000,
  sweepIntervalMs: 1_000,
  sweepRefreshMs: 10_000,
  deliveryWindow: 120,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxErrorsPerConnection: 100,
  shutdownTimeoutMs: 10_000,
  redisCommandTimeoutMs: 2_000,
  safetyPullMs: 30_000,
  ackTimeoutMs: 60_000,
  connectionInflightBytes: 4 * 1024 * 1024,
  connectionInflightOps: 1_000,
  inflightBytes: 64 * 1024 * 1024,
  discoverySecret: null,
  discoveryTtlSeconds: LIMITS.maxTtlSeconds,
  lookupsPerHour: 200,
  proximityWindowMs: 15 * 60 * 1000,
  presenceIntervalMs: 60 * 1000,
  maxSpeedKmh: 300,
  heldPartsTtlSeconds: 600,
  strangerShares: 1,
  maxDevices: 5,
  deviceIdleDays: 90,
  pairingTtlSeconds: 600,
  accountIdleDays: 180,
  adminPort: null,
  adminHost: '127.0.0.1',
  tlsCertFile: null,
  tlsKeyFile: null,
  tlsMinVersion: 'TLSv1.3',
  discoverySecretPrevious: null,
  vapidPublicKey: null,
  vapidPrivateKey: null,
  vapidSubject: null,
  fcmServiceAccountFile: null,
  fcmEndpoint: 'https://fcm.googleapis.com',
  apnsKeyFile: null,
  apnsKeyId: null,
  apnsTeamId: null,
  apnsTopic: null,
  apnsHost: 'https://api.push.apple.com',
  apnsCaFile: null,
  apnsPushType: 'background',
  pushCoalesceSeconds: 60,
  pushInsecureEndpoints: 0,
  pushTimeoutMs: 10_000,
  pushOnlineSeconds: 45,
});
