import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FriendInfo, FriendState } from '../../protocol/index.js';
import type { Consent, PendingMatch, Presence, SocialStore } from './contract.js';
import {
  DISCOVER_SCRIPT,
  FRIEND_SCRIPT,
  LOOKUP_SCRIPT,
  PROXIMITY_SCRIPT,
  SPEND_SCRIPT,
  SWEEP_PENDING_SCRIPT,
  TOKENS_SCRIPT,
} from './scripts.js';

/*
 * Redis layout (prefix `pb:` by default; {uid} is the user's hash tag; "<end>" is a relay time in
 * ms that reads compare with the caller's `now`, while the key's TTL makes Redis drop it):
 *
 *   pb:{uid}:fr        hash    other -> 'o' (uid asked) | 'i' (other asked) | 'f<p><a>' (friends;
 *                              uid's own proximity / auto-accept switches, '0' or '1'). Both
 *                              sides always change together; an emptied hash is gone.
 *   pb:{uid}:disc      string  uid's current discovery hash (to replace or stop it)   TTL ttlMs
 *   pb:disc:<hash>     string  "<end>:<uid>"                                           TTL ttlMs
 *   pb:pend:<hash>     hash    requester -> "<expiry>:<ticket>"; expired entries are dropped
 *                              when read and by the sweep; TTL = the latest expiry
 *   pb:pendx           zset    "<hash>:<requester>" scored by that entry's expiry: what the
 *                              sweep (sweepPending) deletes, so an entry lives no longer than
 *                              its own expiry plus a sweep interval
 *   pb:{uid}:lk        string  "<window start>:<look-ups used>"                        TTL window
 *   pb:{uid}:pu        string  "<last presence update>:1"                        TTL the interval
 *   pb:{uid}:pr        string  "<at>:<end>:<cell>" (cell empty in blind mode)          TTL window
 *   pb:{uid}:tok       set     'a'|'n' + token: what uid posted, to withdraw it         TTL window
 *   pb:tok:<token>     hash    'a'|'n' + uid -> <end>                                  TTL window
 *   pb:near:<a>:<b>    string  "<until>" with a < b                              expires at until
 *
 * Hashes are the relay's HMACs of phone numbers, never the numbers. Presence and tokens carry a PX
 * TTL of the window and in-range marks expire at their end, so no key holds them after it (P3). A user who looks up
 * their own hash gets their own ID back; setDiscoverable never returns a user's own pending match.
 *
 * Every key TTL is relative (PX), so it holds whatever the relay's clock says against Redis's.
 *
 * Round trips: each operation is one command or one script call (EVALSHA). presenceOf sends one
 * GET per user, which ioredis's auto-pipelining (on for the relay's command connection) sends
 * together. Commands inside the scripts:
 *   request/accept/decline/remove/consent  HGET + at most 2 HSET/HDEL
 *   consent (read), friends                HGET, HGETALL (no script)
 *   proximityFriends                       HGETALL + one HGET per friend with proximity on
 *   setDiscoverable                        GET x2, DEL, SET x2, HGETALL, DEL
 *   lookup                                 per hash: GET; per miss HGETALL, HSET, ZADD, PTTL,
 *                                          PEXPIRE (+ HDEL, ZREM per expired entry met); once
 *                                          PTTL, PEXPIRE of pb:pendx
 *   sweepPending                           ZRANGEBYSCORE; per due entry HGET, HDEL, ZREM
 *   spendLookups, takePresenceSlot         GET, SET
 *   setPresence, lastPresence, markInRange, inRange   one SET / GET
 *   postTokens                             SMEMBERS + HDEL per old token, DEL; per token HGETALL,
 *                                          HSET, PEXPIRE; SADD per 1000, PEXPIRE. A full update
 *                                          (256 sets, 2,048 tokens) is ~6,000 commands, about
 *                                          12 ms of Redis time on a busy 2-core test machine.
 *
 * Redis Cluster: the friend scripts write two users' hashes, and discovery, tokens and in-range
 * marks live in global keys that the scripts build themselves (no KEYS declared). Fine on one
 * Redis (with replicas); a Cluster would need the two-sided writes split and the global indexes
 * hash-tagged by the hash or token, with each script touching one slot.
 */

interface Commands {
  pbSocialFriend(...args: string[]): Promise<string>;
  pbSocialProximity(...args: string[]): Promise<string[]>;
  pbSocialDiscover(...args: string[]): Promise<string[]>;
  pbSocialLookup(...args: string[]): Promise<string[]>;
  pbSocialSpend(...args: string[]): Promise<number>;
  pbSocialTokens(...args: string[]): Promise<string[]>;
  pbSocialSweepPending(...args: string[]): Promise<[number, number]>;
}

const SCRIPTS: Record<keyof Commands, string> = {
  pbSocialFriend: FRIEND_SCRIPT,
  pbSocialProximity: PROXIMITY_SCRIPT,
  pbSocialDiscover: DISCOVER_SCRIPT,
  pbSocialLookup: LOOKUP_SCRIPT,
  pbSocialSpend: SPEND_SCRIPT,
  pbSocialTokens: TOKENS_SCRIPT,
  pbSocialSweepPending: SWEEP_PENDING_SCRIPT,
};

const STATES: ReadonlyMap<string, FriendState> = new Map([
  ['o', 'outgoing'],
  ['i', 'incoming'],
  ['f', 'friend'],
]);

/** A TTL Redis accepts (PX wants a positive integer). */
const ttl = (ms: number) => String(Math.max(1, Math.ceil(ms)));

