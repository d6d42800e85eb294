import { ClientError } from './errors.js';

/**
 * The part of an AbortSignal the SDK uses (browsers', Node's and React Native's all fit), so its
 * types need neither the DOM library nor Node's.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The error an operation cancelled by its AbortSignal rejects with. */
export function cancelled(what: string): ClientError {
  return new ClientError('cancelled', `${what} was cancelled (its AbortSignal fired)`);
}

/**
 * Runs `onAbort` once when `signal` fires; returns the function that stops listening. Throws
 * `cancelled` at once when the signal has already fired, so nothing starts.
 */
export function onAbort(signal: AbortSignalLike | undefined, what: string, abort: () => void): () => void {
  if (signal === undefined) return () => undefined;
  if (typeof signal?.addEventListener !== 'function') throw new TypeError('signal must be an AbortSignal');
  if (signal.aborted) throw cancelled(what);
  signal.addEventListener('abort', abort);
  return () => signal.removeEventListener('abort', abort);
}
