import type { Redis } from 'ioredis';
import type { Context, PairBench } from './context.js';
import { Histogram } from './histogram.js';
import type { TargetKind } from './link.js';
import type { RunResult } from './load-pairs.js';
import { sleep } from './net.js';
import type { Pool } from './pool.js';
import { CpuMeter } from './proc-stats.js';
import { type CommandCounts, commandStatsOf, diffCounts, redisCpuOf, totalOf } from './redis-stats.js';
import { split } from './stats.js';

/**
 * One timed run against one target, with what the server side spent on it: server CPU (the relay
 * or peer process), redis-server CPU and Redis commands, all per delivered message.
 */
export interface RunFigures {
  kind: TargetKind;
  /** First-time deliveries inside the timed window, per second (closed loop), or overall (open loop). */
  msgsPerSec: number;
  delivered: number;
  lost: number;
  duplicated: number;
  refused: number;
  shed: number;
  serverCpuMicrosPerMsg: number | null;
  /** CPU of all load-generator processes per delivered message. */
  generatorCpuMicrosPerMsg: number;
  redisCpuMicrosPerMsg: number;
  /** Per Redis server (each cluster primary), from INFO cpu used_cpu_sys + used_cpu_user. */
  redisNodeCpuMicrosPerMsg: number[];
  redisCommandsPerMsg: number;
  commands: CommandCounts;
  /** Time between the two INFO commandstats readings `commands` is the difference of. */
  statsWindowMs: number;
  latency: Histogram;
  lag: Histogram;
}

export type Load =
  | { mode: 'saturate'; size: number; durationMs: number; window: number; settleMs: number }
  | { mode: 'open'; size: number; rate: number; durationMs: number; settleMs: number };

function serverPid(ctx: Context, kind: TargetKind): number | undefined {
  if (kind === 'passby') return ctx.targets.relay?.pid;
  return ctx.targets[kind].pid;
}

/** What a run is measured on: the server processes, the Redis servers and their clients. */
export interface Measured {
  /** The workers' pairs group (default: the kind). */
  group?: string;
  /** Server processes whose CPU is charged to the run; undefined: not measurable (--relay-url). */
  serverPids: number[] | undefined;
  redisPids: number[];
  /** One client per Redis server (each cluster primary) for INFO commandstats and INFO cpu. */
  dbs: Redis[];
}

/** One timed run against one target of the shared set-up (main.ts's Redis and targets). */
export function runOnce(ctx: Context, bench: PairBench, kind: TargetKind, load: Load): Promise<RunFigures> {
  const pid = serverPid(ctx, kind);
  const on = { serverPids: pid === undefined ? undefined : [pid], redisPids: [ctx.redis.pid], dbs: [ctx.db] };
  return runOn(bench.pool, kind, on, load);
}

/** One timed run of the pairs of `kind` (and group), measured on `on`. */
export async function runOn(pool: Pool, kind: TargetKind, on: Measured, load: Load): Promise<RunFigures> {
  const serverCpu = on.serverPids === undefined ? undefined : new CpuMeter(on.serverPids);
  const redisCpu = new CpuMeter(on.redisPids);
  const generatorCpu = new CpuMeter(pool.pids);
  const before = await commandStatsOf(on.dbs);
  const statsFrom = performance.now();
  const nodeCpuBefore = await Promise.all(on.dbs.map(redisCpuOf));
  const workers = pool.size;
  const group = on.group;
  const rates = load.mode === 'open' ? split(Math.round(load.rate), workers) : [];
  const results = await pool.all<RunResult>((i) =>
    load.mode === 'saturate'
      ? { cmd: 'saturate', args: { kind, group, ...load } }
      : {
          cmd: 'openLoop',
          args: {
            kind,
            group,
            size: load.size,
            rate: Math.max(1, rates[i]!),
            durationMs: load.durationMs,
            settleMs: load.settleMs,
            // A target more than half a second of load behind sheds the excess (reported as
            // shed) so an overloaded run stays bounded in memory and in settle time.
            maxOutstanding: Math.max(1_000, Math.round(rates[i]! / 2)),
          },
        },
  );
  // The last deliveries' acks are still on their way to the server (and its Redis): let them
  // land so their CPU and commands are charged to this run, not to the next one.
  await sleep(300);
  const commands = diffCounts(before, await commandStatsOf(on.dbs));
  const statsWindowMs = performance.now() - statsFrom;
  const nodeCpuAfter = await Promise.all(on.dbs.map(redisCpuOf));
  const serverMicros = serverCpu?.used();
  const redisMicros = redisCpu.used();
  const generatorMicros = generatorCpu.used();
  const latency = new Histogram();
  const lag = new Histogram();
  let delivered = 0;
  let inWindow = 0;
  let lost = 0;
  let duplicated = 0;
  let refused = 0;
  let shed = 0;
  for (const r of results) {
    latency.merge(r.latency);
    lag.merge(r.lag);
    delivered += r.delivered;
    inWindow += r.inWindow;
    lost += r.missing;
    duplicated += r.duplicated + r.unexpected;
    refused += r.refused;
    shed += r.shed;
  }
  const per = (x: number) => (delivered > 0 ? x / delivered : Number.NaN);
  return {
    kind,
    msgsPerSec: (load.mode === 'saturate' ? inWindow : delivered) / (load.durationMs / 1000),
    delivered,
    lost,
    duplicated,
    refused,
    shed,
    serverCpuMicrosPerMsg: serverMicros === undefined ? null : per(serverMicros),
    redisCpuMicrosPerMsg: per(redisMicros),
    redisNodeCpuMicrosPerMsg: nodeCpuAfter.map((a, i) => per(a - nodeCpuBefore[i]!)),
    generatorCpuMicrosPerMsg: per(generatorMicros),
    redisCommandsPerMsg: per(totalOf(commands)),
    commands,
    statsWindowMs,
    latency,
    lag,
  };
}

/** Target order for round r: rotated each round so no target always runs first (or last). */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Per-message window for closed-loop runs: 32 in flight per pair, fewer for large payloads. */
export function windowFor(size: number): number {
  return Math.max(2, Math.min(32, Math.floor((256 * 1024) / size)));
}
