import { LIMITS } from '../../protocol/index.js';
import { DEFAULTS, type RelayConfig, VARIABLES, type Variable } from './variables.js';

export { DEFAULTS, type RelayConfig, VARIABLES } from './variables.js';

/**
 * The relay's configuration: the only file that reads the environment. Every variable is listed
 * in VARIABLES (relay/config/variables.ts) with its default. loadConfig() gathers every problem
 * and throws one error listing them all; tests pass a plain object to resolveConfig().
 */

const TLS_VERSIONS = ['TLSv1.3', 'TLSv1.2'];

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The limits a client learns in `welcome`. */
export function clientLimits(c: Readonly<RelayConfig>) {
  return {
    maxBodyBytes: LIMITS.maxBodyBytes,
    maxTtlSeconds: c.maxTtlSeconds,
    mailboxMaxMessages: c.mailboxMaxMessages,
    mailboxMaxBytes: c.mailboxMaxBytes,
    sendsPerSecond: c.sendsPerSecond,
    proximityWindowMs: c.proximityWindowMs,
    presenceIntervalMs: c.presenceIntervalMs,
    heldPartsTtlSeconds: c.heldPartsTtlSeconds,
    strangerShares: c.strangerShares === 1,
  };
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid relay configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Where Redis is, from the configuration; null for the in-process store. */
export function redisEndpointOf(c: Readonly<RelayConfig>): { urls: string[]; cluster: boolean } | null {
  return endpoint(c.redisUrl, c.redisCluster);
}

/** Where the presence Redis is; null keeps presence in the relay process. */
export function presenceEndpointOf(c: Readonly<RelayConfig>): { urls: string[]; cluster: boolean } | null {
  return endpoint(c.presenceRedisUrl, c.presenceRedisCluster);
}

function endpoint(url: string | null, cluster: number) {
  if (url === null) return null;
  return { urls: url.split(',').map((u) => u.trim()), cluster: cluster === 1 };
}

/** Reads the environment (process.env by default). Throws one ConfigError listing every problem. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<RelayConfig> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const parsed = parse(name, v, raw, problems);
    if (parsed !== undefined) values[v.key] = parsed;
  }
  return finish({ ...DEFAULTS, ...values } as RelayConfig, problems);
}

/** Completes and checks a configuration given as an object (tests, embedding). */
export function resolveConfig(partial: Partial<RelayConfig> = {}): Readonly<RelayConfig> {
  const problems: string[] = [];
  const merged = { ...DEFAULTS, ...partial } as RelayConfig;
  for (const [name, v] of Object.entries(VARIABLES)) {
    const value = merged[v.key];
    if (v.kind === 'int' && !(v.optional && value === null)) checkInt(name, v, value, problems);
    if (v.kind === 'tls' && !TLS_VERSIONS.includes(String(value)))
      problems.push(`${name} must be one of ${TLS_VERSIONS.join(', ')}`);
    if (v.kind === 'level' && !LEVELS.includes(String(value)))
      problems.push(`${name} must be one of ${LEVELS.join(', ')}`);
  }
  return finish(merged, problems);
}

/**
 * The most one delivery can put in a connection's send buffer: a full body and its frame headers
 * (the relay frame's JSON, under 300 bytes for a `msg`, and the WebSocket header), rounded up.
 * The default window (120) times this fits the default buffer (8 MiB) with room to spare.
 */
const DELIVERY_FRAME_BYTES = LIMITS.maxBodyBytes + 1024;

function finish(config: RelayConfig, problems: string[]): Readonly<RelayConfig> {
  if (config.sendBurst < config.sendsPerSecond)
    problems.push('PASSBY_SEND_BURST must be at least PASSBY_SENDS_PER_SECOND');
  if (config.redisUrl !== null && config.discoverySecret === null) {
    // Hashes must stay comparable across restarts and relay nodes that share the Redis.
    problems.push('PASSBY_DISCOVERY_SECRET is required with PASSBY_REDIS_URL');
  }
  if (config.redisUrl !== null && config.redisCluster === 0 && config.redisUrl.includes(','))
    problems.push('PASSBY_REDIS_URL lists several URLs: set PASSBY_REDIS_CLUSTER=1 for a Redis Cluster');
  if (config.redisWaitReplicas > 0 && config.redisWaitTimeoutMs >= config.redisCommandTimeoutMs)
    problems.push('PASSBY_REDIS_WAIT_TIMEOUT_MS must be shorter than PASSBY_REDIS_COMMAND_TIMEOUT_MS');
  if (
    config.presenceRedisUrl !== null &&
    config.presenceRedisCluster === 0 &&
    config.presenceRedisUrl.includes(',')
  )
    problems.push('PASSBY_PRESENCE_REDIS_URL lists several URLs: set PASSBY_PRESENCE_REDIS_CLUSTER=1');
  if (config.presenceRedisUrl !== null && config.redisUrl === null)
    problems.push(
      'PASSBY_PRESENCE_REDIS_URL needs PASSBY_REDIS_URL (the in-process store keeps presence itself)',
    );
  if (config.redisUrl === null && config.redisCluster === 1)
    problems.push('PASSBY_REDIS_CLUSTER=1 needs PASSBY_REDIS_URL (the seed nodes)');
  if (config.discoverySecret !== null && config.discoverySecret.length < 32)
    problems.push('PASSBY_DISCOVERY_SECRET must be at least 32 characters');
  if (config.maxBufferedBytes < config.deliveryWindow * DELIVERY_FRAME_BYTES) {
    // The delivery window alone may fill the buffer; a smaller limit would close healthy clients.
    problems.push(
      `PASSBY_MAX_BUFFERED_BYTES must be at least PASSBY_DELIVERY_WINDOW x ${DELIVERY_FRAME_BYTES}`,
    );
  }
  if ((config.tlsCertFile === null) !== (config.tlsKeyFile === null))
    problems.push('PASSBY_TLS_CERT_FILE and PASSBY_TLS_KEY_FILE go together: set both or neither');
  if (config.discoverySecretPrevious !== null) {
    if (config.discoverySecret === null)
      problems.push('PASSBY_DISCOVERY_SECRET_OLD needs PASSBY_DISCOVERY_SECRET');
    else if (config.discoverySecretPrevious === config.discoverySecret)
      problems.push('PASSBY_DISCOVERY_SECRET_OLD must differ from PASSBY_DISCOVERY_SECRET');
    if (config.discoverySecretPrevious.length < 32)
      problems.push('PASSBY_DISCOVERY_SECRET_OLD must be at least 32 characters');
  }
  if (config.adminPort !== null && config.adminPort === config.port && config.port !== 0)
    problems.push('PASSBY_ADMIN_PORT must differ from PASSBY_PORT');
  if (config.inflightBytes < config.connectionInflightBytes)
    problems.push('PASSBY_INFLIGHT_BYTES must be at least PASSBY_CONNECTION_INFLIGHT_BYTES');
  pushProblems(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function parse(name: string, v: Variable, raw: string, problems: string[]): unknown {
  switch (v.kind) {
    case 'string':
      return raw;
    case 'secret':
      return raw;
    case 'level':
      if (!LEVELS.includes(raw)) problems.push(`${name}="${raw}" must be one of ${LEVELS.join(', ')}`);
      return raw;
    case 'tls':
      if (!TLS_VERSIONS.includes(raw))
        problems.push(`${name}="${raw}" must be one of ${TLS_VERSIONS.join(', ')}`);
      return raw;
    case 'url':
      if (!raw.split(',').every((url) => /^rediss?:\/\/./.test(url.trim()))) {
        problems.push(
          `${name} must be a redis:// or rediss:// URL (or, for a Cluster, several separated by commas)`,
        );
        return undefined;
      }
      return raw;
    case 'int': {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
      return checkInt(name, v, n, problems, raw) ? n : undefined;
    }
  }
}

function checkInt(name: string, v: Variable, value: unknown, problems: string[], raw?: string): boolean {
  const shown = raw ?? String(value);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    problems.push(`${name}="${shown}" must be an integer`);
    return false;
  }
  if (v.min !== undefined && value < v.min) problems.push(`${name}=${shown} must be at least ${v.min}`);
  else if (v.max !== undefined && value > v.max) problems.push(`${name}=${shown} must be at most ${v.max}`);
  else return true;
  return false;
}

/** A PASSBY_* variable the relay does not read, with the known name it most likely meant. */
export interface UnknownVariable {
  name: string;
  /** The known variable within three edits of `name`, if there is one. */
  suggestion: string | null;
}

/**
 * The PASSBY_* variables in `env` that are not in VARIABLES: a misspelled setting is otherwise
 * ignored without a word. Only names are returned, never values (one may be a secret).
 */
export function unknownVariables(
  env: Readonly<Record<string, string | undefined>> = process.env,
): UnknownVariable[] {
  const known = Object.keys(VARIABLES);
  return Object.keys(env)
    .filter((name) => name.startsWith('PASSBY_') && !Object.hasOwn(VARIABLES, name))
    .sort()
    .map((name) => {
      let suggestion: string | null = null;
      let best = 4;
      for (const candidate of known) {
        const d = editDistance(name, candidate);
        if (d < best) [best, suggestion] = [d, candidate];
      }
      return { name, suggestion };
    });
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** Wake-up push credentials come in sets: all of a set or none of it (each set is one kind). */
function pushProblems(c: RelayConfig, problems: string[]): void {
  const sets: [string, (string | null)[], string[]][] = [
    [
      'Web Push',
      [c.vapidPublicKey, c.vapidPrivateKey, c.vapidSubject],
      ['PASSBY_VAPID_PUBLIC_KEY', 'PASSBY_VAPID_PRIVATE_KEY', 'PASSBY_VAPID_SUBJECT'],
    ],
    [
      'APNs',
      [c.apnsKeyFile, c.apnsKeyId, c.apnsTeamId, c.apnsTopic],
      ['PASSBY_APNS_KEY_FILE', 'PASSBY_APNS_KEY_ID', 'PASSBY_APNS_TEAM_ID', 'PASSBY_APNS_TOPIC'],
    ],
  ];
  for (const [what, values, names] of sets) {
    const set = values.filter((v) => v !== null).length;
    if (set > 0 && set < values.length) problems.push(`${what} wake-ups need all of ${names.join(', ')}`);
  }
  if (c.vapidSubject !== null && !/^(mailto:|https:\/\/)./.test(c.vapidSubject))
    problems.push('PASSBY_VAPID_SUBJECT must be a mailto: or https:// URL');
  for (const [name, url] of [
    ['PASSBY_FCM_ENDPOINT', c.fcmEndpoint],
    ['PASSBY_APNS_HOST', c.apnsHost],
  ] as const)
    if (!/^https?:\/\/[^\s/]+\/?$/.test(url)) problems.push(`${name} must be an http(s) URL with no path`);
  if (c.apnsPushType !== 'background' && c.apnsPushType !== 'alert')
    problems.push('PASSBY_APNS_PUSH_TYPE must be background or alert');
}
