import { createServer } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** The loopback source address for the i-th connection: 127.0.0.1 ... 127.0.0.<spread>. */
export function loopbackSource(i: number, spread: number): string {
  return `127.0.0.${(i % Math.max(1, spread)) + 1}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it is true or `timeoutMs` passes; says which happened. */
export async function until(check: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/**
 * Waits until `done()` or until `progress()` (a counter) has not moved for `quietMs`, at most
 * `capMs`: a slow but moving backlog is waited for, a stuck one is not.
 */
export async function untilQuiet(
  done: () => boolean,
  progress: () => number,
  quietMs: number,
  capMs: number,
): Promise<boolean> {
  const deadline = Date.now() + capMs;
  let last = progress();
  let lastMove = Date.now();
  while (!done()) {
    const now = Date.now();
    const p = progress();
    if (p !== last) {
      last = p;
      lastMove = now;
    }
    if (now - lastMove >= quietMs || now >= deadline) return false;
    await sleep(20);
  }
  return true;
}
