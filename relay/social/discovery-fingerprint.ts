import { createHmac } from 'node:crypto';
import { PassbyError } from '../../protocol/index.js';
import type { RedisClient } from '../redis/index.js';
import type { Logger } from '../telemetry/index.js';

/**
 * Every relay node on one Redis must hash phone numbers with the same discovery secret, or
 * look-ups split silently: a number made discoverable through one node is not found through
 * another. At start-up each node compares a keyed fingerprint of its secret with the one stored
 * in Redis (the first node stores it) and refuses to start on a mismatch. The fingerprint is an
 * HMAC of a fixed label under the secret: it tells nodes apart without revealing the secret.
 *
 * Rotation: a node started with the new secret and the previous one as
 * PASSBY_DISCOVERY_SECRET_OLD accepts the previous fingerprint and moves the stored one to the
 * new secret; from then on a node with only the previous secret refuses to start.
 *
 * One key, so on a Redis Cluster it lives in one slot like any other: every node reads the same.
 */
export const FINGERPRINT_KEY = 'pb:discovery:fingerprint';

const LABEL = 'passby discovery-secret fingerprint v1';

export function discoveryFingerprint(secret: string): string {
  return createHmac('sha256', secret).update(LABEL).digest('hex');
}

export async function checkDiscoveryFingerprint(
  redis: RedisClient,
  secret: string,
  previous: string | null,
  log: Logger,
): Promise<void> {
  const mine = discoveryFingerprint(secret);
  // The first node on an empty Redis stores its own; everyone else compares.
  if ((await redis.set(FINGERPRINT_KEY, mine, 'NX')) === 'OK') return;
  const stored = await redis.get(FINGERPRINT_KEY);
  if (stored === mine || stored === null) return;
  if (previous !== null && stored === discoveryFingerprint(previous)) {
    await redis.set(FINGERPRINT_KEY, mine);
    log.warn('discovery secret rotated: nodes with only the previous secret will now refuse to start');
    return;
  }
  throw new PassbyError(
    'internal_error',
    'PASSBY_DISCOVERY_SECRET differs from the one the other relay nodes on this Redis use: ' +
      'every node needs the same secret (during a rotation, the new one with the previous as PASSBY_DISCOVERY_SECRET_OLD)',
  );
}
