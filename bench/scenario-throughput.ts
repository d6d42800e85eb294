import { type Context, residualKeys, residualNats } from './context.js';
import { TARGET_KINDS, type TargetKind } from './link.js';
import { type RunFigures, roundOrder, runOnce, windowFor } from './measure.js';
import { type CommandCounts, type MonitorSample, monitor } from './redis-stats.js';
import { human, median, medianRatio, micros } from './stats.js';

/*
 * Throughput at saturation: N pairs, closed loop, each payload size, every target in every
 * round (order rotated), ratios taken per round and reported as their median.
 */
export interface SizeFigures {
  size: number;
  msgsPerSec: Record<TargetKind, number>;
  serverCpuMicrosPerMsg: Record<TargetKind, number | null>;
  redisCpuMicrosPerMsg: Record<TargetKind, number>;
  generatorCpuMicrosPerMsg: Record<TargetKind, number>;
  redisCommandsPerMsg: Record<TargetKind, number>;
  ratioToBare: number;
  ratioToSocketio: number;
  ratioToNats: number;
  rounds: Record<TargetKind, number[]>;
}

export interface ThroughputFigures {
  sizes: SizeFigures[];
  /** passby's 256 B Redis commands, summed over its rounds, per delivered message. */
  passbyCommands: CommandCounts;
  passbyDelivered: number;
  /** Client-issued vs Lua-internal commands from a short MONITOR sample, per delivered message. */
  monitorSample: (MonitorSample & { delivered: number }) | null;
}

export async function runThroughput(ctx: Context): Promise<ThroughputFigures> {
  const o = ctx.options;
  const bench = await ctx.pairs();
  const durationMs = o.duration * 1000;
  const settleMs = 60_000;
  const sizes: SizeFigures[] = [];
  const passbyCommands: CommandCounts = {};
  let passbyDelivered = 0;
  for (const size of o.sizes) {
    const load = { mode: 'saturate' as const, size, durationMs, window: windowFor(size), settleMs };
    // Warm-up (JIT, buffers, Redis scripts) once per target, before the first size; not recorded.
    for (const kind of size === o.sizes[0] ? TARGET_KINDS : []) {
      ctx.progress(`throughput: warming up ${kind}`);
      await runOnce(ctx, bench, kind, { ...load, durationMs: Math.min(1_000, durationMs) });
    }
    const runs: Record<TargetKind, RunFigures[]> = { passby: [], bare: [], socketio: [], nats: [] };
    for (let r = 0; r < o.rounds; r++) {
      for (const kind of roundOrder(TARGET_KINDS, r)) {
        const f = await runOnce(ctx, bench, kind, load);
        runs[kind].push(f);
        ctx.correctness.add(kind, 'throughput', { lost: f.lost, duplicated: f.duplicated });
        ctx.progress(
          `throughput ${size} B round ${r + 1}/${o.rounds} ${kind}: ${human(f.msgsPerSec)} msg/s, ` +
            `cpu/msg server ${micros(f.serverCpuMicrosPerMsg)} redis ${micros(f.redisCpuMicrosPerMsg)} ` +
            `generator ${micros(f.generatorCpuMicrosPerMsg)}` +
            (f.lost || f.duplicated ? ` (lost ${f.lost}, duplicated ${f.duplicated})` : ''),
        );
        if (kind === 'passby' && size === o.sizes[0]) {
          passbyDelivered += f.delivered;
          for (const [c, n] of Object.entries(f.commands)) passbyCommands[c] = (passbyCommands[c] ?? 0) + n;
        }
      }
    }
    sizes.push(summarize(size, runs));
  }
  const monitorSample = await sampleCommands(ctx, MONITOR_SIZE);
  const keys = await residualKeys(ctx, 'throughput', bench.keysBefore);
  if (keys.passby > 0) ctx.progress(`throughput: ${keys.passby} passby keys left in Redis`);
  const natsLeft = await residualNats(ctx, 'throughput', bench);
  if (natsLeft > 0) ctx.progress(`throughput: ${natsLeft} messages left in the NATS stream`);
  return { sizes, passbyCommands, passbyDelivered, monitorSample };
}

function summarize(size: number, runs: Record<TargetKind, RunFigures[]>): SizeFigures {
  const pick = <T>(f: (r: RunFigures) => T) =>
    Object.fromEntries(TARGET_KINDS.map((k) => [k, runs[k].map(f)])) as Record<TargetKind, T[]>;
  const rate = pick((r) => r.msgsPerSec);
  const med = (f: (r: RunFigures) => number | null) =>
    Object.fromEntries(
      TARGET_KINDS.map((k) => [k, median(runs[k].map((r) => f(r) ?? Number.NaN))]),
    ) as Record<TargetKind, number>;
  return {
    size,
    msgsPerSec: med((r) => r.msgsPerSec),
    serverCpuMicrosPerMsg: med((r) => r.serverCpuMicrosPerMsg),
    redisCpuMicrosPerMsg: med((r) => r.redisCpuMicrosPerMsg),
    generatorCpuMicrosPerMsg: med((r) => r.generatorCpuMicrosPerMsg),
    redisCommandsPerMsg: med((r) => r.redisCommandsPerMsg),
    ratioToBare: medianRatio(rate.passby, rate.bare),
    ratioToSocketio: medianRatio(rate.passby, rate.socketio),
    ratioToNats: medianRatio(rate.passby, rate.nats),
    rounds: rate,
  };
}

/**
 * The payload of the MONITOR sample, whatever the sizes measured: commands per message do not
 * depend on it, and MONITOR echoes every argument (a body too, escaped) to its client, so a
 * sample of 64 KiB sends made Redis miss the relay's command timeout: 400 sends answered
 * store_unavailable and stored anyway, counted as lost -400 and 130 keys left.
 */
const MONITOR_SIZE = 256;

/** A short passby run under MONITOR, to split client-issued commands from those run inside Lua. */
async function sampleCommands(ctx: Context, size: number) {
  if (!ctx.targets.relay) return null;
  const bench = await ctx.pairs();
  ctx.progress('throughput: sampling Redis commands under MONITOR (not timed)');
  let delivered = 0;
  const sample = await monitor(ctx.redis.url, async () => {
    const f = await runOnce(ctx, bench, 'passby', {
      mode: 'saturate',
      size,
      durationMs: 500,
      window: windowFor(size),
      settleMs: 3_000,
    });
    delivered = f.delivered;
    ctx.correctness.add('passby', 'throughput', { lost: f.lost, duplicated: f.duplicated });
  });
  return { ...sample, delivered };
}
