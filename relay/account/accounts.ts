import { randomBytes } from 'node:crypto';
import type { AccountExport } from '../../protocol/index.js';
import type { Accounts, MailboxPart, Notifier, PushPart, SocialPart } from './contract.js';
import type { DeviceStore } from './store.js';

/*
 * The account orchestrator, over either device store: the erase worker's order, the inactive
 * sweep and the export's assembly.
 *
 * An erase, for a batch of journaled uids (the devices were kicked when it was asked):
 *   1. each link through removeFriend (so the other side follows as for any removal), then a
 *      `friends` notice in that former friend's mailbox, entry n:<friend>:<random tag>;
 *   2. social.forget of each uid (discovery, matches, presence, tokens, leftovers), then
 *      push.forget (its devices' wake-up registrations, online and wake marks);
 *   3. mailbox.forget of the whole batch at once (one pass over the keyspace);
 *   4. the devices step (DeviceStore.dropAll): device index, registry, pk, seen, journal last.
 * Each step is idempotent, and the journal entry stays until step 4 ends, so a run that dies (or
 * a step that fails) leaves the uid to the next run, which does every step again. One gap: a run
 * that dies between a removeFriend and its notice leaves that friend untold (the next run no
 * longer sees the link); its list is right whenever it next reads it.
 */

export interface AccountParts {
  mailbox: MailboxPart;
  social: SocialPart;
  notifier: Notifier;
  /** The wake-up push registrations (absent: none kept). */
  push?: PushPart;
  /** How long a `friends` notice waits in a mailbox (30 days, the longest entry life). */
  noticeTtlMs?: number;
  /** The random tag of a notice's entry ID. */
  randomTag?: () => string;
}

const MONTH_MS = 30 * 24 * 3600 * 1000;

export function createAccounts(devices: DeviceStore, parts: AccountParts): Accounts {
  const { mailbox, social, notifier, push } = parts;
  const noticeTtlMs = parts.noticeTtlMs ?? MONTH_MS;
  const randomTag = parts.randomTag ?? (() => randomBytes(12).toString('base64url'));

  async function unfriend(uid: string, now: number): Promise<void> {
    for (const link of await social.friends(uid)) {
      // Told first, then unlinked: a run that dies between the two tells the friend twice at
      // worst (the rerun finds the link still there), never not at all.
      await notifier.notify(
        link.id,
        `n:${link.id}:${randomTag()}`,
        { kind: 'friends' },
        now,
        now + noticeTtlMs,
      );
      // An incoming request is withdrawn by its requester's side; the rest by uid's.
      if (link.state === 'incoming') await social.removeFriend(link.id, uid);
      else await social.removeFriend(uid, link.id);
    }
  }

  return {
    async exportOf(uid, now): Promise<AccountExport> {
      const account = await devices.record(uid);
      const byslot = new Map(account.devices.map((d) => [d.slot, d.id]));
      // A legacy user is one device at slot 0, named by the identity it authenticates with.
      if (byslot.size === 0) byslot.set(0, uid);
      const [box, graph, pushes] = await Promise.all([
        mailbox.summary(uid, [...byslot.keys()], now),
        social.summary(uid, now),
        push?.list(uid) ?? [],
      ]);
      return {
        user: uid,
        publicKey: account.publicKey,
        exportedAt: now,
        seen: account.seen,
        devices: account.devices.map(({ id, created, seen, pending }) => ({ id, created, seen, pending })),
        revoked: account.revoked,
        friends: graph.links,
        discoverable: graph.discoverable,
        pendingMatches: graph.pendingMatches,
        mailbox: {
          entries: box.entries,
          messages: box.messages,
          bytes: box.bytes,
          oldestExpiry: box.oldestExpiry,
          newestExpiry: box.newestExpiry,
          perDevice: box.perSlot
            .filter((s) => byslot.has(s.slot))
            .map((s) => ({ id: byslot.get(s.slot)!, waiting: s.waiting, bytes: s.bytes })),
        },
        receiptsWaiting: box.receipts,
        presence: graph.presence,
        rates: graph.rates,
        pushRegistrations: pushes
          .filter((p) => byslot.has(p.slot))
          .map((p) => ({ device: byslot.get(p.slot)!, kind: p.kind })),
      };
    },

    requestErase: (uid, now) => devices.markErased(uid, now),

    async runErasures(now, limit) {
      const { uids, more } = await devices.journaled(now, limit);
      if (uids.length === 0) return { erased: [], more };
      for (const uid of uids) {
        await unfriend(uid, now);
        await social.forget(uid, now);
        await push?.forget(uid);
      }
      await mailbox.forget(uids, now);
      await devices.dropAll(uids);
      return { erased: uids, more };
    },

    sweepInactive: (idleBefore, now, limit) => devices.fileInactive(idleBefore, now, limit),
  };
}
