/*
 * Collects the operations of one event-loop turn so that a store runs them as one batch per
 * script call (the mailbox's sends and acks, relay/mailbox/redis.ts; the social store's presence
 * steps, relay/social/redis-proximity.ts), each caller still getting its own result.
 */

export const MAX_BATCH = 256;
/**
 * Bytes of payload one batch carries at most (a send's body): a turn of 64 KiB sends goes as
 * several script calls of about 1 MiB, rather than one of up to 16 MiB that Redis reads, runs and
 * appends to its AOF while every other command waits behind it (and that outlasts a command
 * timeout once a few queue up).
 */
export const MAX_BATCH_BYTES = 1024 * 1024;

/** Who waits for a batch's results: one item's (`count` 0) or `count` items' in order. */
interface Waiter {
  count: number;
  resolve: (o: never) => void;
  reject: (e: unknown) => void;
}

/** How a Batcher runs; every field is optional. */
export interface BatcherOptions<I> {
  /**
   * Called when an item waits: arranges for flush() at the end of the turn (the mailbox store
   * flushes sends, acks and fetches together, corked). Without it the batcher flushes itself on
   * setImmediate.
   */
  schedule?: () => void;
  /** The script call's seconds, once per push / pushAll it served. */
  observeOne?: (seconds: number) => void;
  observeAll?: (seconds: number) => void;
  /** The payload bytes of an item, counted against MAX_BATCH_BYTES (none by default). */
  weigh?: (item: I) => number;
  /** Items of one batch at most (MAX_BATCH by default). */
  max?: number;
}

/**
 * Collects the operations of one event-loop turn and runs them as one batch (flushed at the end
 * of the turn, or at once when `max` items or MAX_BATCH_BYTES are reached). Each caller gets its
 * own result, or the batch's error.
 */
export class Batcher<I, O> {
  private items: I[] = [];
  private waiters: Waiter[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly max: number;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly o: BatcherOptions<I> = {},
  ) {
    this.max = o.max ?? MAX_BATCH;
  }

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push(item);
      if (this.o.weigh !== undefined) this.bytes += this.o.weigh(item);
      this.waiters.push({ count: 0, resolve: resolve as (o: never) => void, reject });
      this.added();
    });
  }

  /** Several items with one promise for all their results (a version 3 `ack {ids}`). */
  pushAll(items: readonly I[]): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      for (const item of items) {
        this.items.push(item);
        if (this.o.weigh !== undefined) this.bytes += this.o.weigh(item);
      }
      this.waiters.push({ count: items.length, resolve: resolve as (o: never) => void, reject });
      this.added();
    });
  }

  private added(): void {
    if (this.items.length >= this.max || this.bytes >= MAX_BATCH_BYTES) this.flush();
    else if (this.o.schedule !== undefined) this.o.schedule();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(flushBatcher, this);
    }
  }

  flush(): void {
    this.scheduled = false;
    const items = this.items;
    if (items.length === 0) return;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.bytes = 0;
    const started = performance.now();
    let running: Promise<O[]>;
    try {
      running = this.run(items);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (results) => {
        this.observe(waiters, started);
        let at = 0;
        for (const w of waiters) {
          if (w.count === 0) (w.resolve as (o: O) => void)(results[at++]!);
          else {
            (w.resolve as (o: O[]) => void)(results.slice(at, at + w.count));
            at += w.count;
          }
        }
      },
      (err: unknown) => {
        this.observe(waiters, started);
        for (const w of waiters) w.reject(err);
      },
    );
  }

  private observe(waiters: readonly Waiter[], started: number): void {
    if (this.o.observeOne === undefined && this.o.observeAll === undefined) return;
    const seconds = (performance.now() - started) / 1000;
    for (const w of waiters) (w.count === 0 ? this.o.observeOne : this.o.observeAll)?.(seconds);
  }
}

function flushBatcher(batcher: { flush(): void }): void {
  batcher.flush();
}
