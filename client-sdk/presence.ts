import { encodeFrame, LIMITS, type SocialClientFrame } from '../protocol/index.js';
import {
  hourIndicesFor,
  hourlyKey,
  paddedSetCount,
  padTokenSets,
  pairKey,
  type TokenSet,
  tokenSet,
} from './blind-tokens.js';
import { ClientError } from './errors.js';
import type { Identity } from './identity.js';
import type { KeyDirectory } from './keys.js';
import type { Clock } from './options.js';
import { cellForFix, type Fix, type FixRejection } from './proximity.js';
import type { Requests } from './requests.js';
import { sodium } from './sodium.js';
import type { Storage } from './storage.js';

/**
 * The session tag every blind-mode token is bound to. Both friends must use the same one without
 * talking, and protocol v2 has no frame in which a relay could announce one, so it is a constant
 * per protocol version: the hour key (rotated every hour, two hours posted across a boundary)
 * already limits how long tokens can be linked. A tag derived from the matching window instead
 * would need tokens for two windows as well as two hours, four times the sets, and a frame header
 * (8 KiB) holds only 37. PROXIMITY.md, "Blind mode in the SDK".
 */
export const BLIND_SESSION_TAG = 'passby/v2';
const LAST_KEY = 'presence/last';

export interface UpdateOptions {
  /** Post blind-mode tokens instead of the cell. Default: the client's `blindProximity` option. */
  blind?: boolean;
}

/** What became of a location update. Nothing leaves the device unless `sent` is true. */
export type UpdateResult =
  | {
      sent: true;
      mode: 'cell' | 'blind';
      /** Blind mode: friends with proximity on that tokens were posted for (padding not counted). */
      friends?: number;
    }
  | { sent: false; reason: FixRejection }
  | { sent: false; reason: 'too_soon'; retryAt: number }
  | { sent: false; reason: 'busy' };

export interface ProximityDeps {
  identity: Identity;
  keys: KeyDirectory;
  requests: Requests;
  storage: Storage;
  clock: Clock;
  /** Least time between two updates: the relay's `presenceIntervalMs` (from welcome, or the option). */
  intervalMs(): number;
  /** The relay's matching window, which decides when tokens for the previous hour are posted too. */
  windowMs(): number;
  blind: boolean;
}

/**
 * Location updates (protocol v2). A raw fix becomes a coarse cell on the device (cellForFix: too
 * inaccurate, stale or future fixes are dropped) and only the cell, or in blind mode only tokens,
 * go to the relay (P1). At most one update per `intervalMs` leaves the device: an earlier one
 * resolves as skipped rather than meeting the relay's `presence_too_frequent`.
 */
export class Proximity {
  readonly #pairKeys = new Map<string, Uint8Array>();
  #last: number | undefined;
  #busy = false;

  constructor(private readonly d: ProximityDeps) {}

  /**
   * Shares where you are, coarsely, with friends who switched proximity on. Resolves with what was
   * sent or why nothing was; rejects with a PassbyError when the relay refuses (`implausible_move`,
   * `presence_too_frequent` after a clock jump ...) or a ClientError (`timeout`, `disconnected`,
   * `closed`, `too_large` for blind tokens of too many friends).
   */
  async update(fix: Fix, options: UpdateOptions = {}): Promise<UpdateResult> {
    const { clock } = this.d;
    const intervalMs = this.d.intervalMs();
    const at = cellForFix(fix, clock.now());
    if (!at.ok) return { sent: false, reason: at.reason };
    if (this.#busy) return { sent: false, reason: 'busy' };
    this.#busy = true;
    try {
      const last = await this.#lastUpdate();
      if (last !== undefined && clock.now() - last < intervalMs) {
        return { sent: false, reason: 'too_soon', retryAt: last + intervalMs };
      }
      const blind = options.blind ?? this.d.blind;
      let friends: number | undefined;
      if (blind) {
        const built = await this.#blindSets(at.cell);
        friends = built.friends;
        await this.d.requests.request(checkSize({ t: 'blind', sets: built.sets }));
      } else {
        await this.d.requests.request({ t: 'presence', cell: at.cell });
      }
      // Counted from the answer, which comes after the relay's own clock read: the next update then
      // reaches the relay at least `intervalMs` after this one did.
      await this.#setLast(clock.now());
      return blind ? { sent: true, mode: 'blind', friends: friends! } : { sent: true, mode: 'cell' };
    } finally {
      this.#busy = false;
    }
  }

  /** One token set per friend with proximity on and per hour, padded so their number shows little. */
  async #blindSets(cell: string): Promise<{ sets: TokenSet[]; friends: number }> {
    const { identity, requests, clock } = this.d;
    const windowMs = this.d.windowMs();
    const { friends } = await requests.request({ t: 'friends' });
    const opted = friends.filter((f) => f.state === 'friend' && f.proximity).map((f) => f.id);
    const hours = hourIndicesFor(clock.now(), windowMs);
    const sets: TokenSet[] = [];
    for (const friend of opted) {
      const pair = await this.#pairKey(friend);
      for (const hour of hours)
        sets.push(tokenSet(hourlyKey(pair, hour), identity.id, friend, cell, BLIND_SESSION_TAG));
    }
    // Padded as if two hours were posted for everyone, so an hour boundary does not change the count.
    return { sets: padTokenSets(sets, paddedSetCount(opted.length * 2)), friends: opted.length };
  }

  async #pairKey(friend: string): Promise<Uint8Array> {
    const cached = this.#pairKeys.get(friend);
    if (cached) return cached;
    const boxKey = await this.d.keys.get(friend);
    const secret = this.d.identity.agree(boxKey);
    const key = pairKey(secret, this.d.identity.id, friend);
    sodium.memzero(secret);
    this.#pairKeys.set(friend, key);
    return key;
  }

  async #lastUpdate(): Promise<number | undefined> {
    if (this.#last === undefined) {
      const saved = Number(await this.d.storage.get(LAST_KEY));
      if (Number.isFinite(saved)) this.#last = saved;
    }
    return this.#last;
  }

  async #setLast(time: number): Promise<void> {
    this.#last = time;
    await this.d.storage.set(LAST_KEY, String(time));
  }
}

function checkSize<F extends Extract<SocialClientFrame, { t: 'blind' }>>(
  frame: Omit<F, 'rid'>,
): Omit<F, 'rid'> {
  const bytes = encodeFrame({ ...frame, rid: 2 ** 31 } as SocialClientFrame).length - 2;
  if (bytes > LIMITS.maxHeaderBytes) {
    const why = `${frame.sets.length} token sets take ${bytes} bytes; a frame header holds ${LIMITS.maxHeaderBytes}`;
    throw new ClientError('too_large', why);
  }
  return frame;
}
