import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Accounts, DeviceStore } from '../../../relay/account/index.js';
import type { MailboxPartDouble, SocialPartDouble } from './doubles.js';

export const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
export const DAY = 24 * 3600 * 1000;

export function newId(): string {
  return randomBytes(16).toString('base64url');
}

export interface AccountFixture {
  devices: DeviceStore;
  accounts: Accounts;
  /** Test doubles of the other domains' new parts (doubles.ts). */
  mailbox: MailboxPartDouble;
  social: SocialPartDouble;
  /** The IDs of the notices waiting in uid's mailbox (the real mailbox store). */
  notices(uid: string): Promise<{ id: string; notice: unknown }[]>;
  /** Every key and value (Redis: SCAN of every primary) naming `text`; null where not inspectable. */
  traces(text: string): Promise<string[] | null>;
  close(): Promise<void>;
}

export function accountContract(name: string, make: () => Promise<AccountFixture>): void {
  describe(`${name} account store contract`, () => {
    let f: AccountFixture;
    let devices: DeviceStore;
    let accounts: Accounts;
    let alice: string;
    let bob: string;
    let a1: string;

    beforeEach(async () => {
      f = await make();
      ({ devices, accounts } = f);
      [alice, bob, a1] = [newId(), newId(), newId()];
    });
    afterEach(async () => {
      await f.close();
    });

    async function expectNoTrace(uid: string): Promise<void> {
      const left = await f.traces(uid);
      if (left !== null) expect(left).toEqual([]);
    }
    async function first(uid: string, did: string, now = T0): Promise<void> {
      expect(await devices.registerFirst(uid, `pk-${uid}`, did, now)).toBe('ok');
    }
    async function approved(uid: string, did: string, now = T0, max = 5): Promise<number> {
      const r = await devices.approve(uid, did, `box-${did}`, now, max);
      if (r.status !== 'ok') throw new Error(`expected ok, got ${r.status}`);
      return r.slot;
    }

    describe('devices', () => {
      it('registers a first device at slot 0, linked, and answers a retry with ok', async () => {
        await first(alice, a1);
        expect(await devices.list(alice)).toEqual([
          { id: a1, slot: 0, created: T0, seen: T0, pending: false },
        ]);
        expect(await devices.hasDevices(alice)).toBe(true);
        expect(await devices.liveCount(alice)).toBe(1);
        expect(await devices.registerFirst(alice, `pk-${alice}`, a1, T0 + 1)).toBe('ok');
        expect(await devices.registerFirst(alice, `pk-${alice}`, newId(), T0 + 1)).toBe('exists');
        expect(await devices.authDevice(a1, T0 + 2)).toEqual({
          status: 'ok',
          uid: alice,
          slot: 0,
          box: null,
          liveDevices: 1,
        });
      });

      it('treats a user without a registry as one legacy device', async () => {
        expect(await devices.hasDevices(alice)).toBe(false);
        expect(await devices.liveCount(alice)).toBe(1);
        expect(await devices.list(alice)).toEqual([]);
        expect(await devices.approve(alice, newId(), 'box', T0, 5)).toEqual({ status: 'taken' });
      });

      it('refuses a first registration of a device key another identity holds', async () => {
        await first(alice, a1);
        expect(await devices.registerFirst(bob, `pk-${bob}`, a1, T0)).toBe('exists');
        expect(await devices.hasDevices(bob)).toBe(false);
        expect(await devices.authDevice(a1, T0)).toMatchObject({ status: 'ok', uid: alice });
      });

      it('approves devices at the lowest free slots up to the maximum, then answers full', async () => {
        await first(alice, a1);
        const [a2, a3, a4] = [newId(), newId(), newId()];
        expect(await approved(alice, a2, T0, 3)).toBe(1);
        expect(await approved(alice, a3, T0, 3)).toBe(2);
        expect(await devices.approve(alice, a4, 'box', T0, 3)).toEqual({ status: 'full' });
        expect(await devices.approve(alice, a2, 'box', T0, 3)).toEqual({ status: 'exists' });
        expect(await devices.liveCount(alice)).toBe(3);
        expect((await devices.list(alice)).map((d) => [d.id, d.slot, d.pending])).toEqual([
          [a1, 0, false],
          [a2, 1, true],
          [a3, 2, true],
        ]);
      });

      it("answers taken for a device that is another identity's", async () => {
        await first(alice, a1);
        const b1 = newId();
        await first(bob, b1);
        expect(await devices.approve(alice, b1, 'box', T0, 5)).toEqual({ status: 'taken' });
        expect(await devices.authDevice(b1, T0)).toMatchObject({ status: 'ok', uid: bob, slot: 0 });
      });

      it('links a pending device at its first authentication, returning its box until received', async () => {
        await first(alice, a1);
        const a2 = newId();
        const slot = await approved(alice, a2);
        const auth = { status: 'ok', uid: alice, slot, box: `box-${a2}`, liveDevices: 2 };
        expect(await devices.authDevice(a2, T0 + 5)).toEqual(auth);
        expect(await devices.authDevice(a2, T0 + 6)).toEqual(auth);
        expect((await devices.list(alice))[1]).toEqual({
          id: a2,
          slot,
          created: T0,
          seen: T0 + 6,
          pending: false,
        });
        await devices.received(alice, slot);
        expect(await devices.authDevice(a2, T0 + 7)).toEqual({ ...auth, box: null });
      });

      it('revokes a device, which then hears device_revoked, and frees its slot for the next one', async () => {
        await first(alice, a1);
        const [a2, a3] = [newId(), newId()];
        await approved(alice, a2);
        expect(await devices.revoke(alice, a2, T0 + 1)).toEqual({ status: 'ok', slot: 1 });
        expect(await devices.authDevice(a2, T0 + 2)).toEqual({ status: 'device_revoked' });
        expect(await devices.liveCount(alice)).toBe(1);
        expect(await devices.approve(alice, a2, 'box', T0 + 3, 5)).toEqual({ status: 'taken' });
        expect(await approved(alice, a3, T0 + 3)).toBe(1);
        expect(await devices.revoke(alice, a2, T0 + 4)).toEqual({ status: 'unknown' });
      });

      it('never revokes the last live device, nor an unknown one', async () => {
        await first(alice, a1);
        expect(await devices.revoke(alice, a1, T0)).toEqual({ status: 'last' });
        expect(await devices.revoke(alice, newId(), T0)).toEqual({ status: 'unknown' });
        expect(await devices.revoke(bob, a1, T0)).toEqual({ status: 'unknown' });
        expect(await devices.authDevice(newId(), T0)).toEqual({ status: 'unknown_device' });
        expect(await devices.authDevice(a1, T0)).toMatchObject({ status: 'ok' });
      });
    });

    describe('idle sweep', () => {
      it('unlinks devices unseen since idleBefore, never the last live one', async () => {
        await first(alice, a1, T0);
        const a2 = newId();
        await approved(alice, a2, T0);
        await devices.authDevice(a2, T0 + 100);
        const b1 = newId();
        await first(bob, b1, T0);
        const { unlinked, more } = await devices.sweepIdle(T0 + 50, 0, 100);
        expect({ unlinked, more }).toEqual({ unlinked: [{ uid: alice, slot: 0, did: a1 }], more: false });
        expect(await devices.authDevice(a1, T0 + 200)).toEqual({ status: 'unknown_device' });
        expect(await devices.authDevice(b1, T0 + 200)).toMatchObject({ status: 'ok' });
        expect((await devices.list(alice)).map((d) => d.id)).toEqual([a2]);
        // Both idle now: the most recently seen one stays.
        expect((await devices.sweepIdle(T0 + 10 * DAY, 0, 100)).unlinked).toEqual([]);
      });

      it('removes pending devices approved before pendingBefore, with their box', async () => {
        await first(alice, a1, T0);
        const [a2, a3] = [newId(), newId()];
        await approved(alice, a2, T0);
        await approved(alice, a3, T0 + 1_000);
        const { unlinked } = await devices.sweepIdle(0, T0 + 500, 100);
        expect(unlinked).toEqual([{ uid: alice, slot: 1, did: a2 }]);
        expect(await devices.authDevice(a2, T0 + 2_000)).toEqual({ status: 'unknown_device' });
        expect(await devices.authDevice(a3, T0 + 2_000)).toMatchObject({ status: 'ok', box: `box-${a3}` });
        // The freed slot is the next approval's.
        expect(await approved(alice, newId(), T0 + 3_000)).toBe(1);
      });

      it('stops at its limit and says there is more', async () => {
        const users = [alice, bob];
        for (const uid of users) {
          await first(uid, newId(), T0);
          await approved(uid, newId(), T0);
        }
        const one = await devices.sweepIdle(0, T0 + 1, 1);
        expect(one.unlinked).toHaveLength(1);
        expect(one.more).toBe(true);
        const rest = await devices.sweepIdle(0, T0 + 1, 10);
        expect([...one.unlinked, ...rest.unlinked].map((u) => u.uid).sort()).toEqual([...users].sort());
        expect(rest.more).toBe(false);
      });
    });

    describe('inactive sweep', () => {
      it('files accounts unseen since idleBefore, legacy ones too, and only those', async () => {
        const [legacy, active] = [newId(), newId()];
        await devices.touch(legacy, T0);
        await first(alice, a1, T0);
        await first(active, newId(), T0);
        await devices.touch(active, T0 + 10 * DAY);
        const filed = await accounts.sweepInactive(T0 + DAY, T0 + 11 * DAY, 100);
        expect(filed).toEqual({ filed: 2, more: false });
        expect(await devices.hasDevices(legacy)).toBe('erased');
        expect(await devices.authDevice(a1, T0 + 11 * DAY)).toEqual({ status: 'erased' });
        expect(await devices.hasDevices(active)).toBe(true);
        expect(await accounts.sweepInactive(T0 + DAY, T0 + 11 * DAY, 100)).toEqual({ filed: 0, more: false });
        const { erased } = await accounts.runErasures(T0 + 11 * DAY, 100);
        expect(erased.sort()).toEqual([legacy, alice].sort());
        expect(await devices.hasDevices(legacy)).toBe(false);
      });

      it('stops at its limit and says there is more', async () => {
        for (const uid of [alice, bob]) await devices.touch(uid, T0);
        const one = await accounts.sweepInactive(T0 + 1, T0 + 2, 1);
        expect(one).toEqual({ filed: 1, more: true });
        expect((await accounts.sweepInactive(T0 + 1, T0 + 2, 10)).filed).toBe(1);
      });
    });

    describe('erase', () => {
      async function befriended(uid: string, other: string): Promise<void> {
        expect(await f.social.real.requestFriend(uid, other)).toBe('requested');
        expect(await f.social.real.acceptFriend(other, uid)).toBe(true);
      }

      it('answers erased as soon as it is asked, until the journal has run', async () => {
        await first(alice, a1);
        await accounts.requestErase(alice, T0);
        await accounts.requestErase(alice, T0 + 1);
        expect(await devices.authDevice(a1, T0 + 2)).toEqual({ status: 'erased' });
        expect(await devices.hasDevices(alice)).toBe('erased');
        expect(await devices.registerFirst(alice, 'pk', newId(), T0 + 2)).toBe('erased');
        expect(await devices.approve(alice, newId(), 'box', T0 + 2, 5)).toEqual({ status: 'taken' });
        expect(await devices.revoke(alice, a1, T0 + 2)).toEqual({ status: 'unknown' });
        await devices.touch(alice, T0 + 2);
        expect(await accounts.runErasures(T0 + 3, 10)).toEqual({ erased: [alice], more: false });
        expect(await devices.authDevice(a1, T0 + 4)).toEqual({ status: 'unknown_device' });
        expect(await devices.hasDevices(alice)).toBe(false);
      });

      it('removes every link, tells each former friend, forgets the social and mailbox parts, then the devices', async () => {
        const [carol, dave] = [newId(), newId()];
        await first(alice, a1);
        const a2 = newId();
        await approved(alice, a2);
        const a3 = newId();
        await approved(alice, a3);
        await devices.revoke(alice, a3, T0 + 1);
        await first(bob, newId());
        await befriended(alice, bob);
        expect(await f.social.real.requestFriend(carol, alice)).toBe('requested'); // incoming to alice
        expect(await f.social.real.requestFriend(alice, dave)).toBe('requested'); // outgoing
        await accounts.requestErase(alice, T0 + 2);
        expect(await accounts.runErasures(T0 + 3, 10)).toEqual({ erased: [alice], more: false });

        for (const other of [bob, carol, dave]) {
          expect(await f.social.real.friends(other)).toEqual([]);
          const notices = await f.notices(other);
          expect(notices.map((n) => n.notice)).toEqual([{ kind: 'friends' }]);
          expect(notices[0]!.id).toMatch(new RegExp(`^n:${other}:[A-Za-z0-9_-]+$`));
        }
        expect(await f.social.real.friends(alice)).toEqual([]);
        expect(f.social.forgotten).toEqual([alice]);
        expect(f.mailbox.forgotten).toEqual([[alice]]);
        for (const did of [a1, a2, a3])
          expect(await devices.authDevice(did, T0 + 4)).toEqual({ status: 'unknown_device' });
        expect(await devices.list(alice)).toEqual([]);
        expect((await devices.record(alice)).publicKey).toBeNull();
        await expectNoTrace(alice);
        expect(await devices.authDevice(a1, T0 + 4)).toEqual({ status: 'unknown_device' });

        // Again: nothing left to do, nobody told twice.
        expect(await accounts.runErasures(T0 + 5, 10)).toEqual({ erased: [], more: false });
        expect(f.mailbox.forgotten).toEqual([[alice]]);
        expect(await f.notices(bob)).toHaveLength(1);
        // The identity may start again, as a new, empty account.
        expect(await devices.registerFirst(alice, `pk-${alice}`, newId(), T0 + 6)).toBe('ok');
      });

      it('finishes on the next run an erase that a failure interrupted', async () => {
        await first(alice, a1);
        await first(bob, newId());
        await befriended(alice, bob);
        await accounts.requestErase(alice, T0);
        f.mailbox.failNextForget = true;
        await expect(accounts.runErasures(T0 + 1, 10)).rejects.toThrow(/test double/);
        // The links went before the failure; the devices and the journal entry stay.
        expect(await f.social.real.friends(bob)).toEqual([]);
        expect(await devices.authDevice(a1, T0 + 2)).toEqual({ status: 'erased' });
        expect(await accounts.runErasures(T0 + 3, 10)).toEqual({ erased: [alice], more: false });
        expect(f.social.forgotten).toEqual([alice, alice]);
        expect(f.mailbox.forgotten).toEqual([[alice]]);
        expect(await devices.authDevice(a1, T0 + 4)).toEqual({ status: 'unknown_device' });
        await expectNoTrace(alice);
      });

      it('erases a batch with one mailbox pass, up to its limit', async () => {
        const carol = newId();
        for (const uid of [alice, bob, carol]) {
          await first(uid, newId());
          await accounts.requestErase(uid, T0);
        }
        const one = await accounts.runErasures(T0, 2);
        expect(one.erased).toHaveLength(2);
        expect(one.more).toBe(true);
        expect(f.mailbox.forgotten).toEqual([one.erased]);
        const rest = await accounts.runErasures(T0, 2);
        expect([...one.erased, ...rest.erased].sort()).toEqual([alice, bob, carol].sort());
        expect(rest.more).toBe(false);
      });

      it('leaves for later an erase asked after now', async () => {
        await accounts.requestErase(alice, T0 + 10);
        expect(await accounts.runErasures(T0, 10)).toEqual({ erased: [], more: false });
        expect(await accounts.runErasures(T0 + 10, 10)).toEqual({ erased: [alice], more: false });
      });
    });

    describe('export', () => {
      it('returns exactly the planted devices, tombstones and what the other domains summarize', async () => {
        await first(alice, a1, T0);
        const [a2, a3] = [newId(), newId()];
        await approved(alice, a2, T0 + 1);
        await approved(alice, a3, T0 + 2);
        await devices.revoke(alice, a3, T0 + 3);
        await devices.authDevice(a1, T0 + 4);
        f.mailbox.summaries.set(alice, {
          entries: 3,
          messages: 2,
          bytes: 70,
          oldestExpiry: T0 + DAY,
          newestExpiry: T0 + 2 * DAY,
          receipts: 1,
          perSlot: [
            { slot: 0, waiting: 1, bytes: 20 },
            { slot: 1, waiting: 2, bytes: 70 },
          ],
        });
        const friend = {
          id: bob,
          state: 'friend' as const,
          proximity: true,
          autoAccept: false,
          theirProximity: true,
          theirAutoAccept: true,
        };
        f.social.summaries.set(alice, {
          links: [friend],
          discoverable: { until: T0 + DAY },
          pendingMatches: { count: 1, latestExpiry: T0 + DAY },
          presence: null,
          rates: { lookups: { used: 3, windowEndsAt: T0 + DAY }, presence: null },
        });
        expect(await accounts.exportOf(alice, T0 + 5)).toEqual({
          user: alice,
          publicKey: `pk-${alice}`,
          exportedAt: T0 + 5,
          seen: T0 + 4,
          devices: [
            { id: a1, created: T0, seen: T0 + 4, pending: false },
            { id: a2, created: T0 + 1, seen: T0 + 1, pending: true },
          ],
          revoked: [{ id: a3, at: T0 + 3 }],
          friends: [friend],
          discoverable: { until: T0 + DAY },
          pendingMatches: { count: 1, latestExpiry: T0 + DAY },
          mailbox: {
            entries: 3,
            messages: 2,
            bytes: 70,
            oldestExpiry: T0 + DAY,
            newestExpiry: T0 + 2 * DAY,
            perDevice: [
              { id: a1, waiting: 1, bytes: 20 },
              { id: a2, waiting: 2, bytes: 70 },
            ],
          },
          receiptsWaiting: 1,
          presence: null,
          rates: { lookups: { used: 3, windowEndsAt: T0 + DAY }, presence: null },
          pushRegistrations: [],
        });
      });

      it("names a legacy user's one device by the user ID, seen from the seen index", async () => {
        await devices.touch(bob, T0 + 7);
        const out = await accounts.exportOf(bob, T0 + 8);
        expect(out).toMatchObject({ user: bob, publicKey: null, seen: T0 + 7, devices: [], revoked: [] });
        expect(out.mailbox.perDevice).toEqual([{ id: bob, waiting: 0, bytes: 0 }]);
      });
    });
  });
}
