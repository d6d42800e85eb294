import { afterAll, beforeAll } from 'vitest';
import type { Logger, RelayConfig } from '../../relay/index.js';
import { type Relay, startRelay } from '../../relay/index.js';
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
  const c = redis.client();
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await c.type(key);
      let value = '';
      if (type === 'string') value = (await c.getBuffer(key))?.toString('latin1') ?? '';
      else if (type === 'hash')
        value = (await c.hgetallBuffer(key)) ? flatten(await c.hgetallBuffer(key)) : '';
      else if (type === 'zset') value = (await c.zrange(key, 0, -1, 'WITHSCORES')).join(' ');
      else if (type === 'set') value = (await c.smembers(key)).join(' ');
      else if (type === 'list') value = (await c.lrange(key, 0, -1)).join(' ');
      out.set(key, value);
    }
  } while (cursor !== '0');
  c.disconnect();
  return out;
}

function flatten(hash: Record<string, Buffer>): string {
  return Object.entries(hash)
    .map(([k, v]) => `${k}=${v.toString('latin1')}`)
    .join(' ');
}
