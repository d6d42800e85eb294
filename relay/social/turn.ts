/*
 * Collects the calls of one store operation made in one event-loop turn and runs them as one
 * batch at the end of the turn (setImmediate), or at once when `max` are waiting; each caller
 * gets its own result, or the batch's error. The mailbox store's Batcher does the same for sends
 * and acks (relay/mailbox/batcher.ts, with per-call timing this one does not need: timeStore
 * times each call from the outside); the two could become one in relay/redis.
 */

/** Updates of a turn in one script call, at most: a call runs in Redis without a break. */
export const MAX_TURN_BATCH = 128;

interface Waiter<O> {
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class TurnQueue<I, O> {
  private items: I[] = [];
  private waiters: Waiter<O>[] = [];
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly max = MAX_TURN_BATCH,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.max) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const items = this.items;
    if (items.length === 0) return;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    let running: Promise<O[]>;
    try {
      running = this.run(items);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (results) => {
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(results[i]!);
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  };
}
