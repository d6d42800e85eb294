import type { ReceiptStatus } from '../../protocol/index.js';
import type {
  AckResult,
  FetchResult,
  MailboxEntry,
  SendInput,
  SendResult,
  ShareInput,
  ShareResult,
  Signal,
  SignalHandler,
  Store,
  StoreLimits,
  SweepResult,
} from './contract.js';
import { messageEntryId, receiptEntryId } from './contract.js';

/*
 * The in-process store: the Redis store's contract in plain maps, for a laptop demo and for
 * tests. Nothing survives the process. Each method changes state synchronously before its first
 * await, so every operation is atomic as in the Redis scripts.
 *
 * A mailbox's Map keeps insertion order, which is seq order: a seq is always above the highest
 * one in the mailbox, and an emptied mailbox is dropped. The sweep walks every entry; fine for
 * the sizes a demo holds.
 */

interface Stored {
  entry: MailboxEntry;
  /** A message whose sender asked for a receipt. */
  receipt: boolean;
}

interface Box {
  entries: Map<string, Stored>;
  /** Held parts of shares, by `<from>:<share mid>`, in arrival order. */
  held: Map<string, Group>;
  messages: number;
  bytes: number;
  high: number;
}

interface Group {
  /** Set by the first part, never extended: no part outlives it. */
  exp: number;
  /** Until the share is filed: dropped at this time unless another part renews it. */
  deadline: number | undefined;
  parts: Map<string, Stored>;
}

type Msg = Extract<MailboxEntry, { kind: 'msg' }>;

