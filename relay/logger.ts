import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/*
 * One root pino logger. Children carry only the connection number and, once known, the
 * pseudonymous user ID. Never bind a frame, headers or a socket: what a client sent is not
 * allow-listed. Redaction removes, by explicit path, every field that could carry something the
 * logs must never hold (DESIGN P6): IPs, coordinates, cells, tokens, phone numbers, payloads and
 * secrets. The `err` serializer keeps only type, code, message and stack, since client library
 * errors may carry command arguments (and so payload bytes).
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

function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  return out;
}
