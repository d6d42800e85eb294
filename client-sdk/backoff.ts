export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  baseMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 20_000 };

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff and Jitter): a delay drawn uniformly
 * from [0, min(max, base * 2^(attempt-1))). Spreading reconnects over the whole interval keeps a
 * relay restart from being met by every client at the same instant.
 * `random` returns a number in [0, 1), like Math.random.
 */
export function fullJitter(attempt: number, o: BackoffOptions, random: () => number): number {
  const exp = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * exp);
}
