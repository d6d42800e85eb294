import type { Notice, ReceiptStatus } from '../../protocol/index.js';

/**
 * The contract every store keeps (test/relay/mailbox/contract.ts runs it against each one).
 *
 * A mailbox per recipient holds entries in `seq` order. `seq` is assigned by the store at insert
 * as max(the store's clock in microseconds, the mailbox's high-water seq + 1). The clock is the
 * store's own (Redis TIME, shared by every relay node), so seqs grow across nodes whatever their
 * clocks say, and a connection can pull "everything after the last seq I delivered". The
 * high-water seq is the highest seq the mailbox held since it was last empty; it never goes down
 * while the mailbox exists, so `prev` of an insert equal to a connection's cursor means nothing
 * undelivered lies between them.
 * Every entry has its own expiry; nothing relies on a key TTL that a newer entry refreshes.
 *
 * Delivery is per device. A user's devices each have a slot 0..15; the live device mask (the
 * account registry's, relay/account) says which are live, and a user without a registry is one
 * legacy device, slot 0. Each entry keeps an ack mask (bit s: slot s acked it; bit 16: its
 * `delivered` receipt was filed). A fetch by a slot skips what that slot acked; an ack clears its
 * slot's claim, and deletes the entry (body and all) once every live slot has acked it. A
 * `delivered` receipt is filed at the first ack, an `expired` one only when no device acked. An
 * ack of an unanswered offer declines it only when it is the last live device's; an answer from
 * any device removes the offer for all.
 *
 * A store does four jobs, each its own interface, and each consumer asks for the one it needs:
 * identities, the mailboxes, the signal bus between relay nodes, and its own health.
 */
export interface Store extends Identities, Mailbox, SignalBus, StoreHealth {
  readonly kind: 'memory' | 'redis';
}

/** Who exists: a user ID and the public key it is derived from. */
export interface Identities {
  /** Records (idempotently) that `uid` owns `publicKey` (base64url). */
  register(uid: string, publicKey: string): Promise<void>;
  /** Public keys for the IDs, null where none is registered; same order as `uids`. */
  publicKeys(uids: readonly string[]): Promise<(string | null)[]>;
}

/** The mailboxes: what waits for each user, until acknowledged or expired. */
/** A connected device's place in its mailbox: the highest seq it has been handed. */
export interface MailboxProbe {
  uid: string;
  after: number;
}

export interface Mailbox {
  /** Stores a payload atomically: dedupe on (from, mid), quota, append, doorbell. Durable on return. */
  send(input: SendInput): Promise<SendResult>;
  /**
   * Up to `limit` live entries with seq > afterSeq, oldest first, that device `slot` has not
   * acked. Never returns an expired entry. (`last` moves past what it skips.)
   */
  fetch(uid: string, slot: number, afterSeq: number, limit: number, now: number): Promise<FetchResult>;
  /**
   * For each probe, whether uid's mailbox holds an entry with seq > after (live or not, acked or
   * not: a fetch after a `true` sorts that out). The safety pull's check (R5): one call for all
   * the connected users due at once, where a fetch each would cost a script call per user.
   */
  newer(probes: readonly MailboxProbe[]): Promise<boolean[]>;
  /**
   * Device `slot` has the entry: clears its claim, and once every live slot has acked it deletes
   * the entry and every index entry for it. Files a `delivered` receipt at the first ack, when one
   * was asked. An ack by a slot that is not live, or that acked the entry before, changes nothing.
   */
  ack(uid: string, slot: number, entryId: string, now: number): Promise<AckResult>;
  /** ack() for each ID in order (a version 3 `ack {ids}`), with one promise for all of them. */
  ackAll(uid: string, slot: number, entryIds: readonly string[], now: number): Promise<AckResult[]>;
  /**
   * After the registry cleared `slot` from uid's live mask (a device revoked or unlinked): deletes
   * the entries every remaining live slot has acked (declining an unanswered offer so, as its
   * last ack would), and clears the slot's bit from every ack mask, so a device that takes the
   * slot later receives what is still waiting. Idempotent. Returns how many entries went.
   */
  dropDevice(uid: string, slot: number, now: number): Promise<number>;
  /** Everything of uid's own mailbox, for an export: counts, bytes, expiries, what each slot has not acked. */
  summary(uid: string, slots: readonly number[], now: number): Promise<MailboxSummary>;
  /**
   * Erase, the mailbox part: deletes the uids' own mailboxes (e, q, x, h; not pk and d, which
   * relay/account owns), their expiry index members and every receipt note naming them, and in
   * every other mailbox the entries m:/r:/n:/c:<uid>:* and held parts and groups p:/g:<uid>:*,
   * through the mailbox's own rules (counters, indexes, ack masks, an emptied mailbox dropped).
   * No receipt is filed for what it removes. One pass over the keyspace serves all the uids.
   * Idempotent.
   */
  forget(uids: readonly string[], now: number): Promise<void>;
  /**
   * Files a share's offer in the recipient's mailbox once all its parts are held; the offer's
   * expiry is at most its parts'. With `auto`, the parts are released at once.
   */
  share(input: ShareInput): Promise<ShareResult>;
  /**
   * Answers an offer waiting in uid's mailbox: accept moves its held parts into the mailbox as
   * messages; reject deletes them and files a `rejected` receipt for the sender. Either way the
   * offer leaves the mailbox. 'unknown' when no such offer waits.
   */
  answer(
    uid: string,
    entryId: string,
    accept: boolean,
    now: number,
  ): Promise<'accepted' | 'rejected' | 'unknown'>;
  /**
   * Files a notice (protocol v2) in uid's mailbox until `exp`, ringing the doorbell; false when an
   * entry with this ID is already there (notices are idempotent). Notices count against no quota.
   */
  notify(uid: string, entryId: string, notice: Notice, now: number, exp: number): Promise<boolean>;
  /** Deletes up to `limit` entries whose expiry is <= now, filing `expired` receipts where asked. */
  sweep(now: number, limit: number): Promise<SweepResult>;
  /**
   * Sets the one handler told, after the fact, that receipts were filed in these senders'
   * mailboxes (by an ack, an answer, a device's removal or the sweep): wake-up pushes hear it.
   */
  onReceipts(handler: (senders: readonly string[]) => void): void;
}