export function createRedisSocialStore(redis: Redis, options: { keyPrefix?: string } = {}): SocialStore {
  const prefix = options.keyPrefix ?? 'pb:';
  // The connection may be shared (the mailbox store's): define each script once on it.
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
      redis.defineCommand(name, { numberOfKeys: 0, lua });
    }
  }
  const cmd = redis as Redis & Commands;
  const userKey = (uid: string, suffix: string) => `${prefix}{${uid}}:${suffix}`;
  const nearKey = (a: string, b: string) => (a < b ? `${prefix}near:${a}:${b}` : `${prefix}near:${b}:${a}`);

  /** A fixed-window budget of uid's under key suffix `kind` (SPEND_SCRIPT). */
  async function spend(
    uid: string,
    kind: 'lk' | 'pu',
    count: number,
    max: number,
    now: number,
    windowMs: number,
  ) {
    const args = [String(count), String(max), String(now), ttl(windowMs)];
    return (await cmd.pbSocialSpend(prefix, uid, kind, ...args)) === 1;
  }

  async function friendOp(op: string, uid: string, other: string, ...rest: string[]): Promise<boolean> {
    return (await cmd.pbSocialFriend(prefix, op, uid, other, ...rest)) === '1';
  }

  return {
    async requestFriend(from, to) {
      return (await cmd.pbSocialFriend(prefix, 'request', from, to)) as 'requested' | 'friends' | 'already';
    },

    acceptFriend: (uid, other) => friendOp('accept', uid, other),
    declineFriend: (uid, other) => friendOp('decline', uid, other),
    removeFriend: (uid, other) => friendOp('remove', uid, other),

    setConsent(uid, other, consent) {
      const flags = (consent.proximity ? '1' : '0') + (consent.autoAccept ? '1' : '0');
      return friendOp('consent', uid, other, flags);
    },

    async consent(uid, other): Promise<Consent | null> {
      const value = await cmd.hget(userKey(uid, 'fr'), other);
      if (!value?.startsWith('f')) return null;
      return { proximity: value[1] === '1', autoAccept: value[2] === '1' };
    },

    async friends(uid) {
      const all = await cmd.hgetall(userKey(uid, 'fr'));
      const out: FriendInfo[] = [];
      for (const [id, value] of Object.entries(all)) {
        const state = STATES.get(value[0] ?? '');
        if (!state) continue;
        const on = state === 'friend';
        out.push({ id, state, proximity: on && value[1] === '1', autoAccept: on && value[2] === '1' });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    async proximityFriends(uid) {
      return (await cmd.pbSocialProximity(prefix, uid)).sort();
    },

    async setDiscoverable(uid, hash, now, ttlMs) {
      const reply = await cmd.pbSocialDiscover(prefix, uid, hash ?? '', String(now), ttl(ttlMs));
      const out: PendingMatch[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) out.push({ requester: reply[i]!, ticket: reply[i + 1]! });
      return out.sort((a, b) => (a.requester < b.requester ? -1 : 1));
    },

    async lookup(uid, hashes, now, ttlMs) {
      if (hashes.length === 0) return { ids: [], tickets: [] };
      const fresh = hashes.map(() => randomBytes(16).toString('base64url'));
      const reply = await cmd.pbSocialLookup(
        prefix,
        uid,
        String(now),
        ttl(ttlMs),
        String(hashes.length),
        ...hashes,
        ...fresh,
      );
      const ids: (string | null)[] = [];
      const tickets: (string | null)[] = [];
      for (let i = 0; i < hashes.length; i++) {
        ids.push(reply[2 * i] || null);
        tickets.push(reply[2 * i + 1] || null);
      }
      return { ids, tickets };
    },

    spendLookups(uid, count, max, now, windowMs) {
      return spend(uid, 'lk', count, max, now, windowMs);
    },

    takePresenceSlot(uid, now, intervalMs) {
      return spend(uid, 'pu', 1, 1, now, intervalMs);
    },

    async lastPresence(uid, now) {
      return parsePresence(await cmd.get(userKey(uid, 'pr')), now);
    },

    presenceOf(uids, now) {
      return Promise.all(uids.map(async (uid) => parsePresence(await cmd.get(userKey(uid, 'pr')), now)));
    },

    async setPresence(uid, cell, now, windowMs, anchor) {
      const kept = cell === null && anchor ? `:${anchor.cell}:${anchor.at}` : '';
      await cmd.set(
        userKey(uid, 'pr'),
        `${String(now)}:${now + windowMs}:${cell ?? ''}${kept}`,
        'PX',
        ttl(windowMs),
      );
    },

    async sweepPending(now, limit) {
      const [removed, more] = await cmd.pbSocialSweepPending(prefix, String(now), String(limit));
      return { removed, more: more === 1 };
    },

    async postTokens(uid, at, near, now, windowMs) {
      const args = [prefix, uid, String(now), ttl(windowMs), String(at.length), ...at, ...near];
      return (await cmd.pbSocialTokens(...args)).sort();
    },

    async markInRange(a, b, now, until) {
      await cmd.set(nearKey(a, b), String(until), 'PX', ttl(until - now));
    },

    async inRange(a, b, now) {
      return Number((await cmd.get(nearKey(a, b))) ?? 0) > now;
    },
  };
}

/** Decodes "<at>:<end>:<cell>[:<anchor cell>:<anchor at>]"; null once the window has ended. */
function parsePresence(value: string | null, now: number): Presence | null {
  if (value === null) return null;
  const [at, end, cell, anchorCell, anchorAt] = value.split(':');
  if (!(Number(end) > now)) return null;
  const presence: Presence = { cell: cell || null, at: Number(at) };
  if (anchorCell) presence.anchor = { cell: anchorCell, at: Number(anchorAt) };
  return presence;
}
