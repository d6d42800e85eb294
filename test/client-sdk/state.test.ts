import { describe, expect, it } from 'vitest';
import { type State, transition } from '../../client-sdk/index.js';
import { PassbyError } from '../../protocol/index.js';

describe('transition', () => {
  it('goes from idle through connecting and authenticating to open', () => {
    let s: State = { kind: 'idle' };
    s = transition(s, { type: 'connect' });
    expect(s).toEqual({ kind: 'connecting', attempt: 0 });
    s = transition(s, { type: 'socket-open' });
    expect(s).toEqual({ kind: 'authenticating', attempt: 0 });
    s = transition(s, { type: 'welcome' });
    expect(s).toEqual({ kind: 'open' });
  });

  it('backs off after losing an open connection, starting again from the first attempt', () => {
    const s = transition({ kind: 'open' }, { type: 'socket-lost', retry: true });
    expect(s).toEqual({ kind: 'backoff', attempt: 1 });
  });

  it('counts failed attempts in a row while the connection never opens', () => {
    let s: State = { kind: 'backoff', attempt: 1 };
    s = transition(s, { type: 'backoff-elapsed' });
    expect(s).toEqual({ kind: 'connecting', attempt: 1 });
    s = transition(s, { type: 'socket-lost', retry: true });
    expect(s).toEqual({ kind: 'backoff', attempt: 2 });
    s = transition(transition(transition(s, { type: 'backoff-elapsed' }), { type: 'socket-open' }), {
      type: 'socket-lost',
      retry: true,
    });
    expect(s).toEqual({ kind: 'backoff', attempt: 3 });
  });

  it('closes with the error when the protocol says a retry cannot help', () => {
    const error = new PassbyError('replaced');
    const s = transition({ kind: 'open' }, { type: 'socket-lost', retry: false, error });
    expect(s).toEqual({ kind: 'closed', error });
  });

  it('closes from every state when the app asks, and stays closed', () => {
    const states: State[] = [
      { kind: 'idle' },
      { kind: 'connecting', attempt: 0 },
      { kind: 'authenticating', attempt: 2 },
      { kind: 'open' },
      { kind: 'backoff', attempt: 4 },
    ];
    for (const s of states) expect(transition(s, { type: 'close' })).toEqual({ kind: 'closed' });
    const closed: State = { kind: 'closed' };
    expect(transition(closed, { type: 'connect' })).toBe(closed);
    expect(transition(closed, { type: 'welcome' })).toBe(closed);
  });

  it('retries at once when the app asks to connect during a backoff', () => {
    expect(transition({ kind: 'backoff', attempt: 5 }, { type: 'connect' })).toEqual({
      kind: 'connecting',
      attempt: 5,
    });
  });

  it('returns the same state object for an event that means nothing there', () => {
    const open: State = { kind: 'open' };
    expect(transition(open, { type: 'welcome' })).toBe(open);
    expect(transition(open, { type: 'connect' })).toBe(open);
    const idle: State = { kind: 'idle' };
    expect(transition(idle, { type: 'socket-lost', retry: true })).toBe(idle);
    const connecting: State = { kind: 'connecting', attempt: 0 };
    expect(transition(connecting, { type: 'welcome' })).toBe(connecting);
  });
});