export function createMemoryStore(limits: StoreLimits): Store {
  const identities = new Map<string, string>();
  const mailboxes = new Map<string, Box>();
  const watched = new Set<string>();
  let handler: SignalHandler = () => {};
  let closed = false;

  // The store's clock for seqs: microseconds, strictly increasing across all mailboxes.
  let lastSeq = 0;
  function nextSeq(high: number): number {
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    lastSeq = Math.max(micros, high + 1, lastSeq + 1);
    return lastSeq;
  }

  function signal(uid: string, s: Signal): void {
    if (!watched.has(uid)) return;
    queueMicrotask(() => handler(uid, s));
  }

  /** uid's mailbox, made empty when it has none. */
  function boxOf(uid: string): Box {
    let box = mailboxes.get(uid);
    if (!box) {
      box = { entries: new Map(), held: new Map(), messages: 0, bytes: 0, high: 0 };
      mailboxes.set(uid, box);
    }
    return box;
  }

  /** Deletes uid's mailbox once it holds nothing: an empty mailbox leaves only the identity. */
  function dropIfEmpty(uid: string, box: Box): boolean {
    if (box.entries.size > 0 || box.held.size > 0) return false;
    mailboxes.delete(uid);
    return true;
  }

  /** The dedupe rule: what a send or share already filed under `id` answers, or null. */
  function duplicateOf(box: Box | undefined, id: string): Extract<SendResult, { status: 'stored' }> | null {
    const existing = box?.entries.get(id);
    if (!existing) return null;
    const { seq, exp } = existing.entry;
    const ts = existing.entry.kind === 'receipt' ? existing.entry.at : existing.entry.ts;
    return { status: 'stored', dup: true, seq, prev: 0, ts, exp };
  }

  /** The quota rule: null when a message of `size` bytes may be filed for `to`, else the refusal. */
  function refusal(to: string, box: Box | undefined, size: number): SendResult | null {
    if (!identities.has(to)) return { status: 'unknown_recipient' };
    if ((box?.messages ?? 0) >= limits.mailboxMaxMessages)
      return { status: 'quota_exceeded', limit: 'messages' };
    if ((box?.bytes ?? 0) + size > limits.mailboxMaxBytes)
      return { status: 'quota_exceeded', limit: 'bytes' };
    return null;
  }

  /** Appends an entry whose id is not in the mailbox yet; returns its seq and predecessor. */
  function insert(uid: string, stored: Stored, bell: boolean): { seq: number; prev: number } {
    const box = boxOf(uid);
    const prev = box.high;
    const seq = nextSeq(prev);
    stored.entry.seq = seq;
    box.entries.set(stored.entry.id, stored);
    box.high = seq;
    if (stored.entry.kind === 'msg') {
      box.messages++;
      box.bytes += stored.entry.body.length;
    }
    if (bell) signal(uid, { type: 'bell', seq });
    return { seq, prev };
  }

  function remove(uid: string, id: string): Stored | undefined {
    const box = mailboxes.get(uid);
    const stored = box?.entries.get(id);
    if (!box || !stored) return undefined;
    box.entries.delete(id);
    if (dropIfEmpty(uid, box)) return stored;
    if (stored.entry.kind === 'msg') {
      box.messages--;
      box.bytes -= stored.entry.body.length;
    }
    return stored;
  }

  /** Deletes a held group; returns how many parts it held. */
  function dropGroup(uid: string, from: string, mid: string): number {
    const box = mailboxes.get(uid);
    const group = box?.held.get(`${from}:${mid}`);
    if (!box || !group) return 0;
    box.held.delete(`${from}:${mid}`);
    for (const { entry } of group.parts.values()) {
      box.messages--;
      box.bytes -= (entry as Msg).body.length;
    }
    dropIfEmpty(uid, box);
    return group.parts.size;
  }

  /** Moves a held group's parts into the mailbox as messages, in arrival order. */
  function release(uid: string, from: string, mid: string): void {
    const box = mailboxes.get(uid);
    const group = box?.held.get(`${from}:${mid}`);
    if (!box || !group) return;
    box.held.delete(`${from}:${mid}`);
    let last = 0;
    for (const stored of group.parts.values()) {
      box.messages--;
      box.bytes -= (stored.entry as Msg).body.length;
      last = insert(uid, stored, false).seq;
    }
    signal(uid, { type: 'bell', seq: last });
  }

  /** Files a receipt for a message of `from` that left `to`'s mailbox; once per (to, mid). */
  function fileReceipt(from: string, to: string, mid: string, status: ReceiptStatus, now: number) {
    const id = receiptEntryId(to, mid);
    if (mailboxes.get(from)?.entries.has(id)) return false;
    const exp = now + limits.receiptTtlMs;
    const entry: MailboxEntry = { kind: 'receipt', id, seq: 0, to, mid, status, at: now, exp };
    insert(from, { entry, receipt: false }, true);
    return true;
  }

  /** Deletes an entry; files its `delivered` receipt, or declines an offer acked unanswered. */
  function ack(uid: string, entryId: string, now: number): AckResult {
    const stored = remove(uid, entryId);
    if (!stored) return { deleted: false };
    const { entry } = stored;
    // A message, or a pre-approved offer (accepted as it was filed), that asked for a receipt.
    if (stored.receipt && (entry.kind === 'msg' || (entry.kind === 'offer' && entry.auto)))
      fileReceipt(entry.from, uid, entry.mid, 'delivered', now);
    if (entry.kind === 'offer' && !entry.auto) {
      // Acknowledging an offer without answering it declines it.
      dropGroup(uid, entry.from, entry.mid);
      fileReceipt(entry.from, uid, entry.mid, 'rejected', now);
    }
    return { deleted: true };
  }

  /** Holds a part of share `offer` (same checks as a send), undelivered, without a doorbell. */
  function hold(input: SendInput, offer: string): SendResult {
    const id = messageEntryId(input.from, input.mid);
    const box = mailboxes.get(input.to);
    const key = `${input.from}:${offer}`;
    const existing = box?.held.get(key)?.parts.get(id)?.entry as Msg | undefined;
    if (existing) return { status: 'stored', dup: true, seq: 0, prev: 0, ts: existing.ts, exp: existing.exp };
    const refused = refusal(input.to, box, input.body.length);
    if (refused) return refused;
    const target = boxOf(input.to);
    let group = target.held.get(key);
    const filed = target.entries.has(messageEntryId(input.from, offer));
    if (!group) {
      group = { exp: input.now + input.ttlMs, deadline: undefined, parts: new Map() };
      target.held.set(key, group);
    }
    if (!filed) group.deadline = Math.min(group.exp, input.now + (input.holdMs ?? input.ttlMs));
    const exp = Math.min(input.now + input.ttlMs, group.exp);
    const entry: Msg = {
      kind: 'msg',
      id,
      seq: 0,
      from: input.from,
      mid: input.mid,
      ts: input.now,
      exp,
      body: new Uint8Array(input.body),
    };
    group.parts.set(id, { entry, receipt: input.receipt });
    target.messages++;
    target.bytes += entry.body.length;
    return { status: 'stored', dup: false, seq: 0, prev: 0, ts: input.now, exp };
  }

  return {
    kind: 'memory',

    async register(uid, publicKey) {
      identities.set(uid, publicKey);
    },

    async publicKeys(uids) {
      return uids.map((uid) => identities.get(uid) ?? null);
    },

    async send(input: SendInput): Promise<SendResult> {
      if (input.offer !== undefined) return hold(input, input.offer);
      const id = messageEntryId(input.from, input.mid);
      const box = mailboxes.get(input.to);
      const duplicate = duplicateOf(box, id);
      if (duplicate) return duplicate;
      const refused = refusal(input.to, box, input.body.length);
      if (refused) return refused;
      const ts = input.now;
      const exp = input.now + input.ttlMs;
      const entry: MailboxEntry = {
        kind: 'msg',
        id,
        seq: 0,
        from: input.from,
        mid: input.mid,
        ts,
        exp,
        // A copy (Buffer#slice would be a view): the caller may reuse its buffer.
        body: new Uint8Array(input.body),
      };
      const { seq, prev } = insert(input.to, { entry, receipt: input.receipt }, input.bell);
      return { status: 'stored', dup: false, seq, prev, ts, exp };
    },

    async fetch(uid, afterSeq, limit, now): Promise<FetchResult> {
      const entries: MailboxEntry[] = [];
      let last = afterSeq;
      let examined = 0;
      for (const { entry } of mailboxes.get(uid)?.entries.values() ?? []) {
        if (entry.seq <= afterSeq) continue;
        if (examined >= limit) return { entries, last, more: true };
        examined++;
        last = entry.seq;
        if (entry.exp > now) entries.push({ ...entry });
      }
      return { entries, last, more: false };
    },

    async ack(uid, entryId, now): Promise<AckResult> {
      return ack(uid, entryId, now);
    },

    async ackAll(uid, entryIds, now): Promise<AckResult[]> {
      return entryIds.map((id) => ack(uid, id, now));
    },

    async share(input: ShareInput): Promise<ShareResult> {
      const id = messageEntryId(input.from, input.mid);
      const box = mailboxes.get(input.to);
      const duplicate = duplicateOf(box, id);
      if (duplicate) return duplicate;
      const group = box?.held.get(`${input.from}:${input.mid}`);
      const held = group?.parts.size ?? 0;
      if (!group || held < input.parts) return { status: 'incomplete', held };
      const exp = Math.min(input.now + input.ttlMs, group.exp);
      group.deadline = undefined; // the group lives as long as its offer now
      if (input.auto) release(input.to, input.from, input.mid);
      const entry: MailboxEntry = {
        kind: 'offer',
        id,
        seq: 0,
        from: input.from,
        mid: input.mid,
        ts: input.now,
        exp,
        parts: input.parts,
        auto: input.auto,
        preview: new Uint8Array(input.preview),
      };
      const { seq, prev } = insert(input.to, { entry, receipt: input.receipt }, true);
      return { status: 'stored', dup: false, seq, prev, ts: input.now, exp };
    },

    async answer(uid, entryId, accept, now) {
      const stored = mailboxes.get(uid)?.entries.get(entryId);
      const entry = stored?.entry;
      if (entry?.kind !== 'offer' || entry.auto) return 'unknown';
      if (accept) release(uid, entry.from, entry.mid);
      else dropGroup(uid, entry.from, entry.mid);
      remove(uid, entryId);
      if (accept) {
        if (stored?.receipt) fileReceipt(entry.from, uid, entry.mid, 'delivered', now);
        return 'accepted';
      }
      fileReceipt(entry.from, uid, entry.mid, 'rejected', now);
      return 'rejected';
    },

    async notify(uid, entryId, notice, now, exp) {
      if (mailboxes.get(uid)?.entries.has(entryId)) return false;
      const entry: MailboxEntry = {
        kind: 'notice',
        id: entryId,
        seq: 0,
        ts: now,
        exp,
        notice: { ...notice },
      };
      insert(uid, { entry, receipt: false }, true);
      return true;
    },

    async sweep(now, limit): Promise<SweepResult> {
      const due: [string, string][] = [];
      const groups: [string, string, string][] = [];
      let more = false;
      scan: for (const [uid, box] of mailboxes) {
        for (const { entry } of box.entries.values()) {
          if (entry.exp > now) continue;
          if (due.length + groups.length === limit) {
            more = true;
            break scan;
          }
          due.push([uid, entry.id]);
        }
        for (const [key, group] of box.held) {
          if (group.exp > now && (group.deadline === undefined || group.deadline > now)) continue;
          if (due.length + groups.length === limit) {
            more = true;
            break scan;
          }
          const [from, mid] = key.split(':') as [string, string];
          groups.push([uid, from, mid]);
        }
      }
      let receipts = 0;
      let expired = 0;
      for (const [uid, id] of due) {
        const stored = remove(uid, id);
        if (!stored) continue;
        expired++;
        const { entry } = stored;
        if (stored.receipt && (entry.kind === 'msg' || entry.kind === 'offer')) {
          if (fileReceipt(entry.from, uid, entry.mid, 'expired', now)) receipts++;
        }
        if (entry.kind === 'offer') expired += dropGroup(uid, entry.from, entry.mid);
      }
      for (const [uid, from, mid] of groups) expired += dropGroup(uid, from, mid);
      return { expired, receipts, more };
    },

    async watch(uid) {
      watched.add(uid);
    },

    async unwatch(uid) {
      watched.delete(uid);
    },

    onSignal(next) {
      handler = next;
    },

    onReconnect() {
      // In-process signals are never lost.
    },

    unsentBytes() {
      return 0;
    },

    async kick(uid, connToken) {
      signal(uid, { type: 'kick', conn: connToken });
    },

    async healthy() {
      return !closed;
    },

    async close() {
      closed = true;
    },
  };
}
