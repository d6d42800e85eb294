import { Cluster } from 'ioredis';
import { Args, Batcher, evalScript, type RedisClient } from '../redis/index.js';
import type { Met, Presence, PresenceOutcome, PresenceUpdate, SocialStore } from './contract.js';
import { isValidCell, placeOf } from './geo.js';
import type { SocialKeys } from './keys.js';
import { runScript, SCRIPTS } from './redis-calls.js';

/*
 * Proximity in the Redis social store: who of a user's friends takes part (proximityFriends, the
 * durable store's), and a presence update with its matches (updatePresence, markInRange,
 * markNotified, the presence store's). Two paths:
 *
 * - A standalone server takes a turn's calls together (Batcher): a turn's presence updates are
 *   one presence-batch.lua call (slot, jump check, presence, each friend's presence, the pairs'
 *   marks: every update in order, as if alone), a turn's proximityFriends two calls
 *   (friends-proximity.lua, then friends-mutual.lua for the candidates it found: their keys are
 *   known only then, and a script never builds a key), a turn's markNotified one near-notified.lua.
 *   So a presence update costs a few client commands per turn, not a dozen per update.
 * - On a Cluster a script cannot cross slots, and a turn's updates are in as many slots as users:
 *   each update goes in per-slot steps, presence-own.lua in the user's slot (slot, jump check,
 *   presence), a GET of each friend's presence, near-mark.lua in each met pair's slot; friends are
 *   read with one HGETALL and an HGET per candidate; each call is auto-pipelined with the turn's
 *   others. The steps only read other users' keys and write the user's own and the pair's mark,
 *   so an update that stops between them leaves nothing half done but marks not yet made (the
 *   next update makes them).
 *
 * Whichever path, the matches cross-check each other: of two friends updating at once, the second
 * reads the first's presence (one script on one server; on a Cluster, each update's own step is
 * written before it reads the friends', so at least one of the two sees the other).
 */

/** Presence steps of one script call at most: a call runs in Redis without a break. */
const MAX_TURN_BATCH = 128;

export type RedisProximity = Pick<
  SocialStore,
  'proximityFriends' | 'updatePresence' | 'setPresence' | 'markInRange' | 'markNotified'
>;

interface Notified {
  a: string;
  b: string;
  since: number;
}

/** A TTL Redis accepts (PX wants a positive integer). */
const ttl = (ms: number) => Math.max(1, Math.ceil(ms));

const STATUS: Readonly<Record<string, 'too_frequent' | 'implausible_move'>> = {
  f: 'too_frequent',
  j: 'implausible_move',
};

