import { createHmac } from 'node:crypto';
import type {
  DiscoverFrame,
  ErrorCode,
  FriendFrame,
  LookupFrame,
  Notice,
  RelayFrame,
  ShareFrame,
  SocialClientFrame,
} from '../../protocol/index.js';
import type { RelayConfig } from '../config/index.js';
import type { Identities, Mailbox } from '../mailbox/index.js';
import type { Logger } from '../telemetry/index.js';
import type { SocialStore } from './contract.js';
import { fileNotice } from './notices.js';
import { Proximity } from './proximity.js';

const HOUR_MS = 3_600_000;

export interface SocialDeps {
  config: Readonly<RelayConfig>;
  store: Mailbox & Identities;
  social: SocialStore;
  /** Key of the phone-number HMAC. */
  discoveryKey: string;
  /** The key before a rotation (PASSBY_DISCOVERY_SECRET_OLD): look-ups try it for what the current one misses. */
  previousDiscoveryKey?: string | null;
  /** An offer or a nearby notice was filed for this user: wake its devices that are away. */
  wake?: (uid: string) => void;
  now: () => number;
}

/** What a handler needs of the session it serves. */
export interface Requester {
  readonly uid: string;
  readonly log: Logger;
  reply(frame: RelayFrame): void;
  reject(code: ErrorCode, message: string | undefined, ref: string): void;
  /** An entry handed to this connection left the mailbox without an ack (an answered offer). */
  settledEntry(id: string): void;
}

/** The frame types SocialHandlers.handle takes besides `share`. */
export const SOCIAL_FRAME_TYPES: ReadonlySet<string> = new Set([
  'answer',
  'friend',
  'consent',
  'friends',
  'discover',
  'lookup',
  'presence',
  'blind',
]);

/**
 * Protocol v2 requests: friends and consent, contact discovery, presence (baseline and blind,
 * in proximity.ts) and the notices they cause. Phone numbers are hashed here with the server's key and go no
 * further (nothing stores or logs them).
 */
export class SocialHandlers {
  private readonly proximity: Proximity;

  constructor(private readonly d: SocialDeps) {
    this.proximity = new Proximity(d);
  }

  async handle(r: Requester, frame: SocialClientFrame | ShareFrame): Promise<void> {
    if (frame.t === 'share') return this.share(r, frame);
    const rid = String(frame.rid);
    switch (frame.t) {
      case 'answer': {
        const outcome = await this.d.store.answer(r.uid, frame.id, frame.accept, this.d.now());
        if (outcome === 'unknown') return r.reject('unknown_offer', undefined, rid);
        r.log.debug({ entry: frame.id, outcome }, 'offer answered');
        r.settledEntry(frame.id);
        return r.reply({ t: 'ok', rid: frame.rid });
      }
      case 'friend':
        return this.friend(r, frame);
      case 'consent': {
        const ok = await this.d.social.setConsent(r.uid, frame.id, {
          proximity: frame.proximity,
          autoAccept: frame.autoAccept,
        });
        if (!ok) return r.reject('not_friends', undefined, rid);
        r.log.debug(
          { friend: frame.id, proximity: frame.proximity, autoAccept: frame.autoAccept },
          'consent set',
        );
        return r.reply({ t: 'ok', rid: frame.rid });
      }
      case 'friends':
        return r.reply({ t: 'friends', rid: frame.rid, friends: await this.d.social.friends(r.uid) });
      case 'discover':
        return this.discover(r, frame);
      case 'lookup':
        return this.lookup(r, frame);
      case 'presence':
        return this.proximity.presence(r, frame);
      case 'blind':
        return this.proximity.blind(r, frame);
    }
  }

  /** Files a share's offer (C2); with the recipient's pre-approval, accepted at once. */
  private async share(r: Requester, frame: ShareFrame): Promise<void> {
    const { config, now, store } = this.d;
    if (!(await this.mayShare(frame.to, r.uid))) {
      return r.reject('not_friends', "this relay files shares only from the recipient's friends", frame.mid);
    }
    const at = now();
    const ttlSeconds = Math.min(frame.ttl ?? config.maxTtlSeconds, config.maxTtlSeconds);
    const result = await store.share({
      from: r.uid,
      to: frame.to,
      mid: frame.mid,
      preview: frame.body,
      ttlMs: ttlSeconds * 1000,
      receipt: frame.receipt === true,
      parts: frame.parts,
      auto: await this.preApproved(frame.to, r.uid, at),
      now: at,
    });
    if (result.status === 'incomplete') {
      return r.reject('share_incomplete', `${result.held} of ${frame.parts} parts are stored`, frame.mid);
    }
    r.log.debug({ to: frame.to, mid: frame.mid, parts: frame.parts, dup: result.dup }, 'share offered');
    r.reply({ t: 'stored', to: frame.to, mid: frame.mid, exp: result.exp, dup: result.dup });
    if (!result.dup) this.d.wake?.(frame.to);
  }

  /** Whether the relay files shares from `sender` to `recipient` at all (PASSBY_STRANGER_SHARES). */
  async mayShare(recipient: string, sender: string): Promise<boolean> {
    return this.d.config.strangerShares === 1 || (await this.d.social.consent(recipient, sender)) !== null;
  }

  /**
   * Whether `recipient` accepts shares from `sender` without asking right now: the recipient
   * switched auto-accept on for this friend and the two were found in range within the window.
   */
  async preApproved(recipient: string, sender: string, now: number): Promise<boolean> {
    const consent = await this.d.social.consent(recipient, sender);
    return consent?.autoAccept === true && (await this.d.social.inRange(recipient, sender, now));
  }

