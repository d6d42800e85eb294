import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  copyEntryId,
  messageEntryId,
  noticeEntryId,
  receiptEntryId,
  type SendInput,
  type Store,
} from '../../../relay/mailbox/contract.js';
import { CONTRACT_LIMITS, type MakeStore, newUid, type StoreUnderTest } from './contract.js';

/*
 * The mailbox's part of export and erase (/work/spec/accounts.md "Who does what"), on every store.
 */

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY = 24 * 3600 * 1000;
const text = (s: string) => new TextEncoder().encode(s);

export function eraseContract(name: string, make: MakeStore): void {
  describe(`${name} store contract: export and erase`, () => {
    let under: StoreUnderTest;
    let store: Store;
    let alice: string;
    let bob: string;
    let carol: string;
    let eve: string;

    beforeEach(async () => {
      under = await make();
      store = under.store;
      [alice, bob, carol, eve] = [newUid(), newUid(), newUid(), newUid()];
      for (const uid of [alice, bob, carol, eve]) await store.register(uid, 'K'.repeat(43));
    });
    afterEach(async () => {
      await under.close();
    });

    async function stored(input: Partial<SendInput> & Pick<SendInput, 'from' | 'to' | 'mid'>) {
      const result = await store.send({
        body: text('hello'),
        ttlMs: DAY,
        receipt: false,
        now: T0,
        bell: false,
        ...input,
      });
      expect(result).toMatchObject({ status: 'stored' });
    }
    const ids = async (uid: string, slot = 0) =>
      (await store.fetch(uid, slot, 0, 1000, T0)).entries.map((e) => e.id);

    it("sums up a user's own mailbox: counts, bytes, expiries, receipts and what each device has not acked", async () => {
      await under.setLiveMask(bob, 0b11);
      await stored({ from: alice, to: bob, mid: 'a', ttlMs: DAY });
      await stored({ from: alice, to: bob, mid: 'b', ttlMs: 2 * DAY, body: text('hello!!') });
      await stored({ from: bob, to: alice, mid: 'r', receipt: true });
      await store.ack(alice, 0, messageEntryId(bob, 'r'), T0);
      await store.ack(bob, 0, messageEntryId(alice, 'a'), T0);
      await stored({ from: carol, to: bob, mid: 'held', offer: 'sh', body: text('part'), ttlMs: 3 * DAY });
      expect(await store.summary(bob, [0, 1], T0)).toEqual({
        entries: 3,
        messages: 3,
        bytes: 5 + 7 + 4,
        oldestExpiry: T0 + DAY,
        newestExpiry: T0 + CONTRACT_LIMITS.receiptTtlMs,
        receipts: 1,
        perSlot: [
          { slot: 0, waiting: 2, bytes: 7 },
          { slot: 1, waiting: 3, bytes: 12 },
        ],
      });
      expect(await store.summary(newUid(), [0], T0)).toEqual({
        entries: 0,
        messages: 0,
        bytes: 0,
        oldestExpiry: null,
        newestExpiry: null,
        receipts: 0,
        perSlot: [{ slot: 0, waiting: 0, bytes: 0 }],
      });
    });

    /** Everything naming eve in three other mailboxes, and in her own. */
    async function plant(): Promise<void> {
      await under.setLiveMask(bob, 0b11);
      await under.setLiveMask(carol, 0b11);
      // alice: a message and a notice from eve, a held part of eve's unfinished share; bob's message.
      await stored({ from: eve, to: alice, mid: 'hi', receipt: true });
      const notice = { kind: 'friend', user: eve, state: 'incoming' } as const;
      expect(await store.notify(alice, noticeEntryId(eve, 'tag'), notice, T0, T0 + DAY)).toBe(true);
      await stored({ from: eve, to: alice, mid: 'p1', offer: 'album', body: text('held') });
      await stored({ from: bob, to: alice, mid: 'keep' });
      // bob: a receipt from eve's mailbox, a copy of what bob sent eve, carol's message.
      await stored({ from: bob, to: eve, mid: 'asked', receipt: true });
      await store.ack(eve, 0, messageEntryId(bob, 'asked'), T0);
      await stored({ from: bob, to: eve, mid: 'copied', copy: { slot: 0 } });
      await stored({ from: carol, to: bob, mid: 'keep' });
      // carol: an offer of eve's waiting for an answer, a message of eve's one device acked.
      await stored({ from: eve, to: carol, mid: 'p2', offer: 'trip', body: text('held') });
      const offered = await store.share({
        from: eve,
        to: carol,
        mid: 'trip',
        preview: text('preview'),
        ttlMs: DAY,
        receipt: true,
        parts: 1,
        auto: false,
        now: T0,
      });
      expect(offered).toMatchObject({ status: 'stored' });
      await stored({ from: eve, to: carol, mid: 'half', receipt: true });
      await store.ack(carol, 1, messageEntryId(eve, 'half'), T0);
      await stored({ from: alice, to: carol, mid: 'keep' });
      // eve's own mailbox.
      await stored({ from: alice, to: eve, mid: 'to-eve' });
    }

    /** Every key and value naming `uid`, besides its identity and registry (relay/account's). */
    async function traces(uid: string): Promise<string[]> {
      const found: string[] = [];
      if (under.dump) {
        for (const [key, values] of await under.dump()) {
          if (key.endsWith(`{${uid}}:pk`) || key.endsWith(`{${uid}}:d`)) continue;
          if (key.includes(uid)) found.push(key);
          for (const value of values) if (value.includes(uid)) found.push(`${key}: ${value}`);
        }
      }
      for (const owner of [alice, bob, carol, eve]) {
        for (const slot of [0, 1]) {
          const entries = (await store.fetch(owner, slot, 0, 1000, T0)).entries;
          for (const entry of entries)
            if (JSON.stringify(entry).includes(uid)) found.push(`${owner}: ${entry.id}`);
        }
      }
      return found;
    }

    it('forgets a user: nothing names it afterwards, and the others keep their entries and counters', async () => {
      await plant();
      expect((await traces(eve)).length).toBeGreaterThan(5);
      await store.forget([eve], T0);
      expect(await traces(eve)).toEqual([]);
      expect(await ids(alice)).toEqual([messageEntryId(bob, 'keep')]);
      expect(await ids(bob, 1)).toEqual([messageEntryId(carol, 'keep')]);
      expect(await ids(carol)).toEqual([messageEntryId(alice, 'keep')]);
      expect(await ids(eve)).toEqual([]);
      // The counters are right: each mailbox holds one message, and takes quota - 1 more.
      for (const uid of [alice, bob, carol]) {
        for (let i = 1; i < CONTRACT_LIMITS.mailboxMaxMessages; i++)
          await stored({ from: eve, to: uid, mid: `n${i}` });
        expect(
          await store.send({
            from: eve,
            to: uid,
            mid: 'over',
            body: text('x'),
            ttlMs: DAY,
            receipt: false,
            now: T0,
            bell: false,
          }),
        ).toEqual({
          status: 'quota_exceeded',
          limit: 'messages',
        });
      }
    });

    it('forgets several users in one pass, and a second pass changes nothing', async () => {
      await plant();
      await stored({ from: alice, to: bob, mid: 'from-alice' });
      await store.forget([eve, alice], T0);
      const after = await under.dump?.();
      const left = { bob: await ids(bob, 1), carol: await ids(carol) };
      expect(left).toEqual({ bob: [messageEntryId(carol, 'keep')], carol: [] });
      expect([...(await traces(eve)), ...(await traces(alice))]).toEqual([]);
      await store.forget([eve, alice], T0);
      if (after) expect(await under.dump?.()).toEqual(after);
      expect({ bob: await ids(bob, 1), carol: await ids(carol) }).toEqual(left);
      expect(await store.summary(carol, [0], T0)).toMatchObject({ entries: 0, messages: 0, bytes: 0 });
    });

    it('leaves no copy or receipt entry id naming the user', async () => {
      await plant();
      await store.forget([eve], T0);
      expect(await ids(bob, 1)).not.toContain(copyEntryId(eve, 'copied'));
      expect(await ids(bob, 0)).not.toContain(receiptEntryId(eve, 'asked'));
    });
  });
}
