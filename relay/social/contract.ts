import type { ExportedLink, FriendInfo } from '../../protocol/index.js';

/**
 * What the relay keeps about the social graph, discovery and presence (protocol v2), behind one
 * contract that the in-process and Redis stores both keep (test/relay/social/contract.ts).
 *
 * Privacy rules that shape it (DESIGN.md): phone numbers arrive here only as keyed hashes (the
 * relay HMACs them before calling); presence (a cell or blind tokens) lives only for the matching
 * window and then leaves no key; a discoverability entry and a pending contact match live at most
 * 30 days; friend links exist only by mutual consent and carry each side's own switches.
 */
export interface SocialStore {
  /**
   * `from` asks `to` to be friends. 'friends' when `to` had already asked `from` (mutual), also
   * when `from` declined that request earlier: `to`'s request still stands.
   */
  requestFriend(from: string, to: string): Promise<'requested' | 'friends' | 'already'>;
  /** Accepts `other`'s request; false when there is no incoming request from `other`. */
  acceptFriend(uid: string, other: string): Promise<boolean>;
  /**
   * Declines `other`'s incoming request; false when there is none. Only uid's side changes: the
   * request leaves uid's list, and stays outgoing in other's until other withdraws it (remove).
   */
  declineFriend(uid: string, other: string): Promise<boolean>;
  /** Ends a friendship (both sides) or withdraws an outgoing request; false when there was neither. */
  removeFriend(uid: string, other: string): Promise<boolean>;
  /** Sets uid's own switches for friend `other`; false when they are not friends. */
  setConsent(uid: string, other: string, consent: Consent): Promise<boolean>;
  /** uid's switches for `other`, or null when they are not friends. */
  consent(uid: string, other: string): Promise<Consent | null>;
  /** Every link of uid: friends and pending requests both ways (not the ones uid declined), with uid's own switches. */
  friends(uid: string): Promise<FriendInfo[]>;
  /** Friends where uid switched proximity on for them AND they switched it on for uid (C1). */
  proximityFriends(uid: string): Promise<string[]>;

  /**
   * Makes uid discoverable under `hash` until now + ttlMs (replacing an earlier hash), or stops it
   * (null). Returns the pending matches filed for this hash by earlier look-ups, which are removed.
   */
  setDiscoverable(uid: string, hash: string | null, now: number, ttlMs: number): Promise<PendingMatch[]>;
  /**
   * Resolves hashes to users who are discoverable under them. For each miss, files a pending match
   * (requester uid, a fresh random ticket, expiry now + ttlMs) and returns its ticket.
   */
  lookup(uid: string, hashes: readonly string[], now: number, ttlMs: number): Promise<LookupResult>;
  /**
   * Counts `count` look-ups against uid's budget of `max` per `windowMs`; false (and nothing
   * counted) when they would exceed it.
   */
  spendLookups(uid: string, count: number, max: number, now: number, windowMs: number): Promise<boolean>;
  /**
   * Deletes up to `limit` pending contact matches whose expiry has passed (the relay's sweeper
   * calls it every sweep interval), so none outlives its 30 days however often its hash is looked
   * up again. `more` when the limit was reached.
   */
  sweepPending(now: number, limit: number): Promise<{ removed: number; more: boolean }>;
  /**
   * Finishes up to `limit` friend-link changes that a crash left half done (the sweeper calls it
   * every sweep interval): where a store changes the two sides of a link in separate steps (Redis,
   * each user in their own slot), the other side of a change filed more than a short age before
   * `now` is brought in line. `more` when the limit was reached. A store that changes both sides
   * at once has nothing to finish.
   */
  redrive(now: number, limit: number): Promise<{ finished: number; more: boolean }>;
  /**
   * Takes uid's one presence update (baseline or blind) per `intervalMs`; false when the last one
   * taken is less than `intervalMs` old. Atomic: of concurrent updates, on one connection or on
   * several relay nodes, one wins. A refused update leaves the slot as it was.
   */
  takePresenceSlot(uid: string, now: number, intervalMs: number): Promise<boolean>;

