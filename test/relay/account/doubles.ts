import type { Notice } from '../../../protocol/index.js';
import type { IdentityPart, MailboxPart, Notifier, SocialPart } from '../../../relay/account/index.js';
import { emptySummary, type Mailbox, type MailboxSummary } from '../../../relay/mailbox/index.js';
import type { SocialStore, SocialSummary } from '../../../relay/social/index.js';

/*
 * TEST DOUBLES OF THE OTHER DOMAINS, for what relay/mailbox and relay/social do not have yet
 * (their summary, forget and dropDevice are being written beside this folder): small in-memory
 * stand-ins that record their calls. The account code under test (devices, journal, orchestrator)
 * runs against the real stores, and on Redis against a real redis-server. Where the real parts
 * exist (friends, removeFriend, notify, register) the tests use them.
 */

/** Stands in for the mailbox's summary / forget / dropDevice; `failNextForget` throws once. */
export class MailboxPartDouble implements MailboxPart {
  readonly forgotten: string[][] = [];
  readonly dropped: [string, number][] = [];
  failNextForget = false;
  summaries = new Map<string, MailboxSummary>();

  async summary(uid: string, slots: readonly number[]): Promise<MailboxSummary> {
    return this.summaries.get(uid) ?? emptySummary(slots);
  }

  async forget(uids: readonly string[]): Promise<void> {
    if (this.failNextForget) {
      this.failNextForget = false;
      throw new Error('mailbox store unavailable (test double)');
    }
    this.forgotten.push([...uids]);
  }

  async dropDevice(uid: string, slot: number): Promise<void> {
    this.dropped.push([uid, slot]);
  }
}

/** The real social store's friends / removeFriend, with stand-ins for summary and forget. */
export class SocialPartDouble implements SocialPart {
  readonly forgotten: string[] = [];
  summaries = new Map<string, SocialSummary>();

  constructor(readonly real: SocialStore) {}

  friends(uid: string) {
    return this.real.friends(uid);
  }

  removeFriend(uid: string, other: string) {
    return this.real.removeFriend(uid, other);
  }

  async summary(uid: string): Promise<SocialSummary> {
    return (
      this.summaries.get(uid) ?? {
        links: [],
        discoverable: null,
        pendingMatches: { count: 0, latestExpiry: null },
        presence: null,
        rates: { lookups: null, presence: null },
      }
    );
  }

  async forget(uid: string): Promise<void> {
    this.forgotten.push(uid);
  }
}

/**
 * The real mailbox's notify. protocol/ has no `friends` notice kind yet (the lead adds it), so
 * the notice is passed through a cast here; the store only serializes it.
 */
export function notifierOf(mailbox: Pick<Mailbox, 'notify'>): Notifier {
  return {
    notify: (uid, id, notice, now, exp) => mailbox.notify(uid, id, notice as unknown as Notice, now, exp),
  };
}

/**
 * Stand-in for the memory mailbox store's identities with the `unregister` the account memory
 * store needs at erase (the memory mailbox store has register and publicKeys, no unregister yet).
 */
export function identitiesDouble(): IdentityPart & { keys: Map<string, string> } {
  const keys = new Map<string, string>();
  return {
    keys,
    async register(uid, pk) {
      keys.set(uid, pk);
    },
    async publicKeys(uids) {
      return uids.map((uid) => keys.get(uid) ?? null);
    },
    async unregister(uid) {
      keys.delete(uid);
    },
  };
}
