import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Link } from '../../bench/link.js';
import { connectNats } from '../../bench/link-nats.js';
import { type NatsServer, startNats } from '../../bench/peer-nats.js';
import { waitFor } from '../support/poll.js';

/*
 * The bench's JetStream peer against a real nats-server of its own (never the one on 4222): what
 * it is credited with must hold, or its figures compare passby with something weaker.
 */
describe('the NATS JetStream peer', () => {
  let server: NatsServer;
  const links: Link[] = [];

  beforeAll(async () => {
    server = await startNats();
  });

  afterAll(async () => {
    for (const l of links) l.close();
    await server?.stop();
  });

  it('runs its own nats-server on a loopback port other than 4222', () => {
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).not.toBe(4222);
  });

  it('stores a retried send once, delivers it to the recipient and deletes it when acked', async () => {
    const received: Uint8Array[] = [];
    const stored: string[] = [];
    const errors: string[] = [];
    const handlers = {
      onMessage: (body: Uint8Array) => received.push(body),
      onStored: (mid: string) => stored.push(mid),
      onError: (code: string) => errors.push(code),
    };
    const bob = await connectNats({ url: server.url, identity: { id: 'bob_0123456789abcdefgh' }, handlers });
    const alice = await connectNats({
      url: server.url,
      identity: { id: 'alice-0123456789abcdef' },
      handlers,
    });
    links.push(bob, alice);

    alice.send(bob.id, 'm1', Uint8Array.of(1, 2, 3));
    alice.send(bob.id, 'm1', Uint8Array.of(1, 2, 3));
    alice.send(bob.id, 'm2', Uint8Array.of(4));
    await waitFor('three PubAcks', () => stored.length === 3, { timeoutMs: 10_000 });
    await waitFor('both messages at bob', () => received.length >= 2, { timeoutMs: 10_000 });
    await waitFor('the stream to be empty after the acks', async () => (await server.messagesLeft()) === 0, {
      timeoutMs: 10_000,
    });

    expect(errors).toEqual([]);
    expect(received.map((b) => [...b])).toEqual([[1, 2, 3], [4]]);
  });
});
