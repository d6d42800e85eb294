import { Cluster, type Redis } from 'ioredis';
import { primaryByKey, type RedisClient } from './connection.js';
import { slotsByNode } from './shards.js';
import { slotTag } from './slots.js';

/*
 * Deleted payloads leave the disk. Redis appends every write to its AOF, deletes included, so the
 * bytes of an acknowledged message stay in the file until the next rewrite, which writes the
 * live data afresh and removes the old files (Redis 7's multi-part AOF deletes the history once
 * the new base is written). Redis rewrites on growth only (auto-aof-rewrite-percentage), which
 * bounds nothing in time on a quiet server; so every relay offers to rewrite each primary with
 * AOF on every `intervalMs`, and a key per node (SET NX PX) makes one offer per interval win,
 * whichever relay makes it. Deleted bytes stay on a node's disk at most the interval plus one
 * rewrite. A node without AOF is never asked: a rewrite would write its whole data set to disk.
 */

export interface AofRewriter {
  /** Asks each primary whose interval has passed to rewrite its AOF; returns how many were asked. */
  run(): Promise<number>;
}

export function aofRewriter(client: RedisClient, prefix: string, intervalMs: number): AofRewriter {
  // Each relay looks at most once a minute (or once an interval, if shorter): an INFO per node.
  let looked = Number.NEGATIVE_INFINITY;
  return {
    async run() {
      if (intervalMs <= 0 || Date.now() - looked < Math.min(intervalMs, 60_000)) return 0;
      looked = Date.now();
      let asked = 0;
      for (const [node, slots] of slotsByNode(client)) {
        const connection = serverOf(client, node);
        if (connection === undefined) continue;
        const info = String(await connection.info('persistence'));
        if (!/^aof_enabled:1\s*$/m.test(info)) continue;
        const key = `${prefix}aof-rewrite:{${slotTag(slots[0]!)}}:${node}`;
        if ((await client.set(key, '1', 'PX', intervalMs, 'NX')) !== 'OK') continue;
        // Redis schedules it after a child that is still running (a save, a rewrite).
        await connection.bgrewriteaof();
        asked++;
      }
      return asked;
    },
  };
}

function serverOf(client: RedisClient, node: string): Redis | undefined {
  if (!(client instanceof Cluster)) return client;
  return primaryByKey(client, node);
}
