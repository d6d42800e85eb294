import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type Identity,
  type PassbyClient,
  type State,
} from '../../client-sdk/index.js';
import { FakeSocket } from './fake-socket.js';

/*
 * What a connection that fails says (issue 15, item 4): the reason and the next delay in each
 * state event, ready() and once() that always settle, and a limit on attempts.
 */

let identity: Identity;
const clients: PassbyClient[] = [];

beforeAll(async () => {
  identity = await createIdentity();
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  vi.useRealTimers();
});

async function client(options: Partial<ClientOptions>): Promise<PassbyClient> {
  const c = await createClient({ url: 'ws://relay.test/', identity, ...options });
  clients.push(c);
  return c;
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a relay that cannot be reached', () => {
  it('says why in each backoff state, with the next delay, and gives up after maxAttempts', async () => {
    const port = await closedPort();
    const states: State[] = [];
    const c = await client({
      url: `ws://127.0.0.1:${port}/`,
      WebSocket,
      autoConnect: false,
      backoff: { baseMs: 1, maxMs: 5 },
      maxAttempts: 3,
    });
    c.on('state', ({ state }) => {
      states.push(state);
    });
    const ready = c.ready();
    c.connect();
    await expect(ready).rejects.toMatchObject({
      name: 'ClientError',
      code: 'connection_failed',
      message: expect.stringContaining('gave up after 3 failed connection attempts'),
    });
    const backoffs = states.filter((s) => s.kind === 'backoff');
    expect(backoffs).toHaveLength(2);
    for (const b of backoffs) {
      expect(b).toMatchObject({ error: { code: 'connection_failed' }, delayMs: expect.any(Number) });
      expect(b.kind === 'backoff' && b.error?.message).toMatch(/ECONNREFUSED/);
    }
    expect(states.at(-1)).toMatchObject({ kind: 'closed', error: { code: 'connection_failed' } });
  });
});

describe('ready and once', () => {
  function open(c: PassbyClient): FakeSocket {
    c.connect();
    const socket = FakeSocket.latest();
    socket.handshake(identity.id);
    return socket;
  }
  const fake = { WebSocket: FakeSocket, autoConnect: false, random: () => 0.5 } as const;

  it('resolves ready() once open, and at once when already open', async () => {
    const c = await client(fake);
    const ready = c.ready({ timeoutMs: 1000 });
    open(c);
    await expect(ready).resolves.toBeUndefined();
    await expect(c.ready()).resolves.toBeUndefined();
  });

  it('rejects ready() with timeout after timeoutMs, naming the last connection error', async () => {
    vi.useFakeTimers();
    const c = await client(fake);
    c.connect();
    FakeSocket.latest().drop(1006, 'gone');
    const ready = c.ready({ timeoutMs: 2000 });
    const settled = ready.catch((err: unknown) => err);
    vi.advanceTimersByTime(2000);
    expect(await settled).toMatchObject({
      name: 'ClientError',
      code: 'timeout',
      message: expect.stringContaining('close code 1006, gone'),
      cause: { code: 'connection_failed' },
    });
  });

  it('rejects once() when its signal fires or its time runs out, and when the client closes', async () => {
    vi.useFakeTimers();
    const c = await client(fake);
    const abort = new AbortController();
    const aborted = c.once('message', { signal: abort.signal }).catch((err: unknown) => err);
    abort.abort();
    expect(await aborted).toMatchObject({ code: 'cancelled' });
    const late = c.once('drained', { timeoutMs: 500 }).catch((err: unknown) => err);
    vi.advanceTimersByTime(500);
    expect(await late).toMatchObject({ code: 'timeout' });
    const never = c.once('file').catch((err: unknown) => err);
    await c.close();
    expect(await never).toMatchObject({ code: 'closed' });
    await expect(c.ready()).rejects.toMatchObject({ code: 'closed' });
  });

  it('refuses a nonsense maxAttempts with a TypeError', async () => {
    await expect(client({ ...fake, maxAttempts: 0 })).rejects.toThrow(
      /maxAttempts must be a positive integer/,
    );
  });
});
