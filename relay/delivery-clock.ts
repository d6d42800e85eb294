import { type Metrics, QUEUED_AFTER_MS } from './metrics.js';
import type { MailboxEntry } from './store.js';

/**
 * One connection's payloads delivered and not acknowledged yet, with when each was stored, so an
 * ack that deletes one observes its delivery latency (stored to acked) once. Holds at most the
 * delivery window's entries; forgotten with the connection.
 */
export class DeliveryClock {
  private readonly storedAt = new Map<string, { ts: number; queued: boolean }>();

  constructor(
    private readonly metrics: Metrics,
    private readonly now: () => number,
  ) {}

  delivered(entry: MailboxEntry): void {
    if (entry.kind !== 'msg') return;
    this.storedAt.set(entry.id, { ts: entry.ts, queued: this.now() - entry.ts > QUEUED_AFTER_MS });
  }

  acked(id: string, deleted: boolean): void {
    const stored = this.storedAt.get(id);
    if (stored === undefined) return;
    this.storedAt.delete(id);
    if (deleted) this.metrics.deliveryLatency(stored.ts, this.now(), stored.queued);
  }

  /** The entry left the mailbox otherwise (an answered offer). */
  forget(id: string): void {
    this.storedAt.delete(id);
  }

  clear(): void {
    this.storedAt.clear();
  }
}
