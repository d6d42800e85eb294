import type { WebSocket } from 'ws';
import type { RelayConfig } from '../config/index.js';
import type { InflightBudget, Throttled } from './inflight.js';
import { Pending } from './pending.js';

/** One connection's limits on work waiting for the store. */
export type IntakeLimits = Pick<RelayConfig, 'connectionInflightOps' | 'connectionInflightBytes'>;

/**
 * How much of one connection's work is under way in the store, and whether its socket is read
 * (R4): past its own limits, or while the process budget is full, the socket is paused; it is
 * read again as soon as operations end and there is room. The session calls `begin` / `end`
 * around each operation (or `track` for a promise) and `check` after each frame it handled.
 */
export class Intake implements Throttled {
  private readonly pending: Pending;
  private paused = false;
  private stopped = false;
  /** When the socket was last read again after a pause. */
  private resumedAt = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly limits: IntakeLimits,
    private readonly budget: InflightBudget,
    private readonly now: () => number,
  ) {
    this.pending = new Pending(this);
  }

  /** Whether the socket is not being read now. */
  get throttled(): boolean {
    return this.paused;
  }

  /** Since when the client's frames have been read without a pause; undefined while paused. */
  get readingSince(): number | undefined {
    return this.paused ? undefined : this.resumedAt;
  }

  /** Starts an operation that holds `bytes` of payload until it ends. */
  begin(bytes: number): void {
    this.pending.begin(bytes);
    this.budget.add(bytes);
  }

  end(bytes: number): void {
    this.pending.end(bytes);
  }

  /** Counts `work` until it settles; a failure nobody handled goes to `failed`. */
  track(work: Promise<void>, failed: (err: unknown) => void): void {
    this.pending.track(work, failed);
  }

  /** Resolves once nothing is under way (shutdown waits for it). */
  settled(): Promise<void> {
    return this.pending.settled();
  }

  /** After a frame: stops reading the socket while too much is under way. */
  check(): void {
    if (this.paused || this.stopped || !this.over()) return;
    this.paused = true;
    this.socket.pause();
    if (this.budget.full) this.budget.hold(this);
  }

  /** Throttled: room again (an operation ended, or the process budget has room). */
  mayResume(): void {
    if (!this.paused || this.stopped) return;
    if (this.over()) {
      if (this.budget.full) this.budget.hold(this);
      return;
    }
    this.paused = false;
    this.resumedAt = this.now();
    this.socket.resume();
  }

  /** The connection is closing: nothing to resume, nothing to wake. */
  stop(): void {
    this.stopped = true;
    this.budget.forget(this);
  }

  private over(): boolean {
    return (
      this.pending.count >= this.limits.connectionInflightOps ||
      this.pending.bytes >= this.limits.connectionInflightBytes ||
      this.budget.full
    );
  }

  /** Pending's owner: an operation ended, releasing `bytes`. */
  ended(bytes: number): void {
    if (bytes > 0) this.budget.release(bytes);
    if (this.paused) this.mayResume();
  }
}
