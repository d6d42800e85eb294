import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, createIdentity, type Identity, type PassbyClient } from '../../client-sdk/index.js';
import { FakeSocket } from './fake-socket.js';

let identity: Identity;
let client: PassbyClient;
let transitions: string[];

beforeAll(async () => {
  identity = await createIdentity();
});

beforeEach(async () => {
  vi.useFakeTimers();
  FakeSocket.created = [];
  transitions = [];
  client = await createClient({
    url: 'ws://relay.test/',
    identity,
    WebSocket: FakeSocket,
    random: () => 0.5,
    autoConnect: false,
    handshakeTimeoutMs: 5_000,
  });
  client.on('state', ({ from, to }) => {
    transitions.push(`${from}>${to}`);
  });
});

afterEach(async () => {
  await client.close();
  vi.useRealTimers();
});

function open(): FakeSocket {
  client.connect();
  const socket = FakeSocket.latest();
  socket.handshake(identity.id);
  return socket;
}

describe('connection', () => {
  it('says hello, signs the challenge and opens, announcing each state', () => {
    const socket = open();
    expect(socket.binaryType).toBe('arraybuffer');
    expect(socket.sent.map((f) => f.t)).toEqual(['hello', 'auth']);
    expect(client.state).toEqual({ kind: 'open' });
    expect(transitions).toEqual(['idle>connecting', 'connecting>authenticating', 'authenticating>open']);
  });

  it('reconnects after the network drops, after a full-jitter delay', () => {
    open();
    FakeSocket.latest().drop(1006);
    expect(client.state).toMatchObject({ kind: 'backoff', attempt: 1, delayMs: 250 });
    vi.advanceTimersByTime(249); // random 0.5 of the first ceiling, 500 ms
    expect(FakeSocket.created).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.created).toHaveLength(2);
    expect(client.state.kind).toBe('connecting');
  });

  it('doubles the delay while attempts fail and starts small again once open', () => {
    open();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      FakeSocket.latest().drop(1006);
      const before = FakeSocket.created.length;
      let waited = 0;
      while (FakeSocket.created.length === before) {
        vi.advanceTimersByTime(1);
        waited++;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([250, 500, 1000, 2000]);
    FakeSocket.latest().handshake(identity.id);
    FakeSocket.latest().drop(1006);
    vi.advanceTimersByTime(250);
    expect(client.state.kind).toBe('connecting');
  });

  it('ignores a late close from a socket it has already replaced', () => {
    const old = open();
    old.drop(1006);
    vi.advanceTimersByTime(250);
    FakeSocket.latest().handshake(identity.id);
    old.onclose?.({ code: 1006, reason: '' });
    expect(client.state).toEqual({ kind: 'open' });
  });

  it('reconnects when the relay goes away for a restart (1001)', () => {
    open();
    FakeSocket.latest().drop(1001);
    expect(client.state.kind).toBe('backoff');
  });

  it('closes for good when a newer connection replaced it (4004), as the error table says', () => {
    open();
    FakeSocket.latest().drop(4004, 'replaced');
    expect(client.state).toMatchObject({ kind: 'closed', error: { code: 'replaced', retry: false } });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.created).toHaveLength(1);
  });

  it('retries after an expired authentication, signing with the relay clock', () => {
    client.connect();
    FakeSocket.latest().accept();
    FakeSocket.latest().drop(4002);
    expect(client.state.kind).toBe('backoff');
    vi.advanceTimersByTime(250);
    const socket = FakeSocket.latest();
    socket.handshake(identity.id);
    const auth = socket.sent.find((f) => f.t === 'auth');
    expect(auth).toMatchObject({ ts: 1_700_000_000_000 });
  });

  it('gives up a handshake the relay does not finish in time, and tries again', () => {
    const errors: string[] = [];
    client.on('error', ({ error }) => {
      errors.push(error.code);
    });
    client.connect();
    FakeSocket.latest().accept();
    vi.advanceTimersByTime(4_999);
    expect(client.state.kind).toBe('authenticating');
    vi.advanceTimersByTime(1);
    expect(client.state.kind).toBe('backoff');
    expect(errors).toEqual(['timeout']);
  });

  it('can be closed during a backoff, which cancels the pending reconnect', async () => {
    open();
    FakeSocket.latest().drop(1006);
    await client.close();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.created).toHaveLength(1);
    expect(client.state.kind).toBe('closed');
  });

  it('closes the socket when closed while open', async () => {
    const socket = open();
    await client.close();
    expect(socket.closedWith).toBe(1000);
    expect(transitions.at(-1)).toBe('open>closed');
  });

  it('refuses to sign a challenge from a relay of another ID, and closes for good', () => {
    const errors: string[] = [];
    client.on('error', ({ error }) => {
      errors.push(error.code);
    });
    client.connect();
    const socket = FakeSocket.latest();
    socket.accept();
    socket.receive({ t: 'challenge', v: 1, nonce: 'n'.repeat(43), relay: 'evil.example', time: 1 });
    expect(socket.sent.map((f) => f.t)).toEqual(['hello']);
    expect(client.state).toMatchObject({
      kind: 'closed',
      error: { name: 'ClientError', code: 'wrong_relay' },
    });
    expect(errors).toEqual(['wrong_relay']);
    expect(socket.closedWith).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.created).toHaveLength(1);
  });

  it('signs for the relay ID it was configured with', async () => {
    const other = await createClient({
      url: 'ws://relay.test/',
      identity,
      WebSocket: FakeSocket,
      autoConnect: false,
      relayId: 'relay.example.org',
    });
    try {
      other.connect();
      // handshake() checks that the signature covers this relay ID.
      FakeSocket.latest().handshake(identity.id, 'relay.example.org');
      expect(other.state).toEqual({ kind: 'open' });
    } finally {
      await other.close();
    }
  });

  it('retries at once when asked to connect during a backoff', () => {
    open();
    FakeSocket.latest().drop(1006);
    client.connect();
    expect(FakeSocket.created).toHaveLength(2);
  });
});
