/** What the budget wakes when there is room again: a session that stopped reading its socket. */
export interface Throttled {
  /** Reads the socket again unless the connection's own limits still hold it. */
  mayResume(): void;
}

/** How often a budget that holds sessions back looks again at the store's unsent bytes. */
const RECHECK_MS = 50;

/**
 * The payload bytes under way in the store for the whole process (R4): what the sessions'
 * frames hold while the store has not answered, plus what sits in the store connection's socket
 * unsent (a frozen Redis reads nothing). Past the limit every session stops reading its socket
 * until the total is under it again: the clients' TCP windows hold the rest, not the relay's
 * memory.
 */
export class InflightBudget {
  private held = 0;
  private readonly waiting = new Set<Throttled>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly limit: number,
    private readonly unsent: () => number,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /** True while no session should read more. */
  get full(): boolean {
    return this.held + this.unsent() > this.limit;
  }

  add(bytes: number): void {
    this.held += bytes;
  }

  release(bytes: number): void {
    this.held -= bytes;
    if (this.waiting.size > 0 && !this.full) this.wake();
  }

  /** `session` stopped reading; it is woken once there is room. */
  hold(session: Throttled): void {
    this.waiting.add(session);
    if (this.timer !== undefined) return;
    // The store's unsent bytes drain without an event the budget sees: look again while anyone waits.
    this.timer = setInterval(() => {
      if (!this.full) this.wake();
    }, RECHECK_MS);
    this.timer.unref();
  }

  forget(session: Throttled): void {
    this.waiting.delete(session);
    if (this.waiting.size === 0) this.stopTimer();
  }

  private wake(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    this.stopTimer();
    for (const session of waiting) session.mayResume();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
