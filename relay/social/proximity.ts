import type { BlindFrame, PresenceFrame } from '../../protocol/index.js';
import type { Met, PresenceUpdate } from './contract.js';
import { isValidCell, placeOf } from './geo.js';
import type { Requester, SocialDeps } from './handlers.js';
import { fileNotice } from './notices.js';

/*
 * Presence updates, baseline and blind, and the nearby notices they cause (SocialHandlers hands
 * them here). The relay answers an update only with `ok` or an error: who is in range arrives as a
 * `nearby` notice naming the friend and a time window, never a cell, a token or a distance (P2).
 *
 * A baseline update is one store step (SocialStore.updatePresence: slot, jump check, presence,
 * each friend's presence, the pairs' marks), which the Redis store takes a turn's at a time; the
 * friends it matches come first (proximityFriends, also a turn's at a time). What the relay does
 * in its own process is the cell's geometry (its centre and the cells in range, with h3-js), so
 * that the store decides by comparisons. Nothing here logs a cell or a token (P6).
 */

const REFUSED = {
  too_frequent: 'presence_too_frequent',
  implausible_move: 'implausible_move',
} as const;

export class Proximity {
  constructor(private readonly d: SocialDeps) {}

  /** A presence update of uid's at `now`, under the relay's window, interval and speed limit. */
  private update(
    uid: string,
    now: number,
    place: PresenceUpdate['place'],
    friends: string[],
  ): PresenceUpdate {
    const { config } = this.d;
    return {
      uid,
      now,
      windowMs: config.proximityWindowMs,
      intervalMs: config.presenceIntervalMs,
      maxKmh: config.maxSpeedKmh,
      place,
      friends,
    };
  }

  async presence(r: Requester, frame: PresenceFrame): Promise<void> {
    const { social, now } = this.d;
    const rid = String(frame.rid);
    if (!isValidCell(frame.cell))
      return r.reject('invalid_field', 'cell must be an H3 resolution-10 index', rid);
    const at = now();
    const place = placeOf(frame.cell);
    const friends = await social.proximityFriends(r.uid);
    const outcome = await social.updatePresence(this.update(r.uid, at, place, friends));
    if (outcome.status !== 'ok') return this.refuse(r, outcome.status, rid);
    await this.notifyMet(r.uid, outcome.met);
    r.log.debug({ friendsInRange: outcome.met.length }, 'presence updated');
    r.reply({ t: 'ok', rid: frame.rid });
  }

  async blind(r: Requester, frame: BlindFrame): Promise<void> {
    const { social, config, now } = this.d;
    const rid = String(frame.rid);
    const at = now();
    // The slot and the presence (keeping the last real cell as the anchor) in one step.
    const outcome = await social.updatePresence(this.update(r.uid, at, null, []));
    if (outcome.status !== 'ok') return this.refuse(r, outcome.status, rid);
    const matched = await social.postTokens(
      r.uid,
      frame.sets.map((s) => s.at),
      frame.sets.flatMap((s) => s.near),
      at,
      config.proximityWindowMs,
    );
    // Tokens only say that two devices share a pair key; consent (C1) is still the relay's check.
    const allowed = new Set(await social.proximityFriends(r.uid));
    const friends = matched.filter((uid) => allowed.has(uid));
    const theirs = await social.presenceOf(friends, at);
    const marked = await Promise.all(
      friends.map(async (friend, i): Promise<Met | null> => {
        const since = Math.min(theirs[i]?.at ?? at, at);
        const e = await social.markInRange(r.uid, friend, at, since + config.proximityWindowMs, since);
        return e.notified ? null : { friend, since: e.since, until: e.until };
      }),
    );
    const met = marked.filter((m) => m !== null);
    await this.notifyMet(r.uid, met);
    r.log.debug({ friendsInRange: friends.length }, 'blind presence updated');
    r.reply({ t: 'ok', rid: frame.rid });
  }

  /**
   * Anti-probing: one presence update (baseline or blind) per interval and user, taken by the
   * store atomically, so updates sent without waiting for their answers, or from a second
   * connection on another node, cannot all pass. An update refused as an implausible move has
   * spent its slot: a probe costs an interval either way.
   */
  private refuse(r: Requester, status: keyof typeof REFUSED, rid: string): void {
    const interval = this.d.config.presenceIntervalMs;
    const message =
      status === 'too_frequent' ? `one presence update every ${Math.round(interval / 1000)} s` : undefined;
    r.reject(REFUSED[status], message, rid);
  }

  /** Tells uid and each friend met that they are in range, once per encounter. */
  private async notifyMet(uid: string, met: readonly Met[]): Promise<void> {
    // The match writes three users' keys (the pair's mark, each friend's mailbox) in steps that
    // survive a crash: the mark names the encounter (the store made it), each notice is
    // idempotent under its ID (the encounter's start), and only once both are filed is the
    // encounter marked notified. A relay that dies in between leaves it unnotified: the next
    // presence update of either friend in the window files both notices again, and the one
    // already there stays as it is.
    await Promise.all(
      met.map(async ({ friend, since, until }) => {
        const tag = `near-${since}`;
        await Promise.all([
          fileNotice(this.d, uid, tag, { kind: 'nearby', user: friend, since, until }, until, friend),
          fileNotice(this.d, friend, tag, { kind: 'nearby', user: uid, since, until }, until, uid),
        ]);
        await this.d.social.markNotified(uid, friend, since);
        // A nearby notice wakes both friends' devices that are away.
        this.d.wake?.(uid);
        this.d.wake?.(friend);
      }),
    );
  }
}
