import type { ReceiptStatus } from '../../protocol/index.js';
import {
  type MailboxEntry,
  RECEIPT_FILED,
  receiptEntryId,
  type SendResult,
  type Signal,
  type StoreLimits,
} from './contract.js';

/*
 * The in-process store's state and the mailbox's rules over it (dedupe, quota, file, remove,
 * the held groups of shares, receipts, the ack rule), each once, for every path of memory.ts and
 * memory-erase.ts. Every rule runs synchronously: an operation is atomic as a Redis script is.
 *
 * A mailbox's Map keeps insertion order, which is seq order: a seq is always above the highest
 * one in the mailbox, and an emptied mailbox is dropped.
 */

export interface Stored {
  entry: MailboxEntry;
  /** A message whose sender asked for a receipt. */
  receipt: boolean;
  /** The ack mask: bit s = slot s acked it, RECEIPT_FILED = its `delivered` receipt was filed. */
  mask: number;
}

export interface Box {
  entries: Map<string, Stored>;
  /** Held parts of shares, by `<from>:<share mid>`, in arrival order. */
  held: Map<string, Group>;
  messages: number;
  bytes: number;
  high: number;
}

export interface Group {
  /** Set by the first part, never extended: no part outlives it. */
  exp: number;
  /** Until the share is filed: dropped at this time unless another part renews it. */
  deadline: number | undefined;
  parts: Map<string, Stored>;
}

export type Msg = Extract<MailboxEntry, { kind: 'msg' }>;

export class MemoryState {
  readonly identities = new Map<string, string>();
  readonly mailboxes = new Map<string, Box>();
  /** The live device mask of each user that has a registry (relay/account sets it). */
  readonly liveMasks = new Map<string, number>();
  /** The store's clock for seqs: microseconds, strictly increasing across all mailboxes. */
  private lastSeq = 0;

  constructor(
    readonly limits: StoreLimits,
    private readonly signal: (uid: string, s: Signal) => void,
    /** A receipt was filed in `from`'s mailbox. */
    private readonly receiptFiled: (from: string) => void = () => {},
  ) {}

  /** uid's live device mask: slot 0 alone for a user without one (a legacy single device). */
  live(uid: string): number {
    return this.liveMasks.get(uid) || 1;
  }

  private nextSeq(high: number): number {
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    this.lastSeq = Math.max(micros, high + 1, this.lastSeq + 1);
    return this.lastSeq;
  }

  /** uid's mailbox, made empty when it has none. */
  boxOf(uid: string): Box {
    let box = this.mailboxes.get(uid);
    if (!box) {
      box = { entries: new Map(), held: new Map(), messages: 0, bytes: 0, high: 0 };
      this.mailboxes.set(uid, box);
    }
    return box;
  }

  /** Deletes uid's mailbox once it holds nothing: an empty mailbox leaves only the identity. */
  dropIfEmpty(uid: string, box: Box): boolean {
    if (box.entries.size > 0 || box.held.size > 0) return false;
    this.mailboxes.delete(uid);
    return true;
  }

  /** The dedupe rule: what a send or share already filed under `id` answers, or null. */
  duplicateOf(box: Box | undefined, id: string): Extract<SendResult, { status: 'stored' }> | null {
    const existing = box?.entries.get(id);
    if (!existing) return null;
    const { seq, exp } = existing.entry;
    const ts = existing.entry.kind === 'receipt' ? existing.entry.at : existing.entry.ts;
    return { status: 'stored', dup: true, seq, prev: 0, ts, exp };
  }

  /** The quota rule: null when a message of `size` bytes may be filed for `to`, else the refusal. */
  refusal(to: string, box: Box | undefined, size: number): SendResult | null {
    const { limits } = this;
    if (!this.identities.has(to)) return { status: 'unknown_recipient' };
    if ((box?.messages ?? 0) >= limits.mailboxMaxMessages)
      return { status: 'quota_exceeded', limit: 'messages' };
    if ((box?.bytes ?? 0) + size > limits.mailboxMaxBytes)
      return { status: 'quota_exceeded', limit: 'bytes' };
    return null;
  }

  /** Appends an entry whose id is not in the mailbox yet; returns its seq and predecessor. */
  insert(uid: string, stored: Stored, bell: boolean): { seq: number; prev: number } {
    const box = this.boxOf(uid);
    const prev = box.high;
    const seq = this.nextSeq(prev);
    stored.entry.seq = seq;
    box.entries.set(stored.entry.id, stored);
    box.high = seq;
    if (stored.entry.kind === 'msg') {
      box.messages++;
      box.bytes += stored.entry.body.length;
    }
    if (bell) this.signal(uid, { type: 'bell', seq });
    return { seq, prev };
  }