/** Signals between relay nodes about a user: doorbells (something was filed) and kicks. */
export interface SignalBus {
  /** Starts delivering this user's signals (doorbells, kicks) to the signal handler. */
  watch(uid: string): Promise<void>;
  unwatch(uid: string): Promise<void>;
  /** Sets the one handler for signals of watched users. */
  onSignal(handler: SignalHandler): void;
  /**
   * Sets the one handler called after the signal connection came back from an outage: signals
   * sent meanwhile are lost, so every watched user's mailbox must be read again.
   */
  onReconnect(handler: () => void): void;
  /** Tells every node that holds a connection of `uid` other than `connToken` to close it. */
  kick(uid: string, connToken: string): Promise<void>;
}

/** The store's own state: is it there, how much is waiting to reach it, closing it. */
export interface StoreHealth {
  /** True when the store answers. */
  healthy(): Promise<boolean>;
  /** Bytes written toward the store that it has not read yet (a frozen Redis); 0 in memory. */
  unsentBytes(): number;
  /** Waits for writes under way, then releases connections. */
  close(): Promise<void>;
}

export interface SendInput {
  from: string;
  to: string;
  mid: string;
  body: Uint8Array;
  /** Milliseconds from `now` until the payload expires; already clamped by the caller. */
  ttlMs: number;
  receipt: boolean;
  /** Relay clock, ms since the epoch: the accepted time. */
  now: number;
  /** Ring the recipient's doorbell. False when the recipient is connected to this very node. */
  bell: boolean;
  /** The mid of the share this is a part of: held, undelivered, until the share is accepted. */
  offer?: string;
  /**
   * With `offer`: how long the held parts wait for the share frame, in ms from `now`; every part
   * renews it and the share frame ends it (the group then lives as long as its offer). Default:
   * ttlMs.
   */
  holdMs?: number;
  /**
   * The sender has other live devices: also file a copy, entry `c:<to>:<mid>` (kind 'sent'), in
   * the SENDER's own mailbox, same body, ts and exp, already acked by the sending device `slot`,
   * ringing the sender's doorbell. No quota, no receipt; a copy already there is kept (a retry).
   * `stored` only when both are filed; a refused send leaves no copy. Ignored with `offer`.
   */
  copy?: { slot: number };
}

export interface ShareInput {
  from: string;
  to: string;
  /** The share's mid; its held parts name it. */
  mid: string;
  /** The sender's encrypted preview. */
  preview: Uint8Array;
  ttlMs: number;
  receipt: boolean;
  /** How many parts must be held before the offer is filed. */
  parts: number;
  /** Accepted by the recipient's pre-approval: release the parts at once. */
  auto: boolean;
  now: number;
}

