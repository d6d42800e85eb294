import { type Decoded, fail, isSafeInt, isUserId, onlyFields } from './fields.js';
import { ENTRY_ID_PATTERN, LIMITS, MESSAGE_ID_PATTERN } from './limits.js';

/*
 * Protocol version 2: friends, consent, contact discovery, presence and proximity notices.
 * Every request carries a client-chosen `rid`; the relay answers `ok {rid}`, a specific reply
 * (`friends`, `lookup`) or `error {ref: rid}`. What a user must learn while offline (a friend
 * request, a friend in range, a contact who joined) arrives as a `notice` mailbox entry,
 * delivered and acknowledged like a message.
 */

export type FriendOp = 'request' | 'accept' | 'decline' | 'remove';

export interface FriendFrame {
  t: 'friend';
  rid: number;
  op: FriendOp;
  id: string;
}

export interface ConsentFrame {
  t: 'consent';
  rid: number;
  id: string;
  /** Match me with this friend when we are in range. */
  proximity: boolean;
  /** Accept this friend's shares without asking while we are in range. */
  autoAccept: boolean;
}

export interface FriendsRequestFrame {
  t: 'friends';
  rid: number;
}

export interface DiscoverFrame {
  t: 'discover';
  rid: number;
  /** The user's own number in E.164 (`+` and 8-15 digits), or null to stop being discoverable. */
  phone: string | null;
}

export interface LookupFrame {
  t: 'lookup';
  rid: number;
  /** Contacts' numbers in E.164. */
  phones: string[];
}

export interface PresenceFrame {
  t: 'presence';
  rid: number;
  /** An H3 resolution-10 cell index: 15 lower-case hex digits. Never coordinates. */
  cell: string;
}

export interface BlindFrame {
  t: 'blind';
  rid: number;
  /** Token sets, one per opted-in friend plus padding: an "at" token and 7 "near" tokens. */
  sets: { at: string; near: string[] }[];
}

/**
 * Version 2: offers a share to a friend. Its parts were sent before with `send {offer: mid}`
 * and are held; the body is the sender's encrypted preview or description.
 */
export interface ShareFrame {
  t: 'share';
  to: string;
  /** The share's ID, in the sender's message-ID space; its parts name it in `offer`. */
  mid: string;
  ttl?: number;
  receipt?: boolean;
  /** How many parts were sent for it: the relay refuses the share until all are stored. */
  parts: number;
  body: Uint8Array;
}

/** Version 2: the recipient's answer to an offer. */
export interface AnswerFrame {
  t: 'answer';
  rid: number;
  /** The offer's entry ID. */
  id: string;
  accept: boolean;
}

/** Version 2: a share offered to this user (a mailbox entry). */
export interface OfferFrame {
  t: 'offer';
  id: string;
  from: string;
  mid: string;
  ts: number;
  exp: number;
  parts: number;
  /** True when it was accepted by the recipient's pre-approval: the parts follow, just ack it. */
  auto: boolean;
  /** The sender's encrypted preview. */
  body: Uint8Array;
}

export type SocialClientFrame =
  | AnswerFrame
  | FriendFrame
  | ConsentFrame
  | FriendsRequestFrame
  | DiscoverFrame
  | LookupFrame
  | PresenceFrame
  | BlindFrame;

export type FriendState = 'friend' | 'incoming' | 'outgoing';

export interface FriendInfo {
  id: string;
  state: FriendState;
  /** This user's own switches for the friend (the friend's are not shown). */
  proximity: boolean;
  autoAccept: boolean;
}

export interface OkFrame {
  t: 'ok';
  rid: number;
}

export interface FriendsReplyFrame {
  t: 'friends';
  rid: number;
  friends: FriendInfo[];
}

export interface LookupReplyFrame {
  t: 'lookup';
  rid: number;
  /** Per requested number: the user's ID, or null when nobody is discoverable with it. */
  ids: (string | null)[];
  /** Per requested number that was not found: a ticket that a later `contact` notice names. */
  tickets: (string | null)[];
}

