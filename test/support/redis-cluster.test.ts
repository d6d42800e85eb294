import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe('the test Redis Cluster', () => {
  it('has three primaries with a replica each, every slot served, and routes keys of any slot', async () => {
    const client = cluster.client();
    const shards = (await client.cluster('SHARDS')) as unknown[][];
    const roles = shards.map((shard) => {
      const nodes = shard[shard.indexOf('nodes') + 1] as unknown[][];
      return nodes.map((n) => n[n.indexOf('role') + 1]).sort();
    });
    expect(roles).toEqual([
      ['master', 'replica'],
      ['master', 'replica'],
      ['master', 'replica'],
    ]);
    const info = String(await client.cluster('INFO'));
    expect(info).toMatch(/cluster_slots_assigned:16384/);
    // Keys whose hash tags land in different slots, served through one cluster client.
    const tags = ['{a}', '{b}', '{c}', '{d}', '{e}'];
    for (const tag of tags) await client.set(`${tag}:k`, tag);
    expect(await Promise.all(tags.map((tag) => client.get(`${tag}:k`)))).toEqual(tags);
    const slots = new Set(
      await Promise.all(tags.map(async (tag) => String(await client.cluster('KEYSLOT', `${tag}:k`)))),
    );
    expect(slots.size).toBeGreaterThan(1);
  });
});
