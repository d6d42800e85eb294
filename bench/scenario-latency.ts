import type { Context } from './context.js';
import { TARGET_KINDS, type TargetKind } from './link.js';
import { type RunFigures, roundOrder, runOnce, windowFor } from './measure.js';
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
    for (let r = 0; r < o.rounds; r++) {
      for (const kind of roundOrder(TARGET_KINDS, r + 1)) {
        const f = await runOnce(ctx, bench, kind, {
          mode: 'open',
          size: SIZE,
          rate,
          durationMs,
          settleMs: 60_000,
        });
        runs[kind].push(f);
        ctx.correctness.add(kind, 'latency', { lost: f.lost, duplicated: f.duplicated });
        ctx.progress(
          `latency ${label} (${human(rate)} msg/s) round ${r + 1}/${o.rounds} ${kind}: ` +
            `p99 ${micros(f.latency.percentile(99))}, lag p99 ${micros(f.lag.percentile(99))}` +
            (f.shed ? `, shed ${f.shed}` : '') +
            (f.lost ? `, lost ${f.lost}` : ''),
        );
      }
    }
    rates.push(summarize(label, rate, runs));
  }
  return { bareLimit: limit, rates };
}

function summarize(label: string, rate: number, runs: Record<TargetKind, RunFigures[]>): LatencyFigures {
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
  };
}