export type Notice =
  | { kind: 'friend'; user: string; state: 'incoming' | 'friend' | 'removed' }
  | { kind: 'nearby'; user: string; since: number; until: number }
  | { kind: 'contact'; user: string; ticket: string | null }
  /** Version 4: your friend list changed in a way no other notice names (a friend's account was erased). */
  | { kind: 'friends' };

export type NoticeFrame = { t: 'notice'; id: string } & Notice;

export type SocialRelayFrame = OkFrame | FriendsReplyFrame | LookupReplyFrame | NoticeFrame | OfferFrame;

/** E.164: a plus sign and 8 to 15 digits, the first not zero. */
export const E164_PATTERN = /^\+[1-9]\d{7,14}$/;
/** An H3 index of resolution 10 as h3-js spells it. */
export const CELL_PATTERN = /^8a[0-9a-f]{13}$/;
/** A blind-mode token or a look-up ticket: 16 bytes in canonical base64url, as a user ID. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

export const SOCIAL_LIMITS = {
  maxLookupPhones: 64,
  /**
   * Token sets per blind update (friends plus padding): 32 sets of about 216 bytes of JSON fit the
   * 8 KiB header of a client frame, so blind mode serves up to 16 friends with proximity on when the
   * SDK pads to twice the friend count.
   */
  maxTokenSets: 32,
  /** Parts of one share (a 50 MiB file in 64 KiB chunks is about 820). */
  maxShareParts: 4096,
  nearTokensPerSet: 7,
} as const;

/**
 * The fields each v2 request may carry, by type. A Map: `t` is the client's string, and a plain
 * object would answer "constructor" or "__proto__" with what Object.prototype holds.
 */
const SOCIAL_FIELDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['friend', ['t', 'rid', 'op', 'id']],
  ['consent', ['t', 'rid', 'id', 'proximity', 'autoAccept']],
  ['friends', ['t', 'rid']],
  ['discover', ['t', 'rid', 'phone']],
  ['lookup', ['t', 'rid', 'phones']],
  ['presence', ['t', 'rid', 'cell']],
  ['blind', ['t', 'rid', 'sets']],
  ['answer', ['t', 'rid', 'id', 'accept']],
]);

const isRid = (v: unknown): v is number => isSafeInt(v, 0, 2 ** 31);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
/** A notice's entry ID, n:<user>:<tag> (PROTOCOL.md): the client acks it and keeps it as seen. */
const isNoticeId = (v: unknown): v is string =>
  typeof v === 'string' && ENTRY_ID_PATTERN.test(v) && v.startsWith('n:');

