import { describe, expect, it } from 'vitest';
import { Correctness } from '../../bench/context.js';
import type { TargetKind } from '../../bench/link.js';
import type { RunMeta } from '../../bench/meta.js';
import { buildReport } from '../../bench/report.js';
import type { LatencyFigures } from '../../bench/scenario-latency.js';
import type { SizeFigures } from '../../bench/scenario-throughput.js';
import { renderTable } from '../../bench/table.js';

/** A figure per target: passby's value, the others' the same unless given. */
function perTarget(passby: number, others: Partial<Record<TargetKind, number>> = {}) {
  return { passby, bare: passby, socketio: passby, nats: passby, ...others };
}

function size(bytes: number, ratioToNats: number): SizeFigures {
  return {
    size: bytes,
    msgsPerSec: perTarget(1_000, { nats: 1_000 / ratioToNats }),
    serverCpuMicrosPerMsg: perTarget(10),
    redisCpuMicrosPerMsg: perTarget(5),
    generatorCpuMicrosPerMsg: perTarget(5),
    redisCommandsPerMsg: perTarget(1),
    ratioToBare: 0.5,
    ratioToSocketio: 3,
    ratioToNats,
    rounds: { passby: [1_000], bare: [2_000], socketio: [300], nats: [1_000 / ratioToNats] },
  };
}

function latency(label: string, p99RatioToNats: number): LatencyFigures {
  const us = perTarget(1_000);
  return {
    label,
    rate: 5_000,
    p50: us,
    p99: us,
    p999: us,
    max: us,
    lagP99: us,
    lagMax: us,
    shed: perTarget(0),
    p99RatioToSocketio: 0.5,
    p99RatioToBare: 2,
    p99RatioToNats,
    tail: { passby: null, bare: null, socketio: null, nats: null },
  };
}

describe('the report with NATS JetStream as a peer', () => {
  const report = buildReport({
    meta: { rounds: 3, runSeconds: 3, pairs: 100, workers: 2, node: 'v20', cpus: 2 } as RunMeta,
    correctness: new Correctness(),
    throughput: {
      sizes: [size(256, 2), size(4_096, 1.4), size(65_536, 0.8)],
      passbyCommands: {},
      passbyDelivered: 0,
      monitorSample: null,
    },
    latency: { bareLimit: 100_000, rates: [latency('5k msg/s', 0.25), latency('20% of bare', 0.2)] },
  });

  it('gives the ratios to JetStream at 256 B and 64 KiB and keeps the older keys', () => {
    expect(report.throughput).toMatchObject({
      ratioToBare: 0.5,
      ratioToSocketio: 3,
      ratioToNats: 2,
      large: { payloadBytes: 65_536, ratioToBare: 0.5, ratioToSocketio: 3, ratioToNats: 0.8 },
    });
    expect(report.latency.p99RatioToNatsAt5k).toBe(0.25);
  });

  it('gives the tail figures of the performance issue: p99 to bare at 5k msg/s and at 20%, p99.9 in ms', () => {
    expect(report.latency).toMatchObject({ low: { p99RatioToBare: 2, p999Ms: 1 }, p99RatioToBareAt20: 2 });
  });

  it('judges the JetStream targets: 1.5x at 256 B and 64 KiB, p99 at 5k msg/s no worse', () => {
    const verdicts = Object.fromEntries(
      report.checks.filter((c) => c.name.includes('NATS')).map((c) => [c.name, c.pass]),
    );
    expect(verdicts).toEqual({
      'throughput / NATS JetStream (256 B)': true,
      'throughput / NATS JetStream (64 KiB)': false,
      'p99 / NATS JetStream at 5k msg/s': true,
    });
  });

  it('shows JetStream in the throughput and latency tables', () => {
    const table = renderTable(report);
    expect(table).toMatch(/socket\.io\s+nats js\s+vs bare\s+vs sio\s+vs nats/);
    expect(table).toMatch(/\n\s+nats js\s+1\.0 ms/);
    expect(table).toContain('messages left in the stream 0');
  });
});

describe('the report of a file through the SDK', () => {
  const report = buildReport({
    meta: { rounds: 3, runSeconds: 3, pairs: 100, workers: 2, node: 'v20', cpus: 2 } as RunMeta,
    correctness: new Correctness(),
    files: {
      bytes: 50 * 1024 * 1024,
      chunkBytes: 65_472,
      passby: [10, 12, 14],
      bare: [100, 120, 20],
      megabytesPerSecond: 12,
      ratioToBare: 0.1,
      corrupted: 0,
    },
  });

  it('gives files.ratioToBare and files.megabytesPerSecond, and judges the 0.5x target', () => {
    expect(report.files).toMatchObject({
      available: true,
      ratioToBare: 0.1,
      megabytesPerSecond: 12,
      corrupted: 0,
    });
    const verdicts = Object.fromEntries(
      report.checks.filter((c) => c.name.startsWith('file')).map((c) => [c.name, c.pass]),
    );
    expect(verdicts).toEqual({
      'file through the SDK / bare ws (MB/s)': false,
      'files arrived different': true,
    });
    expect(renderTable(report)).toMatch(/passby 12(\.0+)? MB\/s, bare ws 100 MB\/s/);
  });
});
