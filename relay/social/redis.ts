import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { FriendInfo, FriendState } from '../../protocol/index.js';
import { leasedNodes, leases, type RedisClient, ShardWatch } from '../redis/index.js';
import type { Consent, PendingMatch, SocialStore } from './contract.js';
import { socialKeys } from './keys.js';
import { type LinkOp, redisLinks } from './links.js';
import { redisAccount } from './redis-account.js';
import { runScript, SCRIPTS } from './redis-calls.js';
import { parsePresence, redisProximity } from './redis-proximity.js';

/*
 * Redis layout (prefix `pb:` by default; relay/social/keys.ts builds every key). Each key has a
 * hash tag, and every script call (lua/*.lua, keys declared as KEYS) touches one slot, so the
 * same layout runs on one Redis or a Redis Cluster. "<end>" is a relay time in ms that reads
 * compare with the caller's `now`, while the key's TTL makes Redis drop it.
 *
 *   key                  tag         type    contents
 *   pb:{uid}:fr          {uid}       hash    other -> 'o' (uid asked) | 'i' (other asked) |
 *                                            'd' (other asked, uid declined: hidden from uid) |
 *                                            'f<p><a>' (friends; uid's own proximity / auto-accept
 *                                            switches, '0' or '1'). An emptied hash is gone.
 *   pb:linkq:{<slot>}    slot tag    zset    link outbox: '<actor>:<other>' scored by the time of
 *                                            the actor's step 1, while the other side has not
 *                                            followed yet (links.ts); one shard per slot, holding
 *                                            the actors of that slot
 *   pb:{uid}:disc        {uid}       string  uid's current discovery hash (to replace or stop it)
 *                                                                                     TTL ttlMs
 *   pb:disc:{<hash>}     {hash}      string  "<end>:<uid>"                            TTL ttlMs
 *   pb:pend:{<hash>}     {hash}      hash    requester -> "<expiry>:<ticket>"; expired entries are
 *                                            dropped when read and by the sweep; TTL = the latest
 *   pb:pendx:{<slot>}    slot tag    zset    "<hash>:<requester>" scored by that entry's expiry,
 *                                            for the pend keys of that slot: what sweepPending
 *                                            deletes, so an entry lives no longer than its own
 *                                            expiry plus a sweep interval. TTL = the latest entry
 *   pb:{uid}:lk          {uid}       string  "<window start>:<look-ups used>:<window end>"
 *                                                                                     TTL window
 *   pb:{uid}:pu          {uid}       string  "<last presence update>:1:<next allowed>"
 *                                                                               TTL the interval
 *   pb:{uid}:pr          {uid}       string  "<at>:<end>:<cell>:<anchor cell>:<anchor at>:<lat>:
 *                                            <lng>": cell empty in blind mode, which keeps the last
 *                                            cell as its anchor; lat, lng the centre of the last
 *                                            real cell, for the jump check (proximity.lua)
 *                                                                                    TTL window
 *   pb:{uid}:tok         {uid}       set     'a'|'n' + token: what uid posted, to withdraw it
 *                                                                                    TTL window
 *   pb:tok:{<token>}     {token}     hash    'a'|'n' + uid -> <end>                   TTL window
 *   pb:near:{<a>:<b>}    {a:b}       string  "<until>:<since>:<notified 0|1>" with a < b: the
 *                                            encounter, its start and whether its notices are
 *                                            filed                          expires at until
 *
 * <slot> is slotTag(slot) (relay/redis), a short tag that hashes to the slot the shard serves:
 * the outbox shard of an actor is in the actor's slot, the pendx shard of a hash in the slot of
 * its pend key, so the script that files an entry updates its shard in the same call.
 *
 * Hashes are the relay's HMACs of phone numbers, never the numbers. Presence and tokens carry a
 * PX TTL of the window and in-range marks expire at their end, so no key holds them after it
 * (P3). A user who looks up their own hash gets their own ID back; setDiscoverable never returns
 * a user's own pending match. Every key TTL is relative (PX), so it holds whatever the relay's
 * clock says against Redis's.
 *
 * Steps that cross slots, what makes each safe to repeat, and what finishes it after a crash:
 *   request/accept/remove  friend.lua (actor) -> link.lua (other) -> link-done.lua (actor); step 2
 *                          is a compare-and-set, the outbox entry is re-driven by the sweeper
 *                          (redrive) once 30 s old. links.ts explains concurrent actions.
 *   setDiscoverable        GET own; undiscover.lua (old hash: deletes the entry only if still
 *                          uid's); SET or DEL own; discover.lua (new hash). Each step is
 *                          idempotent and the client renews its discoverability, which runs them
 *                          all again; an entry a crash leaves behind lapses with its TTL (30 days).
 *   lookup                 lookup.lua per hash, independent of each other.
 *   postTokens             tokens-swap.lua (own list: new in, old out), HDEL of each old token's
 *                          entry, token-post.lua per new token. After a crash between them, an
 *                          old token not withdrawn lapses with its TTL: the window (P3 holds).
 *   proximityFriends       on a Cluster HGETALL own, then HGET in each candidate's slot: reads
 *                          only (one server: a turn's in two scripts, redis-proximity.ts).
 *   updatePresence         on a Cluster presence-own.lua (own slot and presence), GET of each
 *                          friend's presence, near-mark.lua per pair met; one server: a turn's
 *                          in one presence-batch.lua. redis-proximity.ts says why either is safe.
 *   a proximity match      the pair's mark (names the encounter, keeps a live one's start) -> the
 *                          nearby notice in each friend's mailbox (idempotent under the
 *                          encounter's start) -> near-notified.lua. A crash before the last step
 *                          leaves the encounter unnotified: the next presence update of either
 *                          friend in the window files both notices again (proximity.ts met()).
 *   forget (erase)         redis-account.ts: others' link fields naming uid (forget-peer.lua,
 *                          with their outbox entry toward uid) before uid's own list and outbox
 *                          entries; undiscover.lua before uid's disc key; forget-pending.lua per
 *                          match (field and index member at once); tokens' fields before uid's
 *                          tok list. Whatever a crash stops, a run again finds what is left from
 *                          what still points at it; each step is idempotent.
 *
 * Where an export and an erase find a user's data under other tags (redis-account.ts): pending
 * matches through the pendx shards (ZSCAN MATCH '*:<uid>'), link-outbox entries through the
 * linkq shards ('<uid>:*' in uid's, '*:<uid>' in every shard), in-range marks by SCAN MATCH
 * 'pb:near:{*<uid>*}' on every primary of the store that holds them, blind-mode token fields
 * through uid's tok list, the discovery entry through uid's disc key, others' link fields
 * through uid's fr hash and the outbox entries.
 *
 * Commands per operation (single-slot calls sent together through auto-pipelining where they do
 * not depend on each other):
 *   request/accept/remove          friend.lua: HGET, ZSCORE, HSET|HDEL, ZADD; link.lua: HGET,
 *                                  HSET|HDEL; link-done.lua: ZSCORE, ZREM (3 calls)
 *   decline, setConsent            friend.lua: HGET, HSET (1 call)
 *   consent (read), friends        HGET, HGETALL (no script)
 *   proximityFriends               HGETALL + one HGET per friend with proximity on; one server:
 *                                  a turn's in friends-proximity.lua (HGETALL per user) and
 *                                  friends-mutual.lua (HGET per candidate)
 *   updatePresence                 presence-own.lua (GET, SET pu; GET, SET pr), GET per friend,
 *                                  near-mark.lua per friend in range; one server: the same
 *                                  commands, a turn's in one presence-batch.lua
 *   setDiscoverable                GET; undiscover.lua (GET, DEL) on a change; SET or DEL;
 *                                  discover.lua: SET, HGETALL (+ DEL, ZREM per pending match)
 *   lookup                         per hash, one lookup.lua: GET; on a miss HGETALL, HSET, ZADD,
 *                                  PTTL x2, PEXPIRE x2 (+ HDEL, ZREM per expired entry met)
 *   sweepPending                   per primary: one ZRANGEBYSCORE ... LIMIT 0 1 per slot it
 *                                  serves (dueSlots); per due slot ZRANGEBYSCORE and one
 *                                  sweep-pending.lua: per due entry ZSCORE, HGET, HDEL, ZREM
 *   redrive                        the same probe of the outbox shards; per entry link-claim.lua
 *                                  (ZSCORE, ZADD, HGET), link.lua, link-done.lua
 *   spendLookups, takePresenceSlot spend.lua: GET, SET
 *   setPresence, lastPresence, inRange   one SET / GET
 *   markInRange, markNotified      near-mark.lua: GET, SET; near-notified.lua: GET, SET (one
 *                                  server: a turn's markNotified in one near-notified.lua)
 *   postTokens                     tokens-swap.lua (SMEMBERS, DEL, SADD per 1000, PEXPIRE), HDEL
 *                                  per old token, one token-post.lua per new token (HGETALL,
 *                                  HSET, PEXPIRE): a full update (256 sets, 2,048 tokens) is
 *                                  2,049 script calls and about 6,150 commands, plus an HDEL per
 *                                  token it replaces (redis.test.ts counts them).
 *   summary (durable half)         HGETALL own fr + HGET per friend; GET own disc + GET the
 *                                  entry; GET lk (+ PTTL for a value without its end); ZSCAN of
 *                                  each pendx shard (one on a server, 16,384 on a Cluster)
 *   summary (ephemeral half)       GET pr, GET pu
 *   forget (durable half)          HGETALL own fr; ZSCAN of own linkq shard and of each linkq
 *                                  shard; forget-peer.lua (HDEL, ZREM) per other side; ZREM, DEL;
 *                                  GET disc, undiscover.lua; the pendx ZSCANs, forget-pending.lua
 *                                  (HDEL, ZREM) per match; DEL disc and lk
 *   forget (ephemeral half)        SMEMBERS tok, HDEL per token; DEL tok, pr, pu; SCAN of each
 *                                  primary for near marks, DEL per mark naming uid
 */

