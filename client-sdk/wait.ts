import { type AbortSignalLike, cancelled, onAbort } from './abort.js';
import { ClientError } from './errors.js';
import type { Clock } from './options.js';

/** How long `once` and `ready` may wait, and a signal that gives up waiting. */
export interface WaitOptions {
  /** Rejects with ClientError('timeout') after this many ms. Default: no limit. */
  timeoutMs?: number | undefined;
  /** Rejects with ClientError('cancelled') when it fires. */
  signal?: AbortSignalLike | undefined;
}

export interface WaitContext {
  clock: Clock;
  /** The last connection error, named in a timeout's message (and its cause). */
  lastError(): Error | undefined;
}

/**
 * Waits for what `listen` reports (it returns the function that stops listening), within the
 * options' time limit and signal: whichever comes first settles the promise and stops the rest.
 */
export function waitFor<T>(
  ctx: WaitContext,
  what: string,
  { timeoutMs, signal }: WaitOptions,
  listen: (resolve: (value: T) => void, reject: (err: Error) => void) => () => void,
): Promise<T> {
  if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0))
    return Promise.reject(new TypeError('timeoutMs must be a whole number of milliseconds'));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: unknown;
    let stopAbort: () => void = () => undefined;
    let stopListening: () => void = () => undefined;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      stopListening();
      stopAbort();
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      settle();
    };
    try {
      stopAbort = onAbort(signal, `waiting for ${what}`, () =>
        finish(() => reject(cancelled(`waiting for ${what}`))),
      );
    } catch (err) {
      reject(err);
      return;
    }
    stopListening = listen(
      (value) => finish(() => resolve(value)),
      (err) => finish(() => reject(err)),
    );
    if (settled) stopListening(); // listen reported at once
    if (settled || timeoutMs === undefined) return;
    timer = ctx.clock.setTimeout(() => {
      const last = ctx.lastError();
      const why = `${what} did not come within ${timeoutMs} ms${last ? ` (last error: ${last.message})` : ''}`;
      finish(() => reject(new ClientError('timeout', why, last ? { cause: last } : {})));
    }, timeoutMs);
  });
}
