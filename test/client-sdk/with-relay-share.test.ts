import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type IncomingMessage,
  type IncomingOffer,
  MemoryStorage,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { redisBackends } from '../support/redis-backends.js';
import { dumpRedis, useRelay } from '../support/relay-fixture.js';

/*
 * Shares as offers (DESIGN C2) end to end: two SDK clients, the real relay and Redis. share.test.ts
 * covers the SDK's side of each frame against a relay played by hand.
 */

// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({ presenceIntervalMs: 0 }, { backend });
  const clients: PassbyClient[] = [];
  /** Every error any client reported: the relay refusing an ack or an answer would show here. */
  let errors: unknown[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    const seen = errors;
    errors = [];
    expect(seen).toEqual([]);
  });

  async function connected(extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
    const client = await createClient({
      url: fixture.relay.url,
      identity: await createIdentity(),
      WebSocket,
      presenceIntervalMs: 0,
      ...extra,
    });
    client.on('error', ({ error }) => {
      errors.push(error);
    });
    clients.push(client);
    if (client.state.kind !== 'open') await client.once('open');
    return client;
  }

  /** Two friends; `autoAccept` and `proximity` as given, for both of them. */
  async function friends(
    consent = { proximity: false, autoAccept: false },
  ): Promise<[PassbyClient, PassbyClient]> {
    const alice = await connected();
    const bob = await connected();
    const accepted = alice.once('friend');
    await alice.friends.request(bob.id);
    await bob.friends.accept(alice.id);
    await accepted;
    await alice.friends.setConsent(bob.id, consent);
    await bob.friends.setConsent(alice.id, consent);
    return [alice, bob];
  }

  /** The next offer `client` is shown, as one that waits for an answer. */
  async function manualOffer(client: PassbyClient): Promise<Extract<IncomingOffer, { auto: false }>> {
    const offer = await client.once('offer');
    if (offer.auto) throw new Error('the offer was accepted automatically');
    return offer;
  }

  /** A message from `from` reaching `to`: everything filed for `to` before it has been handled. */
  async function roundTrip(from: PassbyClient, to: PassbyClient): Promise<void> {
    const arrived = new Promise<void>((resolve) => {
      const off = to.on('message', (m) => {
        if (m.kind === 'text' && m.text === 'sync') {
          off();
          resolve();
        }
      });
    });
    await from.send(to.id, 'sync');
    await arrived;
  }

  const HERE = { latitude: 52.520008, longitude: 13.404954, accuracyMeters: 8 };
  const THERE = { latitude: 52.520108, longitude: 13.404954, accuracyMeters: 12 };
  const fix = (at: typeof HERE) => ({ ...at, timestamp: Date.now() });

  describe('shares with a real relay and Redis', () => {
    it('delivers shared text once the recipient accepts the offer', async () => {
      const [alice, bob] = await friends();
      const messages: IncomingMessage[] = [];
      bob.on('message', (m) => {
        messages.push(m);
      });
      const offered = manualOffer(bob);
      const shared = await alice.share(bob.id, 'meet at the fountain', { preview: 'a note' });
      const offer = await offered;
      expect(offer).toMatchObject({
        from: alice.id,
        mid: shared.mid,
        parts: 1,
        auto: false,
        preview: 'a note',
        content: shared.content,
      });
      // Held: nothing of the content has arrived before the answer.
      await roundTrip(alice, bob);
      expect(messages.filter((m) => m.kind !== 'text' || m.text !== 'sync')).toEqual([]);
      const arrived = bob.once('message');
      await offer.accept();
      expect(await arrived).toMatchObject({
        from: alice.id,
        mid: shared.content.kind === 'text' ? shared.content.mid : '',
        kind: 'text',
        text: 'meet at the fountain',
      });
    });

    it('delivers a shared file, verified, once the recipient accepts', async () => {
      const [alice, bob] = await friends();
      const data = new Uint8Array(150_000).map((_, i) => (i * 7) % 256);
      const offered = manualOffer(bob);
      const shared = await alice.share(
        bob.id,
        { file: data, name: 'photo.jpg', type: 'image/jpeg' },
        { preview: new Uint8Array([1, 2, 3]) },
      );
      const offer = await offered;
      expect(offer.content).toMatchObject({ kind: 'file', name: 'photo.jpg', size: data.length });
      expect(offer.parts).toBe(shared.parts);
      const file = bob.once('file');
      await offer.accept();
      const got = await file;
      expect(got).toMatchObject({ from: alice.id, name: 'photo.jpg', type: 'image/jpeg', size: data.length });
      expect(got.bytes).toEqual(data);
    });

    it('shows an unanswered offer again to a new process, whose answer still works', async () => {
      const alice = await connected();
      const identity = await createIdentity();
      const storage = new MemoryStorage();
      const first = await connected({ identity, storage });
      await alice.friends.request(first.id);
      await first.friends.accept(alice.id);
      const offered = manualOffer(first);
      const shared = await alice.share(first.id, 'later', { preview: 'decide later' });
      expect((await offered).mid).toBe(shared.mid);
      await first.close();
      const again = await connected({ identity, storage });
      const offer = await manualOffer(again);
      expect(offer).toMatchObject({ mid: shared.mid, preview: 'decide later' });
      const arrived = again.once('message');
      await offer.accept();
      expect(await arrived).toMatchObject({ kind: 'text', text: 'later' });
    });

    it('deletes a rejected share: the sender gets a rejected receipt, the recipient never the content', async () => {
      const [alice, bob] = await friends();
      const contents: unknown[] = [];
      bob.on('message', (m) => {
        if (!(m.kind === 'text' && m.text === 'sync')) contents.push(m);
      });
      bob.on('file', (f) => {
        contents.push(f);
      });
      const offered = manualOffer(bob);
      const receipt = alice.once('receipt');
      // No receipt asked: a rejection files one anyway.
      const shared = await alice.share(bob.id, 'not for you', { preview: 'hm?' });
      const offer = await offered;
      const part = shared.content.kind === 'text' ? shared.content.mid : '';
      const held = [...(await dumpRedis(fixture.backend))].map(([key, value]) => `${key} ${value}`);
      expect(held.some((entry) => entry.includes(part))).toBe(true);
      await offer.reject();
      expect(await receipt).toMatchObject({ to: bob.id, mid: shared.mid, status: 'rejected' });
      await roundTrip(alice, bob);
      expect(contents).toEqual([]);
      await expect(offer.accept()).rejects.toBeInstanceOf(TypeError);
      // The held content is gone from Redis (P5): no key or value names its part any more.
      const dump = await dumpRedis(fixture.backend);
      for (const [key, value] of dump) expect(`${key} ${value}`).not.toContain(part);
    });

    it('accepts at once a share from a pre-approved friend in range: the content comes without an answer', async () => {
      const [alice, bob] = await friends({ proximity: true, autoAccept: true });
      const met = Promise.all([alice.once('nearby'), bob.once('nearby')]);
      await alice.proximity.update(fix(HERE));
      await bob.proximity.update(fix(THERE));
      await met;
      const offered = bob.once('offer');
      const arrived = bob.once('message');
      const shared = await alice.share(bob.id, 'hello, neighbour', { preview: 'auto' });
      const offer = await offered;
      expect(offer).toMatchObject({ mid: shared.mid, auto: true, preview: 'auto' });
      expect('accept' in offer).toBe(false);
      expect(await arrived).toMatchObject({ from: alice.id, kind: 'text', text: 'hello, neighbour' });
    });

    it('tells the sender `delivered` for a share with a receipt, accepted by hand or automatically', async () => {
      const [alice, bob] = await friends({ proximity: true, autoAccept: false });
      bob.on('message', () => undefined); // the shared text itself
      const offered = manualOffer(bob);
      const byHand = await alice.share(bob.id, 'by hand', { preview: 'p', receipt: true });
      const first = alice.once('receipt', { timeoutMs: 10_000 });
      await (await offered).accept();
      expect(await first).toMatchObject({ to: bob.id, mid: byHand.mid, status: 'delivered' });

      await bob.friends.setConsent(alice.id, { proximity: true, autoAccept: true });
      const met = Promise.all([alice.once('nearby'), bob.once('nearby')]);
      await alice.proximity.update(fix(HERE));
      await bob.proximity.update(fix(THERE));
      await met;
      const second = alice.once('receipt', { timeoutMs: 10_000 });
      const auto = await alice.share(bob.id, 'automatically', { preview: 'p', receipt: true });
      expect(await second).toMatchObject({ to: bob.id, mid: auto.mid, status: 'delivered' });
    });

    it("still asks about a pre-approved friend's share when the two have not met", async () => {
      const [alice, bob] = await friends({ proximity: true, autoAccept: true });
      const offered = bob.once('offer');
      const shared = await alice.share(bob.id, 'far away', { preview: 'from afar' });
      const offer = await offered;
      expect(offer).toMatchObject({ mid: shared.mid, auto: false });
      const arrived = bob.once('message');
      if (!offer.auto) await offer.accept();
      expect(await arrived).toMatchObject({ kind: 'text', text: 'far away' });
    });
  });
});
