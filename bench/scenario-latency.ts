import type { Context } from './context.js';
import type { PauseFigures } from './heap-probe.js';
import { TARGET_KINDS, type TargetKind } from './link.js';
import { type RunFigures, roundOrder, runOnce, windowFor } from './measure.js';
import { latencyBetween, latencyHistogram } from './redis-stats.js';
import type { ServerProcess } from './server-process.js';
import { human, median, medianRatio, micros } from './stats.js';

/*
 * Latency under a fixed open-loop load. Each send has an intended time on a fixed schedule;
 * latency runs from that intended time to delivery, so a generator that falls behind cannot hide
 * a slow server (coordinated omission). The generator's own lag, actual minus intended send
 * time, is reported next to it: when lag is large, the load was not what it says.
 */
export interface LatencyFigures {
  label: string;
  rate: number;
  p50: Record<TargetKind, number>;
  p99: Record<TargetKind, number>;
  p999: Record<TargetKind, number>;
  max: Record<TargetKind, number>;
  lagP99: Record<TargetKind, number>;
  lagMax: Record<TargetKind, number>;
  shed: Record<TargetKind, number>;
  /** Median over rounds of passby p99 / Socket.IO p99. */
  p99RatioToSocketio: number;
  p99RatioToBare: number;
  p99RatioToNats: number;
  /** Where the tail comes from, per target (medians over rounds; null where not measurable). */
  tail: Record<TargetKind, TailFigures | null>;
}

/**
 * What held a target up during a run (milliseconds, but Redis's in microseconds): the server
 * process's GC pauses and event-loop delay (heap-probe.ts; not for NATS, a Go server), and for
 * passby the service time of its script calls in Redis (LATENCY HISTOGRAM of EVALSHA, bucket
 * upper bounds). A message's latency is the generator's send, the server's queueing behind
 * whatever ran on its event loop (a GC pause, a large batch), the wait for the turn's batch to
 * be stored, Redis's time, and the delivery; these are the parts a server can be blamed for.
 */
export interface TailFigures {
  gcPauses: number;
  gcTotalMs: number;
  gcMaxMs: number;
  gcLongPauses: number;
  loopP99Ms: number;
  loopP999Ms: number;
  loopMaxMs: number;
  redisCalls: number | null;
  redisP99Us: number | null;
  redisP999Us: number | null;
}

export interface LatencyResult {
  bareLimit: number;
  rates: LatencyFigures[];
}

const SIZE = 256;

/** `bareLimit`: bare ws saturation at 256 B from the throughput scenario of this run, if it ran. */
export async function runLatency(ctx: Context, bareLimit: number | undefined): Promise<LatencyResult> {
  const o = ctx.options;
  const bench = await ctx.pairs();
  const durationMs = o.duration * 1000;
  let limit = bareLimit;
  if (limit === undefined || !Number.isFinite(limit)) {
    ctx.progress('latency: measuring the bare ws limit at 256 B');
    const load = { mode: 'saturate' as const, size: SIZE, window: windowFor(SIZE), settleMs: 3_000 };
    await runOnce(ctx, bench, 'bare', { ...load, durationMs: Math.min(1_000, durationMs) });
    limit = (await runOnce(ctx, bench, 'bare', { ...load, durationMs })).msgsPerSec;
  }
  const loads = [
    { label: '5k msg/s', rate: 5_000 },
    { label: '20k msg/s', rate: 20_000 },
    { label: '20% of bare', rate: 0.2 * limit },
    { label: '50% of bare', rate: 0.5 * limit },
  ];
  const rates: LatencyFigures[] = [];
  for (const { label, rate } of loads) {
    const runs: Record<TargetKind, RunFigures[]> = { passby: [], bare: [], socketio: [], nats: [] };
    const tails: Record<TargetKind, (TailFigures | null)[]> = {
      passby: [],
      bare: [],
      socketio: [],
      nats: [],
    };
    for (let r = 0; r < o.rounds; r++) {
      for (const kind of roundOrder(TARGET_KINDS, r + 1)) {
        const server = serverOf(ctx, kind);
        await server?.startPauses();
        const scripts = kind === 'passby' ? await latencyHistogram(ctx.db, 'evalsha') : undefined;
        const f = await runOnce(ctx, bench, kind, {
          mode: 'open',
          size: SIZE,
          rate,
          durationMs,
          settleMs: 60_000,
        });
        const pauses = (await server?.pauses()) ?? null;
        const redis = scripts && latencyHistograms(scripts, await latencyHistogram(ctx.db, 'evalsha'));
        runs[kind].push(f);
        tails[kind].push(pauses && tailOf(pauses, redis));
        ctx.correctness.add(kind, 'latency', { lost: f.lost, duplicated: f.duplicated });
        ctx.progress(
          `latency ${label} (${human(rate)} msg/s) round ${r + 1}/${o.rounds} ${kind}: ` +
            `p99 ${micros(f.latency.percentile(99))}, lag p99 ${micros(f.lag.percentile(99))}` +
            (f.shed ? `, shed ${f.shed}` : '') +
            (f.lost ? `, lost ${f.lost}` : ''),
        );
      }
    }
    rates.push(summarize(label, rate, runs, tails));
  }
  return { bareLimit: limit, rates };
}

