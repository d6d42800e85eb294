import {
  type AckResult,
  copyEntryId,
  type FetchResult,
  type MailboxEntry,
  messageEntryId,
  type SendInput,
  type SendResult,
  type ShareInput,
  type ShareResult,
  type Signal,
  type SignalHandler,
  type Store,
  type StoreLimits,
  type SweepResult,
} from './contract.js';
import { forgetAll, summaryOf } from './memory-erase.js';
import { MemoryState, type Msg } from './memory-state.js';

/*
 * The in-process store: the Redis store's contract in plain maps, for a laptop demo and for
 * tests. Nothing survives the process. Each method changes state synchronously before its first
 * await, so every operation is atomic as in the Redis scripts. The state and the mailbox's rules
 * are memory-state.ts's; export and erase, memory-erase.ts's. The sweep walks every entry; fine
 * for the sizes a demo holds.
 */

/** The in-process store, with the one door relay/account's in-process registry needs. */
export interface MemoryStore extends Store {
  /**
   * The live device mask of uid as its device registry now holds it (bit s: slot s live; 0 or
   * never set: a legacy single device, slot 0), what the Redis scripts read from pb:{uid}:d
   * field m. The account store calls it on every change, then dropDevice for a slot it cleared.
   */
  setLiveMask(uid: string, mask: number): void;
  /** Forgets uid's public key (an erase; relay/account calls it). */
  unregister(uid: string): Promise<void>;
}

