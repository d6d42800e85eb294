import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, createIdentity, type PassbyClient } from '../../client-sdk/index.js';
import { useRelay } from '../support/relay-fixture.js';
import { sameDevice } from '../support/same-device.js';
import { ErrorCountingWebSocket } from './lossy-sockets.js';

// A strict relay: 10 sends a second (burst 10) per connection, 5 undelivered messages per mailbox.
const fixture = useRelay({ sendsPerSecond: 10, sendBurst: 10, mailboxMaxMessages: 5 });
const clients: PassbyClient[] = [];

beforeEach(() => {
  ErrorCountingWebSocket.counts.clear();
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function client(identity: Awaited<ReturnType<typeof createIdentity>>, counting = false) {
  const c = await createClient({
    url: fixture.relay.url,
    identity,
    storage: sameDevice(identity),
    WebSocket: counting ? ErrorCountingWebSocket : WebSocket,
  });
  clients.push(c);
  await c.once('open');
  return c;
}

function receiveAll(c: PassbyClient, count: number): Promise<string[]> {
  const mids: string[] = [];
  return new Promise((resolve) => {
    c.on('message', (m) => {
      mids.push(m.mid);
      if (mids.length === count) resolve(mids);
    });
  });
}

describe('client against a relay that pushes back', () => {
  it('backs off on rate_limited and still gets every send stored and delivered once', async () => {
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    const bob = await client(b);
    const alice = await client(a, true);
    const all = receiveAll(bob, 30);
    const sent = await Promise.all(Array.from({ length: 30 }, (_, i) => alice.send(b.id, `burst ${i}`)));
    const got = await all;
    expect(ErrorCountingWebSocket.counts.get('rate_limited') ?? 0).toBeGreaterThan(0);
    expect(new Set(got)).toEqual(new Set(sent.map((s) => s.mid)));
    expect(got).toHaveLength(30);
  });

  it('keeps retrying while the recipient mailbox is full, and delivers once it drains', async () => {
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    await (await client(b)).close(); // Bob is known to the relay, then away.
    const alice = await client(a, true);
    const sends = Array.from({ length: 8 }, (_, i) => alice.send(b.id, `queued ${i}`));
    await ErrorCountingWebSocket.seen('quota_exceeded');
    const bob = await createClient({
      url: fixture.relay.url,
      identity: b,
      storage: sameDevice(b),
      WebSocket,
      autoConnect: false,
    });
    clients.push(bob);
    const all = receiveAll(bob, 8);
    bob.connect();
    const sent = await Promise.all(sends);
    const got = await all;
    expect(got.sort()).toEqual(sent.map((s) => s.mid).sort());
  });
});
