import type { MailboxEntry, Signal, SignalBus } from '../mailbox/index.js';
import type { Logger } from '../telemetry/index.js';

/** What the hub needs of a connection. */
export interface Attached {
  readonly uid: string;
  /** Unique per connection across the whole deployment. */
  readonly token: string;
  ring(seq: number): void;
  /** A send on this node stored `entry` for the user; `prev` is its predecessor's seq (0: none). */
  offer(entry: MailboxEntry, prev: number): void;
  /** Reads the mailbox again, doorbell or not. */
  poke(): void;
  replace(): void;
}

/** How often the safety pull runs: each run re-reads the share of users due by then. */
const SAFETY_TICK_MS = 1_000;

/**
 * The node-local registry of authenticated connections, one per user, and the router of store
 * signals to them. A second connection of the same identity replaces the first: locally at once,
 * on other nodes through a kick signal on the user's channel.
 *
 * A doorbell is only a hint (R5): one published while the signal connection was away is lost.
 * So when the store reports the connection back, every connection re-reads its mailbox, and a
 * safety pull re-reads each connected user's mailbox once every `safetyPullMs` (spread over that
 * period, a share every second), which bounds how long any stored entry can wait for an online
 * recipient whatever happened to its doorbell.
 */
export class Hub {
  private readonly byUser = new Map<string, Attached>();
  private readonly timer: ReturnType<typeof setInterval>;
  /** Where the safety pull goes on; a live iterator over byUser, restarted at its end. */
  private walk: Iterator<Attached> | undefined;
  /** Users owed a re-read this tick, with the fraction left from earlier ticks. */
  private credit = 0;

  constructor(
    private readonly store: SignalBus,
    private readonly log: Logger,
    private readonly safetyPullMs: number,
  ) {
    store.onSignal((uid, signal) => this.signal(uid, signal));
    store.onReconnect(() => {
      this.log.info({ users: this.byUser.size }, 'signals may have been lost: re-reading mailboxes');
      for (const conn of this.byUser.values()) conn.poke();
    });
    this.timer = setInterval(() => this.safetyPull(), Math.min(SAFETY_TICK_MS, safetyPullMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get size(): number {
    return this.byUser.size;
  }

  get(uid: string): Attached | undefined {
    return this.byUser.get(uid);
  }

  async attach(conn: Attached): Promise<void> {
    const previous = this.byUser.get(conn.uid);
    this.byUser.set(conn.uid, conn);
    if (previous) previous.replace();
    else await this.store.watch(conn.uid);
    await this.store.kick(conn.uid, conn.token);
  }

  async detach(conn: Attached): Promise<void> {
    if (this.byUser.get(conn.uid) !== conn) return;
    this.byUser.delete(conn.uid);
    try {
      await this.store.unwatch(conn.uid);
    } catch (err) {
      this.log.warn({ err }, 'unwatch failed');
    }
  }

  all(): Attached[] {
    return [...this.byUser.values()];
  }

  /** One tick of the safety pull: the next share of users, so each comes once per period. */
  private safetyPull(): void {
    const ticks = Math.max(1, Math.floor(this.safetyPullMs / SAFETY_TICK_MS));
    // Fractions carry over, so a few users are each re-read once a period, not once a tick.
    this.credit = Math.min(this.credit + this.byUser.size / ticks, this.byUser.size);
    let due = Math.floor(this.credit);
    this.credit -= due;
    while (due > 0) {
      this.walk ??= this.byUser.values();
      const next = this.walk.next();
      if (next.done) {
        this.walk = undefined;
        // A lap ends here; the next tick starts the next one (no user twice in a tick).
        return;
      }
      next.value.poke();
      due--;
    }
  }

  private signal(uid: string, signal: Signal): void {
    const conn = this.byUser.get(uid);
    if (!conn) return;
    if (signal.type === 'bell') conn.ring(signal.seq);
    else if (signal.conn !== conn.token) conn.replace();
  }
}
