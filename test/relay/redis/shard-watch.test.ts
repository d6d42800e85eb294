import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ShardWatch, shardKey } from '../../../relay/redis/index.js';
import { commandsOf } from '../../support/redis-inspect.js';
import { type RedisServer, startRedis } from '../../support/redis-server.js';

/*
 * The sweep's knowledge of its index shards (relay/redis/shards.ts): it reads a shard it knows
 * nothing of, one that may be due, and the others once per refresh period; what this relay files
 * it knows without reading. A clock the test moves stands for the wall clock.
 */

let redis: RedisServer;
let client: Redis;
let wall: number;
let watch: ShardWatch;
const key = (slot: number) => shardKey('pb:', 'test', slot);
const SLOTS = [0, 1, 2, 3];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  await client.flushall();
  wall = 1_000_000;
  watch = new ShardWatch(10_000, () => wall);
});

const reads = async (upTo: number) => {
  let due: number[] = [];
  const counts = await commandsOf(client, async () => {
    due = await watch.due(client, SLOTS, key, upTo);
  });
  return { due, reads: counts.zrange ?? 0 };
};

describe('shard watch', () => {
  it('reads every shard it knows nothing of, and finds what is due', async () => {
    await client.zadd(key(2), 500, 'a');
    expect(await reads(1_000)).toEqual({ due: [2], reads: 4 });
  });

  it('reads again only the shards that may be due until the refresh period has passed', async () => {
    await client.zadd(key(2), 5_000, 'a');
    expect(await reads(1_000)).toEqual({ due: [], reads: 4 });
    // Another relay files something due in slot 1: not seen until its shard is read again.
    await client.zadd(key(1), 900, 'b');
    expect(await reads(1_000)).toEqual({ due: [], reads: 0 });
    // Slot 2's entry comes due: its shard is read, and found.
    expect(await reads(5_000)).toEqual({ due: [2], reads: 1 });
    // A refresh period later every shard has been read again (slot k a sixteenth earlier).
    wall += 10_000;
    expect(await reads(5_000)).toEqual({ due: [1, 2], reads: 4 });
    // Each is read once a period from then on, not sooner: the spread was for the first read.
    wall += 9_000;
    expect(await reads(1_000)).toEqual({ due: [1], reads: 1 });
    wall += 1_000;
    expect(await reads(1_000)).toEqual({ due: [1], reads: 4 });
  });

  it('knows without reading what this relay filed, and forgets a slot a sweep visited', async () => {
    expect(await reads(1_000)).toEqual({ due: [], reads: 4 });
    await client.zadd(key(3), 900, 'c');
    watch.filed(3, 900);
    expect(await reads(1_000)).toEqual({ due: [3], reads: 1 });
    await client.zrem(key(3), 'c');
    watch.visited(3);
    expect(await reads(1_000)).toEqual({ due: [], reads: 1 });
    expect(await reads(1_000)).toEqual({ due: [], reads: 0 });
  });
});
