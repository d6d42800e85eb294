import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { Context } from './context.js';
import type { PairsArgs } from './load-pairs.js';
import { type Load, type Measured, type RunFigures, roundOrder, runOn, windowFor } from './measure.js';
import { sleep } from './net.js';
import { Pool } from './pool.js';
import { CpuMeter } from './proc-stats.js';
import { type BenchCluster, startCluster } from './redis-cluster.js';
import { type BenchRedis, startRedis } from './redis-server.js';
import {
  allKeys,
  type CommandCounts,
  commandStatsOf,
  diffCounts,
  lessBackground,
  newKeys,
  redisCpuOf,
  totalOf,
} from './redis-stats.js';
import type { ServerProcess } from './server-process.js';
import { human, median, micros, split } from './stats.js';
import { startRelay } from './targets.js';

/*
 * Scale-out: the throughput scenario's load (N pairs, closed loop, 256 B by default) on four
 * set-ups, interleaved per round: 1 and 2 relays on a standalone redis-server, 1 and 2 relays on
 * a Redis Cluster of 3 primaries without replicas (cluster/standalone ratios of the same round).
 * With 2 relays, pairs spread over both and half of them have sender and recipient on different
 * relays (load-pairs.ts pairEnds). Every relay of a set-up's Redis is charged to it, the idle one
 * of the 1-relay case too (it may hold a sweep lease); Redis figures are summed over every primary.
 */
export type Backend = 'standalone' | 'cluster';

export interface ScaleCase {
  backend: Backend;
  relays: number;
}

export const SCALE_CASES: readonly ScaleCase[] = [
  { backend: 'standalone', relays: 1 },
  { backend: 'cluster', relays: 1 },
  { backend: 'standalone', relays: 2 },
  { backend: 'cluster', relays: 2 },
];

export interface ScaleCaseFigures extends ScaleCase {
  /** Per round, in round order (so round i of two cases ran close in time). */
  rounds: number[];
  msgsPerSec: number;
  relayCpuMicrosPerMsg: number;
  redisCpuMicrosPerMsg: number;
  /** Per primary (one entry on the standalone server), INFO cpu deltas, medians of rounds. */
  redisNodeCpuMicrosPerMsg: number[];
  redisCommandsPerMsg: number;
  /** The same less the set-up's idle background (the sweep's probes), per command: the message path. */
  messagePathCommandsPerMsg: number;
  generatorCpuMicrosPerMsg: number;
  /** Commands summed over the rounds, per delivered message (INFO commandstats, Lua's included). */
  byCommandPerMsg: Record<string, number>;
  lost: number;
  duplicated: number;
}

/** What the Redis side of a set-up does with every client connected and no message moving. */
export interface Background {
  commandsPerSec: number;
  byCommandPerSec: CommandCounts;
  /** Per primary, microseconds of CPU per second (INFO cpu). */
  nodeCpuMicrosPerSec: number[];
  /** Both relays of the set-up together, microseconds of CPU per second (/proc). */
  relayCpuMicrosPerSec: number;
}

export interface ScaleoutFigures {
  primaries: number;
  replicas: number;
  pairs: number;
  payloadBytes: number;
  cases: ScaleCaseFigures[];
  background: Record<Backend, Background>;
  residualKeys: Record<Backend, number>;
}

interface Setup {
  backend: Backend;
  relays: ServerProcess[];
  redisPids: number[];
  dbs: Redis[];
}

const PRIMARIES = 3;

