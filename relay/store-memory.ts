import type {
  AckResult,
  FetchResult,
  MailboxEntry,
  SendInput,
  SendResult,
  Signal,
  SignalHandler,
  Store,
  StoreLimits,
  SweepResult,
} from './store.js';
import { messageEntryId, receiptEntryId } from './store.js';

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

interface Mailbox {
  entries: Map<string, Stored>;
  messages: number;
  bytes: number;
  high: number;
}

export function createMemoryStore(limits: StoreLimits): Store {
  const identities = new Map<string, string>();
  const mailboxes = new Map<string, Mailbox>();
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

  /** Appends an entry whose id is not in the mailbox yet; returns its seq and predecessor. */
  function insert(uid: string, stored: Stored, bell: boolean): { seq: number; prev: number } {
    let box = mailboxes.get(uid);
    if (!box) {
      box = { entries: new Map(), messages: 0, bytes: 0, high: 0 };
      mailboxes.set(uid, box);
    }
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
    if (box.entries.size === 0) {
      mailboxes.delete(uid);
      return stored;
    }
    if (stored.entry.kind === 'msg') {
      box.messages--;
      box.bytes -= stored.entry.body.length;
    }
    return stored;
  }

  /** Files a receipt for a message of `from` that left `to`'s mailbox; once per (to, mid). */
  function fileReceipt(from: string, to: string, mid: string, status: 'delivered' | 'expired', now: number) {
    const id = receiptEntryId(to, mid);
    if (mailboxes.get(from)?.entries.has(id)) return false;
    const exp = now + limits.receiptTtlMs;
    const entry: MailboxEntry = { kind: 'receipt', id, seq: 0, to, mid, status, at: now, exp };
    insert(from, { entry, receipt: false }, true);
    return true;
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
      const id = messageEntryId(input.from, input.mid);
      const box = mailboxes.get(input.to);
      const existing = box?.entries.get(id);
      if (existing) {
        const { seq, exp } = existing.entry;
        const ts = existing.entry.kind === 'receipt' ? existing.entry.at : existing.entry.ts;
        return { status: 'stored', dup: true, seq, prev: 0, ts, exp };
      }
      if (!identities.has(input.to)) return { status: 'unknown_recipient' };
      if ((box?.messages ?? 0) >= limits.mailboxMaxMessages)
        return { status: 'quota_exceeded', limit: 'messages' };
      if ((box?.bytes ?? 0) + input.body.length > limits.mailboxMaxBytes) {
        return { status: 'quota_exceeded', limit: 'bytes' };
      }
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
      const stored = remove(uid, entryId);
      if (!stored) return { deleted: false };
      const { entry } = stored;
      if (stored.receipt && entry.kind === 'msg') fileReceipt(entry.from, uid, entry.mid, 'delivered', now);
      return { deleted: true };
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
      let more = false;
      scan: for (const [uid, box] of mailboxes) {
        for (const { entry } of box.entries.values()) {
          if (entry.exp > now) continue;
          if (due.length === limit) {
            more = true;
            break scan;
          }
          due.push([uid, entry.id]);
        }
      }
      let receipts = 0;
      for (const [uid, id] of due) {
        const stored = remove(uid, id);
        if (stored?.receipt && stored.entry.kind === 'msg') {
          if (fileReceipt(stored.entry.from, uid, stored.entry.mid, 'expired', now)) receipts++;
        }
      }
      return { expired: due.length, receipts, more };
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
