import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/*
 * One root pino logger. Children carry only the connection number and, once known, the
 * pseudonymous user ID. Never bind a frame, headers or a socket: what a client sent is not
 * allow-listed. Redaction removes, by explicit path, every field that could carry something the
 * logs must never hold (DESIGN P6): IPs, coordinates, cells, tokens, phone numbers, payloads and
 * secrets. The `err` serializer keeps only type, code, message, stack and cause, since client
 * library errors may carry command arguments (and so payload bytes), and it masks the IP
 * addresses, ports and URL credentials that connection errors put in their messages.
 */
export const REDACTED_PATHS = [
  'ip',
  'remoteAddress',
  'remotePort',
  'address',
  'headers',
  'req',
  'body',
  'payload',
  'data',
  'frame',
  'pk',
  'sig',
  'nonce',
  'token',
  'tokens',
  'secret',
  'password',
  'redisUrl',
  'url',
  'phone',
  'cell',
  'lat',
  'lon',
  'lng',
  'latitude',
  'longitude',
  'distance',
  // Wake-up pushes: a registration's endpoint, keys and token, and what the push services are sent.
  'endpoint',
  'p256dh',
  'auth',
  'registration',
  'subscription',
  'authorization',
  'assertion',
  'accessToken',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'passby-relay' },
      redact: { paths: REDACTED_PATHS, remove: true },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** How deep an error's `cause` chain is followed. */
const MAX_CAUSES = 3;

function serializeError(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const out: Record<string, unknown> = { type: err.name, message: maskAddresses(err.message) };
  if (err.stack !== undefined) out.stack = maskAddresses(err.stack);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (err.cause !== undefined && depth < MAX_CAUSES) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** user:password@ (or token@) right after a URL scheme; greedy, so a password holding '@' goes too. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/]*@/gi;
/** A dotted IPv4 address, with its port if one follows. */
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\d.])/g;
/** [IPv6]:port, a full IPv6 address, or a compressed one (with ::), with an optional %zone. */
const IPV6 =
  /\[(?=[^\]]*:)[0-9a-f:]*(?:<address>)?(?:%[\w.-]+)?\](?::\d{1,5})?|(?<![0-9a-z:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?)(?:%[\w.-]+)?(?![0-9a-z:])/gi;

/**
 * Library errors name the peer they failed on ("connect ECONNREFUSED 127.0.0.1:6379") or the URL
 * they were given: keep the words, drop addresses, ports and credentials (DESIGN P6). Hostnames
 * are left: they name the operator's own servers, not a client.
 */
function maskAddresses(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1')
    .replace(IPV4, '<address>')
    .replace(IPV6, (match) => (match === '::' ? match : '<address>'));
}
