import type { SocialStore } from './contract.js';
import { emptySummary, joinSummaries, partsOf } from './summary.js';

/*
 * The social store as two: what must last (friend links, discovery, pending matches, the look-up
 * budget) in the durable store, and what lives a matching window and must never reach a disk
 * (presence, the presence slot, blind-mode tokens, in-range marks: DESIGN P3, P8) in a store
 * without persistence: a Redis with no AOF or RDB, or this process. An export's summary and an
 * erase's forget ask each store for its own half only (SocialPart), so that, say, the durable
 * store is never scanned for in-range marks it cannot hold.
 */
export function splitSocialStore(durable: SocialStore, ephemeral: SocialStore): SocialStore {
  return {
    requestFriend: (from, to) => durable.requestFriend(from, to),
    acceptFriend: (uid, other) => durable.acceptFriend(uid, other),
    declineFriend: (uid, other) => durable.declineFriend(uid, other),
    removeFriend: (uid, other) => durable.removeFriend(uid, other),
    setConsent: (uid, other, consent) => durable.setConsent(uid, other, consent),
    consent: (uid, other) => durable.consent(uid, other),
    friends: (uid) => durable.friends(uid),
    proximityFriends: (uid) => durable.proximityFriends(uid),
    setDiscoverable: (uid, hash, now, ttlMs) => durable.setDiscoverable(uid, hash, now, ttlMs),
    lookup: (uid, hashes, now, ttlMs) => durable.lookup(uid, hashes, now, ttlMs),
    spendLookups: (uid, count, max, now, windowMs) => durable.spendLookups(uid, count, max, now, windowMs),
    sweepPending: (now, limit) => durable.sweepPending(now, limit),
    redrive: (now, limit) => durable.redrive(now, limit),

    takePresenceSlot: (uid, now, intervalMs) => ephemeral.takePresenceSlot(uid, now, intervalMs),
    lastPresence: (uid, now) => ephemeral.lastPresence(uid, now),
    presenceOf: (uids, now) => ephemeral.presenceOf(uids, now),
    setPresence: (uid, cell, now, windowMs, anchor) =>
      ephemeral.setPresence(uid, cell, now, windowMs, anchor),
    updatePresence: (update) => ephemeral.updatePresence(update),
    postTokens: (uid, at, near, now, windowMs) => ephemeral.postTokens(uid, at, near, now, windowMs),
    markInRange: (a, b, now, until, since) => ephemeral.markInRange(a, b, now, until, since),
    markNotified: (a, b, since) => ephemeral.markNotified(a, b, since),
    inRange: (a, b, now) => ephemeral.inRange(a, b, now),

    async summary(uid, now, part) {
      const wanted = partsOf(part);
      const [lasting, windowed] = await Promise.all([
        wanted.durable ? durable.summary(uid, now, 'durable') : emptySummary(),
        wanted.ephemeral ? ephemeral.summary(uid, now, 'ephemeral') : emptySummary(),
      ]);
      return joinSummaries(lasting, windowed);
    },
    async forget(uid, now, part) {
      const wanted = partsOf(part);
      if (wanted.durable) await durable.forget(uid, now, 'durable');
      if (wanted.ephemeral) await ephemeral.forget(uid, now, 'ephemeral');
    },
  };
}
