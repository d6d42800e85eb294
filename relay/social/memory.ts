import { randomBytes } from 'node:crypto';
import type { FriendInfo } from '../../protocol/index.js';
import type {
  Consent,
  Encounter,
  LookupResult,
  PendingMatch,
  Presence,
  SocialLink,
  SocialStore,
} from './contract.js';
import {
  type HeldPresence,
  markPair,
  type PresenceState,
  pairKey,
  updatePresenceIn,
} from './memory-presence.js';
import { emptySummary, partsOf } from './summary.js';

/*
 * The in-process social store: the Redis store's contract in plain maps, for a laptop demo and for
 * tests. As in store-memory.ts, each method changes state before its first await, so every
 * operation is atomic.
 *
 * Everything with a life (discoverability, pending matches, look-up budgets, presence, tokens,
 * in-range marks) carries its end and is checked against the caller's `now` on read. A prune
 * walks all of it at most once a minute of relay time (on the first write after that minute), so
 * expired presence and tokens do not pile up in the process either (P3).
 *
 * A user who looks up their own hash gets their own ID back, as in the Redis store; a pending
 * match filed by the user who then becomes discoverable under that hash is not returned to them.
 */

/**
 * One side of a link. 'declined' is the decliner's side of a request it declined: hidden from its
 * list, while the requester's side stays 'outgoing' (the requester is not told).
 */
type Link = { state: 'incoming' | 'outgoing' | 'declined' } | ({ state: 'friend' } & Consent);

interface Timed<T> {
  value: T;
  until: number;
}

const PRUNE_EVERY_MS = 60_000;

/** uid's side `mine` of its link with `id`, and `theirs`, id's side, as an export shows them. */
function summaryLink(id: string, mine: Link, theirs: Link | undefined): SocialLink {
  const friends = mine.state === 'friend' && theirs?.state === 'friend';
  return {
    id,
    state: mine.state,
    proximity: mine.state === 'friend' && mine.proximity,
    autoAccept: mine.state === 'friend' && mine.autoAccept,
    theirProximity: friends && theirs.proximity,
    theirAutoAccept: friends && theirs.autoAccept,
  };
}

