import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Leases } from './lease.js';
import { SLOTS, slotTag } from './slots.js';

/*
 * Indexes that list users (which mailboxes have entries due, which pending matches expire) are
 * sharded per slot on a Cluster: the shard of slot s lives under a tag that hashes to s, so the
 * script that files a user's entry updates its shard in the same call, and no key is global. A
 * standalone server, where a script may touch any key, keeps one shard (slot 0's) per index:
 * the same keys and scripts, one shard to read instead of 16,384. A sweeper reads
 * them node by node: the slots each primary serves now, from ioredis's slot table, refreshed as
 * slots move and primaries fail over. A slot is served by one primary at a time, so a sweep that
 * walks every node's slots forgets none, before or after a reshard.
 */

/** The key of slot `slot`'s shard of index `name`: `<prefix><name>:{<tag of slot>}`. */
export function shardKey(prefix: string, name: string, slot: number): string {
  return `${prefix}${name}:{${slotTag(slot)}}`;
}

/** The shard of an index for keys of `slot`: its own on a Cluster, slot 0's on a standalone server. */
export function indexSlot(sharded: boolean, slot: number): number {
  return sharded ? slot : 0;
}

/**
 * The index shards each primary serves now (node key "host:port"), by slot; on a standalone
 * server the one shard, slot 0's.
 */
export function slotsByNode(client: RedisClient): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!(client instanceof Cluster)) {
    out.set('standalone', [0]);
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
 * What a sweeper knows of the shards of one index: the earliest score of each slot's shard, as it
 * last read it or as this relay filed since, so that a sweep reads again only the shards that may
 * hold something due. Reading all 16,384 every sweep interval was most of Redis's commands and a
 * tenth of a relay core with nothing sent (bench/RESULTS.md, scale-out).
 *
 * A shard is read when nothing is known of it, when what is known is due, and otherwise once per
 * `refreshMs` (spread over that time, a sixteenth of the slots at a time): an entry another relay
 * filed is found within that, one this relay filed at once. A sweep that visited a slot forgets
 * it, so the next reads what the sweep left.
 */
export class ShardWatch {
  private readonly earliest = new Float64Array(SLOTS).fill(Number.NaN);
  private readonly read = new Float64Array(SLOTS).fill(Number.NEGATIVE_INFINITY);

  constructor(
    private readonly refreshMs: number,
    private readonly wallClock: () => number = Date.now,
  ) {}

  /** This relay filed a member scored `score` in `slot`'s shard. */
  filed(slot: number, score: number): void {
    const known = this.earliest[slot]!;
    if (score < known) this.earliest[slot] = score;
  }

  /** A sweep visited `slot`: what it left is read again next time. */
  visited(slot: number): void {
    this.earliest[slot] = Number.NaN;
  }

  /**
   * The slots among `slots` whose shard (`key(slot)`) has a member scored at most `upTo`, reading
   * (ZRANGE 0 0 WITHSCORES, pipelined; a Cluster pipeline is split per node) those that may.
   *
   * A slot that answers MOVED or ASK has left the node since the slot table was read (a reshard
   * that no command of this relay has crossed yet): it is skipped and forgotten, and the table is
   * re-read so the next sweep visits it on its new owner. (ioredis re-sends a pipeline only when
   * every error in it is the same; each moved slot's MOVED names its own slot, so the probe
   * failed as a whole, every sweep, and the node's entries never expired while the table stayed
   * stale.)
   */
  async due(
    client: RedisClient,
    slots: readonly number[],
    key: (slot: number) => string,
    upTo: number,
  ): Promise<number[]> {
    const wall = this.wallClock();
    const stale = slots.filter((slot) => {
      const known = this.earliest[slot]!;
      return !(known > upTo) || wall - this.read[slot]! >= this.refreshMs;
    });
    let moved = false;
    for (let i = 0; i < stale.length; i += PROBE_BATCH) {
      const batch = stale.slice(i, i + PROBE_BATCH);
      const pipeline = client.pipeline();
      for (const slot of batch) pipeline.zrange(key(slot), 0, 0, 'WITHSCORES');
      const replies = (await pipeline.exec()) ?? [];
      for (let j = 0; j < batch.length; j++) {
        const slot = batch[j]!;
        const [err, first] = replies[j] ?? [new Error('no reply')];
        if (err && client instanceof Cluster && REDIRECTED.test(err.message)) {
          moved = true;
          this.visited(slot);
          continue;
        }
        if (err) throw err;
        const score = (first as string[])[1];
        this.earliest[slot] = score === undefined ? Number.POSITIVE_INFINITY : Number(score);
        // The first read is spread: slot k counts as read k/16 of a period earlier, so the
        // refreshes come a sixteenth of the slots at a time; each later one a period after the last.
        const never = this.read[slot] === Number.NEGATIVE_INFINITY;
        this.read[slot] = never ? wall - ((slot % 16) * this.refreshMs) / 16 : wall;
      }
    }
    if (moved && client instanceof Cluster) client.refreshSlotsCache();
    return slots.filter((slot) => this.earliest[slot]! <= upTo);
  }
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
