import { afterAll, beforeAll } from 'vitest';
import type { Logger, RelayConfig } from '../../relay/index.js';
import { type Relay, startRelay } from '../../relay/index.js';
import { dumpText } from './redis-inspect.js';
import { type RedisServer, startRedis } from './redis-server.js';

/**
 * A relay on a private redis-server for one test file: started before the file's tests, stopped
 * after. `fixture.relay` / `fixture.redis` are set once beforeAll has run.
 */
/** The HMAC key for phone numbers in tests (the relay requires one with Redis). */
export const TEST_DISCOVERY_SECRET = 'test-discovery-secret-0123456789abcdef';

export interface RelayFixture {
  relay: Relay;
  redis: RedisServer;
}

export function useRelay(
  config: Partial<RelayConfig> = {},
  redisOptions: { persistence?: boolean } = {},
  logger?: Logger,
): RelayFixture {
  const fixture = {} as RelayFixture;
  beforeAll(async () => {
    fixture.redis = await startRedis(redisOptions);
    const full = {
      redisUrl: fixture.redis.url,
      sweepIntervalMs: 50,
      discoverySecret: TEST_DISCOVERY_SECRET,
      ...config,
    };
    fixture.relay = await startRelay(logger ? { config: full, logger } : { config: full });
  });
  afterAll(async () => {
    await fixture.relay?.close();
    await fixture.redis?.stop();
  });
  return fixture;
}

/** Every key in Redis with its value(s) flattened to one string, for "no trace left" checks. */
export async function dumpRedis(redis: RedisServer): Promise<Map<string, string>> {
  const client = redis.client();
  try {
    const out = new Map<string, string>();
    for (const [key, values] of await dumpText(client)) out.set(key, values.join(' '));
    return out;
  } finally {
    client.disconnect();
  }
}