function summarize(
  label: string,
  rate: number,
  runs: Record<TargetKind, RunFigures[]>,
  tails: Record<TargetKind, (TailFigures | null)[]>,
): LatencyFigures {
  const med = (f: (r: RunFigures) => number) =>
    Object.fromEntries(TARGET_KINDS.map((k) => [k, median(runs[k].map(f))])) as Record<TargetKind, number>;
  const p99 = (k: TargetKind) => runs[k].map((r) => r.latency.percentile(99));
  return {
    label,
    rate,
    p50: med((r) => r.latency.percentile(50)),
    p99: med((r) => r.latency.percentile(99)),
    p999: med((r) => r.latency.percentile(99.9)),
    max: med((r) => r.latency.max),
    lagP99: med((r) => r.lag.percentile(99)),
    lagMax: med((r) => r.lag.max),
    shed: med((r) => r.shed),
    p99RatioToSocketio: medianRatio(p99('passby'), p99('socketio')),
    p99RatioToBare: medianRatio(p99('passby'), p99('bare')),
    p99RatioToNats: medianRatio(p99('passby'), p99('nats')),
    tail: Object.fromEntries(TARGET_KINDS.map((k) => [k, medianTail(tails[k])])) as LatencyFigures['tail'],
  };
}

/** The server process of a target whose pauses can be recorded (none for NATS or --relay-url). */
function serverOf(ctx: Context, kind: TargetKind): ServerProcess | undefined {
  if (kind === 'passby') return ctx.targets.relay;
  return kind === 'nats' ? undefined : ctx.targets[kind];
}

function latencyHistograms(before: Map<number, number>, after: Map<number, number>) {
  const p99 = latencyBetween(before, after, 99);
  return { calls: p99.calls, p99: p99.usec, p999: latencyBetween(before, after, 99.9).usec };
}

function tailOf(
  p: PauseFigures,
  redis: { calls: number; p99: number | null; p999: number | null } | undefined,
): TailFigures {
  return {
    gcPauses: p.gcCount,
    gcTotalMs: p.gcTotalMs,
    gcMaxMs: p.gcMaxMs,
    gcLongPauses: p.gcLongCount,
    loopP99Ms: p.loopP99Ms,
    loopP999Ms: p.loopP999Ms,
    loopMaxMs: p.loopMaxMs,
    redisCalls: redis?.calls ?? null,
    redisP99Us: redis?.p99 ?? null,
    redisP999Us: redis?.p999 ?? null,
  };
}

/** Each figure's median over the rounds that recorded one; null when none did. */
function medianTail(rounds: (TailFigures | null)[]): TailFigures | null {
  const got = rounds.filter((t): t is TailFigures => t !== null);
  if (got.length === 0) return null;
  const med = (f: (t: TailFigures) => number | null) => {
    const values = got.map(f).filter((v): v is number => v !== null);
    return values.length === 0 ? null : median(values);
  };
  return {
    gcPauses: med((t) => t.gcPauses)!,
    gcTotalMs: med((t) => t.gcTotalMs)!,
    gcMaxMs: med((t) => t.gcMaxMs)!,
    gcLongPauses: med((t) => t.gcLongPauses)!,
    loopP99Ms: med((t) => t.loopP99Ms)!,
    loopP999Ms: med((t) => t.loopP999Ms)!,
    loopMaxMs: med((t) => t.loopMaxMs)!,
    redisCalls: med((t) => t.redisCalls),
    redisP99Us: med((t) => t.redisP99Us),
    redisP999Us: med((t) => t.redisP999Us),
  };
}
