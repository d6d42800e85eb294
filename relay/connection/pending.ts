/**
 * A connection's operations under way (handlers waiting for the store) and the payload bytes they
 * hold, so that shutdown can wait for them and the session can stop reading a connection that
 * has too much under way: `begin` when one starts, `end` once its continuation has run, or
 * `track` for an operation that is a promise.
 */
export class Pending {
  private running = 0;
  private held = 0;
  private whenIdle: (() => void) | undefined;

  /** `owner.ended` runs after each operation ends, with the bytes it released. */
  constructor(private readonly owner: { ended(bytes: number): void }) {}

  get count(): number {
    return this.running;
  }

  get bytes(): number {
    return this.held;
  }

  begin(bytes = 0): void {
    this.running++;
    this.held += bytes;
  }

  end(bytes = 0): void {
    this.running--;
    this.held -= bytes;
    this.owner.ended(bytes);
    if (this.running > 0 || this.whenIdle === undefined) return;
    const wake = this.whenIdle;
    this.whenIdle = undefined;
    wake();
  }

  /** Counts `work` until it settles; a failure nobody handled goes to `failed`. */
  track(work: Promise<void>, failed: (err: unknown) => void): void {
    this.begin();
    work.then(
      () => this.end(),
      (err: unknown) => {
        this.end();
        failed(err);
      },
    );
  }

  /** Resolves once nothing is under way. */
  settled(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.whenIdle;
      this.whenIdle =
        before === undefined
          ? resolve
          : () => {
              before();
              resolve();
            };
    });
  }
}