  private async friend(r: Requester, frame: FriendFrame): Promise<void> {
    const { social, store } = this.d;
    const rid = String(frame.rid);
    if (frame.id === r.uid) return r.reject('invalid_field', 'you cannot befriend yourself', rid);
    switch (frame.op) {
      case 'request': {
        const [key] = await store.publicKeys([frame.id]);
        if (!key) return r.reject('unknown_recipient', undefined, rid);
        const result = await social.requestFriend(r.uid, frame.id);
        if (result !== 'already')
          await this.notify(frame.id, `friend-in-${this.d.now()}`, {
            kind: 'friend',
            user: r.uid,
            state: result === 'friends' ? 'friend' : 'incoming',
          });
        break;
      }
      case 'accept':
        if (!(await social.acceptFriend(r.uid, frame.id))) return r.reject('no_request', undefined, rid);
        await this.notify(frame.id, `friend-ok-${this.d.now()}`, {
          kind: 'friend',
          user: r.uid,
          state: 'friend',
        });
        break;
      case 'decline':
        // The requester is not told: a decline looks like a request left unanswered.
        if (!(await social.declineFriend(r.uid, frame.id))) return r.reject('no_request', undefined, rid);
        break;
      case 'remove':
        if (!(await social.removeFriend(r.uid, frame.id))) return r.reject('not_friends', undefined, rid);
        await this.notify(frame.id, `friend-gone-${this.d.now()}`, {
          kind: 'friend',
          user: r.uid,
          state: 'removed',
        });
        break;
    }
    r.log.debug({ friend: frame.id, op: frame.op }, 'friend link changed');
    r.reply({ t: 'ok', rid: frame.rid });
  }

  private async discover(r: Requester, frame: DiscoverFrame): Promise<void> {
    const { social, config, now } = this.d;
    const at = now();
    const ttlMs = config.discoveryTtlSeconds * 1000;
    const hash = frame.phone === null ? null : this.hash(frame.phone);
    // During a rotation, matches filed by look-ups under the previous key are collected first;
    // the second call then replaces that entry with the current key's. A requester found under
    // both is told once, with the current key's ticket (the one its look-up was answered with).
    const old = frame.phone === null ? null : this.previousHash(frame.phone);
    const before = old === null ? [] : await social.setDiscoverable(r.uid, old, at, ttlMs);
    const current = await social.setDiscoverable(r.uid, hash, at, ttlMs);
    const told = new Set(current.map((p) => p.requester));
    const pending = [...current, ...before.filter((p) => !told.has(p.requester))];
    for (const { requester, ticket } of pending) {
      // Both sides learn of each other: the one who looked the number up (with the ticket it was
      // given, so it knows which contact) and the one who just became discoverable.
      await this.notify(requester, `contact-${at}`, { kind: 'contact', user: r.uid, ticket }, at + ttlMs);
      await this.notify(
        r.uid,
        `contact-${at}`,
        { kind: 'contact', user: requester, ticket: null },
        at + ttlMs,
      );
    }
    r.log.debug({ discoverable: hash !== null, matches: pending.length }, 'discoverability set');
    r.reply({ t: 'ok', rid: frame.rid });
  }

  private async lookup(r: Requester, frame: LookupFrame): Promise<void> {
    const { social, config, now } = this.d;
    const at = now();
    const allowed = await social.spendLookups(r.uid, frame.phones.length, config.lookupsPerHour, at, HOUR_MS);
    if (!allowed) {
      return r.reject(
        'lookup_limited',
        `at most ${config.lookupsPerHour} numbers an hour`,
        String(frame.rid),
      );
    }
    const hashes = frame.phones.map((p) => this.hash(p));
    const { ids, tickets } = await social.lookup(r.uid, hashes, at, config.discoveryTtlSeconds * 1000);
    await this.lookupPrevious(r.uid, frame.phones, ids, tickets, at);
    r.log.debug(
      { looked: hashes.length, found: ids.filter((id) => id !== null).length },
      'contacts looked up',
    );
    r.reply({ t: 'lookup', rid: frame.rid, ids, tickets });
  }

  private notify(uid: string, tag: string, notice: Notice, exp?: number): Promise<void> {
    return fileNotice(this.d, uid, tag, notice, exp);
  }

  private hash(phone: string): string {
    return createHmac('sha256', this.d.discoveryKey).update(phone).digest('hex');
  }

  private previousHash(phone: string): string | null {
    const key = this.d.previousDiscoveryKey;
    return key ? createHmac('sha256', key).update(phone).digest('hex') : null;
  }

  /**
   * During a rotation: the numbers the current key did not find are looked up again under the
   * previous one (entries made before the rotation live until renewed or expired). A number found
   * so gets its user and no ticket; one still missing keeps the current key's ticket.
   */
  private async lookupPrevious(
    uid: string,
    phones: readonly string[],
    ids: (string | null)[],
    tickets: (string | null)[],
    at: number,
  ): Promise<void> {
    if (!this.d.previousDiscoveryKey) return;
    const missed = ids.flatMap((id, i) => (id === null ? [i] : []));
    if (missed.length === 0) return;
    const hashes = missed.map((i) => this.previousHash(phones[i]!)!);
    const again = await this.d.social.lookup(uid, hashes, at, this.d.config.discoveryTtlSeconds * 1000);
    missed.forEach((i, j) => {
      const id = again.ids[j] ?? null;
      if (id === null) return;
      ids[i] = id;
      tickets[i] = null;
    });
  }
}