const STATES: ReadonlyMap<string, FriendState> = new Map([
  ['o', 'outgoing'],
  ['i', 'incoming'],
  ['f', 'friend'],
]);

/** A TTL Redis accepts (PX wants a positive integer). */
const ttl = (ms: number) => Math.max(1, Math.ceil(ms));

export interface RedisSocialOptions {
  keyPrefix?: string;
  /** The relay's clock (ms): the time step 1 of a friend operation files in the outbox. */
  now?: () => number;
  /** How long a relay's hold on sweeping one Redis node lasts unless renewed (10 s). */
  sweepLeaseMs?: number;
  /** How often a sweep reads again an index shard it believes holds nothing due (30 s). */
  shardRefreshMs?: number;
}

export function createRedisSocialStore(redis: RedisClient, options: RedisSocialOptions = {}): SocialStore {
  const prefix = options.keyPrefix ?? 'pb:';
  const keys = socialKeys(prefix, redis instanceof Cluster);
  const account = redisAccount(redis, keys, prefix, redis instanceof Cluster);
  // One relay at a time sweeps a node's pending matches and finishes its friend-link changes.
  const lease = leases(redis);
  const sweepLeaseMs = options.sweepLeaseMs ?? 10_000;
  const nodes = () => leasedNodes(redis, lease, prefix, 'social', sweepLeaseMs);
  const refreshMs = options.shardRefreshMs ?? 30_000;
  const links = redisLinks(redis, keys, options.now ?? Date.now, nodes, new ShardWatch(refreshMs));
  const pendings = new ShardWatch(refreshMs);
  const prox = redisProximity(redis, keys);
  const run = (name: keyof typeof SCRIPTS, k: readonly string[], argv: readonly (string | number)[]) =>
    runScript(redis, SCRIPTS[name], k, argv);

  async function spend(
    uid: string,
    kind: 'lk' | 'pu',
    count: number,
    max: number,
    now: number,
    windowMs: number,
  ) {
    return (await run('spend', [keys.user(uid, kind)], [count, max, now, ttl(windowMs)])) === 1;
  }

  const friendOp = async (op: LinkOp, uid: string, other: string, flags?: string) =>
    (await links.run(op, uid, other, flags)) === '1';

  return {
    async requestFriend(from, to) {
      return (await links.run('request', from, to)) as 'requested' | 'friends' | 'already';
    },

    acceptFriend: (uid, other) => friendOp('accept', uid, other),
    declineFriend: (uid, other) => friendOp('decline', uid, other),
    removeFriend: (uid, other) => friendOp('remove', uid, other),

    setConsent(uid, other, consent) {
      const flags = (consent.proximity ? '1' : '0') + (consent.autoAccept ? '1' : '0');
      return friendOp('consent', uid, other, flags);
    },

    async consent(uid, other): Promise<Consent | null> {
      const value = await redis.hget(keys.user(uid, 'fr'), other);
      if (!value?.startsWith('f')) return null;
      return { proximity: value[1] === '1', autoAccept: value[2] === '1' };
    },

    async friends(uid) {
      const all = await redis.hgetall(keys.user(uid, 'fr'));
      const out: FriendInfo[] = [];
      for (const [id, value] of Object.entries(all)) {
        const state = STATES.get(value[0] ?? '');
        if (!state) continue;
        const on = state === 'friend';
        out.push({ id, state, proximity: on && value[1] === '1', autoAccept: on && value[2] === '1' });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    proximityFriends: prox.proximityFriends,

    async setDiscoverable(uid, hash, now, ttlMs) {
      const own = keys.user(uid, 'disc');
      const old = await redis.get(own);
      if (old !== null && old !== hash) await run('undiscover', [keys.disc(old)], [uid]);
      if (hash === null) {
        if (old !== null) await redis.del(own);
        return [];
      }
      await redis.set(own, hash, 'PX', ttl(ttlMs));
      const reply = (await run(
        'discover',
        [keys.disc(hash), keys.pend(hash), keys.pendIndex(hash)],
        [uid, hash, now, ttl(ttlMs)],
      )) as string[];
      const out: PendingMatch[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) out.push({ requester: reply[i]!, ticket: reply[i + 1]! });
      return out.sort((a, b) => (a.requester < b.requester ? -1 : 1));
    },

    async lookup(uid, hashes, now, ttlMs) {
      const replies = (await Promise.all(
        hashes.map((hash) =>
          run(
            'lookup',
            [keys.disc(hash), keys.pend(hash), keys.pendIndex(hash)],
            [uid, hash, now, ttl(ttlMs), randomBytes(16).toString('base64url')],
          ),
        ),
      )) as [string, string][];
      return {
        ids: replies.map(([id]) => id || null),
        tickets: replies.map(([, ticket]) => ticket || null),
      };
    },

    spendLookups(uid, count, max, now, windowMs) {
      return spend(uid, 'lk', count, max, now, windowMs);
    },

    takePresenceSlot(uid, now, intervalMs) {
      return spend(uid, 'pu', 1, 1, now, intervalMs);
    },

    async lastPresence(uid, now) {
      return parsePresence(await redis.get(keys.user(uid, 'pr')), now);
    },

    presenceOf(uids, now) {
      return Promise.all(uids.map(async (uid) => parsePresence(await redis.get(keys.user(uid, 'pr')), now)));
    },

    setPresence: prox.setPresence,
    updatePresence: prox.updatePresence,

    async sweepPending(now, limit) {
      let removed = 0;
      let seen = 0;
      for (const slots of await nodes()) {
        for (const slot of await pendings.due(redis, slots, keys.pendIndexOfSlot, now)) {
          pendings.visited(slot);
          const shard = keys.pendIndexOfSlot(slot);
          const members = await redis.zrangebyscore(shard, '-inf', String(now), 'LIMIT', 0, limit - seen);
          if (members.length === 0) continue;
          const pends = members.map((m) => keys.pend(m.slice(0, m.indexOf(':'))));
          removed += (await run('sweep-pending', [shard, ...pends], [now, ...members])) as number;
          seen += members.length;
          if (seen >= limit) return { removed, more: true };
        }
      }
      return { removed, more: false };
    },

    redrive(now, limit) {
      return links.redrive(now, limit);
    },

    async postTokens(uid, at, near, now, windowMs) {
      const window = ttl(windowMs);
      const posts = [...at.map((t) => ['a', t] as const), ...near.map((t) => ['n', t] as const)];
      const old = (await run(
        'tokens-swap',
        [keys.user(uid, 'tok')],
        [window, ...posts.map(([kind, t]) => kind + t)],
      )) as string[];
      await Promise.all(old.map((e) => redis.hdel(keys.token(e.slice(1)), e[0] + uid)));
      const matched = await Promise.all(
        posts.map(
          ([kind, t]) => run('token-post', [keys.token(t)], [kind, uid, now, window]) as Promise<string[]>,
        ),
      );
      return [...new Set(matched.flat())].sort();
    },

    markInRange: prox.markInRange,
    markNotified: prox.markNotified,

    async inRange(a, b, now) {
      const mark = await redis.get(keys.near(a, b));
      return mark !== null && Number(mark.slice(0, mark.indexOf(':'))) > now;
    },

    summary: account.summary,
    forget: account.forget,
  };
}