export function redisProximity(redis: RedisClient, keys: SocialKeys): RedisProximity {
  const cluster = redis instanceof Cluster;
  const run = (name: keyof typeof SCRIPTS, k: readonly string[], argv: readonly (string | number)[]) =>
    runScript(redis, SCRIPTS[name], k, argv);

  async function friendsOne(uid: string): Promise<string[]> {
    const all = await redis.hgetall(keys.user(uid, 'fr'));
    const candidates = Object.keys(all).filter((other) => all[other]!.startsWith('f1'));
    const theirs = await Promise.all(candidates.map((other) => redis.hget(keys.user(other, 'fr'), uid)));
    return candidates.filter((_, i) => theirs[i]?.startsWith('f1')).sort();
  }

  async function friendsTurn(uids: string[]): Promise<string[][]> {
    const first = new Args(64 * uids.length);
    for (const uid of uids) first.text(keys.user(uid, 'fr'));
    const candidates = (await evalScript(
      redis,
      SCRIPTS['friends-proximity'],
      first.endKeys(),
      null,
    )) as string[][];
    const second = new Args();
    const asking: string[] = [];
    let count = 0;
    candidates.forEach((list, i) => {
      for (const other of list) {
        second.text(keys.user(other, 'fr'));
        asking.push(uids[i]!);
        count++;
      }
    });
    if (count === 0) return uids.map(() => []);
    second.endKeys();
    for (const uid of asking) second.text(uid);
    const mutual = (await evalScript(redis, SCRIPTS['friends-mutual'], second, null)) as number[];
    let at = 0;
    return candidates.map((list) => list.filter(() => mutual[at++] === 1).sort());
  }

  async function markInRange(a: string, b: string, now: number, until: number, since = now) {
    const [s, u, n] = (await run('near-mark', [keys.near(a, b)], [now, since, until])) as string[];
    return { since: Number(s), until: Number(u), notified: n === '1' };
  }

  /** The per-slot path of one update (a Cluster). */
  async function updateOne(u: PresenceUpdate): Promise<PresenceOutcome> {
    const place = u.place;
    const status = (await run(
      'presence-own',
      [keys.user(u.uid, 'pu'), keys.user(u.uid, 'pr')],
      [...ownArgs(u), ...(place?.inRange ?? [])],
    )) as string;
    const refused = STATUS[status];
    if (refused) return { status: refused };
    if (place === null || u.friends.length === 0) return { status: 'ok', met: [] };
    const theirs = await Promise.all(u.friends.map((f) => redis.get(keys.user(f, 'pr'))));
    const met = await Promise.all(
      u.friends.map(async (friend, i): Promise<Met | null> => {
        const p = parsePresence(theirs[i] ?? null, u.now);
        if (!p?.cell || !place.inRange.includes(p.cell)) return null;
        const begins = Math.min(p.at, u.now);
        const e = await markInRange(u.uid, friend, u.now, begins + u.windowMs, begins);
        return e.notified ? null : { friend, since: e.since, until: e.until };
      }),
    );
    return { status: 'ok', met: met.filter((m) => m !== null) };
  }

  /** A turn's updates in one presence-batch.lua call (a standalone server). */
  async function updateTurn(batch: PresenceUpdate[]): Promise<PresenceOutcome[]> {
    const args = new Args(256 * batch.length);
    for (const u of batch) {
      args.text(keys.user(u.uid, 'pu')).text(keys.user(u.uid, 'pr'));
      if (u.place === null) continue;
      for (const friend of u.friends) args.text(keys.user(friend, 'pr')).text(keys.near(u.uid, friend));
    }
    args.endKeys().int(batch.length);
    for (const u of batch) {
      for (const a of ownArgs(u)) typeof a === 'number' ? args.int(a) : args.text(a);
      const inRange = u.place?.inRange ?? [];
      args.int(inRange.length);
      for (const cell of inRange) args.text(cell);
      args.int(u.place === null ? 0 : u.friends.length);
    }
    const reply = (await evalScript(redis, SCRIPTS['presence-batch'], args, null)) as (string | number)[];
    let at = 0;
    return batch.map((u): PresenceOutcome => {
      const status = String(reply[at++]);
      const count = Number(reply[at++]);
      const met: Met[] = [];
      for (let i = 0; i < count; i++, at += 3) {
        met.push({
          friend: u.friends[Number(reply[at]) - 1]!,
          since: Number(reply[at + 1]),
          until: Number(reply[at + 2]),
        });
      }
      const refused = STATUS[status];
      return refused ? { status: refused } : { status: 'ok', met };
    });
  }

  async function notifiedTurn(batch: Notified[]): Promise<undefined[]> {
    const args = new Args(64 * batch.length);
    for (const n of batch) args.text(keys.near(n.a, n.b));
    args.endKeys();
    for (const n of batch) args.int(n.since);
    await evalScript(redis, SCRIPTS['near-notified'], args, null);
    return batch.map(() => undefined);
  }

  const friendReads = new Batcher(friendsTurn, { max: MAX_TURN_BATCH });
  const updates = new Batcher(updateTurn, { max: MAX_TURN_BATCH });
  const notifieds = new Batcher(notifiedTurn, { max: MAX_TURN_BATCH });

  return {
    proximityFriends: (uid) => (cluster ? friendsOne(uid) : friendReads.push(uid)),
    updatePresence: (u) => (cluster ? updateOne(u) : updates.push(u)),

    async setPresence(uid, cell, now, windowMs, anchor) {
      const last = cell ?? anchor?.cell ?? null;
      const kept = cell === null && anchor ? `${anchor.cell}:${anchor.at}` : ':';
      const centre = last !== null && isValidCell(last) ? placeOf(last) : null;
      const value = `${now}:${now + windowMs}:${cell ?? ''}:${kept}${centre ? `:${centre.lat}:${centre.lng}` : ''}`;
      await redis.set(keys.user(uid, 'pr'), value, 'PX', ttl(windowMs));
    },

    markInRange,
    async markNotified(a, b, since) {
      if (cluster) await run('near-notified', [keys.near(a, b)], [since]);
      else await notifieds.push({ a, b, since });
    },
  };
}

/** An update's own arguments: now, interval, window, km/h, cell, lat, lng (presence-own.lua). */
function ownArgs(u: PresenceUpdate): (string | number)[] {
  const p = u.place;
  return [
    u.now,
    u.intervalMs,
    ttl(u.windowMs),
    String(u.maxKmh),
    p?.cell ?? '',
    p ? String(p.lat) : '',
    p ? String(p.lng) : '',
  ];
}

/**
 * Decodes "<at>:<end>:<cell>:<anchor cell>:<anchor at>[:<lat>:<lng>]" (proximity.lua; an older
 * relay's value ends earlier); null once the window has ended.
 */
export function parsePresence(value: string | null, now: number): Presence | null {
  if (value === null) return null;
  const [at, end, cell, anchorCell, anchorAt] = value.split(':');
  if (!(Number(end) > now)) return null;
  const presence: Presence = { cell: cell || null, at: Number(at) };
  if (!cell && anchorCell) presence.anchor = { cell: anchorCell, at: Number(anchorAt) };
  return presence;
}
