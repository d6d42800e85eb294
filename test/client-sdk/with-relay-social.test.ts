import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type FriendEvent,
  type NearbyEvent,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { CELL_PATTERN, TOKEN_PATTERN } from '../../protocol/index.js';
import { redisBackends } from '../support/redis-backends.js';
import { useRelay } from '../support/relay-fixture.js';
import { RecordingWebSocket } from './lossy-sockets.js';

// Consecutive updates in one test are allowed: the one-a-minute rule has its own tests.
// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({ presenceIntervalMs: 0 }, { backend });
  const clients: PassbyClient[] = [];

  beforeEach(() => {
    RecordingWebSocket.frames = [];
    RecordingWebSocket.headers = [];
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });

  async function connected(extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
    const identity = await createIdentity();
    const client = await createClient({
      url: fixture.relay.url,
      identity,
      WebSocket: RecordingWebSocket,
      presenceIntervalMs: 0,
      ...extra,
    });
    clients.push(client);
    if (client.state.kind !== 'open') await client.once('open');
    return client;
  }

  /** Makes a and b friends; each switches proximity on for the other when told to. */
  async function befriend(a: PassbyClient, b: PassbyClient, proximity = { a: true, b: true }): Promise<void> {
    const accepted = a.once('friend');
    await a.friends.request(b.id);
    await b.friends.accept(a.id);
    expect(await accepted).toEqual({ user: b.id, state: 'friend' });
    await a.friends.setConsent(b.id, { proximity: proximity.a, autoAccept: false });
    await b.friends.setConsent(a.id, { proximity: proximity.b, autoAccept: false });
  }

  /** The nearby events a client gets from now on. */
  function nearby(client: PassbyClient): NearbyEvent[] {
    const got: NearbyEvent[] = [];
    client.on('nearby', (n) => {
      got.push(n);
    });
    return got;
  }

  /** A message from `from` reaching `to`: everything filed for `to` before it has been handled. */
  async function roundTrip(from: PassbyClient, to: PassbyClient): Promise<void> {
    const arrived = to.once('message');
    await from.send(to.id, 'sync');
    await arrived;
  }

  // Two points about 11 m apart in Berlin: always in range (PROXIMITY.md).
  const HERE = { latitude: 52.520008, longitude: 13.404954, accuracyMeters: 8 };
  const THERE = { latitude: 52.520108, longitude: 13.404954, accuracyMeters: 12 };
  const fix = (at: typeof HERE) => ({ ...at, timestamp: Date.now() });

  describe('friends with a real relay and Redis', () => {
    it('makes two users friends by a request and an acceptance, each told by a friend event', async () => {
      const alice = await connected();
      const bob = await connected();
      const toBob = bob.once('friend');
      await alice.friends.request(bob.id);
      expect(await toBob).toEqual<FriendEvent>({ user: alice.id, state: 'incoming' });
      expect(await bob.friends.list()).toEqual([
        { id: alice.id, state: 'incoming', proximity: false, autoAccept: false },
      ]);
      const toAlice = alice.once('friend');
      await bob.friends.accept(alice.id);
      expect(await toAlice).toEqual<FriendEvent>({ user: bob.id, state: 'friend' });
      await alice.friends.setConsent(bob.id, { proximity: true, autoAccept: true });
      expect(await alice.friends.list()).toEqual([
        { id: bob.id, state: 'friend', proximity: true, autoAccept: true },
      ]);
    });

    it('refuses consent for a stranger and an acceptance without a request, with their codes', async () => {
      const alice = await connected();
      const bob = await connected();
      await expect(
        alice.friends.setConsent(bob.id, { proximity: true, autoAccept: false }),
      ).rejects.toMatchObject({
        name: 'PassbyError',
        code: 'not_friends',
      });
      await expect(alice.friends.accept(bob.id)).rejects.toMatchObject({ code: 'no_request' });
    });
  });

  describe('proximity with a real relay and Redis', () => {
    it('tells both friends with proximity on that they are nearby, naming only the friend and a window', async () => {
      const alice = await connected();
      const bob = await connected();
      await befriend(alice, bob);
      const aliceSaw = alice.once('nearby');
      const bobSaw = bob.once('nearby');
      expect(await alice.proximity.update(fix(HERE))).toEqual({ sent: true, mode: 'cell' });
      expect(await bob.proximity.update(fix(THERE))).toEqual({ sent: true, mode: 'cell' });
      const [a, b] = await Promise.all([aliceSaw, bobSaw]);
      expect(Object.keys(a).sort()).toEqual(['since', 'until', 'user']);
      expect(a.user).toBe(bob.id);
      expect(b.user).toBe(alice.id);
      expect(a.until - a.since).toBe(15 * 60_000);
    });

    it('never matches a friend who has not switched proximity on', async () => {
      const alice = await connected();
      const bob = await connected();
      await befriend(alice, bob, { a: true, b: false });
      const seenByAlice = nearby(alice);
      const seenByBob = nearby(bob);
      await alice.proximity.update(fix(HERE));
      await bob.proximity.update(fix(THERE));
      await alice.proximity.update(fix(THERE));
      // Anything filed before these messages is delivered before them.
      await roundTrip(alice, bob);
      await roundTrip(bob, alice);
      expect(seenByAlice).toEqual([]);
      expect(seenByBob).toEqual([]);
    });

    it('matches two friends in blind mode, posting tokens and never a cell', async () => {
      const alice = await connected({ blindProximity: true });
      const bob = await connected();
      await befriend(alice, bob);
      const aliceSaw = alice.once('nearby');
      const bobSaw = bob.once('nearby');
      expect(await alice.proximity.update(fix(HERE))).toEqual({ sent: true, mode: 'blind', friends: 1 });
      expect(await bob.proximity.update(fix(THERE), { blind: true })).toEqual({
        sent: true,
        mode: 'blind',
        friends: 1,
      });
      const [a, b] = await Promise.all([aliceSaw, bobSaw]);
      expect(a.user).toBe(bob.id);
      expect(b.user).toBe(alice.id);
      const sent = RecordingWebSocket.frames;
      expect(sent.some((f) => f.t === 'presence')).toBe(false);
      const blind = sent.filter((f) => f.t === 'blind');
      expect(blind).toHaveLength(2);
      for (const frame of blind) {
        // One friend, padded to the bucket of 8 sets.
        expect(frame.sets).toHaveLength(8);
        for (const set of frame.sets)
          expect([set.at, ...set.near].every((t) => TOKEN_PATTERN.test(t))).toBe(true);
      }
    });

    it('does not match blind-mode friends who are far apart', async () => {
      const alice = await connected({ blindProximity: true });
      const bob = await connected({ blindProximity: true });
      await befriend(alice, bob);
      const seenByAlice = nearby(alice);
      const seenByBob = nearby(bob);
      await alice.proximity.update(fix(HERE));
      await bob.proximity.update(fix({ ...THERE, latitude: 52.53 }));
      await roundTrip(alice, bob);
      await roundTrip(bob, alice);
      expect(seenByAlice).toEqual([]);
      expect(seenByBob).toEqual([]);
    });

    it('sends a cell or tokens but never coordinates', async () => {
      const alice = await connected();
      const bob = await connected();
      await befriend(alice, bob);
      const met = bob.once('nearby');
      await alice.proximity.update(fix(HERE));
      await bob.proximity.update(fix(THERE));
      expect(await bob.proximity.update(fix(THERE), { blind: true })).toMatchObject({
        sent: true,
        mode: 'blind',
      });
      await met;
      const presence = RecordingWebSocket.frames.filter((f) => f.t === 'presence');
      expect(presence).toHaveLength(2);
      for (const f of presence)
        expect(f).toEqual({
          t: 'presence',
          rid: expect.any(Number),
          cell: expect.stringMatching(CELL_PATTERN),
        });
      const text = RecordingWebSocket.headers.join('\n');
      expect(text).toContain('"t":"blind"');
      for (const leak of ['52.52', '13.404', 'latitude', 'longitude', 'accuracy', 'timestamp']) {
        expect(text).not.toContain(leak);
      }
    });
  });

  describe('contact discovery with a real relay and Redis', () => {
    it('finds a discoverable user by number, however the number was written', async () => {
      const alice = await connected();
      const bob = await connected();
      const number = `+4915${String(Date.now()).slice(-9)}`;
      await bob.discovery.setPhone(number);
      const spaced = `00${number.slice(1, 3)} ${number.slice(3, 6)}-${number.slice(6)}`;
      expect(await alice.discovery.lookup([spaced])).toEqual([{ phone: number, id: bob.id, ticket: null }]);
      await bob.discovery.setPhone(null);
      expect(await alice.discovery.lookup([number])).toMatchObject([{ phone: number, id: null }]);
    });

    it('reports a looked-up contact who joins later with the number that was looked up', async () => {
      const alice = await connected();
      const number = `+4416${String(Date.now()).slice(-8)}`;
      const [result] = await alice.discovery.lookup([number]);
      expect(result).toMatchObject({ phone: number, id: null, ticket: expect.stringMatching(TOKEN_PATTERN) });
      const bob = await connected();
      const aliceTold = alice.once('contact');
      const bobTold = bob.once('contact');
      await bob.discovery.setPhone(number);
      expect(await aliceTold).toEqual({ user: bob.id, phone: number });
      expect(await bobTold).toEqual({ user: alice.id, phone: null });
    });
  });
});
