/*
 * Collects the operations of one event-loop turn so that a store runs them as one batch per
 * script call (relay/mailbox/redis.ts), each caller still getting its own result.
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

/**
 * Collects the operations of one event-loop turn and runs them as one batch (flushed at the end
 * of the turn through `schedule`, or at once when MAX_BATCH is reached). Each caller gets its
 * own result.
 */
export class Batcher<I, O> {
  private items: I[] = [];
  private waiters: Waiter[] = [];
  private bytes = 0;

  /** `observeOne` / `observeAll`: the script call's seconds, once per push / pushAll it served. */
  constructor(
    private readonly schedule: () => void,
    private readonly observeOne: ((seconds: number) => void) | undefined,
    private readonly observeAll: ((seconds: number) => void) | undefined,
    private readonly run: (items: I[]) => Promise<O[]>,
    /** The payload bytes of an item, counted against MAX_BATCH_BYTES (none by default). */
    private readonly weigh?: (item: I) => number,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push(item);
      if (this.weigh !== undefined) this.bytes += this.weigh(item);
      this.waiters.push({ count: 0, resolve: resolve as (o: never) => void, reject });
      this.added();
    });
  }

  /** Several items with one promise for all their results (a version 3 `ack {ids}`). */
  pushAll(items: readonly I[]): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      for (const item of items) {
        this.items.push(item);
        if (this.weigh !== undefined) this.bytes += this.weigh(item);
      }
      this.waiters.push({ count: items.length, resolve: resolve as (o: never) => void, reject });
      this.added();
    });
  }

  private added(): void {
    if (this.items.length >= MAX_BATCH || this.bytes >= MAX_BATCH_BYTES) this.flush();
    else this.schedule();
  }

  flush(): void {
    const items = this.items;
    if (items.length === 0) return;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.bytes = 0;
    const started = performance.now();
    this.run(items).then(
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
    if (this.observeOne === undefined && this.observeAll === undefined) return;
    const seconds = (performance.now() - started) / 1000;
    for (const w of waiters) (w.count === 0 ? this.observeOne : this.observeAll)?.(seconds);
  }
}