export type ShareResult =
  | { status: 'stored'; dup: boolean; seq: number; prev: number; ts: number; exp: number }
  | { status: 'incomplete'; held: number };

export type SendResult =
  | {
      status: 'stored';
      /** True when (from, mid) was already in the mailbox; nothing changed. */
      dup: boolean;
      seq: number;
      /** The mailbox's high-water seq before this insert, 0 when it was empty (or for a dup). */
      prev: number;
      ts: number;
      exp: number;
    }
  | { status: 'unknown_recipient' }
  | { status: 'quota_exceeded'; limit: 'messages' | 'bytes' };

export type MailboxEntry =
  | {
      kind: 'msg';
      /** `m:<from>:<mid>` */
      id: string;
      seq: number;
      from: string;
      mid: string;
      ts: number;
      exp: number;
      body: Uint8Array;
    }
  | {
      kind: 'receipt';
      /** `r:<to>:<mid>` */
      id: string;
      seq: number;
      to: string;
      mid: string;
      status: ReceiptStatus;
      at: number;
      exp: number;
    }
  | {
      kind: 'offer';
      /** `m:<from>:<mid>` */
      id: string;
      seq: number;
      from: string;
      mid: string;
      ts: number;
      exp: number;
      parts: number;
      /** Accepted by pre-approval; the parts follow as messages. */
      auto: boolean;
      preview: Uint8Array;
    }
  | {
      kind: 'sent';
      /** `c:<to>:<mid>`: a copy, in the sender's mailbox, of what one of its devices sent */
      id: string;
      seq: number;
      to: string;
      mid: string;
      ts: number;
      exp: number;
      body: Uint8Array;
    }
  | {
      kind: 'notice';
      /** `n:<user>:<tag>` */
      id: string;
      seq: number;
      ts: number;
      exp: number;
      notice: Notice;
    };

export interface FetchResult {
  entries: MailboxEntry[];
  /** Highest seq examined (returned or skipped as expired); the next fetch starts after it. */
  last: number;
  /** True when entries after `last` exist. */
  more: boolean;
}

export interface AckResult {
  /**
   * True when the ack took effect: the slot's claim cleared (the entry itself is deleted only
   * once every live slot acked it). False when the entry was already gone, or already acked by
   * this slot (acks are idempotent).
   */
  deleted: boolean;
}

/** What uid's own mailbox holds, for an export (relay/account assembles it). */
export interface MailboxSummary {
  /** Live entries of every kind (messages, copies, receipts, offers, notices), held share parts not included. */
  entries: number;
  /** Messages, the held parts of shares included (what the quota counts). */
  messages: number;
  /** Bytes of content: message, copy and held part bodies, offer previews. */
  bytes: number;
  /** Earliest and latest expiry among the entries and held parts; null when none. */
  oldestExpiry: number | null;
  newestExpiry: number | null;
  /** Receipt entries waiting in the mailbox, and receipts noted for uid not filed yet. */
  receipts: number;
  /** For each slot asked: the live entries it has not acked, and their content bytes. */
  perSlot: { slot: number; waiting: number; bytes: number }[];
}

export interface SweepResult {
  /** Entries deleted because they expired. */
  expired: number;
  /** `expired` receipts filed for senders who asked. */
  receipts: number;
  /** True when more expired entries may remain (the limit was reached). */
  more: boolean;
}

export type Signal = { type: 'bell'; seq: number } | { type: 'kick'; conn: string };
export type SignalHandler = (uid: string, signal: Signal) => void;

/** Mailbox limits a store enforces, and the life of receipts. */
export interface StoreLimits {
  mailboxMaxMessages: number;
  mailboxMaxBytes: number;
  /** How long a receipt waits for the sender, in ms. */
  receiptTtlMs: number;
}

export function messageEntryId(from: string, mid: string): string {
  return `m:${from}:${mid}`;
}

export function receiptEntryId(to: string, mid: string): string {
  return `r:${to}:${mid}`;
}

export function noticeEntryId(user: string, tag: string): string {
  return `n:${user}:${tag}`;
}

export function copyEntryId(to: string, mid: string): string {
  return `c:${to}:${mid}`;
}

/** Slots 0..15 (bits of a live mask); bit 16 of an ack mask marks its receipt filed. */
export const MAX_SLOTS = 16;
export const RECEIPT_FILED = 1 << 16;
