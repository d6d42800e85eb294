import { Cluster } from 'ioredis';
import { type RedisClient, SLOTS } from '../redis/index.js';
import type { SocialLink, SocialStore, SocialSummary } from './contract.js';
import { linkMember, type SocialKeys } from './keys.js';
import { runScript, SCRIPTS } from './redis-calls.js';
import { emptySummary, partsOf } from './summary.js';

/*
 * The Redis social store's part in an account export (summary) and an erase (forget); redis.ts
 * documents the layout. Most of a user's data sits under their own {uid} tag and is read or
 * deleted directly. Three kinds are filed under someone else's tag and found another way:
 *
 *   pending matches uid made   pb:pend:{<hash>} fields: found through the pendx shards, whose
 *                              members '<hash>:<uid>' name them (ZSCAN MATCH '*:<uid>' per shard)
 *   link-outbox entries        '<uid>:<other>' in uid's own linkq shard, '<other>:<uid>' in the
 *                              shard of other's slot (ZSCAN MATCH per shard)
 *   in-range marks             pb:near:{<a>:<b>} keys: SCAN MATCH on every primary of the store
 *                              that holds them (the ephemeral one, holding a window's worth)
 *
 * On a Cluster an index has a shard per slot: the ZSCANs go to all 16,384 shard keys, a batch
 * at a time (auto-pipelined; an absent key answers at once), a cost that depends on the slot
 * count, not on how much the store holds, unlike a SCAN of the durable keyspace. An erase runs
 * once per account and an export on a user's request, so neither needs an index of its own that
 * every look-up would have to keep.
 *
 * forget deletes in an order that a crash at any point leaves something the next run finds:
 * what points at other keys (uid's own link list, its discovery key, the index members) goes
 * after what it points at, or with it in one script (lua/forget-peer.lua, forget-pending.lua).
 */

const LINK_STATES: ReadonlyMap<string, SocialLink['state']> = new Map([
  ['o', 'outgoing'],
  ['i', 'incoming'],
  ['d', 'declined'],
  ['f', 'friend'],
]);

/** Index shards read at once, and the COUNT hint of each ZSCAN or SCAN call. */
const SHARD_BATCH = 1_024;
const SCAN_COUNT = 1_000;

/** `s` with Redis's glob characters escaped, to match literally in a MATCH pattern. */
const literal = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

/** The two IDs of an outbox member '<actor>:<other>' or index member '<hash>:<requester>'. */
function halves(member: string): [string, string] {
  const colon = member.indexOf(':');
  return [member.slice(0, colon), member.slice(colon + 1)];
}

