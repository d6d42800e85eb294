import { type AbortSignalLike, cancelled, onAbort } from './abort.js';
import type { Emitter } from './emitter.js';
import { ClientError } from './errors.js';
import type { ClientEvents } from './events.js';
import type { Clock } from './options.js';
import type { State } from './state.js';

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

/** client.once: the next `event`, or a rejection when the client closes first (after its events). */
export function nextEvent<K extends keyof ClientEvents>(
  events: Emitter<ClientEvents>,
  ctx: WaitContext,
  event: K,
  options: WaitOptions,
): Promise<ClientEvents[K]> {
  return waitFor<ClientEvents[K]>(ctx, `the "${String(event)}" event`, options, (resolve, reject) => {
    const off = events.on(event, resolve);
    if (event === 'state') return off;
    const offState = events.on('state', ({ state }) => {
      // After the events the closing itself emits (an `error` with its cause ...).
      if (state.kind === 'closed') queueMicrotask(() => reject(state.error ?? new ClientError('closed')));
    });
    return () => {
      off();
      offState();
    };
  });
}

/** client.ready: resolves once `state` is open (at once if it is); rejects once it is closed. */
export function opened(
  events: Emitter<ClientEvents>,
  ctx: WaitContext,
  now: State,
  options: WaitOptions,
): Promise<void> {
  if (now.kind === 'open') return Promise.resolve();
  if (now.kind === 'closed') return Promise.reject(now.error ?? new ClientError('closed'));
  return waitFor<void>(ctx, 'the connection', options, (resolve, reject) =>
    events.on('state', ({ state }) => {
      if (state.kind === 'open') resolve();
      else if (state.kind === 'closed') reject(state.error ?? new ClientError('closed'));
    }),
  );
}
