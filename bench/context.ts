import type { Redis } from 'ioredis';
import type { Options } from './cli.js';
import { TARGET_KINDS, type TargetKind } from './link.js';
import type { PairsArgs } from './load-pairs.js';
import { sleep } from './net.js';
import { NATS_STREAM } from './peer-nats.js';
import { Pool } from './pool.js';
import type { BenchRedis } from './redis-server.js';
import { allKeys, newKeys } from './redis-stats.js';
import { split } from './stats.js';
import type { Targets } from './targets.js';

/** What every scenario gets: options, the running targets, Redis, progress and the correctness tally. */
export interface Context {
  options: Options;
  redis: BenchRedis;
  /** A client of the bench's redis-server for INFO and SCAN. */
  db: Redis;
  targets: Targets;
  correctness: Correctness;
  progress(text: string): void;
  /** The pairs pool (shared by throughput and latency), connected to every target on first use. */
  pairs(): Promise<PairBench>;
}

export interface PairBench {
  pool: Pool;
  /** Keys in Redis once every pair had connected, before any send. */
  keysBefore: Set<string>;
  /** Messages left in the NATS stream that a scenario was already charged with. */
  natsLeftCounted: number;
}

export interface Tally {
  lost: number;
  duplicated: number;
  residualKeys: number;
  residualSample: string[];
}

/** Lost, duplicated and residual figures per target and per scenario. */
export class Correctness {
  readonly byTarget: Record<TargetKind, Tally> = {
    passby: emptyTally(),
    bare: emptyTally(),
    socketio: emptyTally(),
    nats: emptyTally(),
  };
  readonly byScenario: Record<string, Tally> = {};

  add(kind: TargetKind, scenario: string, t: Partial<Tally>): void {
    for (const tally of [this.byTarget[kind], kind === 'passby' ? this.scenario(scenario) : undefined]) {
      if (!tally) continue;
      tally.lost += t.lost ?? 0;
      tally.duplicated += t.duplicated ?? 0;
      tally.residualKeys += t.residualKeys ?? 0;
      for (const k of t.residualSample ?? [])
        if (tally.residualSample.length < 5) tally.residualSample.push(k);
    }
  }

  private scenario(name: string): Tally {
    this.byScenario[name] ??= emptyTally();
    return this.byScenario[name];
  }
}

function emptyTally(): Tally {
  return { lost: 0, duplicated: 0, residualKeys: 0, residualSample: [] };
}

/** The URL the load generator uses for a target. */
export function urlOf(targets: Targets, kind: TargetKind): string {
  if (kind === 'passby') return targets.passbyUrl;
  return targets[kind].url;
}

/** Connects `pairs` pairs per target, spread over the workers. */
export async function openPairs(ctx: Context): Promise<PairBench> {
  const o = ctx.options;
  const pool = await Pool.start(o.workers);
  const shares = split(o.pairs, o.workers);
  for (const kind of TARGET_KINDS) {
    ctx.progress(`connecting ${o.pairs} pairs to ${kind}`);
    const results = await pool.all<{ failures: number; firstError?: string }>((i) => ({
      cmd: 'pairs',
      args: { kind, urls: [urlOf(ctx.targets, kind)], count: shares[i]!, spread: 4 } satisfies PairsArgs,
    }));
    const failed = results.find((r) => r.failures > 0);
    if (failed) throw new Error(`${kind}: ${failed.failures} pairs failed to connect: ${failed.firstError}`);
  }
  return { pool, keysBefore: await allKeys(ctx.db), natsLeftCounted: 0 };
}

/**
 * The relay's own bookkeeping, which outlives any message by design and is never a leftover: the
 * accounts' seen index (the idle expiry's last-authentication shards) and the relays' leases (a
 * sweep's, an AOF rewrite's: SET PX, renewed while relays run). A run can create them at any time.
 */
export const RELAY_BOOKKEEPING = /^pb:(seen|sweep|aof-rewrite):/;

/**
 * Keys left in Redis since `before`, after giving in-flight deletes up to `settleMs` to land.
 * Keys of the Socket.IO peer (prefix sio:) are charged to it, all others but the relay's
 * bookkeeping (RELAY_BOOKKEEPING) to passby.
 */
export async function residualKeys(ctx: Context, scenario: string, before: Set<string>, settleMs = 3_000) {
  const deadline = Date.now() + settleMs;
  const left = async () => (await newKeys(ctx.db, before)).filter((k) => !RELAY_BOOKKEEPING.test(k));
  let keys = await left();
  while (keys.length > 0 && Date.now() < deadline) {
    await sleep(100);
    keys = await left();
  }
  // Counted once: a later check against the same snapshot does not charge these again.
  for (const k of keys) before.add(k);
  const sio = keys.filter((k) => k.startsWith('sio:'));
  const passby = keys.filter((k) => !k.startsWith('sio:'));
  ctx.correctness.add('passby', scenario, {
    residualKeys: passby.length,
    residualSample: passby.slice(0, 5),
  });
  ctx.correctness.add('socketio', scenario, { residualKeys: sio.length, residualSample: sio.slice(0, 5) });
  return { passby: passby.length, socketio: sio.length };
}

/**
 * NATS's "keys left": messages still in the work-queue stream (stored, never acked), after
 * giving in-flight acks up to `settleMs` to land. Each message left is charged once.
 */
export async function residualNats(ctx: Context, scenario: string, bench: PairBench, settleMs = 3_000) {
  const deadline = Date.now() + settleMs;
  let left = await ctx.targets.nats.messagesLeft();
  while (left > bench.natsLeftCounted && Date.now() < deadline) {
    await sleep(100);
    left = await ctx.targets.nats.messagesLeft();
  }
  const fresh = Math.max(0, left - bench.natsLeftCounted);
  bench.natsLeftCounted = Math.max(bench.natsLeftCounted, left);
  ctx.correctness.add('nats', scenario, {
    residualKeys: fresh,
    residualSample: fresh > 0 ? [`${fresh} messages in stream ${NATS_STREAM}`] : [],
  });
  return fresh;
}