export function redisAccount(
  redis: RedisClient,
  keys: SocialKeys,
  prefix: string,
  sharded: boolean,
): Pick<SocialStore, 'summary' | 'forget'> {
  const run = (name: keyof typeof SCRIPTS, k: readonly string[], argv: readonly (string | number)[]) =>
    runScript(redis, SCRIPTS[name], k, argv);
  const shardSlots = sharded ? Array.from({ length: SLOTS }, (_, slot) => slot) : [0];

  /** The members of zset `key` that match `pattern`, with their scores. */
  async function zscanAll(key: string, pattern: string, into: Map<string, number>): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await redis.zscan(key, cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      for (let i = 0; i + 1 < flat.length; i += 2) into.set(flat[i]!, Number(flat[i + 1]));
      cursor = next;
    } while (cursor !== '0');
  }

  /** The members matching `pattern` in every shard of an index (`shardOf`), with their scores. */
  async function scanShards(
    shardOf: (slot: number) => string,
    pattern: string,
  ): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (let i = 0; i < shardSlots.length; i += SHARD_BATCH) {
      await Promise.all(
        shardSlots.slice(i, i + SHARD_BATCH).map((slot) => zscanAll(shardOf(slot), pattern, found)),
      );
    }
    return found;
  }

  /** The keys matching `pattern` on every primary (a Cluster), or on the one server. */
  async function scanKeys(pattern: string): Promise<Set<string>> {
    const found = new Set<string>();
    const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, batch] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        for (const key of batch) found.add(key);
        cursor = next;
      } while (cursor !== '0');
    }
    return found;
  }

  /** The pending-match index members that name uid as the requester, with their expiries. */
  async function pendingOf(uid: string): Promise<Map<string, number>> {
    const found = await scanShards(keys.pendIndexOfSlot, `*:${literal(uid)}`);
    for (const member of found.keys()) if (halves(member)[1] !== uid) found.delete(member);
    return found;
  }

  /** A budget "<start>:<used>:<end>" (or, written before the end was kept, "<start>:<used>"). */
  async function windowOf(key: string, now: number): Promise<{ used: number; end: number } | null> {
    const value = await redis.get(key);
    if (value === null) return null;
    const [, used, kept] = value.split(':');
    const end = kept !== undefined ? Number(kept) : now + Math.max(0, await redis.pttl(key));
    return end > now ? { used: Number(used), end } : null;
  }

  async function linksOf(uid: string): Promise<SocialLink[]> {
    const all = await redis.hgetall(keys.user(uid, 'fr'));
    const ids = Object.keys(all).sort();
    const theirs = await Promise.all(
      ids.map((id) => (all[id]!.startsWith('f') ? redis.hget(keys.user(id, 'fr'), uid) : null)),
    );
    const out: SocialLink[] = [];
    ids.forEach((id, i) => {
      const mine = all[id]!;
      const state = LINK_STATES.get(mine[0] ?? '');
      if (!state) return;
      const friends = state === 'friend' && theirs[i]?.startsWith('f') === true;
      out.push({
        id,
        state,
        proximity: state === 'friend' && mine[1] === '1',
        autoAccept: state === 'friend' && mine[2] === '1',
        theirProximity: friends && theirs[i]![1] === '1',
        theirAutoAccept: friends && theirs[i]![2] === '1',
      });
    });
    return out;
  }

  async function discoverableOf(uid: string, now: number): Promise<SocialSummary['discoverable']> {
    const hash = await redis.get(keys.user(uid, 'disc'));
    const entry = hash === null ? null : await redis.get(keys.disc(hash));
    if (entry === null) return null;
    const [end, who] = halves(entry);
    return who === uid && Number(end) > now ? { until: Number(end) } : null;
  }

  async function durableSummary(uid: string, now: number, out: SocialSummary): Promise<void> {
    const [links, discoverable, pending, lookups] = await Promise.all([
      linksOf(uid),
      discoverableOf(uid, now),
      pendingOf(uid),
      windowOf(keys.user(uid, 'lk'), now),
    ]);
    out.links = links;
    out.discoverable = discoverable;
    for (const expiry of pending.values()) {
      if (expiry <= now) continue;
      out.pendingMatches.count++;
      out.pendingMatches.latestExpiry = Math.max(out.pendingMatches.latestExpiry ?? 0, expiry);
    }
    if (lookups) out.rates.lookups = { used: lookups.used, windowEndsAt: lookups.end };
  }

  async function ephemeralSummary(uid: string, now: number, out: SocialSummary): Promise<void> {
    const [presence, slot] = await Promise.all([
      redis.get(keys.user(uid, 'pr')),
      windowOf(keys.user(uid, 'pu'), now),
    ]);
    if (presence !== null) {
      const [, end, cell] = presence.split(':');
      if (Number(end) > now) out.presence = { until: Number(end), blind: !cell };
    }
    if (slot) out.rates.presence = { nextAt: slot.end };
  }

  /**
   * uid off every other user's link list and out of the link outbox, then uid's own list. The
   * other users are those uid's list names (a request uid declined or never answered, anything
   * removeFriend left) and those of the outbox entries naming uid (a change half done: one side
   * may still name uid while the other no longer names it).
   */
  async function forgetLinks(uid: string): Promise<void> {
    const own = keys.user(uid, 'fr');
    const outbox = keys.linkOutbox(uid);
    const mine = new Map<string, number>();
    const [list, toward] = await Promise.all([
      redis.hgetall(own),
      scanShards(keys.linkOutboxOfSlot, `*:${literal(uid)}`),
      zscanAll(outbox, `${literal(uid)}:*`, mine),
    ]);
    const peers = new Set(Object.keys(list));
    const filed: string[] = [];
    for (const member of mine.keys()) {
      const [actor, other] = halves(member);
      if (actor !== uid) continue;
      peers.add(other);
      filed.push(member);
    }
    for (const member of toward.keys()) {
      const [actor, other] = halves(member);
      if (other === uid) peers.add(actor);
    }
    await Promise.all(
      [...peers].map((other) =>
        run('forget-peer', [keys.user(other, 'fr'), keys.linkOutbox(other)], [uid, linkMember(other, uid)]),
      ),
    );
    if (filed.length > 0) await redis.zrem(outbox, ...filed);
    await redis.del(own);
  }

  async function forgetDurable(uid: string): Promise<void> {
    await forgetLinks(uid);
    const hash = await redis.get(keys.user(uid, 'disc'));
    if (hash !== null) await run('undiscover', [keys.disc(hash)], [uid]);
    const pending = await pendingOf(uid);
    await Promise.all(
      [...pending.keys()].map((member) => {
        const hash = halves(member)[0];
        return run('forget-pending', [keys.pend(hash), keys.pendIndex(hash)], [uid, member]);
      }),
    );
    // All of one slot ({uid}), so one DEL on a Cluster too.
    await redis.del(keys.user(uid, 'disc'), keys.user(uid, 'lk'));
  }

  async function forgetEphemeral(uid: string): Promise<void> {
    const tokens = keys.user(uid, 'tok');
    const posted = await redis.smembers(tokens);
    await Promise.all(posted.map((entry) => redis.hdel(keys.token(entry.slice(1)), entry[0] + uid)));
    await redis.del(tokens, keys.user(uid, 'pr'), keys.user(uid, 'pu'));
    const start = `${prefix}near:{`;
    const marks = await scanKeys(`${literal(start)}*${literal(uid)}*}`);
    const named = [...marks].filter((key) => key.slice(start.length, -1).split(':').includes(uid));
    await Promise.all(named.map((key) => redis.del(key)));
  }

  return {
    async summary(uid, now, part) {
      const wanted = partsOf(part);
      const out = emptySummary();
      await Promise.all([
        wanted.durable ? durableSummary(uid, now, out) : null,
        wanted.ephemeral ? ephemeralSummary(uid, now, out) : null,
      ]);
      return out;
    },

    async forget(uid, _now, part) {
      const wanted = partsOf(part);
      if (wanted.durable) await forgetDurable(uid);
      if (wanted.ephemeral) await forgetEphemeral(uid);
    },
  };
}
