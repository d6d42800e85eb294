import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_PATTERN } from '../../../protocol/index.js';
import type { SocialStore } from '../../../relay/social/contract.js';
import { accountCases, type SocialBackend } from './account-cases.js';
import { presenceCases } from './presence-cases.js';

/**
 * Relay time for every call. The stores compare the `now` passed in with the end they stored, so
 * a test moves time by passing a later `now`, never by waiting.
 */
export const T0 = Date.now();
export const WINDOW = 15 * 60 * 1000;
export const MONTH = 30 * 24 * 3600 * 1000;

export function newUid(): string {
  return randomBytes(16).toString('base64url');
}

/** A blind-mode token: 16 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

/** A discovery hash as the relay makes them (an HMAC in hex); here just random. */
export function newHash(): string {
  return `h-${randomBytes(32).toString('hex')}`;
}

export function socialContract(name: string, make: () => Promise<SocialBackend>): void {
  describe(`${name} social store contract`, () => {
    let store: SocialStore;
    let close: () => Promise<void>;
    let alice: string;
    let bob: string;
    let carol: string;

    beforeEach(async () => {
      ({ store, close } = await make());
      [alice, bob, carol] = [newUid(), newUid(), newUid()];
    });
    afterEach(async () => {
      await close();
    });

    const off = { proximity: false, autoAccept: false };

    async function befriend(a: string, b: string): Promise<void> {
      expect(await store.requestFriend(a, b)).toBe('requested');
      expect(await store.acceptFriend(b, a)).toBe(true);
    }

    describe('friends', () => {
      it('makes a request outgoing for the sender and incoming for the recipient', async () => {
        expect(await store.requestFriend(alice, bob)).toBe('requested');
        expect(await store.friends(alice)).toEqual([{ id: bob, state: 'outgoing', ...off }]);
        expect(await store.friends(bob)).toEqual([{ id: alice, state: 'incoming', ...off }]);
        expect(await store.consent(alice, bob)).toBeNull();
      });

      it('makes two users friends when the recipient accepts', async () => {
        await store.requestFriend(alice, bob);
        expect(await store.acceptFriend(bob, alice)).toBe(true);
        expect(await store.friends(alice)).toEqual([{ id: bob, state: 'friend', ...off }]);
        expect(await store.friends(bob)).toEqual([{ id: alice, state: 'friend', ...off }]);
      });

      it('makes two users friends at once when the recipient had asked the sender', async () => {
        expect(await store.requestFriend(alice, bob)).toBe('requested');
        expect(await store.requestFriend(bob, alice)).toBe('friends');
        expect((await store.friends(alice)).map((f) => f.state)).toEqual(['friend']);
        expect((await store.friends(bob)).map((f) => f.state)).toEqual(['friend']);
      });

      it('answers already to a repeated request and to a request between friends', async () => {
        await store.requestFriend(alice, bob);
        expect(await store.requestFriend(alice, bob)).toBe('already');
        expect((await store.friends(bob)).map((f) => f.state)).toEqual(['incoming']);
        await store.acceptFriend(bob, alice);
        expect(await store.requestFriend(alice, bob)).toBe('already');
        expect(await store.requestFriend(bob, alice)).toBe('already');
        expect((await store.friends(alice)).map((f) => f.state)).toEqual(['friend']);
      });

      it('lets only the recipient accept or decline a request', async () => {
        await store.requestFriend(alice, bob);
        expect(await store.acceptFriend(alice, bob)).toBe(false);
        expect(await store.declineFriend(alice, bob)).toBe(false);
        expect(await store.acceptFriend(carol, alice)).toBe(false);
        expect((await store.friends(alice)).map((f) => f.state)).toEqual(['outgoing']);
      });

      it('hides a declined request from the decliner and keeps it outgoing for the requester', async () => {
        await store.requestFriend(alice, bob);
        expect(await store.declineFriend(bob, alice)).toBe(true);
        expect(await store.friends(alice)).toEqual([
          { id: bob, state: 'outgoing', proximity: false, autoAccept: false },
        ]);
        expect(await store.friends(bob)).toEqual([]);
        expect(await store.declineFriend(bob, alice)).toBe(false);
        expect(await store.acceptFriend(bob, alice)).toBe(false);
        expect(await store.removeFriend(bob, alice)).toBe(false);
        expect(await store.requestFriend(alice, bob)).toBe('already');
        expect(await store.consent(bob, alice)).toBeNull();
      });

      it('makes friends when the decliner asks back, the declined request still standing', async () => {
        await store.requestFriend(alice, bob);
        await store.declineFriend(bob, alice);
        expect(await store.requestFriend(bob, alice)).toBe('friends');
        expect((await store.friends(alice)).map((f) => f.state)).toEqual(['friend']);
        expect((await store.friends(bob)).map((f) => f.state)).toEqual(['friend']);
      });

      it('lets the requester withdraw a declined request from both sides', async () => {
        await store.requestFriend(alice, bob);
        await store.declineFriend(bob, alice);
        expect(await store.removeFriend(alice, bob)).toBe(true);
        expect(await store.friends(alice)).toEqual([]);
        expect(await store.friends(bob)).toEqual([]);
        expect(await store.requestFriend(alice, bob)).toBe('requested');
      });

      it('withdraws an outgoing request from both sides', async () => {
        await store.requestFriend(alice, bob);
        expect(await store.removeFriend(bob, alice)).toBe(false);
        expect(await store.removeFriend(alice, bob)).toBe(true);
        expect(await store.friends(alice)).toEqual([]);
        expect(await store.friends(bob)).toEqual([]);
        expect(await store.acceptFriend(bob, alice)).toBe(false);
      });

      it('ends a friendship on both sides, switches included', async () => {
        await befriend(alice, bob);
        await store.setConsent(alice, bob, { proximity: true, autoAccept: true });
        expect(await store.removeFriend(bob, alice)).toBe(true);
        expect(await store.friends(alice)).toEqual([]);
        expect(await store.friends(bob)).toEqual([]);
        expect(await store.consent(alice, bob)).toBeNull();
        expect(await store.removeFriend(alice, bob)).toBe(false);
        await befriend(alice, bob);
        expect(await store.consent(alice, bob)).toEqual(off);
      });

      it('starts a friendship with every switch off on both sides', async () => {
        await befriend(alice, bob);
        expect(await store.consent(alice, bob)).toEqual(off);
        expect(await store.consent(bob, alice)).toEqual(off);
        expect(await store.proximityFriends(alice)).toEqual([]);
      });

      it('sets switches only between friends, and only one side of them', async () => {
        expect(await store.setConsent(alice, bob, { proximity: true, autoAccept: true })).toBe(false);
        await store.requestFriend(alice, bob);
        expect(await store.setConsent(alice, bob, { proximity: true, autoAccept: true })).toBe(false);
        expect(await store.setConsent(bob, alice, { proximity: true, autoAccept: true })).toBe(false);
        expect(await store.friends(alice)).toEqual([{ id: bob, state: 'outgoing', ...off }]);
        await store.acceptFriend(bob, alice);
        expect(await store.setConsent(alice, bob, { proximity: false, autoAccept: true })).toBe(true);
        expect(await store.consent(alice, bob)).toEqual({ proximity: false, autoAccept: true });
        expect(await store.consent(bob, alice)).toEqual(off);
        expect(await store.friends(alice)).toEqual([
          { id: bob, state: 'friend', proximity: false, autoAccept: true },
        ]);
        expect(await store.friends(bob)).toEqual([{ id: alice, state: 'friend', ...off }]);
      });

      it('lists every link sorted by id', async () => {
        const [a, b, c] = [newUid(), newUid(), newUid()];
        await store.requestFriend(alice, a);
        await store.requestFriend(b, alice);
        await befriend(alice, c);
        const list = await store.friends(alice);
        expect(list.map((f) => f.id)).toEqual([a, b, c].sort());
        expect(Object.fromEntries(list.map((f) => [f.id, f.state]))).toEqual({
          [a]: 'outgoing',
          [b]: 'incoming',
          [c]: 'friend',
        });
      });

      it('proposes for proximity only friends who both switched it on for each other', async () => {
        await befriend(alice, bob);
        await befriend(alice, carol);
        const on = { proximity: true, autoAccept: false };
        await store.setConsent(alice, bob, on);
        await store.setConsent(alice, carol, on);
        expect(await store.proximityFriends(alice)).toEqual([]);
        await store.setConsent(bob, alice, on);
        expect(await store.proximityFriends(alice)).toEqual([bob]);
        expect(await store.proximityFriends(bob)).toEqual([alice]);
        expect(await store.proximityFriends(carol)).toEqual([]);
        await store.setConsent(carol, alice, { proximity: true, autoAccept: true });
        expect(await store.proximityFriends(alice)).toEqual([bob, carol].sort());
        await store.setConsent(bob, alice, off);
        expect(await store.proximityFriends(alice)).toEqual([carol]);
        await store.removeFriend(carol, alice);
        expect(await store.proximityFriends(alice)).toEqual([]);
      });
    });

    describe('discovery', () => {
      it('resolves a hash to the user discoverable under it, with no ticket', async () => {
        const hash = newHash();
        expect(await store.setDiscoverable(bob, hash, T0, MONTH)).toEqual([]);
        expect(await store.lookup(alice, [hash], T0 + 1, MONTH)).toEqual({ ids: [bob], tickets: [null] });
      });

      it('files a pending match with a fresh 22-character ticket for each miss', async () => {
        const [known, miss1, miss2] = [newHash(), newHash(), newHash()];
        await store.setDiscoverable(bob, known, T0, MONTH);
        const result = await store.lookup(alice, [miss1, known, miss2], T0, MONTH);
        expect(result.ids).toEqual([null, bob, null]);
        expect(result.tickets[1]).toBeNull();
        expect(result.tickets[0]).toMatch(TOKEN_PATTERN);
        expect(result.tickets[2]).toMatch(TOKEN_PATTERN);
        expect(result.tickets[0]).not.toBe(result.tickets[2]);
      });

      it('keeps the ticket when the same user looks the same hash up again', async () => {
        const hash = newHash();
        const first = await store.lookup(alice, [hash], T0, MONTH);
        const again = await store.lookup(alice, [hash], T0 + 1000, MONTH);
        const other = await store.lookup(carol, [hash], T0 + 1000, MONTH);
        expect(again.tickets).toEqual(first.tickets);
        expect(other.tickets[0]).not.toBe(first.tickets[0]);
      });

      it('returns the pending matches of a hash, once, when someone becomes discoverable under it', async () => {
        const hash = newHash();
        const fromAlice = await store.lookup(alice, [hash], T0, MONTH);
        const fromCarol = await store.lookup(carol, [hash], T0 + 1, MONTH);
        const matches = await store.setDiscoverable(bob, hash, T0 + 2, MONTH);
        expect(matches).toHaveLength(2);
        expect(matches).toEqual(
          expect.arrayContaining([
            { requester: alice, ticket: fromAlice.tickets[0] },
            { requester: carol, ticket: fromCarol.tickets[0] },
          ]),
        );
        expect(await store.setDiscoverable(bob, hash, T0 + 3, MONTH)).toEqual([]);
      });

      it('renews a pending match when it is looked up again', async () => {
        const hash = newHash();
        const first = await store.lookup(alice, [hash], T0, MONTH);
        await store.lookup(alice, [hash], T0 + 10 * 24 * 3600 * 1000, MONTH);
        expect(await store.setDiscoverable(bob, hash, T0 + MONTH + 1, MONTH)).toEqual([
          { requester: alice, ticket: first.tickets[0] },
        ]);
      });

      it('does not return a pending match that expired', async () => {
        const [hash, other] = [newHash(), newHash()];
        await store.lookup(alice, [hash, other], T0, MONTH);
        await store.lookup(carol, [hash], T0 + 5, MONTH);
        expect(await store.setDiscoverable(bob, hash, T0 + MONTH, MONTH)).toEqual([
          { requester: carol, ticket: expect.stringMatching(TOKEN_PATTERN) },
        ]);
        const renewed = await store.lookup(alice, [other], T0 + MONTH, MONTH);
        expect(renewed.tickets[0]).toMatch(TOKEN_PATTERN);
        expect(await store.setDiscoverable(carol, other, T0 + MONTH + 1, MONTH)).toEqual([
          { requester: alice, ticket: renewed.tickets[0] },
        ]);
      });

      it('sweeps each pending match at its own expiry, however late others look up the hash', async () => {
        const hash = newHash();
        await store.lookup(alice, [hash], T0, MONTH);
        await store.lookup(carol, [hash], T0 + MONTH / 2, MONTH);
        expect(await store.sweepPending(T0 + MONTH - 1, 100)).toEqual({ removed: 0, more: false });
        expect(await store.sweepPending(T0 + MONTH, 100)).toEqual({ removed: 1, more: false });
        expect(await store.sweepPending(T0 + MONTH + 1, 100)).toEqual({ removed: 0, more: false });
        expect(await store.setDiscoverable(bob, hash, T0 + MONTH + 2, MONTH)).toEqual([
          { requester: carol, ticket: expect.stringMatching(TOKEN_PATTERN) },
        ]);
        expect(await store.sweepPending(T0 + 2 * MONTH, 100)).toEqual({ removed: 0, more: false });
      });

      it('never returns a user their own pending match', async () => {
        const hash = newHash();
        await store.lookup(bob, [hash], T0, MONTH);
        expect(await store.setDiscoverable(bob, hash, T0 + 1, MONTH)).toEqual([]);
      });

      it("returns the user's own id when they look up their own hash", async () => {
        const hash = newHash();
        await store.setDiscoverable(alice, hash, T0, MONTH);
        expect(await store.lookup(alice, [hash], T0, MONTH)).toEqual({ ids: [alice], tickets: [null] });
      });

      it('forgets the earlier hash when a user changes it', async () => {
        const [before, after] = [newHash(), newHash()];
        await store.setDiscoverable(bob, before, T0, MONTH);
        await store.setDiscoverable(bob, after, T0 + 1, MONTH);
        const result = await store.lookup(alice, [before, after], T0 + 2, MONTH);
        expect(result.ids).toEqual([null, bob]);
      });

      it("keeps another user's entry when a user leaves a hash that user has taken since", async () => {
        const hash = newHash();
        await store.setDiscoverable(bob, hash, T0, MONTH);
        await store.setDiscoverable(carol, hash, T0 + 1, MONTH);
        await store.setDiscoverable(bob, null, T0 + 2, MONTH);
        expect((await store.lookup(alice, [hash], T0 + 3, MONTH)).ids).toEqual([carol]);
      });

      it('stops being discoverable with null', async () => {
        const hash = newHash();
        await store.setDiscoverable(bob, hash, T0, MONTH);
        expect(await store.setDiscoverable(bob, null, T0 + 1, MONTH)).toEqual([]);
        const result = await store.lookup(alice, [hash], T0 + 2, MONTH);
        expect(result.ids).toEqual([null]);
        expect(result.tickets[0]).toMatch(TOKEN_PATTERN);
      });

      it('lets a discoverability entry lapse after its ttl unless renewed', async () => {
        const [lapsing, renewed] = [newHash(), newHash()];
        await store.setDiscoverable(bob, lapsing, T0, MONTH);
        await store.setDiscoverable(carol, renewed, T0, MONTH);
        await store.setDiscoverable(carol, renewed, T0 + MONTH - 1, MONTH);
        expect((await store.lookup(alice, [lapsing, renewed], T0 + MONTH, MONTH)).ids).toEqual([null, carol]);
      });
    });

    describe('look-up budget', () => {
      it('counts look-ups up to the budget and refuses more without counting them', async () => {
        expect(await store.spendLookups(alice, 6, 10, T0, WINDOW)).toBe(true);
        expect(await store.spendLookups(alice, 5, 10, T0 + 1, WINDOW)).toBe(false);
        expect(await store.spendLookups(alice, 4, 10, T0 + 2, WINDOW)).toBe(true);
        expect(await store.spendLookups(alice, 1, 10, T0 + 3, WINDOW)).toBe(false);
        expect(await store.spendLookups(bob, 10, 10, T0 + 3, WINDOW)).toBe(true);
      });

      it('refuses a first spend larger than the budget', async () => {
        expect(await store.spendLookups(alice, 11, 10, T0, WINDOW)).toBe(false);
        expect(await store.spendLookups(alice, 10, 10, T0, WINDOW)).toBe(true);
      });

      it('gives a full budget again once the window has passed', async () => {
        expect(await store.spendLookups(alice, 10, 10, T0, WINDOW)).toBe(true);
        expect(await store.spendLookups(alice, 1, 10, T0 + WINDOW - 1, WINDOW)).toBe(false);
        expect(await store.spendLookups(alice, 10, 10, T0 + WINDOW, WINDOW)).toBe(true);
      });
    });

    describe('presence slot', () => {
      const MINUTE = 60_000;

      it('gives one presence update per interval and user, apart from the look-up budget', async () => {
        expect(await store.takePresenceSlot(alice, T0, MINUTE)).toBe(true);
        expect(await store.takePresenceSlot(alice, T0 + MINUTE - 1, MINUTE)).toBe(false);
        expect(await store.takePresenceSlot(bob, T0 + 1, MINUTE)).toBe(true);
        expect(await store.spendLookups(alice, 10, 10, T0 + 2, WINDOW)).toBe(true);
        expect(await store.takePresenceSlot(alice, T0 + MINUTE, MINUTE)).toBe(true);
        expect(await store.takePresenceSlot(alice, T0 + MINUTE + 1, MINUTE)).toBe(false);
      });

      it('lets exactly one of several concurrent updates through', async () => {
        const taken = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.takePresenceSlot(alice, T0 + i, MINUTE)),
        );
        expect(taken.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('presence', () => {
      const cell = '8a1fb46622dffff';

      it('returns the last presence inside the window and nothing at its end', async () => {
        expect(await store.lastPresence(alice, T0)).toBeNull();
        await store.setPresence(alice, cell, T0, WINDOW);
        expect(await store.lastPresence(alice, T0 + WINDOW - 1)).toEqual({ cell, at: T0 });
        expect(await store.lastPresence(alice, T0 + WINDOW)).toBeNull();
      });

      it('replaces an earlier presence, and records a blind update with a null cell', async () => {
        await store.setPresence(alice, cell, T0, WINDOW);
        await store.setPresence(alice, null, T0 + 60_000, WINDOW);
        expect(await store.lastPresence(alice, T0 + 60_001)).toEqual({ cell: null, at: T0 + 60_000 });
        expect(await store.lastPresence(alice, T0 + WINDOW + 1)).toEqual({ cell: null, at: T0 + 60_000 });
      });

      it('keeps the anchor of a blind update: the last baseline cell and its time', async () => {
        await store.setPresence(alice, null, T0 + 120_000, WINDOW, { cell, at: T0 });
        expect(await store.lastPresence(alice, T0 + 120_001)).toEqual({
          cell: null,
          at: T0 + 120_000,
          anchor: { cell, at: T0 },
        });
        await store.setPresence(alice, cell, T0 + 180_000, WINDOW, { cell: 'ignored', at: 1 });
        expect(await store.lastPresence(alice, T0 + 180_001)).toEqual({ cell, at: T0 + 180_000 });
      });

      it('reports the presence of several users in order, null where none is live', async () => {
        const other = '8a1fb46622d7fff';
        await store.setPresence(alice, cell, T0, WINDOW);
        await store.setPresence(bob, other, T0 + 1000, WINDOW);
        expect(await store.presenceOf([bob, carol, alice], T0 + 2000)).toEqual([
          { cell: other, at: T0 + 1000 },
          null,
          { cell, at: T0 },
        ]);
        expect(await store.presenceOf([alice, bob], T0 + WINDOW)).toEqual([
          null,
          { cell: other, at: T0 + 1000 },
        ]);
        expect(await store.presenceOf([], T0)).toEqual([]);
      });
    });

    describe('blind tokens', () => {
      function set() {
        return { at: newToken(), near: Array.from({ length: 7 }, newToken) };
      }

      it("matches a user's at token against another user's near token, in both directions", async () => {
        const a = set();
        const b = set();
        b.near[3] = a.at;
        expect(await store.postTokens(alice, [a.at], a.near, T0, WINDOW)).toEqual([]);
        expect(await store.postTokens(bob, [b.at], b.near, T0 + 1, WINDOW)).toEqual([alice]);

        const c = set();
        c.at = a.near[5]!;
        expect(await store.postTokens(carol, [c.at], c.near, T0 + 2, WINDOW)).toEqual([alice]);
      });

      it('does not match at against at, nor near against near', async () => {
        const a = set();
        const b = { at: a.at, near: [a.near[0]!, ...set().near.slice(1)] };
        await store.postTokens(alice, [a.at], a.near, T0, WINDOW);
        expect(await store.postTokens(bob, [b.at], b.near, T0 + 1, WINDOW)).toEqual([]);
      });

      it('returns each matching user once, sorted, among many sets', async () => {
        const sets = Array.from({ length: 8 }, set);
        const at = sets.map((s) => s.at);
        const near = sets.flatMap((s) => s.near);
        await store.postTokens(bob, [newToken()], [at[0]!, at[1]!, at[2]!], T0, WINDOW);
        await store.postTokens(carol, [near[10]!], [newToken()], T0, WINDOW);
        expect(await store.postTokens(alice, at, near, T0 + 1, WINDOW)).toEqual([bob, carol].sort());
      });

      it('never matches a user with their own tokens', async () => {
        const a = set();
        await store.postTokens(alice, [a.at], a.near, T0, WINDOW);
        expect(await store.postTokens(alice, [a.near[0]!], [a.at], T0 + 1, WINDOW)).toEqual([]);
        expect(await store.postTokens(alice, [a.at], [a.at], T0 + 2, WINDOW)).toEqual([]);
      });

      it('stops matching tokens that their user has replaced', async () => {
        const a = set();
        await store.postTokens(alice, [a.at], a.near, T0, WINDOW);
        await store.postTokens(alice, [newToken()], [newToken()], T0 + 60_000, WINDOW);
        expect(await store.postTokens(bob, [a.near[0]!], [a.at], T0 + 60_001, WINDOW)).toEqual([]);
        await store.postTokens(carol, [], [], T0 + 60_002, WINDOW);
        expect(await store.postTokens(bob, [a.near[0]!], [a.at], T0 + 60_003, WINDOW)).toEqual([]);
      });

      it('stops matching tokens once their window has ended', async () => {
        const a = set();
        await store.postTokens(alice, [a.at], a.near, T0, WINDOW);
        expect(await store.postTokens(bob, [newToken()], [a.at], T0 + WINDOW - 1, WINDOW)).toEqual([alice]);
        expect(await store.postTokens(carol, [newToken()], [a.at], T0 + WINDOW, WINDOW)).toEqual([]);
        expect(await store.postTokens(carol, [a.near[1]!], [], T0 + WINDOW, WINDOW)).toEqual([]);
      });

      it("lets a user's tokens be matched again after that user posts an empty update and new tokens", async () => {
        const a = set();
        await store.postTokens(alice, [a.at], a.near, T0, WINDOW);
        await store.postTokens(alice, [], [], T0 + 1, WINDOW);
        expect(await store.postTokens(bob, [newToken()], [a.at], T0 + 2, WINDOW)).toEqual([]);
        await store.postTokens(alice, [a.at], a.near, T0 + 3, WINDOW);
        expect(await store.postTokens(bob, [newToken()], [a.at], T0 + 4, WINDOW)).toEqual([alice]);
      });
    });

    describe('in range', () => {
      it('marks a pair in range in both directions until the given time', async () => {
        await store.markInRange(bob, alice, T0, T0 + WINDOW);
        expect(await store.inRange(alice, bob, T0)).toBe(true);
        expect(await store.inRange(bob, alice, T0 + WINDOW - 1)).toBe(true);
        expect(await store.inRange(alice, bob, T0 + WINDOW)).toBe(false);
        expect(await store.inRange(alice, carol, T0)).toBe(false);
      });

      it('extends a mark when the pair is marked again', async () => {
        await store.markInRange(alice, bob, T0, T0 + 1000);
        await store.markInRange(alice, bob, T0, T0 + WINDOW);
        expect(await store.inRange(bob, alice, T0 + 2000)).toBe(true);
      });

      it('keeps the encounter a live mark names: the first update begins it, later ones extend it', async () => {
        expect(await store.markInRange(alice, bob, T0, T0 + WINDOW, T0 - 5)).toEqual({
          since: T0 - 5,
          until: T0 + WINDOW,
          notified: false,
        });
        // A relay that died before both notices were filed leaves the encounter unnotified.
        expect(await store.markInRange(bob, alice, T0 + 60_000, T0 + 60_000 + WINDOW, T0 + 60_000)).toEqual({
          since: T0 - 5,
          until: T0 + 60_000 + WINDOW,
          notified: false,
        });
        await store.markNotified(bob, alice, T0 + 60_000); // not this encounter's start: no effect
        expect((await store.markInRange(alice, bob, T0 + 1, T0 + 1)).notified).toBe(false);
        await store.markNotified(bob, alice, T0 - 5);
        expect(await store.markInRange(alice, bob, T0 + 2, T0 + 2)).toEqual({
          since: T0 - 5,
          until: T0 + 60_000 + WINDOW,
          notified: true,
        });
        // Once the mark has run out, the next meeting is a new encounter.
        const later = T0 + 60_000 + WINDOW;
        expect(await store.markInRange(alice, bob, later, later + WINDOW)).toEqual({
          since: later,
          until: later + WINDOW,
          notified: false,
        });
      });
    });
  });
  accountCases(name, make);
  presenceCases(name, make);
}
