import { afterAll, beforeAll } from 'vitest';
import type { Logger, RelayConfig } from '../../relay/index.js';
import { type Relay, startRelay } from '../../relay/index.js';
import { type RedisBackend, type StartBackend, standaloneRedis } from './redis-backends.js';
import { dumpText } from './redis-inspect.js';
import type { RedisServer } from './redis-server.js';

/**
 * A relay on a private redis-server for one test file: started before the file's tests, stopped
 * after. `fixture.relay` / `fixture.redis` are set once beforeAll has run.
 */
/** The HMAC key for phone numbers in tests (the relay requires one with Redis). */
export const TEST_DISCOVERY_SECRET = 'test-discovery-secret-0123456789abcdef';

export interface RelayFixture {
  relay: Relay;
  /** The standalone server (undefined when the fixture runs on a Redis Cluster). */
  redis: RedisServer;
  /** Where the relay's keys are: the standalone server, or the cluster's primaries. */
  backend: RedisBackend;
}

/**
 * `backend` (test/support/redis-backends.ts) chooses one Redis (the default) or a Redis Cluster;
 * called inside a `describe.each(redisBackends())`, each backend gets its own relay for the block.
 */
export function useRelay(
  config: Partial<RelayConfig> = {},
  redisOptions: { persistence?: boolean; backend?: StartBackend; presenceInSameRedis?: boolean } = {},
  logger?: Logger,
): RelayFixture {
  const fixture = {} as RelayFixture;
  beforeAll(async () => {
    const start = redisOptions.backend ?? standaloneRedis;
    fixture.backend = await start({ persistence: redisOptions.persistence ?? false });
    fixture.redis = fixture.backend.server as RedisServer;
    const full = {
      ...fixture.backend.config,
      sweepIntervalMs: 50,
      discoverySecret: TEST_DISCOVERY_SECRET,
      // Presence in the same Redis (a test Redis keeps nothing on disk), where a test can read it.
      ...(redisOptions.presenceInSameRedis
        ? {
            presenceRedisUrl: fixture.backend.config.redisUrl,
            presenceRedisCluster: fixture.backend.config.redisCluster,
          }
        : {}),
      ...config,
    };
    fixture.relay = await startRelay(logger ? { config: full, logger } : { config: full });
  }, 60_000);
  afterAll(async () => {
    await fixture.relay?.close();
    await fixture.backend?.stop();
  }, 30_000);
  return fixture;
}

/**
 * Every key in Redis (on a cluster: on every primary) with its value(s) flattened to one string,
 * for "no trace left" checks.
 */
export async function dumpRedis(redis: RedisServer | RedisBackend): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if ('admins' in redis) {
    for (const admin of redis.admins())
      for (const [key, values] of await dumpText(admin)) out.set(key, values.join(' '));
    return out;
  }
  const client = redis.client();
  try {
    for (const [key, values] of await dumpText(client)) out.set(key, values.join(' '));
    return out;
  } finally {
    client.disconnect();
  }
}