/** Validates a v2 social frame from a client; `undefined` when `t` is not one of them. */
export function validateSocialFrame(h: Record<string, unknown>): Decoded<SocialClientFrame> | undefined {
  const ref = isRid(h.rid) ? String(h.rid) : undefined;
  const bad = (what: string) => fail('invalid_field', `${String(h.t)}: ${what}`, ref);
  const allowed = typeof h.t === 'string' ? SOCIAL_FIELDS.get(h.t) : undefined;
  if (allowed === undefined) return undefined;
  const extra = onlyFields(h, allowed);
  if (extra) return bad(`unknown field "${extra.slice(0, 32)}"`);
  if (ref === undefined) return fail('invalid_field', `${String(h.t)}.rid must be an integer from 0 to 2^31`);
  const rid = Number(ref);
  switch (h.t) {
    case 'friend':
      if (h.op !== 'request' && h.op !== 'accept' && h.op !== 'decline' && h.op !== 'remove')
        return bad('op');
      if (!isUserId(h.id)) return bad('id must be a user ID');
      return { ok: true, frame: { t: 'friend', rid, op: h.op, id: h.id } };
    case 'consent':
      if (!isUserId(h.id)) return bad('id must be a user ID');
      if (!isBool(h.proximity) || !isBool(h.autoAccept))
        return bad('proximity and autoAccept must be booleans');
      return {
        ok: true,
        frame: { t: 'consent', rid, id: h.id, proximity: h.proximity, autoAccept: h.autoAccept },
      };
    case 'friends':
      return { ok: true, frame: { t: 'friends', rid } };
    case 'answer':
      if (typeof h.id !== 'string' || !ENTRY_ID_PATTERN.test(h.id) || !h.id.startsWith('m:')) {
        return bad('id must be the entry ID of an offer');
      }
      if (!isBool(h.accept)) return bad('accept must be a boolean');
      return { ok: true, frame: { t: 'answer', rid, id: h.id, accept: h.accept } };
    case 'discover':
      if (h.phone !== null && (typeof h.phone !== 'string' || !E164_PATTERN.test(h.phone))) {
        return bad('phone must be an E.164 number (+ and 8-15 digits) or null');
      }
      return { ok: true, frame: { t: 'discover', rid, phone: h.phone } };
    case 'lookup': {
      const phones = h.phones;
      if (
        !Array.isArray(phones) ||
        phones.length === 0 ||
        phones.length > SOCIAL_LIMITS.maxLookupPhones ||
        !phones.every((p) => typeof p === 'string' && E164_PATTERN.test(p))
      ) {
        return bad(`phones must be 1-${SOCIAL_LIMITS.maxLookupPhones} E.164 numbers`);
      }
      return { ok: true, frame: { t: 'lookup', rid, phones } };
    }
    case 'presence':
      if (typeof h.cell !== 'string' || !CELL_PATTERN.test(h.cell))
        return bad('cell must be an H3 resolution-10 index');
      return { ok: true, frame: { t: 'presence', rid, cell: h.cell } };
    case 'blind': {
      const sets = h.sets;
      const isToken = (v: unknown) => typeof v === 'string' && TOKEN_PATTERN.test(v);
      if (
        !Array.isArray(sets) ||
        sets.length === 0 ||
        sets.length > SOCIAL_LIMITS.maxTokenSets ||
        !sets.every(
          (s) =>
            typeof s === 'object' &&
            s !== null &&
            onlyFields(s as Record<string, unknown>, ['at', 'near']) === null &&
            isToken((s as { at: unknown }).at) &&
            Array.isArray((s as { near: unknown }).near) &&
            (s as { near: unknown[] }).near.length === SOCIAL_LIMITS.nearTokensPerSet &&
            (s as { near: unknown[] }).near.every(isToken),
        )
      ) {
        return bad(
          `sets must be 1-${SOCIAL_LIMITS.maxTokenSets} of {at, near[7]} with 16-byte base64url tokens`,
        );
      }
      return { ok: true, frame: { t: 'blind', rid, sets: sets as { at: string; near: string[] }[] } };
    }
    default:
      return undefined;
  }
}

/** Validates a `share` (it carries a body, the preview). */
export function validateShare(h: Record<string, unknown>, body: Uint8Array): Decoded<ShareFrame> {
  const ref = typeof h.mid === 'string' && MESSAGE_ID_PATTERN.test(h.mid) ? h.mid : undefined;
  const extra = onlyFields(h, ['t', 'to', 'mid', 'ttl', 'receipt', 'parts']);
  if (extra) return fail('invalid_field', `share has an unknown field "${extra.slice(0, 32)}"`, ref);
  if (ref === undefined) return fail('invalid_field', 'share.mid must be 1-64 characters of [A-Za-z0-9_-]');
  if (!isUserId(h.to)) return fail('invalid_field', 'share.to must be a user ID', ref);
  if (h.ttl !== undefined && !isSafeInt(h.ttl, 1, LIMITS.maxTtlSeconds)) {
    return fail(
      'invalid_field',
      `share.ttl must be an integer from 1 to ${LIMITS.maxTtlSeconds} seconds`,
      ref,
    );
  }
  if (h.receipt !== undefined && !isBool(h.receipt))
    return fail('invalid_field', 'share.receipt must be a boolean', ref);
  if (!isSafeInt(h.parts, 1, SOCIAL_LIMITS.maxShareParts)) {
    return fail(
      'invalid_field',
      `share.parts must be an integer from 1 to ${SOCIAL_LIMITS.maxShareParts}`,
      ref,
    );
  }
  if (body.length === 0) return fail('invalid_field', 'share carries no preview', ref);
  if (body.length > LIMITS.maxBodyBytes)
    return fail('payload_too_large', `preview of ${body.length} bytes`, ref);
  const frame: ShareFrame = { t: 'share', to: h.to, mid: ref, parts: h.parts, body };
  if (h.ttl !== undefined) frame.ttl = h.ttl as number;
  if (h.receipt !== undefined) frame.receipt = h.receipt;
  return { ok: true, frame };
}

