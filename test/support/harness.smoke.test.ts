import { expect, it } from 'vitest';
import { startRedis } from './redis-server.js';

it('starts a private redis-server on a free loopback port', async () => {
  const redis = await startRedis({ persistence: true });
  const c = redis.client();
  await c.set('k', 'v');
  await redis.restart();
  expect(await c.get('k')).toBe('v');
  expect(redis.port).not.toBe(6379);
  await redis.stop();
});
