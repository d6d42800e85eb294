import type { MailboxEntry } from '../mailbox/index.js';
import { type Metrics, QUEUED_AFTER_MS } from '../telemetry/index.js';

/**
 * One connection's payloads delivered and not acknowledged yet, with when each was stored, so an
 * ack that deletes one observes its delivery latency (stored to acked) once. Holds at most the
 * delivery window's entries; forgotten with the connection.
 */
export class DeliveryClock {
  /**
   * Entry ID -> when it was stored (ms), negated when it had waited past QUEUED_AFTER_MS. Made at
   * the first delivery: an idle connection holds no map.
   */
  private storedAt: Map<string, number> | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly now: () => number,
  ) {}

  delivered(entry: MailboxEntry): void {
    if (entry.kind !== 'msg') return;
    // A number, not an object per message: the sign says whether it was queued.
    this.storedAt ??= new Map();
    this.storedAt.set(entry.id, this.now() - entry.ts > QUEUED_AFTER_MS ? -entry.ts : entry.ts);
  }

  acked(id: string, deleted: boolean): void {
    const stored = this.storedAt?.get(id);
    if (stored === undefined) return;
    this.storedAt!.delete(id);
    if (deleted) this.metrics.deliveryLatency(Math.abs(stored), this.now(), stored < 0);
  }

  /** The entry left the mailbox otherwise (an answered offer). */
  forget(id: string): void {
    this.storedAt?.delete(id);
  }

  clear(): void {
    this.storedAt = undefined;
  }
}
