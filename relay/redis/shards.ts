import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Leases } from './lease.js';
import { SLOTS, slotTag } from './slots.js';

/*
 * Indexes that list users (which mailboxes have entries due, which pending matches expire) are
 * sharded per slot: the shard of slot s lives under a tag that hashes to s, so the script that
 * files a user's entry updates its shard in the same call, and no key is global. A sweeper reads
 * them node by node: the slots each primary serves now, from ioredis's slot table, refreshed as
 * slots move and primaries fail over. A slot is served by one primary at a time, so a sweep that
 * walks every node's slots forgets none, before or after a reshard.
 */

/** The key of slot `slot`'s shard of index `name`: `<prefix><name>:{<tag of slot>}`. */
export function shardKey(prefix: string, name: string, slot: number): string {
  return `${prefix}${name}:{${slotTag(slot)}}`;
}

/** The slots each primary serves now (node key "host:port"); one node holding them all on a standalone server. */
export function slotsByNode(client: RedisClient): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!(client instanceof Cluster)) {
    out.set(
      'standalone',
      Array.from({ length: SLOTS }, (_, s) => s),
    );
    return out;
  }
  for (let slot = 0; slot < SLOTS; slot++) {
    const node = client.slots[slot]?.[0];
    if (node === undefined) continue;
    const slots = out.get(node);
    if (slots === undefined) out.set(node, [slot]);
    else slots.push(slot);
  }
  return out;
}

/** Slots probed per pipeline: keeps one reply batch small. */
const PROBE_BATCH = 2_048;

/**
 * The slots among `slots` whose shard (`key(slot)`) has a member scored at most `now`: one
 * ZRANGEBYSCORE ... LIMIT 0 1 per slot, sent in pipelines (a Cluster pipeline is split per node).
 * An empty shard costs Redis a dictionary look-up.
 *
 * A slot that answers MOVED or ASK has left the node since the slot table was read (a reshard
 * that no command of this relay has crossed yet): it is skipped, and the table is re-read so the
 * next sweep visits it on its new owner. (ioredis re-sends a pipeline only when every error in it
 * is the same; each moved slot's MOVED names its own slot, so the probe failed as a whole, every
 * sweep, and the node's entries never expired while the table stayed stale.)
 */
export async function dueSlots(
  client: RedisClient,
  slots: readonly number[],
  key: (slot: number) => string,
  now: number,
): Promise<number[]> {
  const due: number[] = [];
  const max = String(now);
  let stale = false;
  for (let i = 0; i < slots.length; i += PROBE_BATCH) {
    const batch = slots.slice(i, i + PROBE_BATCH);
    const pipeline = client.pipeline();
    for (const slot of batch) pipeline.zrangebyscore(key(slot), '-inf', max, 'LIMIT', 0, 1);
    const replies = (await pipeline.exec()) ?? [];
    for (let j = 0; j < batch.length; j++) {
      const [err, members] = replies[j] ?? [new Error('no reply')];
      if (err && client instanceof Cluster && REDIRECTED.test(err.message)) {
        stale = true;
        continue;
      }
      if (err) throw err;
      if ((members as string[]).length > 0) due.push(batch[j]!);
    }
  }
  if (stale && client instanceof Cluster) client.refreshSlotsCache();
  return due;
}

/**
 * The slots of each primary whose lease `<prefix>sweep:{<tag of its first slot>}:<job>:<node>`
 * this relay holds (takes or renews) for `ms`: the nodes it sweeps now for `job`. Another relay
 * skips them while the lease lasts, and takes them over once the holder stops renewing.
 */
export async function leasedNodes(
  client: RedisClient,
  leases: Leases,
  prefix: string,
  job: string,
  ms: number,
): Promise<number[][]> {
  const held: number[][] = [];
  for (const [node, slots] of slotsByNode(client)) {
    if (await leases.hold(`${prefix}sweep:{${slotTag(slots[0]!)}}:${job}:${node}`, ms)) held.push(slots);
  }
  return held;
}

/** A Cluster's answer for a key whose slot another node serves (now, or during a migration). */
const REDIRECTED = /^(MOVED|ASK) /;
