import { LIMITS } from '../protocol/index.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { DEFAULT_CHUNK_BYTES } from './file-transfer.js';
import { Identity } from './identity.js';
import { MemoryStorage, type Storage } from './storage.js';

/**
 * The part of a WebSocket the SDK uses; the browser's, React Native's and ws's all fit. Handlers
 * are set as properties (onopen ...), which every one of them supports.
 */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  // biome-ignore lint/suspicious/noExplicitAny: each platform types its events differently
  onopen: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  onmessage: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  onclose: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  onerror: ((event: any) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => SocketLike;

/** Time, injected so tests can drive it (vitest's fake timers, or their own). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClientOptions {
  /** The relay, ws:// or wss://. */
  url: string;
  /**
   * The relay's identity, as its operator configured it (PASSBY_RELAY_ID); the client signs a
   * challenge only for this relay. Default 'passby', the relay's own default.
   */
  relayId?: string;
  identity: Identity;
  /** Where the outbox, the IDs already handed to the app and verified keys live. Default: memory. */
  storage?: Storage;
  /** Default: globalThis.WebSocket (browsers, React Native, Node 22+). In Node 20 pass ws's class. */
  WebSocket?: WebSocketConstructor;
  clock?: Clock;
  /** A number in [0, 1), for backoff jitter only (never for keys). Default: Math.random. */
  random?: () => number;
  /** Reconnect delays: full jitter, ~0.5 s to 20 s by default. */
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * Failed connection attempts in a row after which the client gives up and closes with
   * ClientError('connection_failed'). Default: unlimited (it keeps trying, backing off).
   */
  maxAttempts?: number;
  /** Connect as soon as the client is created. Default true; otherwise call connect(). */
  autoConnect?: boolean;
  /** Sends the relay has not confirmed yet, at most. Default 32. */
  maxInFlight?: number;
  /** Messages the outbox may hold (queued and in flight). Default 1000. */
  outboxLimit?: number;
  /** How long the relay may take to answer hello and auth, in ms. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Plaintext bytes per file chunk. Default: as many as fit in the relay's body limit. */
  fileChunkBytes?: number;
  /** An incoming file that makes no progress for this long is reported incomplete. Default 2 min. */
  fileTimeoutMs?: number;
  /** Largest incoming file accepted (it is assembled in memory). Default 1 GiB. */
  maxFileBytes?: number;
  /** Seconds a message may wait for its recipient at the relay. Default: the relay's maximum. */
  ttlSeconds?: number;
  /** How long a friends, discovery or location request may take, waiting for a connection included. Default 10 s. */
  requestTimeoutMs?: number;
  /** Least time between two location updates; match the relay's presenceIntervalMs. Default 60 s. */
  presenceIntervalMs?: number;
  /** The relay's matching window (proximityWindowMs); blind mode needs it. Default 15 min. */
  proximityWindowMs?: number;
  /** Post blind-mode tokens instead of cells by default (proximity.update's `blind`). Default false. */
  blindProximity?: boolean;
}

export type ResolvedOptions = Required<Omit<ClientOptions, 'backoff' | 'ttlSeconds'>> & {
  backoff: { baseMs: number; maxMs: number };
  ttlSeconds: number | undefined;
};

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Spreads the defaults under the app's options and refuses nonsense early, with a TypeError.
 * `pairing`: the options of pairDevice, which has no identity yet (pairing.ts).
 */
export function resolveOptions(options: ClientOptions, pairing = false): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('createClient needs an options object');
  const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const o: ResolvedOptions = {
    relayId: 'passby',
    storage: new MemoryStorage(),
    clock: systemClock,
    random: Math.random,
    autoConnect: true,
    maxInFlight: 32,
    outboxLimit: 1000,
    handshakeTimeoutMs: 10_000,
    fileChunkBytes: DEFAULT_CHUNK_BYTES,
    fileTimeoutMs: 120_000,
    maxFileBytes: 1024 ** 3,
    requestTimeoutMs: 10_000,
    presenceIntervalMs: 60_000,
    proximityWindowMs: 15 * 60_000,
    blindProximity: false,
    maxAttempts: Number.POSITIVE_INFINITY,
    ...options,
    WebSocket: WS as WebSocketConstructor,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    ttlSeconds: options.ttlSeconds,
  };
  const problems: string[] = [];
  if (typeof o.url !== 'string' || !/^wss?:\/\/./.test(o.url))
    problems.push('url must start with ws:// or wss://');
  if (typeof o.relayId !== 'string' || o.relayId.length > 256 || !/^\P{Cc}+$/u.test(o.relayId))
    problems.push('relayId must be a string of 1-256 characters without control characters');
  if (!pairing && !(o.identity instanceof Identity))
    problems.push('identity must come from createIdentity() or importIdentity()');
  if (typeof o.WebSocket !== 'function') {
    problems.push('no WebSocket: pass options.WebSocket (in Node 20, the class from the ws package)');
  }
  for (const k of [
    'maxInFlight',
    'outboxLimit',
    'handshakeTimeoutMs',
    'fileChunkBytes',
    'fileTimeoutMs',
    'maxFileBytes',
    'requestTimeoutMs',
    'proximityWindowMs',
  ] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 1) problems.push(`${k} must be a positive integer`);
  }
  if (!Number.isSafeInteger(o.presenceIntervalMs) || o.presenceIntervalMs < 0)
    problems.push('presenceIntervalMs must be a whole number of milliseconds');
  if (typeof o.blindProximity !== 'boolean') problems.push('blindProximity must be a boolean');
  if (
    o.maxAttempts !== Number.POSITIVE_INFINITY &&
    (!Number.isSafeInteger(o.maxAttempts) || o.maxAttempts < 1)
  )
    problems.push('maxAttempts must be a positive integer (or Infinity)');
  const { baseMs, maxMs } = o.backoff;
  if (!(baseMs > 0 && maxMs >= baseMs)) problems.push('backoff needs 0 < baseMs <= maxMs');
  if (o.outboxLimit < o.maxInFlight) problems.push('outboxLimit must be at least maxInFlight');
  const ttl = o.ttlSeconds;
  if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > LIMITS.maxTtlSeconds)) {
    problems.push(`ttlSeconds must be an integer from 1 to ${LIMITS.maxTtlSeconds}`);
  }
  for (const k of ['get', 'set', 'delete', 'keys'] as const) {
    if (typeof o.storage?.[k] !== 'function') problems.push(`storage.${k} must be a function`);
  }
  if (typeof o.random !== 'function' || typeof o.clock?.now !== 'function')
    problems.push('random and clock.now must be functions');
  if (problems.length > 0) throw new TypeError(`invalid passby client options: ${problems.join('; ')}`);
  return o;
}
