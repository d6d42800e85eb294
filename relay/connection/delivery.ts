import type { Mailbox, MailboxEntry } from '../mailbox/index.js';
import type { Logger } from '../telemetry/index.js';

/** The connection a Delivery feeds (the session itself: no options object or closures to hold). */
export interface DeliveryHost {
  readonly uid: string;
  /** The device's slot: what it acked is not fetched again. */
  readonly slot: number;
  readonly log: Logger;
  /** Writes one entry to the socket. */
  deliver(entry: MailboxEntry): void;
  /** Whether this connection takes the entry; others are passed over (left in the store). */
  accepts(entry: MailboxEntry): boolean;
  /** Called once, the first time the mailbox has nothing more to deliver. */
  drained(): void;
}

const RETRY_MS = 1_000;
/** Delivery.inflight while nothing is in flight: never written (hand() puts a map of its own first). */
const NONE_IN_FLIGHT = new Map<string, number>();

/**
 * Moves one user's mailbox to one connection, in seq order, with at most `window` deliveries
 * awaiting an ack. The mailbox in the store is the truth; this keeps only a cursor (the highest
 * seq handed over) and the unacknowledged entry IDs.
 *
 * Entries reach the connection two ways: pulled from the store (at start, on a doorbell, when an
 * ack frees the window), or offered directly by a send on this same node, which skips a store
 * round trip. An offer is taken only when it cannot overtake anything: the connection is caught
 * up, no pull is under way, and the entry's predecessor in the mailbox is the cursor (or the
 * mailbox was empty). Otherwise the offer turns into a pull.
 */
export class Delivery {
  private cursor = 0;
  /**
   * Entries handed over and not acknowledged yet: entry ID -> seq. The shared empty map while
   * there are none, so that an idle connection holds no map of its own.
   */
  private inflight: Map<string, number> = NONE_IN_FLIGHT;
  /** When the client last made progress: an ack, or a delivery into an empty window. */
  private progressAt = 0;
  private pulling = false;
  private again = false;
  private caughtUp = false;
  private drainedOnce = false;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: DeliveryHost,
    private readonly store: Mailbox,
    private readonly window: number,
    private readonly now: () => number,
  ) {}

  start(): void {
    void this.pull();
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  get unacked(): number {
    return this.inflight.size;
  }

  /**
   * When the client last acknowledged anything while deliveries wait for its ack; undefined when
   * none waits. The relay closes a connection stalled for longer than its ack timeout.
   */
  get waitingSince(): number | undefined {
    return this.inflight.size > 0 ? this.progressAt : undefined;
  }

  /** The cursor while caught up and not pulling (the safety pull's probe); otherwise undefined. */
  get caughtUpAt(): number | undefined {
    return this.caughtUp && !this.pulling && !this.closed ? this.cursor : undefined;
  }

  /** The safety pull: reads the mailbox again, whether or not a doorbell rang (R5). */
  poke(): void {
    if (!this.pulling) void this.pull();
  }

  /** A doorbell: something with this seq was stored for the user. */
  ring(seq: number): void {
    if (seq > this.cursor) void this.pull();
  }

  /** A send on this node stored `entry` for the user; `prev` is its predecessor's seq (0: none). */
  offer(entry: MailboxEntry, prev: number): void {
    if (this.closed || entry.seq <= this.cursor) return;
    const inOrder = prev === 0 || prev === this.cursor;
    if (!this.caughtUp || this.pulling || !inOrder || this.inflight.size >= this.window) {
      void this.pull();
      return;
    }
    this.cursor = entry.seq;
    this.hand(entry);
  }

  /**
   * The client acknowledged `id`; the caller deletes it from the store. Behind on the mailbox,
   * it pulls again once half the window is free, so a backlog moves in batches of at least half
   * a window rather than one store round trip per ack.
   */
  acked(id: string): number {
    const seq = this.inflight.get(id);
    if (seq === undefined) return 0;
    this.forget(id);
    this.progressAt = this.now();
    if (!this.caughtUp && this.inflight.size * 2 <= this.window) void this.pull();
    return seq;
  }

  /**
   * The store failed to record acks, the lowest of them for the entry with this seq (from
   * acked()): the entries are still in the mailbox, so they are offered again on this connection
   * (the client acks them again; acks are idempotent). The cursor goes back to just before the
   * lowest; entries after it that wait for an ack are not handed twice.
   */
  redeliverFrom(seq: number): void {
    if (this.closed || seq <= 0) return;
    this.cursor = Math.min(this.cursor, seq - 1);
    this.caughtUp = false;
    void this.pull();
  }

  /** An entry handed over left the mailbox other than by an ack (an answered offer). */
  settled(id: string): void {
    if (this.forget(id) && !this.caughtUp && this.inflight.size * 2 <= this.window) void this.pull();
  }

  private forget(id: string): boolean {
    if (!this.inflight.delete(id)) return false;
    if (this.inflight.size === 0) this.inflight = NONE_IN_FLIGHT;
    return true;
  }

  private hand(entry: MailboxEntry): void {
    if (this.inflight.has(entry.id) || !this.host.accepts(entry)) return;
    if (this.inflight.size === 0) {
      this.progressAt = this.now();
      this.inflight = new Map();
    }
    this.inflight.set(entry.id, entry.seq);
    this.host.deliver(entry);
  }

  private async pull(): Promise<void> {
    if (this.closed) return;
    if (this.pulling) {
      this.again = true;
      return;
    }
    const room = this.window - this.inflight.size;
    if (room <= 0) {
      // Window full: the next ack pulls again (acked() sees caughtUp false).
      this.caughtUp = false;
      return;
    }
    this.pulling = true;
    this.again = false;
    try {
      const { entries, last, more } = await this.store.fetch(
        this.host.uid,
        this.host.slot,
        this.cursor,
        room,
        this.now(),
      );
      if (this.closed) return;
      this.cursor = Math.max(this.cursor, last);
      for (const entry of entries) this.hand(entry);
      if (more) {
        this.caughtUp = false;
        this.again = true;
      } else {
        this.caughtUp = true;
        if (!this.drainedOnce) {
          this.drainedOnce = true;
          this.host.drained();
        }
      }
    } catch (err) {
      this.host.log.error({ err }, 'mailbox fetch failed; retrying');
      this.retryTimer = setTimeout(() => void this.pull(), RETRY_MS);
      this.retryTimer.unref?.();
    } finally {
      this.pulling = false;
    }
    if (this.again && !this.closed) void this.pull();
  }
}
