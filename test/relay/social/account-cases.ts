import { Cluster, type Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../../relay/redis/index.js';
import type { SocialLink, SocialStore, SocialSummary } from '../../../relay/social/contract.js';
import { linkMember, socialKeys } from '../../../relay/social/keys.js';
import { runScript, SCRIPTS } from '../../../relay/social/redis-calls.js';
import { dumpText } from '../../support/redis-inspect.js';
import { MONTH, newHash, newToken, newUid, T0, WINDOW } from './contract.js';

/**
 * What a backend offers the account cases besides the store: `dump`, every key of the Redis
 * server(s) behind it with every value read as text (strings, hash fields and values, zset and set
 * members); `stepOne`, a friend operation's first step alone, as a relay that died right after it
 * leaves it (stores that change both sides of a link at once have no such state).
 */
export interface SocialBackend {
  store: SocialStore;
  close(): Promise<void>;
  dump?: () => Promise<Map<string, string[]>>;
  stepOne?: (op: 'request' | 'remove', uid: string, other: string, now: number) => Promise<void>;
}

const MINUTE = 60_000;
const CELL = '8a1fb46622dffff';

/** The social store's part in account export (summary) and erase (forget), on every backend. */
export function accountCases(name: string, make: () => Promise<SocialBackend>): void {
  describe(`${name} social store: account export and erase`, () => {
    let backend: SocialBackend;
    let store: SocialStore;
    // zed is the account exported and erased; the others are the people around it.
    let zed: string;
    let f1: string;
    let f2: string;
    let out1: string;
    let in1: string;
    let declinedByZed: string;
    let declinedZed: string;
    let stranger: string;
    const [zedHash, f1Hash, h1, h2, h3] = [newHash(), newHash(), newHash(), newHash(), newHash()];
    const zedAt = newToken();
    const zedNear = Array.from({ length: 7 }, newToken);

    beforeEach(async () => {
      backend = await make();
      store = backend.store;
      [zed, f1, f2, out1, in1] = [newUid(), newUid(), newUid(), newUid(), newUid()];
      [declinedByZed, declinedZed, stranger] = [newUid(), newUid(), newUid()];
    });
    afterEach(() => backend.close());

    async function befriend(a: string, b: string): Promise<void> {
      expect(await store.requestFriend(a, b)).toBe('requested');
      expect(await store.acceptFriend(b, a)).toBe(true);
    }

    /** Everything zed has, and the friends' own data around it. */
    async function plant(): Promise<void> {
      await befriend(zed, f1);
      await befriend(f2, zed);
      await store.setConsent(zed, f1, { proximity: true, autoAccept: false });
      await store.setConsent(f1, zed, { proximity: true, autoAccept: true });
      await store.requestFriend(zed, out1);
      await store.requestFriend(in1, zed);
      await store.requestFriend(declinedByZed, zed);
      await store.declineFriend(zed, declinedByZed);
      await store.requestFriend(zed, declinedZed);
      await store.declineFriend(declinedZed, zed);
      // The friends' own links and switches.
      await befriend(f1, f2);
      await store.setConsent(f2, f1, { proximity: true, autoAccept: true });
      await store.requestFriend(f1, stranger);

      await store.setDiscoverable(zed, zedHash, T0, MONTH);
      await store.setDiscoverable(f1, f1Hash, T0, MONTH);
      await store.lookup(zed, [h1, h2], T0, MONTH);
      await store.lookup(zed, [h3, f1Hash], T0 + 1000, MONTH);
      await store.lookup(f1, [h1], T0, MONTH);
      expect(await store.spendLookups(zed, 3, 10, T0, WINDOW)).toBe(true);

      expect(await store.takePresenceSlot(zed, T0, MINUTE)).toBe(true);
      await store.setPresence(zed, null, T0, WINDOW, { cell: CELL, at: T0 - MINUTE });
      await store.setPresence(f1, CELL, T0, WINDOW);
      await store.postTokens(zed, [zedAt], zedNear, T0, WINDOW);
      // f1 near zed's cell, and at a cell zed is near: the same token keys hold both.
      expect(await store.postTokens(f1, [zedNear[2]!], [zedAt, newToken()], T0 + 1, WINDOW)).toEqual([zed]);
      await store.markInRange(zed, f1, T0, T0 + WINDOW);
      await store.markInRange(f2, zed, T0, T0 + WINDOW);
      await store.markInRange(f1, f2, T0, T0 + WINDOW);
    }

    const off = { proximity: false, autoAccept: false, theirProximity: false, theirAutoAccept: false };

    it('summarises exactly what the store holds about a user, naming others only as link peers', async () => {
      await plant();
      const summary = await store.summary(zed, T0 + 2000);
      const links: SocialLink[] = [
        {
          id: f1,
          state: 'friend',
          proximity: true,
          autoAccept: false,
          theirProximity: true,
          theirAutoAccept: true,
        },
        { id: f2, state: 'friend', ...off },
        { id: out1, state: 'outgoing', ...off },
        { id: in1, state: 'incoming', ...off },
        { id: declinedByZed, state: 'declined', ...off },
        { id: declinedZed, state: 'outgoing', ...off },
      ];
      expect(summary).toEqual({
        links: links.sort((a, b) => (a.id < b.id ? -1 : 1)),
        discoverable: { until: T0 + MONTH },
        // h1, h2, h3 missed; f1Hash resolved, so no match was filed for it.
        pendingMatches: { count: 3, latestExpiry: T0 + 1000 + MONTH },
        presence: { until: T0 + WINDOW, blind: true },
        rates: { lookups: { used: 3, windowEndsAt: T0 + WINDOW }, presence: { nextAt: T0 + MINUTE } },
      } satisfies SocialSummary);
      const text = JSON.stringify(summary);
      for (const secret of [zedHash, f1Hash, h1, h2, h3, zedAt, ...zedNear, CELL, stranger]) {
        expect(text).not.toContain(secret);
      }
    });

    it('summarises only what is still live, and nothing for a user it never saw', async () => {
      await plant();
      const later = await store.summary(zed, T0 + MONTH + 1000);
      expect(later.links).toHaveLength(6);
      expect({ ...later, links: [] }).toEqual(await store.summary(newUid(), T0));
      expect(await store.summary(newUid(), T0)).toEqual({
        links: [],
        discoverable: null,
        pendingMatches: { count: 0, latestExpiry: null },
        presence: null,
        rates: { lookups: null, presence: null },
      });
    });

    /** The caller's part of an erase: every link through removeFriend, then forget. */
    async function erase(uid: string, now: number): Promise<void> {
      for (const { id } of (await store.summary(uid, now)).links) await store.removeFriend(uid, id);
      await store.forget(uid, now);
    }

    /** Each key and value (text) that names `uid`. */
    async function naming(uid: string): Promise<string[]> {
      const found: string[] = [];
      for (const [key, values] of (await backend.dump?.()) ?? []) {
        if (key.includes(uid)) found.push(key);
        for (const value of values) if (value.includes(uid)) found.push(`${key} holds ${value}`);
      }
      return found;
    }

    it('leaves nothing that names an erased user, and the people around it as they were', async () => {
      await plant();
      // Changes a crash left half done: one toward zed, one of zed's own (its friendship with
      // f2 removed on zed's side only), so zed's list no longer names f2.
      const halfway = newUid();
      await backend.stepOne?.('request', halfway, zed, T0);
      await backend.stepOne?.('remove', zed, f2, T0);
      const now = T0 + 2000;
      await erase(zed, now);

      expect(await naming(zed)).toEqual([]);
      expect(await store.summary(zed, now)).toEqual(await store.summary(newUid(), now));
      for (const other of [out1, in1, declinedByZed, declinedZed, halfway]) {
        expect(await store.friends(other)).toEqual([]);
      }
      const on = { proximity: true, autoAccept: true };
      expect(await store.friends(f1)).toEqual(
        [
          { id: f2, state: 'friend', proximity: false, autoAccept: false },
          { id: stranger, state: 'outgoing', proximity: false, autoAccept: false },
        ].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      expect(await store.friends(f2)).toEqual([{ id: f1, state: 'friend', ...on }]);
      expect(await store.presenceOf([zed, f1], now)).toEqual([null, { cell: CELL, at: T0 }]);
      expect(await store.inRange(f1, f2, now)).toBe(true);
      expect(await store.inRange(zed, f1, now)).toBe(false);
      expect(await store.inRange(f2, zed, now)).toBe(false);
      // zed's tokens are gone, f1's still match.
      expect(await store.postTokens(stranger, [zedNear[0]!], [zedAt, zedNear[2]!], now, WINDOW)).toEqual([
        f1,
      ]);
      expect(await store.lookup(stranger, [zedHash, f1Hash], now, MONTH)).toMatchObject({ ids: [null, f1] });
      // zed's pending matches are gone, f1's (on a hash zed looked up too) is still there.
      expect((await store.setDiscoverable(stranger, h1, now, MONTH)).map((m) => m.requester)).toEqual([f1]);
      expect(await store.setDiscoverable(stranger, h2, now, MONTH)).toEqual([]);
      expect(await store.spendLookups(zed, 10, 10, now, WINDOW)).toBe(true);
      expect(await store.takePresenceSlot(zed, now, MINUTE)).toBe(true);
    });

    it('forgets twice as once, and forgets a user it never saw', async () => {
      await plant();
      await erase(zed, T0 + 2000);
      const after = await backend.dump?.();
      await store.forget(zed, T0 + 3000);
      await store.forget(newUid(), T0 + 3000);
      expect(await backend.dump?.()).toEqual(after);
      expect(await store.friends(f2)).toEqual([
        { id: f1, state: 'friend', proximity: true, autoAccept: true },
      ]);
    });
  });
}

/** The dump and first steps of a Redis store on `client`, whose keys `admins` can read. */
export function redisHooks(
  client: RedisClient,
  admins: () => Redis[],
): Required<Pick<SocialBackend, 'dump' | 'stepOne'>> {
  const keys = socialKeys('pb:', client instanceof Cluster);
  return {
    async dump() {
      const all = new Map<string, string[]>();
      for (const admin of admins()) for (const [key, values] of await dumpText(admin)) all.set(key, values);
      return all;
    },
    async stepOne(op, uid, other, now) {
      await runScript(
        client,
        SCRIPTS.friend,
        [keys.user(uid, 'fr'), keys.linkOutbox(uid)],
        [op, other, linkMember(uid, other), now, ''],
      );
    },
  };
}
