import type { Encounter, Met, Presence, PresenceOutcome, PresenceUpdate } from './contract.js';
import { plausibleStep } from './geo.js';

/*
 * SocialStore.updatePresence for the in-process store (memory.ts): the same steps as the Redis
 * store's presence-batch.lua, run at once, so the update is atomic as every operation there.
 */

/** A live presence as the in-process store keeps it: with the centre of its last real cell. */
export interface HeldPresence {
  value: Presence;
  until: number;
  /** The centre of the cell (or anchor) when an update gave it; read from the cell otherwise. */
  centre?: { lat: number; lng: number };
}

/** What updatePresence needs of the store's state. */
export interface PresenceState {
  /** takePresenceSlot, at once. */
  takeSlot(uid: string, now: number, intervalMs: number): boolean;
  /** uid's presence if live at `now`. */
  live(uid: string, now: number): HeldPresence | undefined;
  set(uid: string, held: HeldPresence): void;
  /** markInRange, at once. */
  mark(a: string, b: string, now: number, until: number, since: number): Encounter;
}

export function updatePresenceIn(s: PresenceState, u: PresenceUpdate): PresenceOutcome {
  const { uid, now, windowMs, place } = u;
  if (u.intervalMs > 0 && !s.takeSlot(uid, now, u.intervalMs)) return { status: 'too_frequent' };
  const previous = s.live(uid, now);
  // The last real cell, also across blind updates (which carry it as their anchor).
  const p = previous?.value;
  const anchor = p?.cell ? { cell: p.cell, at: p.at } : p?.anchor;
  const last = anchor && anchor.at + windowMs > now ? { ...anchor, ...previous?.centre } : undefined;
  if (place === null) {
    const value: Presence = { cell: null, at: now };
    if (last) value.anchor = { cell: last.cell, at: last.at };
    s.set(uid, { value, until: now + windowMs, centre: last ? previous?.centre : undefined });
    return { status: 'ok', met: [] };
  }
  if (last && !plausibleStep(last, place, now, u.maxKmh)) return { status: 'implausible_move' };
  s.set(uid, {
    value: { cell: place.cell, at: now },
    until: now + windowMs,
    centre: { lat: place.lat, lng: place.lng },
  });
  const met: Met[] = [];
  for (const friend of u.friends) {
    const theirs = s.live(friend, now)?.value;
    if (!theirs?.cell || !place.inRange.includes(theirs.cell)) continue;
    const begins = Math.min(theirs.at, now);
    const e = s.mark(uid, friend, now, begins + windowMs, begins);
    if (!e.notified) met.push({ friend, since: e.since, until: e.until });
  }
  return { status: 'ok', met };
}

/** The key of a pair's mark, whatever the order of a and b. */
export const pairKey = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/** markInRange in `marks`: a live mark keeps its encounter and is extended; else a new one begins. */
export function markPair(
  marks: Map<string, Encounter>,
  a: string,
  b: string,
  now: number,
  until: number,
  since: number,
): Encounter {
  const key = pairKey(a, b);
  const live = marks.get(key);
  const encounter =
    live && live.until > now
      ? { ...live, until: Math.max(live.until, until) }
      : { since, until, notified: false };
  marks.set(key, encounter);
  return { ...encounter };
}
