import type { Mailbox } from '../mailbox/index.js';
import type { AofRewriter } from '../redis/index.js';
import type { SocialStore } from '../social/index.js';
import type { Logger, Metrics } from '../telemetry/index.js';

const BATCH = 500;
const MAX_BATCHES_PER_TICK = 20;

/**
 * Deletes expired entries every `intervalMs`, so no payload outlives its expiry by more than about
 * one interval (plus the time to sweep a backlog of expiries, BATCH x MAX_BATCHES_PER_TICK per
 * tick), and likewise pending contact matches; it also finishes friend-link changes a crash left
 * half done (SocialStore.redrive). Every node runs one; the stores' sweeps are atomic
 * per batch, so they do not conflict, and on Redis one node at a time sweeps a Redis node's
 * mailboxes (a lease, relay/mailbox/redis.ts).
 */
export class Sweeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> = Promise.resolve();
  private busy = false;

  constructor(
    private readonly store: Mailbox,
    private readonly social: SocialStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
    /** Has Redis rewrite its AOF now and then, so deleted payloads leave its disk. */
    private readonly aof?: AofRewriter,
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

  /** Runs `batch` until it has nothing more, at most MAX_BATCHES_PER_TICK times; sums what it did. */
  private async batches(batch: (now: number) => Promise<{ done: number; more: boolean }>): Promise<number> {
    let done = 0;
    for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
      const result = await batch(this.now());
      done += result.done;
      if (!result.more) break;
    }
    return done;
  }

  /** Resolves when no sweep is under way. */
  idle(): Promise<void> {
    return this.running;
  }

  private async tick(): Promise<void> {
    try {
      let receipts = 0;
      const expired = await this.batches(async (now) => {
        const result = await this.store.sweep(now, BATCH);
        receipts += result.receipts;
        return { done: result.expired, more: result.more };
      });
      if (expired > 0) {
        this.metrics.expired += expired;
        this.metrics.receiptsExpired += receipts;
        this.log.info({ expired, receipts }, 'expired');
      }
      const pending = await this.batches(async (now) => {
        const result = await this.social.sweepPending(now, BATCH);
        return { done: result.removed, more: result.more };
      });
      if (pending > 0) this.log.info({ pendingMatches: pending }, 'pending contact matches expired');
      const links = await this.batches(async (now) => {
        const result = await this.social.redrive(now, BATCH);
        return { done: result.finished, more: result.more };
      });
      if (links > 0) this.log.info({ friendLinks: links }, 'half-done friend link changes finished');
      const rewrites = (await this.aof?.run()) ?? 0;
      if (rewrites > 0) this.log.info({ nodes: rewrites }, 'asked Redis to rewrite its append-only file');
    } catch (err) {
      this.log.error({ err }, 'expiry sweep failed');
    }
  }
}
