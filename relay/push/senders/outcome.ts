import type { PushKind, PushRegistration } from '../../../protocol/index.js';

/*
 * What a push service answered, as the waker acts on it: sent; gone (404, 410: the registration
 * is dropped); retry (429, 5xx, a timeout or a network failure: again later, no sooner than the
 * service's Retry-After); failed (any other answer: counted, not retried).
 */

export type Outcome =
  | { status: 'sent' }
  | { status: 'gone' }
  | { status: 'retry'; reason: FailReason; afterMs: number | null }
  | { status: 'failed'; reason: FailReason };

/**
 * passby_wakeups_failed_total{reason}: a closed set. overflow (the queue was full), gone (404,
 * 410), rejected (another 4xx), unavailable (429 or 5xx, after the last attempt), timeout,
 * network, unconfigured (a registration of a kind this relay no longer has credentials for).
 */
export type FailReason =
  | 'overflow'
  | 'gone'
  | 'rejected'
  | 'unavailable'
  | 'timeout'
  | 'network'
  | 'unconfigured';

export const FAIL_REASONS: readonly FailReason[] = [
  'overflow',
  'gone',
  'rejected',
  'unavailable',
  'timeout',
  'network',
  'unconfigured',
];

export interface Sender {
  readonly kind: PushKind;
  send(registration: PushRegistration): Promise<Outcome>;
  close(): void;
}

/** The outcome of an HTTP status, with the service's Retry-After header (seconds or a date). */
export function outcomeOf(status: number, retryAfter: string | null | undefined, now = Date.now()): Outcome {
  if (status >= 200 && status < 300) return { status: 'sent' };
  if (status === 404 || status === 410) return { status: 'gone' };
  if (status === 429 || status >= 500)
    return { status: 'retry', reason: 'unavailable', afterMs: retryAfterMs(retryAfter, now) };
  return { status: 'failed', reason: 'rejected' };
}

/** Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** A fetch or http2 failure: a timeout (our deadline) or anything else on the way. */
export function outcomeOfError(err: unknown): Outcome {
  const name = (err as { name?: unknown })?.name;
  const timeout = name === 'TimeoutError' || name === 'AbortError';
  return { status: 'retry', reason: timeout ? 'timeout' : 'network', afterMs: null };
}
