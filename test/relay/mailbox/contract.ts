import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type MailboxEntry,
  messageEntryId,
  receiptEntryId,
  type SendInput,
  type SendResult,
  type ShareInput,
  type Signal,
  type Store,
  type StoreLimits,
} from '../../../relay/mailbox/contract.js';

/** The limits every contract run uses; a store under test must be made with them. */
export const CONTRACT_LIMITS: StoreLimits = {
  mailboxMaxMessages: 5,
  mailboxMaxBytes: 200_000,
  receiptTtlMs: 7 * 24 * 3600 * 1000,
};

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY = 24 * 3600 * 1000;

export function newUid(): string {
  return randomBytes(16).toString('base64url');
}

/** Collects signals; `next()` resolves with the first one not taken yet. */
export function signalRecorder(store: Store) {
  const received: [string, Signal][] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  store.onSignal((uid, signal) => {
    received.push([uid, signal]);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    received,
    async next(): Promise<[string, Signal]> {
      while (received.length <= taken) await new Promise<void>((resolve) => waiters.push(resolve));
      return received[taken++]!;
    },
  };
}

/** A store under test, with what a test needs beside it. */
export interface StoreUnderTest {
  store: Store;
  close(): Promise<void>;
  /**
   * Writes uid's live device mask where the store reads it (relay/account's job in the relay):
   * field m of pb:{uid}:d on Redis, setLiveMask in memory.
   */
  setLiveMask(uid: string, mask: number): Promise<void>;
  /** Every key with every value as text (Redis only: SCAN every primary, read each key). */
  dump?(): Promise<Map<string, string[]>>;
}

export type MakeStore = (limits?: StoreLimits) => Promise<StoreUnderTest>;

export function storeContract(name: string, make: MakeStore): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let alice: string;
    let bob: string;

    beforeEach(async () => {
      ({ store, close } = await make());
      alice = newUid();
      bob = newUid();
      await store.register(alice, 'A'.repeat(43));
      await store.register(bob, 'B'.repeat(43));
    });
    afterEach(async () => {
      await close();
    });

    const text = (s: string) => new TextEncoder().encode(s);
    function send(over: Partial<SendInput> = {}): Promise<SendResult> {
      return store.send({
        from: alice,
        to: bob,
        mid: 'm1',
        body: text('hello'),
        ttlMs: DAY,
        receipt: false,
        now: T0,
        bell: true,
        ...over,
      });
    }
    async function stored(over: Partial<SendInput> = {}) {
      const result = await send(over);
      if (result.status !== 'stored') throw new Error(`expected stored, got ${result.status}`);
      return result;
    }
    async function fetchAll(uid: string, now = T0): Promise<MailboxEntry[]> {
      return (await store.fetch(uid, 0, 0, 1000, now)).entries;
    }

    describe('identity', () => {
      it('returns each registered public key and null for an unknown user, in order', async () => {
        expect(await store.publicKeys([bob, newUid(), alice])).toEqual([
          'B'.repeat(43),
          null,
          'A'.repeat(43),
        ]);
      });

      it('registers idempotently', async () => {
        await store.register(alice, 'A'.repeat(43));
        expect(await store.publicKeys([alice])).toEqual(['A'.repeat(43)]);
      });
    });

    describe('send and fetch', () => {
      it('returns stored bodies byte-exact in the order they were sent', async () => {
        const bodies = [
          Uint8Array.from({ length: 256 }, (_, i) => i),
          new Uint8Array(randomBytes(65_536)),
          text('m:with:colons:0:1:'),
          Uint8Array.of(0),
        ];
        for (const [i, body] of bodies.entries()) await stored({ mid: `b${i}`, body, now: T0 + i });
        const entries = await fetchAll(bob);
        const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
        expect(entries.every((e) => e.kind === 'msg' && e.body instanceof Uint8Array)).toBe(true);
        expect(entries.map((e) => (e.kind === 'msg' ? hex(e.body) : null))).toEqual(bodies.map(hex));
        expect(entries.map((e) => e.id)).toEqual(bodies.map((_, i) => messageEntryId(alice, `b${i}`)));
        expect(entries[0]).toMatchObject({ kind: 'msg', from: alice, mid: 'b0', ts: T0, exp: T0 + DAY });
      });

      it('stores a retry of the same sender and mid once, answering dup with the original seq, ts and exp', async () => {
        const first = await stored();
        const retry = await send({ now: T0 + 5_000, ttlMs: 2 * DAY, body: text('other') });
        expect(retry).toEqual({
          status: 'stored',
          dup: true,
          seq: first.seq,
          prev: 0,
          ts: T0,
          exp: T0 + DAY,
        });
        const entries = await fetchAll(bob);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({ body: text('hello') });
      });

      it('keeps the same mid from two senders apart', async () => {
        await stored();
        await stored({ from: bob, to: bob });
        expect((await fetchAll(bob)).map((e) => e.id)).toEqual([
          messageEntryId(alice, 'm1'),
          messageEntryId(bob, 'm1'),
        ]);
      });

      it('assigns increasing seqs, each with its predecessor as prev', async () => {
        const a = await stored({ mid: 'a' });
        const b = await stored({ mid: 'b' });
        const c = await stored({ mid: 'c', now: T0 + 1 });
        expect(a.prev).toBe(0);
        expect(b.seq).toBeGreaterThan(a.seq);
        expect(b.prev).toBe(a.seq);
        expect(c.seq).toBeGreaterThan(b.seq);
        expect(c.prev).toBe(b.seq);
        expect((await fetchAll(bob, T0 + 1)).map((e) => e.seq)).toEqual([a.seq, b.seq, c.seq]);
      });

      it("keeps seqs increasing whatever clock the relay passes (seqs come from the store's clock)", async () => {
        const a = await stored({ mid: 'a', now: T0 + 10 });
        const b = await stored({ mid: 'b', now: T0 });
        expect(b.seq).toBeGreaterThan(a.seq);
        expect(b.prev).toBe(a.seq);
        await store.ack(bob, 0, messageEntryId(alice, 'a'), T0);
        await store.ack(bob, 0, messageEntryId(alice, 'b'), T0);
        // Emptied, refilled with an older relay clock: still above every seq handed out before.
        const c = await stored({ mid: 'c', now: T0 - 60_000 });
        expect(c.seq).toBeGreaterThan(b.seq);
      });

      it('answers prev with the high-water seq since the mailbox was last empty, and 0 once it was emptied', async () => {
        const a = await stored({ mid: 'a' });
        const b = await stored({ mid: 'b' });
        await store.ack(bob, 0, messageEntryId(alice, 'b'), T0);
        const c = await stored({ mid: 'c' });
        expect(c.prev).toBe(b.seq);
        expect(c.seq).toBeGreaterThan(b.seq);
        expect(b.seq).toBeGreaterThan(a.seq);
        await store.ack(bob, 0, messageEntryId(alice, 'a'), T0);
        await store.ack(bob, 0, messageEntryId(alice, 'c'), T0);
        expect((await stored({ mid: 'd', now: T0 + 1 })).prev).toBe(0);
      });

      it('pages with afterSeq and limit, reporting the last seq examined and whether more wait', async () => {
        const seqs: number[] = [];
        for (const mid of ['a', 'b', 'c', 'd', 'e']) seqs.push((await stored({ mid })).seq);
        const page1 = await store.fetch(bob, 0, 0, 2, T0);
        expect(page1.entries.map((e) => e.seq)).toEqual(seqs.slice(0, 2));
        expect([page1.last, page1.more]).toEqual([seqs[1], true]);
        const page2 = await store.fetch(bob, 0, page1.last, 2, T0);
        expect(page2.entries.map((e) => e.seq)).toEqual(seqs.slice(2, 4));
        expect([page2.last, page2.more]).toEqual([seqs[3], true]);
        const page3 = await store.fetch(bob, 0, page2.last, 2, T0);
        expect(page3.entries.map((e) => e.seq)).toEqual(seqs.slice(4));
        expect([page3.last, page3.more]).toEqual([seqs[4], false]);
      });

      it('returns nothing, with last at afterSeq and no more, when nothing waits', async () => {
        expect(await store.fetch(bob, 0, 0, 10, T0)).toEqual({ entries: [], last: 0, more: false });
        const { seq } = await stored();
        expect(await store.fetch(bob, 0, seq, 10, T0)).toEqual({ entries: [], last: seq, more: false });
      });

      it('answers a fetch of limit 0 with no entries, only whether some wait', async () => {
        await stored();
        expect(await store.fetch(bob, 0, 0, 0, T0)).toEqual({ entries: [], last: 0, more: true });
      });

      it('never returns an expired entry, but moves last past it', async () => {
        const short = await stored({ mid: 'short', ttlMs: 1_000 });
        const live = await stored({ mid: 'long' });
        const result = await store.fetch(bob, 0, 0, 10, T0 + 1_000);
        expect(result.entries.map((e) => e.id)).toEqual([messageEntryId(alice, 'long')]);
        expect([result.last, result.more]).toEqual([live.seq, false]);
        const onlyExpired = await store.fetch(bob, 0, 0, 1, T0 + 1_000);
        expect(onlyExpired.entries).toEqual([]);
        expect([onlyExpired.last, onlyExpired.more]).toEqual([short.seq, true]);
      });

      it('answers unknown_recipient for a recipient who never registered, and stores nothing', async () => {
        const nobody = newUid();
        expect(await send({ to: nobody })).toEqual({ status: 'unknown_recipient' });
        expect(await fetchAll(nobody)).toEqual([]);
      });
    });

    describe('quota', () => {
      it('refuses a message beyond the message limit with limit "messages"', async () => {
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        expect(await send({ mid: 'over' })).toEqual({ status: 'quota_exceeded', limit: 'messages' });
        expect(await fetchAll(bob)).toHaveLength(CONTRACT_LIMITS.mailboxMaxMessages);
      });

      it('refuses a message that would pass the byte limit with limit "bytes", and takes one that fills it', async () => {
        const big = new Uint8Array(CONTRACT_LIMITS.mailboxMaxBytes - 10);
        await stored({ mid: 'big', body: big });
        expect(await send({ mid: 'eleven', body: new Uint8Array(11) })).toEqual({
          status: 'quota_exceeded',
          limit: 'bytes',
        });
        expect((await send({ mid: 'ten', body: new Uint8Array(10) })).status).toBe('stored');
      });

      it('answers a retry as dup even when the mailbox is full', async () => {
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        expect(await send({ mid: 'q0' })).toMatchObject({ status: 'stored', dup: true });
      });

      it('frees room when a message is acked', async () => {
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        await store.ack(bob, 0, messageEntryId(alice, 'q0'), T0);
        expect(await send({ mid: 'next' })).toMatchObject({ status: 'stored', dup: false });
      });

      it('does not count receipts against the quota', async () => {
        // Bob's mailbox gets a receipt for each message Alice acks.
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) {
          await stored({ from: bob, to: alice, mid: `r${i}`, receipt: true });
          await store.ack(alice, 0, messageEntryId(bob, `r${i}`), T0);
        }
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        const kinds = (await fetchAll(bob)).map((e) => e.kind);
        expect(kinds.filter((k) => k === 'receipt')).toHaveLength(CONTRACT_LIMITS.mailboxMaxMessages);
        expect(kinds.filter((k) => k === 'msg')).toHaveLength(CONTRACT_LIMITS.mailboxMaxMessages);
      });
    });

    describe('ack', () => {
      it('deletes the entry, and answers deleted:false when it is already gone', async () => {
        await stored({ mid: 'a' });
        await stored({ mid: 'b' });
        const id = messageEntryId(alice, 'a');
        expect(await store.ack(bob, 0, id, T0)).toEqual({ deleted: true });
        expect(await store.ack(bob, 0, id, T0)).toEqual({ deleted: false });
        expect((await fetchAll(bob)).map((e) => e.id)).toEqual([messageEntryId(alice, 'b')]);
      });

      it('answers deleted:false for an entry of another mailbox', async () => {
        await stored();
        expect(await store.ack(alice, 0, messageEntryId(alice, 'm1'), T0)).toEqual({ deleted: false });
        expect(await fetchAll(bob)).toHaveLength(1);
      });

      it("files a delivered receipt in the sender's mailbox when one was asked", async () => {
        await stored({ receipt: true });
        await store.ack(bob, 0, messageEntryId(alice, 'm1'), T0 + 60_000);
        const entries = await fetchAll(alice, T0 + 60_000);
        expect(entries).toEqual([
          {
            kind: 'receipt',
            id: receiptEntryId(bob, 'm1'),
            seq: expect.any(Number),
            to: bob,
            mid: 'm1',
            status: 'delivered',
            at: T0 + 60_000,
            exp: T0 + 60_000 + CONTRACT_LIMITS.receiptTtlMs,
          },
        ]);
        expect(await fetchAll(bob)).toEqual([]);
      });

      it('acks several entries in one call, each as its own ack, in order', async () => {
        await stored({ mid: 'a', receipt: true });
        await stored({ mid: 'b' });
        const a = messageEntryId(alice, 'a');
        const b = messageEntryId(alice, 'b');
        const gone = messageEntryId(alice, 'never-sent');
        expect(await store.ackAll(bob, 0, [a, gone, b, a], T0)).toEqual([
          { deleted: true },
          { deleted: false },
          { deleted: true },
          { deleted: false },
        ]);
        expect(await fetchAll(bob)).toEqual([]);
        expect((await fetchAll(alice)).map((e) => e.id)).toEqual([receiptEntryId(bob, 'a')]);
      });

      it('files no receipt when none was asked', async () => {
        await stored({ receipt: false });
        await store.ack(bob, 0, messageEntryId(alice, 'm1'), T0);
        expect(await fetchAll(alice)).toEqual([]);
      });

      it('deletes an acked receipt without filing another', async () => {
        await stored({ receipt: true });
        await store.ack(bob, 0, messageEntryId(alice, 'm1'), T0);
        expect(await store.ack(alice, 0, receiptEntryId(bob, 'm1'), T0)).toEqual({ deleted: true });
        expect(await fetchAll(alice)).toEqual([]);
        expect(await fetchAll(bob)).toEqual([]);
      });

      it('files a receipt for a message a user sent to itself', async () => {
        await stored({ to: alice, receipt: true });
        await store.ack(alice, 0, messageEntryId(alice, 'm1'), T0);
        expect((await fetchAll(alice)).map((e) => e.id)).toEqual([receiptEntryId(alice, 'm1')]);
      });
    });

    describe('expiry', () => {
      it("keeps each entry's own expiry: a newer message does not extend an older one", async () => {
        await stored({ mid: 'old', ttlMs: 1_000 });
        await stored({ mid: 'new', ttlMs: 10_000, now: T0 + 500 });
        expect((await fetchAll(bob, T0 + 999)).map((e) => e.id)).toHaveLength(2);
        expect((await fetchAll(bob, T0 + 1_000)).map((e) => e.id)).toEqual([messageEntryId(alice, 'new')]);
        expect(await store.sweep(T0 + 1_000, 100)).toEqual({ expired: 1, receipts: 0, more: false });
        expect((await fetchAll(bob, T0 + 1_000)).map((e) => e.exp)).toEqual([T0 + 10_500]);
      });

      it("deletes expired entries and files expired receipts in the senders' mailboxes", async () => {
        await stored({ mid: 'asked', ttlMs: 1_000, receipt: true });
        await stored({ mid: 'quiet', ttlMs: 1_000 });
        await stored({ mid: 'later', ttlMs: 5_000, receipt: true });
        const now = T0 + 2_000;
        expect(await store.sweep(now, 100)).toEqual({ expired: 2, receipts: 1, more: false });
        expect((await fetchAll(bob, now)).map((e) => e.id)).toEqual([messageEntryId(alice, 'later')]);
        expect(await fetchAll(alice, now)).toEqual([
          expect.objectContaining({
            kind: 'receipt',
            id: receiptEntryId(bob, 'asked'),
            status: 'expired',
            at: now,
            exp: now + CONTRACT_LIMITS.receiptTtlMs,
          }),
        ]);
      });

      it('lets expired receipts vanish without a receipt of their own', async () => {
        await stored({ receipt: true });
        await store.ack(bob, 0, messageEntryId(alice, 'm1'), T0);
        const later = T0 + CONTRACT_LIMITS.receiptTtlMs;
        expect(await store.sweep(later, 100)).toEqual({ expired: 1, receipts: 0, more: false });
        expect(await fetchAll(alice, T0)).toEqual([]);
        expect(await fetchAll(bob, T0)).toEqual([]);
      });

      it('sweeps no more than its limit and reports that more remain', async () => {
        const carol = newUid();
        await store.register(carol, 'C'.repeat(43));
        for (const mid of ['a', 'b', 'c']) await stored({ mid, ttlMs: 1_000 });
        for (const mid of ['a', 'b']) await stored({ to: carol, mid, ttlMs: 1_000 });
        const now = T0 + 1_000;
        const first = await store.sweep(now, 2);
        const second = await store.sweep(now, 2);
        const third = await store.sweep(now, 2);
        expect([first, second, third]).toEqual([
          { expired: 2, receipts: 0, more: true },
          { expired: 2, receipts: 0, more: true },
          { expired: 1, receipts: 0, more: false },
        ]);
        expect(await store.sweep(now, 2)).toEqual({ expired: 0, receipts: 0, more: false });
      });

      it('sweeps nothing that was acked before it expired, and still finds what expires later', async () => {
        await stored({ mid: 'early', ttlMs: 1_000, receipt: true });
        await stored({ mid: 'late', ttlMs: 3_000 });
        await store.ack(bob, 0, messageEntryId(alice, 'early'), T0);
        expect(await store.sweep(T0 + 2_000, 100)).toEqual({ expired: 0, receipts: 0, more: false });
        expect(await fetchAll(bob, T0 + 2_000)).toHaveLength(1);
        expect(await store.sweep(T0 + 3_000, 100)).toEqual({ expired: 1, receipts: 0, more: false });
        expect(await fetchAll(bob, T0)).toEqual([]);
      });

      it('expires a short-lived message sent after longer-lived ones at its own time', async () => {
        const ttls = { a: 10_000, b: 1_000, c: 20_000, d: 2_000 };
        for (const [mid, ttlMs] of Object.entries(ttls)) await stored({ mid, ttlMs });
        const left = async (now: number) => (await fetchAll(bob, now)).map((e) => e.id.split(':')[2]);
        expect(await store.sweep(T0 + 1_000, 100)).toEqual({ expired: 1, receipts: 0, more: false });
        expect(await left(T0 + 1_000)).toEqual(['a', 'c', 'd']);
        expect(await store.sweep(T0 + 2_000, 100)).toEqual({ expired: 1, receipts: 0, more: false });
        expect(await store.sweep(T0 + 9_999, 100)).toEqual({ expired: 0, receipts: 0, more: false });
        expect(await left(T0 + 9_999)).toEqual(['a', 'c']);
        expect(await store.sweep(T0 + 20_000, 100)).toEqual({ expired: 2, receipts: 0, more: false });
        expect(await fetchAll(bob, T0)).toEqual([]);
      });

      it('expires a message on time in a mailbox whose earliest entry is a share filed for a month', async () => {
        // The expiry index then lists the mailbox at the share's month; a message for two days,
        // filed after the earlier entry that set the mailbox's order went, must still be found.
        await stored({ mid: 'first', ttlMs: DAY });
        await stored({ mid: 'part', offer: 'album', ttlMs: 30 * DAY });
        const offer = await store.share({
          from: alice,
          to: bob,
          mid: 'album',
          preview: text('preview'),
          ttlMs: 30 * DAY,
          receipt: false,
          parts: 1,
          auto: false,
          now: T0,
        });
        expect(offer).toMatchObject({ status: 'stored' });
        expect(await store.ack(bob, 0, messageEntryId(alice, 'first'), T0)).toEqual({ deleted: true });
        expect(await store.sweep(T0 + 1, 100)).toMatchObject({ expired: 0 });
        await stored({ mid: 'later', ttlMs: 2 * DAY, now: T0 + 2 });
        expect(await store.sweep(T0 + 2 + 2 * DAY, 100)).toEqual({ expired: 1, receipts: 0, more: false });
        expect((await fetchAll(bob, T0)).map((e) => e.id)).toEqual([messageEntryId(alice, 'album')]);
      });

      it('sweeps exactly what is due, in small steps, among mixed lifetimes, acks and receipts', async () => {
        // A mailbox that holds 120 messages: a store of its own (a fresh one: Redis is emptied).
        const own = await make({ ...CONTRACT_LIMITS, mailboxMaxMessages: 200 });
        try {
          const [from, to] = [newUid(), newUid()];
          await own.store.register(from, 'F'.repeat(43));
          await own.store.register(to, 'T'.repeat(43));
          // Lifetimes in and out of send order (a fixed pseudo-random sequence), every fifth
          // message acknowledged, a third asking for receipts; swept at nine times, 7 per call.
          let state = 7;
          const next = () => {
            state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
            return state / 2_147_483_648;
          };
          const waiting = new Map<string, number>();
          for (let i = 0; i < 120; i++) {
            const ttlMs = 1_000 * (1 + Math.floor(next() * 9));
            const mid = `p${i}`;
            const r = await own.store.send({
              from,
              to,
              mid,
              body: text(mid),
              ttlMs,
              receipt: i % 3 === 0,
              now: T0 + i,
              bell: false,
            });
            expect(r.status).toBe('stored');
            waiting.set(mid, T0 + i + ttlMs);
          }
          for (let i = 0; i < 120; i += 5) {
            expect(await own.store.ack(to, 0, messageEntryId(from, `p${i}`), T0 + 200)).toEqual({
              deleted: true,
            });
            waiting.delete(`p${i}`);
          }
          let expiredReceipts = 0;
          for (let now = T0 + 1_000; now <= T0 + 10_000; now += 1_125) {
            for (let more = true; more; ) {
              const swept = await own.store.sweep(now, 7);
              expect(swept.expired).toBeLessThanOrEqual(7);
              expiredReceipts += swept.receipts;
              more = swept.more;
            }
            for (const [mid, exp] of waiting) if (exp <= now) waiting.delete(mid);
            const left = (await own.store.fetch(to, 0, 0, 1000, T0)).entries.map((e) => e.id.split(':')[2]);
            expect(left).toEqual([...waiting.keys()]);
          }
          expect(waiting.size).toBe(0);
          // 40 asked for a receipt: 8 of them were acknowledged (i % 15 === 0), 32 expired.
          expect(expiredReceipts).toBe(32);
          const receipts = (await own.store.fetch(from, 0, 0, 1000, T0 + 10_000)).entries;
          expect(receipts.map((e) => (e.kind === 'receipt' ? e.status : e.kind)).sort()).toEqual([
            ...Array(8).fill('delivered'),
            ...Array(32).fill('expired'),
          ]);
        } finally {
          await own.close();
        }
      });

      it('expires nothing before its time', async () => {
        await stored({ ttlMs: 1_000 });
        expect(await store.sweep(T0 + 999, 100)).toEqual({ expired: 0, receipts: 0, more: false });
        expect(await fetchAll(bob, T0 + 999)).toHaveLength(1);
      });
    });

    describe('signals', () => {
      it('probes many mailboxes at once for an entry after a seq (the safety pull)', async () => {
        const carol = newUid();
        const first = await stored();
        const second = await stored({ mid: 'm2', now: T0 + 1 });
        await stored({ from: bob, to: alice, mid: 'to-alice', ttlMs: 1 });
        expect(
          await store.newer([
            { uid: bob, after: 0 },
            { uid: bob, after: first.seq },
            { uid: bob, after: second.seq },
            { uid: carol, after: 0 },
            // Expired but not swept yet: it counts (the fetch that follows moves past it).
            { uid: alice, after: 0 },
          ]),
        ).toEqual([true, true, false, false, true]);
        expect(await store.newer([])).toEqual([]);
        // Acked by the only device and so deleted: nothing newer any more.
        await store.ack(bob, 0, messageEntryId(alice, 'm1'), T0 + 2);
        await store.ack(bob, 0, messageEntryId(alice, 'm2'), T0 + 2);
        expect(await store.newer([{ uid: bob, after: 0 }])).toEqual([false]);
      });

      it("rings a watched user's doorbell with the seq, and not an unwatched user's", async () => {
        const signals = signalRecorder(store);
        await store.watch(bob);
        await stored({ from: bob, to: alice, mid: 'to-unwatched' });
        const { seq } = await stored();
        expect(await signals.next()).toEqual([bob, { type: 'bell', seq }]);
        expect(signals.received).toHaveLength(1);
      });

      it('rings no doorbell when bell is false', async () => {
        const signals = signalRecorder(store);
        await store.watch(bob);
        await stored({ mid: 'quiet', bell: false });
        const { seq } = await stored({ mid: 'loud' });
        expect(await signals.next()).toEqual([bob, { type: 'bell', seq }]);
      });

      it("rings the sender's doorbell when a receipt is filed", async () => {
        const signals = signalRecorder(store);
        await store.watch(alice);
        await stored({ receipt: true });
        await store.ack(bob, 0, messageEntryId(alice, 'm1'), T0 + 1);
        expect(await signals.next()).toEqual([alice, { type: 'bell', seq: expect.any(Number) }]);
      });

      it('stops ringing after unwatch', async () => {
        const signals = signalRecorder(store);
        await store.watch(alice);
        await store.watch(bob);
        await store.unwatch(bob);
        await stored({ mid: 'unheard' });
        const { seq } = await stored({ from: bob, to: alice, mid: 'heard' });
        expect(await signals.next()).toEqual([alice, { type: 'bell', seq }]);
        expect(signals.received).toHaveLength(1);
      });

      it('keeps the order of watches and unwatches issued in one tick', async () => {
        const signals = signalRecorder(store);
        const carol = newUid();
        await store.register(carol, 'C'.repeat(43));
        // bob: watched, then unwatched in the same tick; carol: the other way round, then watched
        // again; alice: watched alone, a marker that the signals before it were looked for.
        await Promise.all([
          store.watch(bob),
          store.unwatch(carol),
          store.unwatch(bob),
          store.watch(carol),
          store.watch(alice),
        ]);
        await stored({ mid: 'unheard' });
        const toCarol = await stored({ from: bob, to: carol, mid: 'heard' });
        const toAlice = await stored({ from: bob, to: alice, mid: 'marker' });
        // (On a Cluster the two may come from different primaries, in either order.)
        const heard = [await signals.next(), await signals.next()];
        expect(heard).toEqual(
          expect.arrayContaining([
            [carol, { type: 'bell', seq: toCarol.seq }],
            [alice, { type: 'bell', seq: toAlice.seq }],
          ]),
        );
        expect(signals.received).toHaveLength(2);
      });

      it('delivers a kick with the connection token', async () => {
        const signals = signalRecorder(store);
        await store.watch(bob);
        await store.kick(alice, 'not-watched');
        await store.kick(bob, 'conn-7');
        expect(await signals.next()).toEqual([bob, { type: 'kick', conn: 'conn-7' }]);
      });
    });

    describe('shares', () => {
      const part = (mid: string, over: Partial<SendInput> = {}) =>
        stored({ mid, offer: 'sh', body: text(mid), ...over });
      function share(over: Partial<ShareInput> = {}) {
        return store.share({
          from: alice,
          to: bob,
          mid: 'sh',
          preview: text('a photo of the lake'),
          ttlMs: DAY,
          receipt: false,
          parts: 2,
          auto: false,
          now: T0 + 10,
          ...over,
        });
      }

      it('holds the parts of a share undelivered, and files the offer only once all are stored', async () => {
        await part('p-b');
        expect(await fetchAll(bob)).toEqual([]);
        expect(await share()).toEqual({ status: 'incomplete', held: 1 });
        expect((await part('p-b')).dup).toBe(true);
        await part('p-a');
        const offered = await share();
        expect(offered).toMatchObject({ status: 'stored', dup: false, exp: T0 + DAY });
        const [offer] = await fetchAll(bob);
        expect(offer).toMatchObject({
          kind: 'offer',
          id: messageEntryId(alice, 'sh'),
          from: alice,
          parts: 2,
          auto: false,
        });
        expect(offer?.kind === 'offer' && new TextDecoder().decode(offer.preview)).toBe(
          'a photo of the lake',
        );
        expect(await share()).toMatchObject({ status: 'stored', dup: true });
      });

      it('delivers the parts in the order they came when the recipient accepts', async () => {
        await part('p-b');
        await part('p-a');
        await share();
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), true, T0 + 20)).toBe('accepted');
        const entries = await fetchAll(bob);
        expect(entries.map((e) => e.id)).toEqual([
          messageEntryId(alice, 'p-b'),
          messageEntryId(alice, 'p-a'),
        ]);
        expect(entries[0]).toMatchObject({ kind: 'msg', exp: T0 + DAY });
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), true, T0 + 20)).toBe('unknown');
      });

      it('deletes the parts at once and tells the sender when the recipient rejects', async () => {
        await part('p-a');
        await part('p-b');
        await share();
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), false, T0 + 20)).toBe('rejected');
        expect(await fetchAll(bob)).toEqual([]);
        expect(await fetchAll(alice)).toMatchObject([
          { kind: 'receipt', mid: 'sh', status: 'rejected', at: T0 + 20 },
        ]);
        // The parts no longer count against the recipient's quota.
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
      });

      it('releases the parts at once for a pre-approved share', async () => {
        await part('p-a');
        await part('p-b');
        await share({ auto: true });
        const entries = await fetchAll(bob);
        expect(entries.map((e) => e.kind)).toEqual(['msg', 'msg', 'offer']);
        expect(entries[2]).toMatchObject({ auto: true });
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), false, T0)).toBe('unknown');
      });

      it('files a delivered receipt for a share that asked for one once it is accepted by hand', async () => {
        await part('p-a');
        await part('p-b');
        await share({ receipt: true });
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), true, T0 + 20)).toBe('accepted');
        expect(await fetchAll(alice)).toMatchObject([
          { kind: 'receipt', to: bob, mid: 'sh', status: 'delivered', at: T0 + 20 },
        ]);
      });

      it('files a delivered receipt for a pre-approved share that asked for one once its offer is acked', async () => {
        await part('p-a');
        await part('p-b');
        await share({ receipt: true, auto: true });
        const [offer] = (await fetchAll(bob)).filter((e) => e.kind === 'offer');
        expect(offer).toMatchObject({ auto: true });
        expect(await fetchAll(alice)).toEqual([]);
        expect(await store.ack(bob, 0, messageEntryId(alice, 'sh'), T0 + 30)).toEqual({ deleted: true });
        expect(await fetchAll(alice)).toMatchObject([{ kind: 'receipt', mid: 'sh', status: 'delivered' }]);
      });

      it('files no receipt for an accepted share that did not ask for one', async () => {
        await part('p-a');
        await part('p-b');
        await share();
        await store.answer(bob, messageEntryId(alice, 'sh'), true, T0 + 20);
        expect(await fetchAll(alice)).toEqual([]);
      });

      it('treats an ack of an unanswered offer as a rejection', async () => {
        await part('p-a');
        await part('p-b');
        await share({ receipt: true });
        expect(await store.ack(bob, 0, messageEntryId(alice, 'sh'), T0 + 30)).toEqual({ deleted: true });
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), true, T0 + 30)).toBe('unknown');
        expect(await fetchAll(alice)).toMatchObject([{ kind: 'receipt', status: 'rejected' }]);
      });

      it('never lets an offer outlive its parts, and expires both with a receipt when asked', async () => {
        await part('p-a', { ttlMs: 1000 });
        await part('p-b', { ttlMs: DAY });
        const offered = await share({ receipt: true });
        expect(offered).toMatchObject({ status: 'stored', exp: T0 + 1000 });
        const swept = await store.sweep(T0 + 1000, 100);
        expect(swept).toMatchObject({ expired: 3, receipts: 1 });
        expect(await fetchAll(bob, T0 + 1000)).toEqual([]);
        expect(await fetchAll(alice, T0 + 1000)).toMatchObject([
          { kind: 'receipt', mid: 'sh', status: 'expired' },
        ]);
      });

      it('expires held parts whose share never came', async () => {
        await part('p-a', { ttlMs: 1000 });
        expect(await store.sweep(T0 + 1000, 100)).toMatchObject({ expired: 1 });
        expect(await share({ parts: 1 })).toEqual({ status: 'incomplete', held: 0 });
      });

      it('drops the parts of an unfinished share once the hold time after the latest part has passed', async () => {
        await part('p-a', { holdMs: 1000 });
        await part('p-b', { holdMs: 1000, now: T0 + 800 });
        expect(await store.sweep(T0 + 1000, 100)).toMatchObject({ expired: 0 });
        expect(await store.sweep(T0 + 1800, 100)).toMatchObject({ expired: 2 });
        expect(await share({ now: T0 + 1800 })).toEqual({ status: 'incomplete', held: 0 });
        // They no longer count against the recipient's quota.
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
      });

      it('keeps the parts as long as the offer once the share is stored, past the hold time', async () => {
        await part('p-a', { holdMs: 1000 });
        await part('p-b', { holdMs: 1000 });
        await share();
        expect(await store.sweep(T0 + 5000, 100)).toMatchObject({ expired: 0 });
        expect(await store.answer(bob, messageEntryId(alice, 'sh'), true, T0 + 5000)).toBe('accepted');
        const entries = await fetchAll(bob, T0 + 5000);
        expect(entries.map((e) => e.id)).toEqual([
          messageEntryId(alice, 'p-a'),
          messageEntryId(alice, 'p-b'),
        ]);
      });
    });

    describe('operations issued in one event-loop turn', () => {
      it('answers concurrent sends to one mailbox as if one after another: a repeat is dup, the quota stops the overflow, prevs chain', async () => {
        const mids = ['q0', 'q1', 'q0', 'q2', 'q3', 'q4', 'q5'];
        const results = await Promise.all(mids.map((mid, i) => send({ mid, now: T0 + i })));
        const firsts = results.filter((r) => r.status === 'stored' && !r.dup);
        expect(results.map((r) => (r.status === 'stored' ? (r.dup ? 'dup' : 'stored') : r.status))).toEqual([
          'stored',
          'stored',
          'dup',
          'stored',
          'stored',
          'stored',
          'quota_exceeded',
        ]);
        expect(results[6]).toEqual({ status: 'quota_exceeded', limit: 'messages' });
        expect(results[2]).toEqual({ ...results[0], dup: true, prev: 0 });
        const seqs = firsts.map((r) => (r.status === 'stored' ? r.seq : 0));
        expect(firsts.map((r) => (r.status === 'stored' ? r.prev : -1))).toEqual([0, ...seqs.slice(0, -1)]);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect((await fetchAll(bob)).map((e) => e.id)).toEqual(
          ['q0', 'q1', 'q2', 'q3', 'q4'].map((mid) => messageEntryId(alice, mid)),
        );
      });

      it('keeps each mailbox in send order when one turn interleaves sends to several', async () => {
        const carol = newUid();
        await store.register(carol, 'C'.repeat(43));
        const to = [bob, carol, bob, carol, bob];
        await Promise.all(to.map((uid, i) => stored({ to: uid, mid: `i${i}` })));
        expect((await fetchAll(bob)).map((e) => e.id)).toEqual(
          ['i0', 'i2', 'i4'].map((mid) => messageEntryId(alice, mid)),
        );
        expect((await fetchAll(carol)).map((e) => e.id)).toEqual(
          ['i1', 'i3'].map((mid) => messageEntryId(alice, mid)),
        );
      });

      it('answers unknown_recipient for every send of a turn to an unregistered user', async () => {
        const nobody = newUid();
        const results = await Promise.all([send({ to: nobody, mid: 'a' }), send({ to: nobody, mid: 'b' })]);
        expect(results).toEqual([{ status: 'unknown_recipient' }, { status: 'unknown_recipient' }]);
      });

      it('deletes each entry once when a turn acks it twice, empties the mailbox, and files each receipt once', async () => {
        await stored({ mid: 'a', receipt: true });
        await stored({ mid: 'b' });
        await stored({ mid: 'c', receipt: true });
        const ids = ['a', 'a', 'b', 'c'].map((mid) => messageEntryId(alice, mid));
        const acks = await Promise.all(ids.map((id) => store.ack(bob, 0, id, T0 + 1)));
        expect(acks.map((a) => a.deleted)).toEqual([true, false, true, true]);
        expect(await fetchAll(bob)).toEqual([]);
        expect((await fetchAll(alice)).map((e) => e.id)).toEqual([
          receiptEntryId(bob, 'a'),
          receiptEntryId(bob, 'c'),
        ]);
        // Emptied: the next send has no predecessor, and the quota counts from zero again.
        expect(await stored({ mid: 'd' })).toMatchObject({ prev: 0 });
        for (let i = 1; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `r${i}` });
        expect(await send({ mid: 'over' })).toEqual({ status: 'quota_exceeded', limit: 'messages' });
      });

      it('frees quota for every entry a turn acks while others stay', async () => {
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        await Promise.all(['q1', 'q3'].map((mid) => store.ack(bob, 0, messageEntryId(alice, mid), T0)));
        await stored({ mid: 'n1' });
        await stored({ mid: 'n2' });
        expect(await send({ mid: 'n3' })).toEqual({ status: 'quota_exceeded', limit: 'messages' });
        expect((await fetchAll(bob)).map((e) => e.id)).toEqual(
          ['q0', 'q2', 'q4', 'n1', 'n2'].map((mid) => messageEntryId(alice, mid)),
        );
      });

      it('holds a share part and stores a plain message sent to the same mailbox in one turn', async () => {
        const [held, plain] = await Promise.all([
          send({ mid: 'p-a', offer: 'sh', body: text('part') }),
          send({ mid: 'plain', body: text('plain') }),
        ]);
        expect(held).toMatchObject({ status: 'stored', dup: false });
        expect(plain).toMatchObject({ status: 'stored', dup: false });
        expect((await fetchAll(bob)).map((e) => e.id)).toEqual([messageEntryId(alice, 'plain')]);
      });

      it('declines an offer acked in the same turn as other entries of the mailbox', async () => {
        await stored({ mid: 'p-a', offer: 'sh', body: text('part') });
        await stored({ mid: 'plain' });
        await store.share({
          from: alice,
          to: bob,
          mid: 'sh',
          preview: text('preview'),
          ttlMs: DAY,
          receipt: true,
          parts: 1,
          auto: false,
          now: T0,
        });
        const acks = await Promise.all(
          ['plain', 'sh'].map((mid) => store.ack(bob, 0, messageEntryId(alice, mid), T0 + 1)),
        );
        expect(acks).toEqual([{ deleted: true }, { deleted: true }]);
        expect(await fetchAll(bob)).toEqual([]);
        expect(await fetchAll(alice)).toMatchObject([{ kind: 'receipt', mid: 'sh', status: 'rejected' }]);
      });
    });

    describe('health', () => {
      it('answers healthy while open', async () => {
        expect(await store.healthy()).toBe(true);
      });
    });
  });
}
