/**
 * Waits for a condition by polling it, with a deadline: the fault tests' way to synchronise with
 * processes they cannot get events from (a relay child, a redis-server), never a bare sleep.
 */
export interface PollOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Pause between two probes (ms). Default 25. */
  intervalMs?: number;
}

/**
 * Resolves with the first value `probe` returns that is neither undefined nor false; rejects with
 * `what` and the last value seen when `timeoutMs` passes first. A probe that throws fails at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: PollOptions,
  describe: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) {
      const detail = describe();
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${what}${detail ? `: ${detail}` : ''}`,
      );
    }
    await pause(options.intervalMs ?? 25);
  }
}

/** A timer as a promise: the interval between two probes, or a sender's pacing tick. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a rejection naming `what` when it has not settled within `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
