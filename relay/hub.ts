import type { Logger } from './logger.js';
import type { Signal, Store } from './store.js';

/** What the hub needs of a connection. */
export interface Attached {
  readonly uid: string;
  /** Unique per connection across the whole deployment. */
  readonly token: string;
  ring(seq: number): void;
  replace(): void;
}

/**
 * The node-local registry of authenticated connections, one per user, and the router of store
 * signals to them. A second connection of the same identity replaces the first: locally at once,
 * on other nodes through a kick signal on the user's channel.
 */
export class Hub {
  private readonly byUser = new Map<string, Attached>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    store.onSignal((uid, signal) => this.signal(uid, signal));
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

  private signal(uid: string, signal: Signal): void {
    const conn = this.byUser.get(uid);
    if (!conn) return;
    if (signal.type === 'bell') conn.ring(signal.seq);
    else if (signal.conn !== conn.token) conn.replace();
  }
}
