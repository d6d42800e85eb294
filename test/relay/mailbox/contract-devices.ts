import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  copyEntryId,
  type MailboxEntry,
  messageEntryId,
  receiptEntryId,
  type SendInput,
  type SendResult,
  type Store,
} from '../../../relay/mailbox/contract.js';
import { CONTRACT_LIMITS, type MakeStore, newUid, signalRecorder } from './contract.js';

/*
 * Per-device delivery (docs: /work/spec/accounts.md "The model"), on every store: each device of a
 * user has a slot; the live mask says which are live (written here as relay/account would).
 */

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY = 24 * 3600 * 1000;
const text = (s: string) => new TextEncoder().encode(s);

export function devicesContract(name: string, make: MakeStore): void {
  describe(`${name} store contract: devices`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let setLiveMask: (uid: string, mask: number) => Promise<void>;
    let alice: string;
    let bob: string;

    beforeEach(async () => {
      ({ store, close, setLiveMask } = await make());
      alice = newUid();
      bob = newUid();
      await store.register(alice, 'A'.repeat(43));
      await store.register(bob, 'B'.repeat(43));
    });
    afterEach(async () => {
      await close();
    });

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
    const ids = async (uid: string, slot: number, now = T0) =>
      (await store.fetch(uid, slot, 0, 1000, now)).entries.map((e) => e.id);
    const all = async (uid: string, slot = 0, now = T0): Promise<MailboxEntry[]> =>
      (await store.fetch(uid, slot, 0, 1000, now)).entries;

    describe('per-device delivery', () => {
      it("delivers an entry to each device: one device's ack clears only its claim, and it no longer fetches it", async () => {
        await setLiveMask(bob, 0b11);
        await stored({ receipt: true });
        const id = messageEntryId(alice, 'm1');
        expect(await ids(bob, 0)).toEqual([id]);
        expect(await ids(bob, 1)).toEqual([id]);
        expect(await store.ack(bob, 0, id, T0 + 1)).toEqual({ deleted: true });
        expect(await ids(bob, 0)).toEqual([]);
        expect(await ids(bob, 1)).toEqual([id]);
        // Acked again by the same device: nothing changes.
        expect(await store.ack(bob, 0, id, T0 + 2)).toEqual({ deleted: false });
        expect(await ids(bob, 1)).toEqual([id]);
      });

      it('deletes the entry once both devices acked it, filing the delivered receipt once, at the first ack', async () => {
        await setLiveMask(bob, 0b11);
        await stored({ receipt: true });
        const id = messageEntryId(alice, 'm1');
        await store.ack(bob, 1, id, T0 + 1);
        expect(await all(alice)).toMatchObject([
          { kind: 'receipt', id: receiptEntryId(bob, 'm1'), status: 'delivered', at: T0 + 1 },
        ]);
        expect(await store.ack(bob, 0, id, T0 + 2)).toEqual({ deleted: true });
        expect(await ids(bob, 0)).toEqual([]);
        expect(await ids(bob, 1)).toEqual([]);
        expect(await all(alice)).toMatchObject([{ kind: 'receipt', status: 'delivered', at: T0 + 1 }]);
        expect(await store.ack(bob, 1, id, T0 + 3)).toEqual({ deleted: false });
        // The mailbox was emptied: the next send has no predecessor.
        expect(await stored({ mid: 'next' })).toMatchObject({ prev: 0 });
      });

      it('answers acks of one turn by two devices each as its own, deleting the entry once', async () => {
        await setLiveMask(bob, 0b11);
        await stored({ mid: 'a', receipt: true });
        await stored({ mid: 'b' });
        const a = messageEntryId(alice, 'a');
        const b = messageEntryId(alice, 'b');
        const acks = await Promise.all([
          store.ack(bob, 0, a, T0 + 1),
          store.ack(bob, 1, a, T0 + 1),
          store.ack(bob, 0, a, T0 + 1),
          store.ack(bob, 1, b, T0 + 1),
        ]);
        expect(acks.map((r) => r.deleted)).toEqual([true, true, false, true]);
        expect(await ids(bob, 0)).toEqual([b]);
        expect(await ids(bob, 1)).toEqual([]);
        expect((await all(alice)).map((e) => e.id)).toEqual([receiptEntryId(bob, 'a')]);
      });

      it('frees quota only when the entry goes, not at a partial ack', async () => {
        await setLiveMask(bob, 0b11);
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        await store.ack(bob, 0, messageEntryId(alice, 'q0'), T0);
        expect(await send({ mid: 'over' })).toEqual({ status: 'quota_exceeded', limit: 'messages' });
        await store.ack(bob, 1, messageEntryId(alice, 'q0'), T0);
        expect(await send({ mid: 'over' })).toMatchObject({ status: 'stored', dup: false });
      });

      it('ignores an ack from a slot that is not live', async () => {
        await setLiveMask(bob, 0b01);
        await stored();
        const id = messageEntryId(alice, 'm1');
        expect(await store.ack(bob, 2, id, T0)).toEqual({ deleted: false });
        await setLiveMask(bob, 0b101);
        expect(await ids(bob, 2)).toEqual([id]);
      });

      it('files no expired receipt for an entry one device acked before it expired', async () => {
        await setLiveMask(bob, 0b11);
        await stored({ mid: 'seen', ttlMs: 1_000, receipt: true });
        await stored({ mid: 'unseen', ttlMs: 1_000, receipt: true });
        await store.ack(bob, 1, messageEntryId(alice, 'seen'), T0 + 1);
        // Alice has its delivered receipt and acks it: an expired one would be filed anew.
        expect(await store.ack(alice, 0, receiptEntryId(bob, 'seen'), T0 + 2)).toEqual({ deleted: true });
        expect(await store.sweep(T0 + 1_000, 100)).toEqual({ expired: 2, receipts: 1, more: false });
        expect(await ids(bob, 0, T0)).toEqual([]);
        const receipts = (await all(alice, 0, T0 + 1_000)).map((e) =>
          e.kind === 'receipt' ? [e.mid, e.status] : e.id,
        );
        expect(receipts).toEqual([['unseen', 'expired']]);
      });

      it('deletes at the revocation the entries every remaining device acked, and a device linked later gets what waits', async () => {
        await setLiveMask(bob, 0b111);
        for (const mid of ['a', 'b', 'c', 'd']) await stored({ mid, receipt: mid === 'a' });
        const id = (mid: string) => messageEntryId(alice, mid);
        await store.ackAll(bob, 0, [id('a'), id('c')], T0);
        await store.ackAll(bob, 1, [id('a')], T0);
        await store.ackAll(bob, 2, [id('b'), id('c')], T0);
        // Slot 2 is revoked: a (acked by 0 and 1) goes; c still waits for slot 1.
        await setLiveMask(bob, 0b011);
        expect(await store.dropDevice(bob, 2, T0 + 5)).toBe(1);
        expect(await ids(bob, 0)).toEqual([id('b'), id('d')]);
        expect(await ids(bob, 1)).toEqual([id('b'), id('c'), id('d')]);
        expect(await store.dropDevice(bob, 2, T0 + 6)).toBe(0);
        expect((await all(alice)).map((e) => e.id)).toEqual([receiptEntryId(bob, 'a')]);
        // A new device in slot 2 gets everything still waiting for anyone, its bit unset on all.
        await setLiveMask(bob, 0b111);
        expect(await ids(bob, 2)).toEqual([id('b'), id('c'), id('d')]);
        await store.ack(bob, 1, id('c'), T0);
        expect(await ids(bob, 2)).toEqual([id('b'), id('c'), id('d')]);
        await store.ack(bob, 2, id('c'), T0);
        expect(await ids(bob, 1)).toEqual([id('b'), id('d')]);
        expect(await ids(bob, 0)).toEqual([id('b'), id('d')]);
      });
    });

    describe('offers on several devices', () => {
      async function offer(receipt = true) {
        await stored({ mid: 'p-a', offer: 'sh', body: text('part') });
        const result = await store.share({
          from: alice,
          to: bob,
          mid: 'sh',
          preview: text('preview'),
          ttlMs: DAY,
          receipt,
          parts: 1,
          auto: false,
          now: T0,
        });
        expect(result).toMatchObject({ status: 'stored' });
        return messageEntryId(alice, 'sh');
      }

      it('clears only the claim of one device that acks an unanswered offer, and rejects it at the last', async () => {
        await setLiveMask(bob, 0b11);
        const id = await offer();
        expect(await store.ack(bob, 0, id, T0 + 1)).toEqual({ deleted: true });
        expect(await ids(bob, 0)).toEqual([]);
        expect(await ids(bob, 1)).toEqual([id]);
        expect(await all(alice)).toEqual([]);
        expect(await store.ack(bob, 1, id, T0 + 2)).toEqual({ deleted: true });
        expect(await all(alice)).toMatchObject([{ kind: 'receipt', mid: 'sh', status: 'rejected' }]);
        expect(await store.answer(bob, id, true, T0 + 3)).toBe('unknown');
      });

      it('removes the offer for every device when one answers it', async () => {
        await setLiveMask(bob, 0b11);
        const id = await offer();
        await store.ack(bob, 1, id, T0 + 1);
        expect(await store.answer(bob, id, true, T0 + 2)).toBe('accepted');
        const part = messageEntryId(alice, 'p-a');
        expect(await ids(bob, 0)).toEqual([part]);
        expect(await ids(bob, 1)).toEqual([part]);
        expect(await all(alice)).toMatchObject([{ kind: 'receipt', mid: 'sh', status: 'delivered' }]);
      });

      it('rejects an offer at the revocation of the one device that had not acked it', async () => {
        await setLiveMask(bob, 0b11);
        const id = await offer(false);
        await store.ack(bob, 0, id, T0 + 1);
        await setLiveMask(bob, 0b01);
        expect(await store.dropDevice(bob, 1, T0 + 2)).toBe(1);
        expect(await ids(bob, 0)).toEqual([]);
        expect(await all(alice)).toMatchObject([{ kind: 'receipt', mid: 'sh', status: 'rejected' }]);
      });
    });

    describe("copies in the sender's mailbox", () => {
      it('files a copy the sending device does not fetch and the other does, ringing the sender', async () => {
        await setLiveMask(alice, 0b11);
        const signals = signalRecorder(store);
        await store.watch(alice);
        const sent = await stored({ copy: { slot: 0 }, body: text('to bob') });
        const copy = copyEntryId(bob, 'm1');
        expect(await ids(bob, 0)).toEqual([messageEntryId(alice, 'm1')]);
        expect(await ids(alice, 0)).toEqual([]);
        expect(await all(alice, 1)).toEqual([
          {
            kind: 'sent',
            id: copy,
            seq: expect.any(Number),
            to: bob,
            mid: 'm1',
            ts: sent.ts,
            exp: sent.exp,
            body: text('to bob'),
          },
        ]);
        expect(await signals.next()).toEqual([alice, { type: 'bell', seq: expect.any(Number) }]);
        // Acked by the other device: gone, and no receipt anywhere.
        expect(await store.ack(alice, 1, copy, T0 + 1)).toEqual({ deleted: true });
        expect(await ids(alice, 1)).toEqual([]);
        expect(await ids(bob, 1)).toEqual([messageEntryId(alice, 'm1')]);
      });

      it('keeps one copy when the send is retried', async () => {
        await setLiveMask(alice, 0b11);
        await stored({ copy: { slot: 1 } });
        const [first] = await all(alice, 0);
        expect(await send({ copy: { slot: 1 }, now: T0 + 5 })).toMatchObject({ status: 'stored', dup: true });
        expect(await all(alice, 0)).toEqual([first]);
      });

      it("counts copies against no quota, the sender's or the recipient's", async () => {
        await setLiveMask(alice, 0b11);
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++)
          await stored({ mid: `q${i}`, copy: { slot: 0 } });
        expect(await ids(alice, 1)).toHaveLength(CONTRACT_LIMITS.mailboxMaxMessages);
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++)
          expect(await send({ from: bob, to: alice, mid: `r${i}` })).toMatchObject({
            status: 'stored',
            dup: false,
          });
        expect(await ids(alice, 0)).toHaveLength(CONTRACT_LIMITS.mailboxMaxMessages);
      });

      it('leaves no copy of a send that was refused', async () => {
        await setLiveMask(alice, 0b11);
        for (let i = 0; i < CONTRACT_LIMITS.mailboxMaxMessages; i++) await stored({ mid: `q${i}` });
        expect(await send({ mid: 'over', copy: { slot: 0 } })).toEqual({
          status: 'quota_exceeded',
          limit: 'messages',
        });
        expect(await send({ to: newUid(), mid: 'nobody', copy: { slot: 0 } })).toEqual({
          status: 'unknown_recipient',
        });
        expect(await ids(alice, 1)).toEqual([]);
      });

      it('files copies and sends of one turn together, each copy once', async () => {
        await setLiveMask(alice, 0b101);
        const results = await Promise.all(['a', 'b', 'a'].map((mid) => send({ mid, copy: { slot: 2 } })));
        expect(results.map((r) => r.status === 'stored' && r.dup)).toEqual([false, false, true]);
        expect(await ids(alice, 0)).toEqual([copyEntryId(bob, 'a'), copyEntryId(bob, 'b')]);
        expect(await ids(alice, 2)).toEqual([]);
      });
    });
  });
}