export async function runScaleout(ctx: Context): Promise<ScaleoutFigures> {
  const o = ctx.options;
  if (o.relayUrl) ctx.progress('scaleout: starts relays of its own, not --relay-url');
  const size = o.sizes[0]!;
  ctx.progress(`scaleout: starting a standalone redis-server and a cluster of ${PRIMARIES} primaries`);
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const standalone = await startRedis();
    stops.push(() => standalone.stop());
    const cluster = await startCluster(PRIMARIES);
    stops.push(() => cluster.stop());
    const setups = {
      standalone: await setupOn('standalone', standalone, ctx, stops),
      cluster: await setupOn('cluster', cluster, ctx, stops),
    };
    const pool = await Pool.start(o.workers);
    stops.push(() => pool.stop());
    const shares = split(o.pairs, o.workers);
    for (const c of SCALE_CASES) {
      ctx.progress(`scaleout: connecting ${o.pairs} pairs to ${label(c)}`);
      const urls = setups[c.backend].relays.slice(0, c.relays).map((r) => r.url);
      const results = await pool.all<{ failures: number; firstError?: string }>((i) => ({
        cmd: 'pairs',
        args: { kind: 'passby', group: label(c), urls, count: shares[i]!, spread: 4 } satisfies PairsArgs,
      }));
      const failed = results.find((r) => r.failures > 0);
      if (failed)
        throw new Error(`scaleout ${label(c)}: ${failed.failures} pairs failed: ${failed.firstError}`);
    }
    const keysBefore = {
      standalone: await keysOf(setups.standalone.dbs),
      cluster: await keysOf(setups.cluster.dbs),
    };
    const background = {
      standalone: await idle(setups.standalone),
      cluster: await idle(setups.cluster),
    };
    const load: Load = {
      mode: 'saturate',
      size,
      durationMs: o.duration * 1000,
      window: windowFor(size),
      settleMs: 60_000,
    };
    const measured = (c: ScaleCase): Measured => {
      const s = setups[c.backend];
      return { group: label(c), serverPids: s.relays.map((r) => r.pid), redisPids: s.redisPids, dbs: s.dbs };
    };
    for (const c of SCALE_CASES) {
      ctx.progress(`scaleout: warming up ${label(c)}`);
      await runOn(pool, 'passby', measured(c), { ...load, durationMs: Math.min(1_000, load.durationMs) });
    }
    const runs = new Map<ScaleCase, RunFigures[]>(SCALE_CASES.map((c) => [c, []]));
    for (let r = 0; r < o.rounds; r++) {
      for (const c of roundOrder(SCALE_CASES, r)) {
        const f = await runOn(pool, 'passby', measured(c), load);
        runs.get(c)!.push(f);
        ctx.correctness.add('passby', 'scaleout', { lost: f.lost, duplicated: f.duplicated });
        ctx.progress(
          `scaleout round ${r + 1}/${o.rounds} ${label(c)}: ${human(f.msgsPerSec)} msg/s, cpu/msg relays ` +
            `${micros(f.serverCpuMicrosPerMsg)} redis ${micros(f.redisCpuMicrosPerMsg)}, ` +
            `${human(f.redisCommandsPerMsg)} commands/msg` +
            (f.lost || f.duplicated ? ` (lost ${f.lost}, duplicated ${f.duplicated})` : ''),
        );
      }
    }
    const residual = {
      standalone: await residualOf(ctx, setups.standalone, keysBefore.standalone),
      cluster: await residualOf(ctx, setups.cluster, keysBefore.cluster),
    };
    return {
      primaries: PRIMARIES,
      replicas: 0,
      pairs: o.pairs,
      payloadBytes: size,
      cases: SCALE_CASES.map((c) => summarize(c, runs.get(c)!, background[c.backend])),
      background,
      residualKeys: residual,
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

export function label(c: ScaleCase): string {
  return `${c.relays} relay${c.relays > 1 ? 's' : ''} on ${c.backend}`;
}

/** Two relays on one Redis set-up, and a client per Redis server for INFO and SCAN. */
async function setupOn(
  backend: Backend,
  redis: BenchRedis | BenchCluster,
  ctx: Context,
  stops: (() => Promise<void> | void)[],
): Promise<Setup> {
  const isCluster = backend === 'cluster';
  const env: Record<string, string> = isCluster ? { PASSBY_REDIS_CLUSTER: '1' } : {};
  const nodeArgs = [...ctx.options.relayNodeArgs];
  if (ctx.options.profileRelay) {
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${resolve(ctx.options.profileRelay, backend)}`);
  }
  const relays: ServerProcess[] = [];
  for (let i = 0; i < 2; i++) {
    ctx.progress(`scaleout: starting relay ${i + 1} of 2 on ${backend}`);
    const relay = await startRelay(`relay-${backend}-${i}`, { redisUrl: redis.url, nodeArgs, env });
    relays.push(relay);
    stops.push(() => relay.stop());
  }
  const dbs = 'nodes' in redis ? redis.clients() : [redis.client()];
  stops.push(() => {
    for (const db of dbs) db.disconnect();
  });
  const redisPids = 'nodes' in redis ? redis.pids : [redis.pid];
  return { backend, relays, redisPids, dbs };
}

/** Commands and Redis CPU per second with every pair connected and idle, over 2 s. */
async function idle(s: Setup): Promise<Background> {
  const ms = 2_000;
  const before = await commandStatsOf(s.dbs);
  const cpuBefore = await Promise.all(s.dbs.map(redisCpuOf));
  const relayCpu = new CpuMeter(s.relays.map((r) => r.pid));
  await sleep(ms);
  const relayMicros = relayCpu.used();
  const commands = diffCounts(before, await commandStatsOf(s.dbs));
  const cpuAfter = await Promise.all(s.dbs.map(redisCpuOf));
  const byCommandPerSec = Object.fromEntries(Object.entries(commands).map(([k, n]) => [k, n / (ms / 1000)]));
  return {
    commandsPerSec: totalOf(commands) / (ms / 1000),
    byCommandPerSec,
    nodeCpuMicrosPerSec: cpuAfter.map((a, i) => (a - cpuBefore[i]!) / (ms / 1000)),
    relayCpuMicrosPerSec: relayMicros / (ms / 1000),
  };
}

async function keysOf(dbs: Redis[]): Promise<Set<string>[]> {
  return Promise.all(dbs.map(allKeys));
}

/** Keys left on a set-up's servers since `before`, after giving in-flight deletes 3 s to land. */
async function residualOf(ctx: Context, s: Setup, before: Set<string>[]): Promise<number> {
  const deadline = Date.now() + 3_000;
  let left: string[] = [];
  do {
    left = (await Promise.all(s.dbs.map((db, i) => newKeys(db, before[i]!)))).flat();
    if (left.length === 0) break;
    await sleep(100);
  } while (Date.now() < deadline);
  ctx.correctness.add('passby', 'scaleout', { residualKeys: left.length, residualSample: left.slice(0, 5) });
  if (left.length > 0) ctx.progress(`scaleout: ${left.length} keys left on ${s.backend}, e.g. ${left[0]}`);
  return left.length;
}

function summarize(c: ScaleCase, runs: RunFigures[], bg: Background): ScaleCaseFigures {
  const med = (f: (r: RunFigures) => number | null) => median(runs.map((r) => f(r) ?? Number.NaN));
  const nodes = runs[0]?.redisNodeCpuMicrosPerMsg.length ?? 0;
  const commands: CommandCounts = {};
  let delivered = 0;
  for (const r of runs) {
    delivered += r.delivered;
    for (const [k, n] of Object.entries(r.commands)) commands[k] = (commands[k] ?? 0) + n;
  }
  return {
    ...c,
    rounds: runs.map((r) => r.msgsPerSec),
    msgsPerSec: med((r) => r.msgsPerSec),
    relayCpuMicrosPerMsg: med((r) => r.serverCpuMicrosPerMsg),
    redisCpuMicrosPerMsg: med((r) => r.redisCpuMicrosPerMsg),
    redisNodeCpuMicrosPerMsg: Array.from({ length: nodes }, (_, i) =>
      med((r) => r.redisNodeCpuMicrosPerMsg[i] ?? Number.NaN),
    ),
    redisCommandsPerMsg: med((r) => r.redisCommandsPerMsg),
    messagePathCommandsPerMsg: med(
      (r) => totalOf(lessBackground(r.commands, bg.byCommandPerSec, r.statsWindowMs)) / r.delivered,
    ),
    generatorCpuMicrosPerMsg: med((r) => r.generatorCpuMicrosPerMsg),
    byCommandPerMsg: Object.fromEntries(Object.entries(commands).map(([k, n]) => [k, n / delivered])),
    lost: runs.reduce((a, r) => a + r.lost, 0),
    duplicated: runs.reduce((a, r) => a + r.duplicated, 0),
  };
}