  /** Deletes an entry (its ack mask with it); the mailbox once it holds nothing. */
  remove(uid: string, id: string): Stored | undefined {
    const box = this.mailboxes.get(uid);
    const stored = box?.entries.get(id);
    if (!box || !stored) return undefined;
    box.entries.delete(id);
    if (this.dropIfEmpty(uid, box)) return stored;
    if (stored.entry.kind === 'msg') {
      box.messages--;
      box.bytes -= stored.entry.body.length;
    }
    return stored;
  }

  /** Deletes a held group; returns how many parts it held. */
  dropGroup(uid: string, from: string, mid: string): number {
    const box = this.mailboxes.get(uid);
    const group = box?.held.get(`${from}:${mid}`);
    if (!box || !group) return 0;
    box.held.delete(`${from}:${mid}`);
    for (const { entry } of group.parts.values()) {
      box.messages--;
      box.bytes -= (entry as Msg).body.length;
    }
    this.dropIfEmpty(uid, box);
    return group.parts.size;
  }

  /** Moves a held group's parts into the mailbox as messages, in arrival order. */
  release(uid: string, from: string, mid: string): void {
    const box = this.mailboxes.get(uid);
    const group = box?.held.get(`${from}:${mid}`);
    if (!box || !group) return;
    box.held.delete(`${from}:${mid}`);
    let last = 0;
    for (const stored of group.parts.values()) {
      box.messages--;
      box.bytes -= (stored.entry as Msg).body.length;
      last = this.insert(uid, stored, false).seq;
    }
    this.signal(uid, { type: 'bell', seq: last });
  }

  /** Files a receipt for a message of `from` that left `to`'s mailbox; once per (to, mid). */
  fileReceipt(from: string, to: string, mid: string, status: ReceiptStatus, now: number): boolean {
    const id = receiptEntryId(to, mid);
    if (this.mailboxes.get(from)?.entries.has(id)) return false;
    const exp = now + this.limits.receiptTtlMs;
    const entry: MailboxEntry = { kind: 'receipt', id, seq: 0, to, mid, status, at: now, exp };
    this.insert(from, { entry, receipt: false, mask: 0 }, true);
    this.receiptFiled(from);
    return true;
  }

  /** A partial ack's receipt: filed at the first device's ack, once (RECEIPT_FILED). */
  firstReceipt(uid: string, stored: Stored, now: number): void {
    const { entry } = stored;
    if (stored.mask & RECEIPT_FILED || !stored.receipt) return;
    // A message, or a pre-approved offer (accepted as it was filed), that asked for a receipt.
    if (entry.kind !== 'msg' && !(entry.kind === 'offer' && entry.auto)) return;
    stored.mask |= RECEIPT_FILED;
    this.fileReceipt(entry.from, uid, entry.mid, 'delivered', now);
  }

  /** The last ack of an entry, once removed: its receipt if not filed yet; an unanswered offer declined. */
  ackedOut(uid: string, stored: Stored, now: number): void {
    const { entry } = stored;
    if (entry.kind === 'offer' && !entry.auto) {
      this.dropGroup(uid, entry.from, entry.mid);
      this.fileReceipt(entry.from, uid, entry.mid, 'rejected', now);
      return;
    }
    this.firstReceipt(uid, stored, now);
  }

  /**
   * The ack rule: device `slot` has the entry. Nothing when the slot is not live or acked it
   * before; the entry goes once every live slot acked it; else only the slot's claim clears.
   */
  ack(uid: string, slot: number, entryId: string, now: number): boolean {
    const stored = this.mailboxes.get(uid)?.entries.get(entryId);
    const live = this.live(uid);
    const bit = 1 << slot;
    if (!stored || !(live & bit) || stored.mask & bit) return false;
    stored.mask |= bit;
    if ((stored.mask & live) !== live) {
      this.firstReceipt(uid, stored, now);
      return true;
    }
    this.remove(uid, entryId);
    this.ackedOut(uid, stored, now);
    return true;
  }

  /** After `slot` left uid's live mask: what every remaining slot acked goes, the slot's bits clear. */
  dropDevice(uid: string, slot: number, now: number): number {
    const box = this.mailboxes.get(uid);
    if (!box) return 0;
    const live = this.live(uid);
    const done: Stored[] = [];
    for (const stored of box.entries.values()) {
      if (stored.mask === 0) continue;
      stored.mask &= ~(1 << slot);
      if ((stored.mask & live) === live) done.push(stored);
    }
    for (const stored of done) {
      this.remove(uid, stored.entry.id);
      this.ackedOut(uid, stored, now);
    }
    return done.length;
  }
}
