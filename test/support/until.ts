import { setTimeout as delay } from 'node:timers/promises';

/**
 * Resolves once `condition` holds, checking every `everyMs`; rejects with `what` when it still
 * does not after `timeoutMs`. For conditions no event announces (a server back up, a key gone).
 */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, everyMs = 20 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(everyMs);
  }
}
