import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, createIdentity, type Identity, type PassbyClient } from '../../client-sdk/index.js';
import { waitFor } from '../support/poll.js';
import { dumpRedis, useRelay } from '../support/relay-fixture.js';
import { sameDevice } from '../support/same-device.js';

/*
 * close() and acks (issue 15, item 5): the ack of a message the app handled leaves before the
 * socket closes, also when protocol 3 was holding it to go with the next ones. Each session has
 * a fresh MemoryStorage, so only the relay can keep a handled message from coming again.
 */

const fixture = useRelay();
const clients: PassbyClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function start(identity: Identity): Promise<PassbyClient> {
  const c = await createClient({
    url: fixture.relay.url,
    identity,
    storage: sameDevice(identity),
    WebSocket,
  });
  clients.push(c);
  return c;
}

/** Entries from `from` waiting in `to`'s mailbox at the relay. */
async function waiting(to: string, from: string): Promise<number> {
  const box = [...(await dumpRedis(fixture.redis))].find(([key]) => key.endsWith(`{${to}}:e`));
  // Each entry's header field (its content is the field b:<id>).
  return box ? ` ${box[1]}`.split(` m:${from}:`).length - 1 : 0;
}

describe('close()', () => {
  it('sends the ack of the message the app just handled before the socket closes', async () => {
    const [aliceId, bobId] = await Promise.all([createIdentity(), createIdentity()]);
    const alice = await start(aliceId);
    await alice.ready({ timeoutMs: 10_000 });
    const bob1 = await start(bobId);
    await bob1.ready({ timeoutMs: 10_000 });
    await bob1.close(); // bob is known to the relay, and offline
    for (const text of ['one', 'two', 'three']) await alice.send(bobId.id, text);

    const first: string[] = [];
    const again = await start(bobId);
    let closed: Promise<void> | undefined;
    again.on('message', (m) => {
      if (m.kind === 'text') first.push(m.text);
      closed ??= again.close(); // leave right after the first one, two more in hand or on the way
    });
    await waitFor('the first session to close', () => closed !== undefined && again.state.kind === 'closed', {
      timeoutMs: 10_000,
    });
    await closed;
    expect(first).toEqual(['one']);
    await waitFor(
      'the relay to delete the handled message',
      async () => (await waiting(bobId.id, aliceId.id)) === 2,
      {
        timeoutMs: 5000,
      },
    );

    const second: string[] = [];
    const bob3 = await start(bobId);
    bob3.on('message', (m) => {
      if (m.kind === 'text') second.push(m.text);
    });
    await bob3.once('drained', { timeoutMs: 10_000 });
    expect(second).toEqual(['two', 'three']);
  });
});