export function createMemoryStore(limits: StoreLimits): MemoryStore {
  const watched = new Set<string>();
  let handler: SignalHandler = () => {};
  let closed = false;

  function signal(uid: string, s: Signal): void {
    if (!watched.has(uid)) return;
    queueMicrotask(() => handler(uid, s));
  }
  let receipts: (senders: readonly string[]) => void = () => {};
  const state = new MemoryState(limits, signal, (from) => queueMicrotask(() => receipts([from])));
  const { identities, mailboxes } = state;

  /** Holds a part of share `offer` (same checks as a send), undelivered, without a doorbell. */
  function hold(input: SendInput, offer: string): SendResult {
    const id = messageEntryId(input.from, input.mid);
    const box = mailboxes.get(input.to);
    const key = `${input.from}:${offer}`;
    const existing = box?.held.get(key)?.parts.get(id)?.entry as Msg | undefined;
    if (existing) return { status: 'stored', dup: true, seq: 0, prev: 0, ts: existing.ts, exp: existing.exp };
    const refused = state.refusal(input.to, box, input.body.length);
    if (refused) return refused;
    const target = state.boxOf(input.to);
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
    group.parts.set(id, { entry, receipt: input.receipt, mask: 0 });
    target.messages++;
    target.bytes += entry.body.length;
    return { status: 'stored', dup: false, seq: 0, prev: 0, ts: input.now, exp };
  }

  /** Files the copy of a stored send in the sender's mailbox, acked by the sending slot; once. */
  function fileCopy(input: SendInput, slot: number, ts: number, exp: number): void {
    const id = copyEntryId(input.to, input.mid);
    const bit = 1 << slot;
    const live = state.live(input.from);
    if (mailboxes.get(input.from)?.entries.has(id) || (bit & live) === live) return;
    const entry: MailboxEntry = {
      kind: 'sent',
      id,
      seq: 0,
      to: input.to,
      mid: input.mid,
      ts,
      exp,
      body: new Uint8Array(input.body),
    };
    state.insert(input.from, { entry, receipt: false, mask: bit }, true);
  }

  return {
    kind: 'memory',

    setLiveMask(uid, mask) {
      if (mask === 0) state.liveMasks.delete(uid);
      else state.liveMasks.set(uid, mask);
    },

    async register(uid, publicKey) {
      identities.set(uid, publicKey);
    },

    async unregister(uid) {
      identities.delete(uid);
      state.liveMasks.delete(uid);
    },

    async publicKeys(uids) {
      return uids.map((uid) => identities.get(uid) ?? null);
    },

    async send(input: SendInput): Promise<SendResult> {
      if (input.offer !== undefined) return hold(input, input.offer);
      const id = messageEntryId(input.from, input.mid);
      const box = mailboxes.get(input.to);
      const result = state.duplicateOf(box, id) ?? state.refusal(input.to, box, input.body.length);
      if (result?.status === 'stored') {
        if (input.copy) fileCopy(input, input.copy.slot, result.ts, result.exp);
        return result;
      }
      if (result) return result;
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
      const { seq, prev } = state.insert(input.to, { entry, receipt: input.receipt, mask: 0 }, input.bell);
      if (input.copy) fileCopy(input, input.copy.slot, ts, exp);
      return { status: 'stored', dup: false, seq, prev, ts, exp };
    },

    async fetch(uid, slot, afterSeq, limit, now): Promise<FetchResult> {
      const entries: MailboxEntry[] = [];
      const bit = 1 << slot;
      let last = afterSeq;
      let examined = 0;
      for (const { entry, mask } of mailboxes.get(uid)?.entries.values() ?? []) {
        if (entry.seq <= afterSeq) continue;
        if (examined >= limit) return { entries, last, more: true };
        examined++;
        last = entry.seq;
        if (entry.exp > now && !(mask & bit)) entries.push({ ...entry });
      }
      return { entries, last, more: false };
    },

    async newer(probes) {
      return probes.map(({ uid, after }) => {
        for (const { entry } of mailboxes.get(uid)?.entries.values() ?? [])
          if (entry.seq > after) return true;
        return false;
      });
    },

    async ack(uid, slot, entryId, now): Promise<AckResult> {
      return { deleted: state.ack(uid, slot, entryId, now) };
    },

    async ackAll(uid, slot, entryIds, now): Promise<AckResult[]> {
      return entryIds.map((id) => ({ deleted: state.ack(uid, slot, id, now) }));
    },

    async dropDevice(uid, slot, now) {
      return state.dropDevice(uid, slot, now);
    },

    async summary(uid, slots, now) {
      return summaryOf(state, uid, slots, now);
    },

    async forget(uids) {
      forgetAll(state, uids);
    },

    async share(input: ShareInput): Promise<ShareResult> {
      const id = messageEntryId(input.from, input.mid);
      const box = mailboxes.get(input.to);
      const duplicate = state.duplicateOf(box, id);
      if (duplicate) return duplicate;
      const group = box?.held.get(`${input.from}:${input.mid}`);
      const held = group?.parts.size ?? 0;
      if (!group || held < input.parts) return { status: 'incomplete', held };
      const exp = Math.min(input.now + input.ttlMs, group.exp);
      group.deadline = undefined; // the group lives as long as its offer now
      if (input.auto) state.release(input.to, input.from, input.mid);
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
      const { seq, prev } = state.insert(input.to, { entry, receipt: input.receipt, mask: 0 }, true);
      return { status: 'stored', dup: false, seq, prev, ts: input.now, exp };
    },

    async answer(uid, entryId, accept, now) {
      const stored = mailboxes.get(uid)?.entries.get(entryId);
      const entry = stored?.entry;
      if (entry?.kind !== 'offer' || entry.auto) return 'unknown';
      if (accept) state.release(uid, entry.from, entry.mid);
      else state.dropGroup(uid, entry.from, entry.mid);
      state.remove(uid, entryId);
      if (accept) {
        if (stored?.receipt) state.fileReceipt(entry.from, uid, entry.mid, 'delivered', now);
        return 'accepted';
      }
      state.fileReceipt(entry.from, uid, entry.mid, 'rejected', now);
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
      state.insert(uid, { entry, receipt: false, mask: 0 }, true);
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
        const stored = state.remove(uid, id);
        if (!stored) continue;
        expired++;
        const { entry } = stored;
        // `expired` only when no device acked it: one that did was delivered.
        if (stored.receipt && stored.mask === 0 && (entry.kind === 'msg' || entry.kind === 'offer')) {
          if (state.fileReceipt(entry.from, uid, entry.mid, 'expired', now)) receipts++;
        }
        if (entry.kind === 'offer') expired += state.dropGroup(uid, entry.from, entry.mid);
      }
      for (const [uid, from, mid] of groups) expired += state.dropGroup(uid, from, mid);
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

    onReceipts(next) {
      receipts = next;
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
