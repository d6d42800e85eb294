import { LIMITS, type NoticeFrame } from '../protocol/index.js';
import type { Discovery } from './discovery.js';
import type { Emitter } from './emitter.js';
import { ClientError } from './errors.js';
import type { ClientEvents } from './events.js';
import type { Friends, Reread } from './friends.js';
import type { SeenSet } from './inbox.js';

/** The longest a notice waits at the relay: a remembered ID can be forgotten after this. */
const NOTICE_LIFE_MS = LIMITS.maxTtlSeconds * 1000;
/** Slack on a `nearby` notice's own end, for a device clock behind the relay's. */
const CLOCK_SLACK_MS = 24 * 3600 * 1000;

export interface NoticeDeps {
  seen: SeenSet;
  events: Emitter<ClientEvents>;
  discovery: Discovery;
  friends: Friends;
  now(): number;
  /** Acknowledges an entry now or, when offline, on the next open. */
  ack(entryId: string): void;
  problem(error: ClientError): void;
}

/**
 * Turns protocol v2 notices into `friend`, `nearby` and `contact` events (and the v4 `friends`
 * notice into `friend` events for what changed and one `friends` event), as the inbox does with
 * messages: a notice already handled (its entry ID is in the seen set, which survives restarts)
 * is acknowledged and dropped; otherwise every handler runs and only once they all returned or
 * resolved is the notice remembered and acknowledged. A handler that throws leaves it at the relay,
 * to come again after the next reconnect. A notice with no handler for its event is acknowledged
 * and dropped: notices are news (the current state is `friends.list()`), and leaving them would
 * fill the relay's delivery window.
 */
export class Notices {
  constructor(private readonly d: NoticeDeps) {}

  async handle(f: NoticeFrame): Promise<void> {
    const { seen, events, discovery } = this.d;
    if (await seen.has(f.id)) return this.d.ack(f.id);
    let expires = this.d.now() + NOTICE_LIFE_MS;
    let after: (() => Promise<void>) | undefined;
    let reread: Reread | undefined;
    if (f.kind === 'friends') {
      // Protocol v4: read the list again (a friend's account was erased). A failed read leaves the
      // notice unacknowledged: it comes again after the next reconnect.
      try {
        reread = await this.d.friends.reread();
      } catch (err) {
        if (err instanceof ClientError && err.code === 'closed') return;
        const why = 'reading the friend list again for a "friends" notice failed; the notice comes again';
        this.d.problem(new ClientError('disconnected', why, { cause: err }));
        return;
      }
    }
    try {
      switch (f.kind) {
        case 'friend': {
          const event = { user: f.user, state: f.state };
          await events.dispatch('friend', event);
          after = () => this.d.friends.noted(event);
          break;
        }
        case 'friends': {
          const { changes, friends, removed, commit } = reread!;
          for (const change of changes) await events.dispatch('friend', change);
          await events.dispatch('friends', { friends, removed });
          after = commit;
          break;
        }
        case 'nearby':
          expires = Math.max(this.d.now(), f.until) + CLOCK_SLACK_MS;
          await events.dispatch('nearby', { user: f.user, since: f.since, until: f.until });
          break;
        case 'contact': {
          const phone = f.ticket === null ? null : await discovery.phoneForTicket(f.ticket);
          await events.dispatch('contact', { user: f.user, phone });
          break;
        }
      }
    } catch (err) {
      // Not remembered, not acknowledged: the relay delivers it again after the next reconnect.
      this.d.problem(
        new ClientError('handler_failed', `a "${f.kind}" handler threw; the notice comes again`, {
          cause: err,
        }),
      );
      return;
    }
    await seen.remember(f.id, expires);
    await after?.();
    if (f.kind === 'contact' && f.ticket !== null) await discovery.forgetTicket(f.ticket);
    this.d.ack(f.id);
  }
}
