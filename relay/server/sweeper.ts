import type { Store } from '../mailbox/index.js';
import type { SocialStore } from '../social/index.js';
import type { Logger, Metrics } from '../telemetry/index.js';

const BATCH = 500;
const MAX_BATCHES_PER_TICK = 20;

/**
 * Deletes expired entries every `intervalMs`, so no payload outlives its expiry by more than about
 * one interval (plus the time to sweep a backlog of expiries, BATCH x MAX_BATCHES_PER_TICK per
 * tick), and likewise pending contact matches; it also finishes friend-link changes a crash left
 * half done (SocialStore.redrive). Every node runs one; the stores' sweeps are atomic
 * per batch, so they do not conflict.
 */
export class Sweeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> = Promise.resolve();
  private busy = false;

  constructor(
    private readonly store: Store,
    private readonly social: SocialStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.running = this.tick().finally(() => {
        this.busy = false;
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Resolves when no sweep is under way. */
  idle(): Promise<void> {
    return this.running;
  }

  private async tick(): Promise<void> {
    try {
      let expired = 0;
      let receipts = 0;
      for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
        const result = await this.store.sweep(this.now(), BATCH);
        expired += result.expired;
        receipts += result.receipts;
        if (!result.more) break;
      }
      if (expired > 0) {
        this.metrics.expired += expired;
        this.metrics.receiptsExpired += receipts;
        this.log.info({ expired, receipts }, 'expired');
      }
      let pending = 0;
      for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
        const result = await this.social.sweepPending(this.now(), BATCH);
        pending += result.removed;
        if (!result.more) break;
      }
      if (pending > 0) this.log.info({ pendingMatches: pending }, 'pending contact matches expired');
      let links = 0;
      for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
        const result = await this.social.redrive(this.now(), BATCH);
        links += result.finished;
        if (!result.more) break;
      }
      if (links > 0) this.log.info({ friendLinks: links }, 'half-done friend link changes finished');
    } catch (err) {
      this.log.error({ err }, 'expiry sweep failed');
    }
  }
}
