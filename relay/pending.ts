import type { Logger } from './logger.js';

/**
 * A connection's operations under way (handlers waiting for the store), so that shutdown can
 * wait for them: `begin` when one starts, `end` once its continuation has run, or `track` for an
 * operation that is a promise.
 */
export class Pending {
  private running = 0;
  private whenIdle: (() => void) | undefined;

  begin(): void {
    this.running++;
  }

  end(): void {
    if (--this.running > 0 || this.whenIdle === undefined) return;
    const wake = this.whenIdle;
    this.whenIdle = undefined;
    wake();
  }

  /** Counts `work` until it settles; a failure nobody handled is logged. */
  track(work: Promise<void>, log: () => Logger): void {
    this.begin();
    work.then(
      () => this.end(),
      (err: unknown) => {
        log().error({ err }, 'handler failed');
        this.end();
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
