import { describe, expect, it } from 'vitest';
import { pairEnds } from '../../bench/load-pairs.js';
import { cpuFromInfo, lessBackground } from '../../bench/redis-stats.js';
import { capacity, scaleoutReport } from '../../bench/report-scaleout.js';
import type { ScaleCaseFigures, ScaleoutFigures } from '../../bench/scenario-scaleout.js';

function scaleCase(over: Partial<ScaleCaseFigures>): ScaleCaseFigures {
  return {
    backend: 'standalone',
    relays: 1,
    rounds: [10_000, 10_000, 10_000],
    msgsPerSec: 10_000,
    relayCpuMicrosPerMsg: 20,
    redisCpuMicrosPerMsg: 12,
    redisNodeCpuMicrosPerMsg: [12],
    redisCommandsPerMsg: 4,
    messagePathCommandsPerMsg: 0.5,
    generatorCpuMicrosPerMsg: 15,
    byCommandPerMsg: {},
    lost: 0,
    duplicated: 0,
    ...over,
  };
}

const idle = { commandsPerSec: 0, byCommandPerSec: {}, nodeCpuMicrosPerSec: [0], relayCpuMicrosPerSec: 0 };

describe('scale-out pairs', () => {
  it('puts sender and recipient on different relays for half the pairs of two relays', () => {
    const ends = Array.from({ length: 8 }, (_, i) => pairEnds(i, 2));
    expect(ends.filter((e) => e.sender !== e.receiver)).toHaveLength(4);
    expect(new Set(ends.map((e) => e.receiver))).toEqual(new Set([0, 1]));
    expect(new Set(ends.map((e) => e.sender))).toEqual(new Set([0, 1]));
  });

  it('keeps both ends on the one relay when there is one', () => {
    expect([0, 1, 2].map((i) => pairEnds(i, 1))).toEqual([
      { sender: 0, receiver: 0 },
      { sender: 0, receiver: 0 },
      { sender: 0, receiver: 0 },
    ]);
  });
});

describe('scale-out Redis figures', () => {
  it('reads CPU seconds from INFO cpu as microseconds', () => {
    const info = '# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.250000\r\nused_cpu_sys_children:9\r\n';
    expect(cpuFromInfo(info)).toBeCloseTo(1_750_000);
  });

  it('takes the idle background off per command, never below zero', () => {
    const left = lessBackground(
      { zrangebyscore: 1_000, evalsha: 50, hset: 3 },
      { zrangebyscore: 400, hset: 10 },
      2_000,
    );
    expect(left).toEqual({ zrangebyscore: 200, evalsha: 50 });
  });
});

describe('scale-out report', () => {
  it('gives cluster/standalone ratios for 1 and 2 relays', () => {
    const f: ScaleoutFigures = {
      primaries: 3,
      replicas: 0,
      pairs: 100,
      payloadBytes: 256,
      cases: [
        scaleCase({ rounds: [10_000, 12_000, 8_000] }),
        scaleCase({ backend: 'cluster', rounds: [9_000, 6_000, 8_000], redisCommandsPerMsg: 6 }),
        scaleCase({ relays: 2 }),
        scaleCase({ backend: 'cluster', relays: 2, relayCpuMicrosPerMsg: 30 }),
      ],
      background: { standalone: idle, cluster: idle },
      residualKeys: { standalone: 0, cluster: 0 },
    };
    const r = scaleoutReport(f);
    expect(r.available).toBe(true);
    if (!r.available) return;
    // Per-round ratios 0.9, 0.5, 1: their median.
    expect(r.oneRelay?.throughputRatio).toBe(0.9);
    expect(r.oneRelay?.commandsPerMsgRatio).toBe(1.5);
    expect(r.twoRelays?.relayCpuPerMsgRatio).toBe(1.5);
    expect(scaleoutReport(undefined)).toEqual({ available: false });
  });

  it('projects capacity from the slower of relays and the busiest primary', () => {
    const c = scaleCase({
      backend: 'cluster',
      relays: 2,
      relayCpuMicrosPerMsg: 40,
      redisNodeCpuMicrosPerMsg: [5, 10, 5],
      generatorCpuMicrosPerMsg: 10,
    });
    const cap = capacity(c, [0, 100_000, 0]);
    // A relay: 20 us/msg -> 50k msg/s a core.
    expect(cap.perRelayCore).toBe(50_000);
    // The busiest primary: 0.9 s free / 10 us = 90k msg/s for the 3 primaries, 30k a primary.
    expect(cap.perPrimaryCore).toBe(30_000);
    expect(cap.perGeneratorCore).toBe(100_000);
    expect(cap.grid.find((g) => g.relays === 1 && g.primaries === 3)).toEqual({
      relays: 1,
      primaries: 3,
      msgsPerSec: 50_000,
      bottleneck: 'relays',
    });
    expect(cap.grid.find((g) => g.relays === 4 && g.primaries === 3)?.bottleneck).toBe('redis');
  });
});
