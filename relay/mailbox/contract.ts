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
export interface Mailbox {
  /** Stores a payload atomically: dedupe on (from, mid), quota, append, doorbell. Durable on return. */
  send(input: SendInput): Promise<SendResult>;
  /** Up to `limit` live entries with seq > afterSeq, oldest first. Never returns an expired entry. */
  fetch(uid: string, afterSeq: number, limit: number, now: number): Promise<FetchResult>;
  /** Deletes an entry and every index entry for it; files a `delivered` receipt when one was asked. */
  ack(uid: string, entryId: string, now: number): Promise<AckResult>;
  /** ack() for each ID in order (a version 3 `ack {ids}`), with one promise for all of them. */
  ackAll(uid: string, entryIds: readonly string[], now: number): Promise<AckResult[]>;
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
  /** False when the entry was already gone (acks are idempotent). */
  deleted: boolean;
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
