import type { PassbyError } from '../protocol/index.js';
import type { ClientError } from './errors.js';

/**
 * The connection as a discriminated union. `attempt` counts the connection attempts that failed in
 * a row; it sizes the backoff and is forgotten once a connection opens.
 */
export type State =
  | { kind: 'idle' }
  | { kind: 'connecting'; attempt: number }
  | { kind: 'authenticating'; attempt: number }
  | { kind: 'open' }
  | {
      kind: 'backoff';
      attempt: number;
      /** Why the last attempt (or the open connection) failed, when the SDK knows. */
      error?: PassbyError | ClientError;
      /** The wait before the next attempt, in ms: set by the client as it enters the state. */
      delayMs?: number;
    }
  | { kind: 'closed'; error?: PassbyError | ClientError };

export type StateKind = State['kind'];

export type StateEvent =
  /** The app asks to connect (or to retry now, during a backoff). */
  | { type: 'connect' }
  /** The socket opened; the handshake starts. */
  | { type: 'socket-open' }
  /** The relay sent `welcome`. */
  | { type: 'welcome' }
  /** The socket closed or failed. `retry` comes from the protocol's error table. */
  | { type: 'socket-lost'; retry: boolean; error?: PassbyError | ClientError }
  /** The backoff timer fired. */
  | { type: 'backoff-elapsed' }
  /** The app closed the client. Final. */
  | { type: 'close' };

/**
 * The next state. Pure: no sockets, timers or randomness (the client performs those on entering
 * a state). An event that means nothing in the current state returns that same state object, so
 * `transition(s, e) === s` tells the caller nothing happened.
 */
export function transition(state: State, event: StateEvent): State {
  if (state.kind === 'closed') return state;
  if (event.type === 'close') return { kind: 'closed' };
  switch (state.kind) {
    case 'idle':
      return event.type === 'connect' ? { kind: 'connecting', attempt: 0 } : state;
    case 'connecting':
      if (event.type === 'socket-open') return { kind: 'authenticating', attempt: state.attempt };
      if (event.type === 'socket-lost') return lost(state.attempt, event);
      return state;
    case 'authenticating':
      if (event.type === 'welcome') return { kind: 'open' };
      if (event.type === 'socket-lost') return lost(state.attempt, event);
      return state;
    case 'open':
      return event.type === 'socket-lost' ? lost(0, event) : state;
    case 'backoff':
      if (event.type === 'backoff-elapsed' || event.type === 'connect') {
        return { kind: 'connecting', attempt: state.attempt };
      }
      return state;
  }
}

function lost(failed: number, event: Extract<StateEvent, { type: 'socket-lost' }>): State {
  if (!event.retry) return event.error ? { kind: 'closed', error: event.error } : { kind: 'closed' };
  const backoff: State = { kind: 'backoff', attempt: failed + 1 };
  if (event.error) backoff.error = event.error;
  return backoff;
}
