import { Writable } from 'node:stream';

/**
 * Where a test's relay logger writes: every JSON line, parsed, and a way to wait for one. The
 * relay's logs are part of its behaviour (what an operator sees), so tests wait on them too.
 */
export class LogSink {
  readonly records: Record<string, unknown>[] = [];
  readonly stream: Writable;
  private waiters: (() => void)[] = [];

  constructor() {
    this.stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.length > 0) this.records.push(JSON.parse(line) as Record<string, unknown>);
        }
        for (const wake of this.waiters.splice(0)) wake();
        done();
      },
    });
  }

  /** The first record (from now on or already written) for which `match` holds. */
  async next(
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching log record in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