/** Validates a v2 social frame from the relay (for clients); `undefined` when not one of them. */
export function validateSocialRelayFrame(h: Record<string, unknown>): Decoded<SocialRelayFrame> | undefined {
  const bad = (what: string) => fail('invalid_field', `relay frame "${String(h.t)}": ${what}`);
  const isTime = (v: unknown): v is number => isSafeInt(v, 0, 8.64e15);
  switch (h.t) {
    case 'ok':
      return isRid(h.rid) ? { ok: true, frame: { t: 'ok', rid: h.rid } } : bad('rid');
    case 'friends': {
      if (!isRid(h.rid) || !Array.isArray(h.friends)) return bad('rid or friends');
      const friends: FriendInfo[] = [];
      for (const f of h.friends as Record<string, unknown>[]) {
        if (typeof f !== 'object' || f === null || !isUserId(f.id)) return bad('friends[].id');
        if (f.state !== 'friend' && f.state !== 'incoming' && f.state !== 'outgoing')
          return bad('friends[].state');
        if (!isBool(f.proximity) || !isBool(f.autoAccept)) return bad('friends[] switches');
        friends.push({ id: f.id, state: f.state, proximity: f.proximity, autoAccept: f.autoAccept });
      }
      return { ok: true, frame: { t: 'friends', rid: h.rid, friends } };
    }
    case 'lookup': {
      const idsOk = Array.isArray(h.ids) && h.ids.every((v) => v === null || isUserId(v));
      const ticketsOk =
        Array.isArray(h.tickets) &&
        h.tickets.every((v) => v === null || (typeof v === 'string' && TOKEN_PATTERN.test(v)));
      if (!isRid(h.rid) || !idsOk || !ticketsOk) return bad('rid, ids or tickets');
      return {
        ok: true,
        frame: {
          t: 'lookup',
          rid: h.rid,
          ids: h.ids as (string | null)[],
          tickets: h.tickets as (string | null)[],
        },
      };
    }
    case 'offer': {
      const ok =
        typeof h.id === 'string' &&
        ENTRY_ID_PATTERN.test(h.id) &&
        h.id.startsWith('m:') &&
        isUserId(h.from) &&
        typeof h.mid === 'string' &&
        MESSAGE_ID_PATTERN.test(h.mid) &&
        isTime(h.ts) &&
        isTime(h.exp) &&
        isSafeInt(h.parts, 1, SOCIAL_LIMITS.maxShareParts) &&
        isBool(h.auto);
      if (!ok) return bad('id, from, mid, ts, exp, parts or auto');
      return {
        ok: true,
        frame: {
          t: 'offer',
          id: h.id as string,
          from: h.from as string,
          mid: h.mid as string,
          ts: h.ts as number,
          exp: h.exp as number,
          parts: h.parts as number,
          auto: h.auto as boolean,
          body: new Uint8Array(0),
        },
      };
    }
    case 'notice': {
      if (h.kind === 'friends' && isNoticeId(h.id) && h.user === undefined)
        return { ok: true, frame: { t: 'notice', id: h.id, kind: 'friends' } };
      if (!isNoticeId(h.id) || !isUserId(h.user)) return bad('id or user');
      if (h.kind === 'friend' && (h.state === 'incoming' || h.state === 'friend' || h.state === 'removed')) {
        return { ok: true, frame: { t: 'notice', id: h.id, kind: 'friend', user: h.user, state: h.state } };
      }
      if (h.kind === 'nearby' && isTime(h.since) && isTime(h.until)) {
        return {
          ok: true,
          frame: { t: 'notice', id: h.id, kind: 'nearby', user: h.user, since: h.since, until: h.until },
        };
      }
      if (
        h.kind === 'contact' &&
        (h.ticket === null || (typeof h.ticket === 'string' && TOKEN_PATTERN.test(h.ticket)))
      ) {
        return {
          ok: true,
          frame: { t: 'notice', id: h.id, kind: 'contact', user: h.user, ticket: h.ticket },
        };
      }
      return bad('kind and its fields');
    }
    default:
      return undefined;
  }
}