  /**
   * A whole presence update (baseline or blind) as one step, what the relay's presence handler
   * runs: takes uid's presence slot (as takePresenceSlot; none when `intervalMs` is 0), checks a
   * baseline update's jump against uid's last real cell (isPlausibleMove's rule, relay/social/
   * geo.ts, with the cells' centres), records the presence (as setPresence; a blind update keeps
   * the last cell as its anchor), then for a baseline update reads each friend's presence and marks
   * the pair's encounter (as markInRange: since the earlier of the two updates, until a window
   * after it) for every friend whose live cell is in range. Returns the encounters whose notices
   * are not filed yet, in the order of `friends`. Too frequent: nothing changed; an implausible
   * move: the slot is spent, nothing else changed.
   *
   * Stores take the updates of one event-loop turn together: the in-process store runs each at
   * once, a standalone Redis runs a turn's in one script call, a Cluster each in per-slot steps
   * (relay/social/redis-proximity.ts). Updates of one turn run in the order they were made, each
   * as if alone, so two friends updating in the same turn meet once.
   */
  updatePresence(update: PresenceUpdate): Promise<PresenceOutcome>;

  /** uid's last presence update still inside the window, or null. */
  lastPresence(uid: string, now: number): Promise<Presence | null>;
  /** The presence of each user (null where none is live), in order. */
  presenceOf(uids: readonly string[], now: number): Promise<(Presence | null)[]>;
  /**
   * Records uid's presence until now + windowMs; `cell` is null for a blind-mode update, which
   * may carry the `anchor`: the last baseline cell and its time, kept (for the window, like the
   * rest) only so the jump check still applies after blind updates. Never used for matching.
   */
  setPresence(
    uid: string,
    cell: string | null,
    now: number,
    windowMs: number,
    anchor?: Anchor,
  ): Promise<void>;
  /**
   * Posts blind-mode tokens until now + windowMs and returns the users (other than uid) whose live
   * tokens match: their "near" tokens contain one of uid's "at" tokens, or their "at" token is
   * among uid's "near" tokens. Replaces uid's earlier tokens.
   */
  postTokens(
    uid: string,
    at: readonly string[],
    near: readonly string[],
    now: number,
    windowMs: number,
  ): Promise<string[]>;

  /**
   * Records, at relay time `now`, that a and b are in range until `until` (ms), for pre-approved
   * shares and the nearby notices. A live mark keeps its encounter (its `since` and whether its
   * notices were filed) and is extended; otherwise a new encounter begins at `since` (default
   * `now`). Returns the encounter.
   */
  markInRange(a: string, b: string, now: number, until: number, since?: number): Promise<Encounter>;
  /**
   * Records that both nearby notices of the encounter that began at `since` are filed: the second
   * step of a match, after which presence updates no longer file them.
   */
  markNotified(a: string, b: string, since: number): Promise<void>;
  /** Whether a and b were found in range and the mark has not expired. */
  inRange(a: string, b: string, now: number): Promise<boolean>;

  /**
   * What the store holds about uid, for an account export: every link of uid's (declined ones
   * too) with both sides' switches, whether uid is discoverable and until when (never the hash),
   * the live pending matches uid made, uid's presence (never the cell or tokens), and where uid's
   * look-up budget and presence interval stand. Other users appear only as link peers' IDs.
   * `part` limits it to what one half of splitSocialStore holds (SocialPart); the rest then reads
   * empty.
   */
  summary(uid: string, now: number, part?: SocialPart): Promise<SocialSummary>;
  /**
   * The social part of erasing uid, run after the caller removed each of uid's links through
   * removeFriend (so each friend is told): deletes what is left. Discovery (uid's own key, and the
   * hash's entry while it is still uid's), the pending matches uid made, the look-up budget, the
   * presence slot, presence, the tokens uid posted, in-range marks naming uid, link-outbox entries
   * naming uid on either side, any field naming uid left in others' link lists (a request uid
   * declined or never answered, the other side of a change a crash left half done), then uid's own
   * links. Idempotent, and safe to run again after a crash at any point. `part` as in summary.
   */
  forget(uid: string, now: number, part?: SocialPart): Promise<void>;
}

