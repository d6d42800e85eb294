import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { waitFor } from './poll.js';

/**
 * The keys a Redis holds beyond identities and accounts (`pb:{uid}:pk`; the device registry
 * `pb:{uid}:d`, the device index `pb:dev:{did}` and the seen index `pb:seen:{tag}`, which live as
 * long as the account, relay/account/redis.ts), the relay fleet's discovery-secret
 * fingerprint (`pb:discovery:fingerprint`), the sweep's leases (`pb:sweep:{tag}:<job>:<node>`, a
 * relay's random name for seconds) and the AOF rewrite marks (`pb:aof-rewrite:{tag}:<node>`, for
 * one rewrite interval), none about a user, sorted: after every message was
 * acknowledged (and nothing social was used) a mailbox leaves nothing else behind (the layout
 * comment in relay/mailbox/redis.ts).
 */
export async function keysLeft(client: Redis): Promise<string[]> {
  const left: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys)
      if (
        !/^pb:\{[A-Za-z0-9_-]+\}:(pk|d)$/.test(key) &&
        !/^pb:(dev|seen):\{[A-Za-z0-9_-]+\}$/.test(key) &&
        key !== 'pb:discovery:fingerprint' &&
        !/^pb:(sweep|aof-rewrite):\{\d+\}:/.test(key)
      )
        left.push(key);
  } while (cursor !== '0');
  return left.sort();
}

/**
 * Polls (acks may still be under way when the app has seen everything) until only identities
 * are left, at most `timeoutMs`; then asserts it, so a failure lists the keys that stayed.
 */
export async function expectNoKeysLeft(client: Redis, timeoutMs = 5000): Promise<void> {
  let left: string[] = [];
  const probe = async () => {
    left = await keysLeft(client);
    return left.length === 0;
  };
  await waitFor('no key but identities', probe, { timeoutMs }).catch(() => undefined);
  expect(left).toEqual([]);
}