export function createMemorySocialStore(): SocialStore {
  const links = new Map<string, Map<string, Link>>();
  const discoverable = new Map<string, Timed<string>>(); // hash -> uid
  const discoverHash = new Map<string, string>(); // uid -> hash
  const pending = new Map<string, Map<string, Timed<string>>>(); // hash -> requester -> ticket
  const budgets = new Map<string, { start: number; used: number; until: number }>(); // '<kind>:<uid>'
  const presence = new Map<string, HeldPresence>();
  // token -> "a<uid>" | "n<uid>" -> until; and uid -> the index entries it posted.
  const tokens = new Map<string, Map<string, number>>();
  const posted = new Map<string, Timed<string[]>>();
  const marks = new Map<string, Encounter>();
  let nextPrune = Number.NEGATIVE_INFINITY;

  /** A fixed-window budget under `key` ('<kind>:<uid>'), as the Redis store's SPEND script. */
  function spend(key: string, count: number, max: number, now: number, windowMs: number): boolean {
    prune(now);
    let budget = budgets.get(key);
    if (!budget || budget.until <= now) budget = { start: now, used: 0, until: now + windowMs };
    if (budget.used + count > max) return false;
    budget.used += count;
    budgets.set(key, budget);
    return true;
  }

  function linksOf(uid: string): Map<string, Link> {
    let map = links.get(uid);
    if (!map) {
      map = new Map();
      links.set(uid, map);
    }
    return map;
  }

  function link(uid: string, other: string): Link | undefined {
    return links.get(uid)?.get(other);
  }

  function setLink(uid: string, other: string, value: Link): void {
    linksOf(uid).set(other, value);
  }

  function unlink(uid: string, other: string): void {
    const map = links.get(uid);
    map?.delete(other);
    if (map?.size === 0) links.delete(uid);
  }

  function befriend(a: string, b: string): void {
    setLink(a, b, { state: 'friend', proximity: false, autoAccept: false });
    setLink(b, a, { state: 'friend', proximity: false, autoAccept: false });
  }

  function live<K, T>(map: Map<K, Timed<T>>, key: K, now: number): T | undefined {
    const entry = map.get(key);
    return entry && entry.until > now ? entry.value : undefined;
  }

  function unpost(uid: string): void {
    for (const field of posted.get(uid)?.value ?? []) {
      const token = field.slice(1 + uid.length);
      const entries = tokens.get(token);
      entries?.delete(field.slice(0, 1 + uid.length));
      if (entries?.size === 0) tokens.delete(token);
    }
    posted.delete(uid);
  }

  /** Drops the pending matches that expired; returns how many. */
  function dropExpiredPending(now: number): number {
    let dropped = 0;
    for (const [hash, matches] of pending) {
      for (const [requester, entry] of matches) {
        if (entry.until > now) continue;
        matches.delete(requester);
        dropped++;
      }
      if (matches.size === 0) pending.delete(hash);
    }
    return dropped;
  }

  /** Drops everything that expired, at most once a minute of relay time. */
  function prune(now: number): void {
    if (now < nextPrune) return;
    nextPrune = now + PRUNE_EVERY_MS;
    for (const [hash, entry] of discoverable) {
      if (entry.until > now) continue;
      discoverable.delete(hash);
      if (discoverHash.get(entry.value) === hash) discoverHash.delete(entry.value);
    }
    dropExpiredPending(now);
    for (const [key, budget] of budgets) if (budget.until <= now) budgets.delete(key);
    for (const [uid, entry] of presence) if (entry.until <= now) presence.delete(uid);
    for (const [uid, entry] of posted) if (entry.until <= now) unpost(uid);
    for (const [pair, mark] of marks) if (mark.until <= now) marks.delete(pair);
  }

  const mark = (a: string, b: string, now: number, until: number, since: number) =>
    markPair(marks, a, b, now, until, since);
  const presenceState: PresenceState = {
    takeSlot: (uid, now, intervalMs) => spend(`pu:${uid}`, 1, 1, now, intervalMs),
    live: (uid, now) => (live(presence, uid, now) ? presence.get(uid) : undefined),
    set: (uid, held) => presence.set(uid, held),
    mark,
  };

  return {
    async requestFriend(from, to) {
      const existing = link(from, to);
      if (existing?.state === 'friend' || existing?.state === 'outgoing') return 'already';
      if (existing?.state === 'incoming' || existing?.state === 'declined') {
        befriend(from, to);
        return 'friends';
      }
      setLink(from, to, { state: 'outgoing' });
      setLink(to, from, { state: 'incoming' });
      return 'requested';
    },

    async acceptFriend(uid, other) {
      if (link(uid, other)?.state !== 'incoming') return false;
      befriend(uid, other);
      return true;
    },

    async declineFriend(uid, other) {
      if (link(uid, other)?.state !== 'incoming') return false;
      setLink(uid, other, { state: 'declined' });
      return true;
    },

    async removeFriend(uid, other) {
      const state = link(uid, other)?.state;
      if (state !== 'friend' && state !== 'outgoing') return false;
      unlink(uid, other);
      unlink(other, uid);
      return true;
    },

    async setConsent(uid, other, consent) {
      if (link(uid, other)?.state !== 'friend') return false;
      setLink(uid, other, { state: 'friend', proximity: consent.proximity, autoAccept: consent.autoAccept });
      return true;
    },

    async consent(uid, other) {
      const found = link(uid, other);
      if (found?.state !== 'friend') return null;
      return { proximity: found.proximity, autoAccept: found.autoAccept };
    },

    async friends(uid) {
      const out: FriendInfo[] = [];
      for (const [id, found] of links.get(uid) ?? []) {
        if (found.state === 'declined') continue;
        const on = found.state === 'friend';
        out.push({
          id,
          state: found.state,
          proximity: on && found.proximity,
          autoAccept: on && found.autoAccept,
        });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    async proximityFriends(uid) {
      const out: string[] = [];
      for (const [id, mine] of links.get(uid) ?? []) {
        if (mine.state !== 'friend' || !mine.proximity) continue;
        const theirs = link(id, uid);
        if (theirs?.state === 'friend' && theirs.proximity) out.push(id);
      }
      return out.sort();
    },

    async setDiscoverable(uid, hash, now, ttlMs) {
      prune(now);
      const old = discoverHash.get(uid);
      if (old !== undefined && old !== hash) {
        if (discoverable.get(old)?.value === uid) discoverable.delete(old);
        discoverHash.delete(uid);
      }
      if (hash === null) return [];
      discoverable.set(hash, { value: uid, until: now + ttlMs });
      discoverHash.set(uid, hash);
      const out: PendingMatch[] = [];
      for (const [requester, entry] of pending.get(hash) ?? []) {
        if (entry.until > now && requester !== uid) out.push({ requester, ticket: entry.value });
      }
      pending.delete(hash);
      return out.sort((a, b) => (a.requester < b.requester ? -1 : 1));
    },

    async lookup(uid, hashes, now, ttlMs): Promise<LookupResult> {
      prune(now);
      const ids: (string | null)[] = [];
      const tickets: (string | null)[] = [];
      for (const hash of hashes) {
        const id = live(discoverable, hash, now);
        if (id !== undefined) {
          ids.push(id);
          tickets.push(null);
          continue;
        }
        let matches = pending.get(hash);
        if (!matches) {
          matches = new Map();
          pending.set(hash, matches);
        }
        const ticket = live(matches, uid, now) ?? randomBytes(16).toString('base64url');
        matches.set(uid, { value: ticket, until: now + ttlMs });
        ids.push(null);
        tickets.push(ticket);
      }
      return { ids, tickets };
    },

    async spendLookups(uid, count, max, now, windowMs) {
      return spend(`lk:${uid}`, count, max, now, windowMs);
    },

    async takePresenceSlot(uid, now, intervalMs) {
      return spend(`pu:${uid}`, 1, 1, now, intervalMs);
    },

    async sweepPending(now) {
      return { removed: dropExpiredPending(now), more: false };
    },

    async redrive() {
      // Both sides of a link change together here: nothing is ever left half done.
      return { finished: 0, more: false };
    },

    async lastPresence(uid, now) {
      return live(presence, uid, now) ?? null;
    },

    async presenceOf(uids, now) {
      return uids.map((uid) => live(presence, uid, now) ?? null);
    },

    async setPresence(uid, cell, now, windowMs, anchor) {
      prune(now);
      const value: Presence = { cell, at: now };
      if (cell === null && anchor) value.anchor = { ...anchor };
      presence.set(uid, { value, until: now + windowMs });
    },

    async postTokens(uid, at, near, now, windowMs) {
      prune(now);
      unpost(uid);
      const found = new Set<string>();
      const fields: string[] = [];
      const until = now + windowMs;
      for (const [kind, list, wanted] of [
        ['a', at, 'n'],
        ['n', near, 'a'],
      ] as const) {
        for (const token of list) {
          let entries = tokens.get(token);
          if (!entries) {
            entries = new Map();
            tokens.set(token, entries);
          }
          for (const [field, end] of entries) {
            const other = field.slice(1);
            if (field[0] === wanted && other !== uid && end > now) found.add(other);
          }
          entries.set(kind + uid, until);
          fields.push(kind + uid + token);
        }
      }
      if (fields.length > 0) posted.set(uid, { value: fields, until });
      return [...found].sort();
    },

    async markInRange(a, b, now, until, since = now) {
      return mark(a, b, now, until, since);
    },

    async updatePresence(update) {
      prune(update.now);
      return updatePresenceIn(presenceState, update);
    },

    async markNotified(a, b, since) {
      const mark = marks.get(pairKey(a, b));
      if (mark?.since === since) mark.notified = true;
    },

    async inRange(a, b, now) {
      return (marks.get(pairKey(a, b))?.until ?? 0) > now;
    },

    async summary(uid, now, part) {
      const wanted = partsOf(part);
      const out = emptySummary();
      if (wanted.durable) {
        for (const [id, mine] of links.get(uid) ?? []) out.links.push(summaryLink(id, mine, link(id, uid)));
        out.links.sort((a, b) => (a.id < b.id ? -1 : 1));
        const hash = discoverHash.get(uid);
        const entry = hash === undefined ? undefined : discoverable.get(hash);
        if (entry?.value === uid && entry.until > now) out.discoverable = { until: entry.until };
        for (const matches of pending.values()) {
          const match = matches.get(uid);
          if (!match || match.until <= now) continue;
          out.pendingMatches.count++;
          out.pendingMatches.latestExpiry = Math.max(out.pendingMatches.latestExpiry ?? 0, match.until);
        }
        const budget = budgets.get(`lk:${uid}`);
        if (budget && budget.until > now)
          out.rates.lookups = { used: budget.used, windowEndsAt: budget.until };
      }
      if (wanted.ephemeral) {
        const live = presence.get(uid);
        if (live && live.until > now) out.presence = { until: live.until, blind: live.value.cell === null };
        const slot = budgets.get(`pu:${uid}`);
        if (slot && slot.until > now) out.rates.presence = { nextAt: slot.until };
      }
      return out;
    },

    async forget(uid, _now, part) {
      const wanted = partsOf(part);
      if (wanted.durable) {
        // Both sides of a link change together here, so uid's own list names every other side.
        for (const other of links.get(uid)?.keys() ?? []) unlink(other, uid);
        links.delete(uid);
        for (const [hash, entry] of discoverable) if (entry.value === uid) discoverable.delete(hash);
        discoverHash.delete(uid);
        for (const [hash, matches] of pending) {
          matches.delete(uid);
          if (matches.size === 0) pending.delete(hash);
        }
        budgets.delete(`lk:${uid}`);
      }
      if (wanted.ephemeral) {
        budgets.delete(`pu:${uid}`);
        presence.delete(uid);
        unpost(uid);
        for (const pair of marks.keys()) {
          const [a, b] = pair.split(':');
          if (a === uid || b === uid) marks.delete(pair);
        }
      }
    },
  };
}