/**
 * The two halves splitSocialStore keeps apart: 'durable' (friend links and the link outbox,
 * discovery, pending matches, the look-up budget) and 'ephemeral' (presence, the presence slot,
 * blind-mode tokens, in-range marks). Without a part, a store summarises and forgets both.
 */
export type SocialPart = 'durable' | 'ephemeral';

/** One entry of uid's link list, as the account export shows it (protocol/account-export.ts). */
export type SocialLink = ExportedLink;

/** SocialStore.summary: everything the social store holds about one user, as an export shows it. */
export interface SocialSummary {
  /** Every entry of uid's link list, sorted by id. */
  links: SocialLink[];
  /** Live discoverability: its end (ms); null when uid is not discoverable. */
  discoverable: { until: number } | null;
  /** Pending contact matches uid made that are still live: how many, and the latest expiry. */
  pendingMatches: { count: number; latestExpiry: number | null };
  /** uid's live presence: its end and whether it was a blind-mode update; null when none. */
  presence: { until: number; blind: boolean } | null;
  rates: {
    /** The current look-up window: look-ups counted and when it ends; null when none is running. */
    lookups: { used: number; windowEndsAt: number } | null;
    /** When uid's next presence update is allowed; null when one is allowed now. */
    presence: { nextAt: number } | null;
  };
}

export interface Encounter {
  since: number;
  until: number;
  /** Both friends' nearby notices are filed. */
  notified: boolean;
}

export interface Consent {
  proximity: boolean;
  autoAccept: boolean;
}

export interface PendingMatch {
  requester: string;
  ticket: string;
}

export interface LookupResult {
  ids: (string | null)[];
  tickets: (string | null)[];
}

export interface Presence {
  /** H3 cell, or null for a blind-mode update. */
  cell: string | null;
  /** When it was posted (relay clock, ms). */
  at: number;
  /** Blind-mode updates only: the last baseline cell and when it was posted, if one was given. */
  anchor?: Anchor;
}

export interface Anchor {
  cell: string;
  at: number;
}

/** A cell a presence update posts, with what a store needs to check and match it (geo.ts placeOf). */
export interface Place {
  /** H3 resolution-10 cell. */
  cell: string;
  /** The cell's centre, degrees: kept with the presence for the next update's jump check. */
  lat: number;
  lng: number;
  /** gridDisk(cell, 1): the cells in range of it, the cell itself included. */
  inRange: readonly string[];
}

/** SocialStore.updatePresence's input. */
export interface PresenceUpdate {
  uid: string;
  /** Relay time (ms). */
  now: number;
  windowMs: number;
  /** One update per this many ms and user (PASSBY_PRESENCE_INTERVAL_MS); 0 takes no slot. */
  intervalMs: number;
  /** The jump check's limit (PASSBY_MAX_SPEED_KMH). */
  maxKmh: number;
  /** A baseline update's cell; null for a blind update (matched by its tokens, postTokens). */
  place: Place | null;
  /** uid's proximity friends (C1), matched against `place`; a blind update matches none here. */
  friends: readonly string[];
}

/** A friend met by a presence update, whose encounter's notices are not filed yet. */
export interface Met {
  friend: string;
  /** The encounter's start and end (ms), as markInRange returns them. */
  since: number;
  until: number;
}

export type PresenceOutcome =
  | { status: 'ok'; met: Met[] }
  | { status: 'too_frequent' }
  | { status: 'implausible_move' };
