import type { Correctness } from './context.js';
import type { TargetKind } from './link.js';
import type { RunMeta } from './meta.js';
import { totalOf } from './redis-stats.js';
import { scaleoutReport } from './report-scaleout.js';
import type { DrainFigures } from './scenario-drain.js';
import type { FilesResult } from './scenario-files.js';
import type { IdleFigures } from './scenario-idle.js';
import type { LatencyResult } from './scenario-latency.js';
import type { ProximityFigures } from './scenario-proximity.js';
import type { ScaleoutFigures } from './scenario-scaleout.js';
import type { ThroughputFigures } from './scenario-throughput.js';
import { median, round3 } from './stats.js';

/** Everything the scenarios measured, turned into the JSON report (the table reads the same object). */
export interface Results {
  meta: RunMeta;
  throughput?: ThroughputFigures;
  latency?: LatencyResult;
  idle?: IdleFigures[];
  drain?: DrainFigures[];
  proximity?: ProximityFigures;
  scaleout?: ScaleoutFigures;
  files?: FilesResult;
  correctness: Correctness;
}

export interface Check {
  name: string;
  value: number | null;
  target: string;
  pass: boolean | null;
}

type Json = ReturnType<typeof buildReport>;

/** The payload size of the "large" figures (photos and videos): 64 KiB. */
const LARGE_BYTES = 65_536;

export function buildReport(r: Results) {
  const t256 = r.throughput?.sizes[0];
  const large = r.throughput?.sizes.find((s) => s.size === LARGE_BYTES);
  const lat5k = r.latency?.rates.find((x) => x.label === '5k msg/s');
  const lat20 = r.latency?.rates.find((x) => x.label === '20% of bare');
  const largestIdle = r.idle?.at(-1);
  const sample = r.throughput?.monitorSample;
  const perMsg = (n: number, d: number | undefined) => (d ? n / d : Number.NaN);
  const clientPerMsg = sample ? perMsg(totalOf(sample.client), sample.delivered) : Number.NaN;
  const luaPerMsg = sample ? perMsg(totalOf(sample.lua), sample.delivered) : Number.NaN;
  const tp = r.throughput;
  const allPerMsg = tp ? perMsg(totalOf(tp.passbyCommands), tp.passbyDelivered) : Number.NaN;
  const drainRate = r.drain?.length ? Math.min(...r.drain.map((d) => d.messagesPerSecond)) : Number.NaN;
  const c = r.correctness.byTarget.passby;
  const report = {
    meta: r.meta,
    throughput: {
      payloadBytes: t256?.size ?? null,
      ratioToBare: round3(t256?.ratioToBare ?? Number.NaN),
      ratioToSocketio: round3(t256?.ratioToSocketio ?? Number.NaN),
      ratioToNats: round3(t256?.ratioToNats ?? Number.NaN),
      large: {
        payloadBytes: large?.size ?? null,
        ratioToBare: round3(large?.ratioToBare ?? Number.NaN),
        ratioToSocketio: round3(large?.ratioToSocketio ?? Number.NaN),
        ratioToNats: round3(large?.ratioToNats ?? Number.NaN),
      },
      bySize: tp?.sizes ?? [],
    },
    latency: {
      p99RatioToSocketio: round3(lat20?.p99RatioToSocketio ?? Number.NaN),
      p99RatioToNatsAt5k: round3(lat5k?.p99RatioToNats ?? Number.NaN),
      // The performance issue's tail figures: at ordinary load (5k msg/s) and at 20% of bare.
      low: {
        p99RatioToBare: round3(lat5k?.p99RatioToBare ?? Number.NaN),
        p999Ms: round3((lat5k?.p999.passby ?? Number.NaN) / 1000),
      },
      p99RatioToBareAt20: round3(lat20?.p99RatioToBare ?? Number.NaN),
      atRate: lat20?.rate ?? null,
      bareLimit: r.latency?.bareLimit ?? null,
      unit: 'microseconds',
      byRate: r.latency?.rates ?? [],
    },
    memory: {
      // The target's figure: RSS per connection once the relays settled, in the worst case of
      // the run (the largest otherwise). The reading right after the connect burst is kept too.
      bytesPerConnection: round3(
        worstIdle(r.idle, (c) => c.settledRssBytesPerConnection ?? c.rssBytesPerConnection),
      ),
      burstBytesPerConnection: round3(worstIdle(r.idle, (c) => c.rssBytesPerConnection)),
      // The first case's settled RSS per connection against the bare forwarder's, same run.
      ratioToBare: round3(
        (r.idle?.[0]?.settledRssBytesPerConnection ?? Number.NaN) /
          (r.idle?.[0]?.bareSettledRssBytesPerConnection ?? Number.NaN),
      ),
      heapBytesPerConnection: round3(largestIdle?.heapBytesPerConnection ?? Number.NaN),
      connectPerSecond: round3(largestIdle?.connectPerSec ?? Number.NaN),
      cases: r.idle ?? [],
    },
    redis: {
      commandsPerMessage: round3(clientPerMsg),
      commandsPerMessageIncludingLua: round3(allPerMsg),
      luaCommandsPerMessage: round3(luaPerMsg),
      byCommandPerMessage: tp ? perCommand(tp.passbyCommands, tp.passbyDelivered) : {},
      monitorSample: sample ?? null,
      socketioCommandsPerMessage: round3(t256?.redisCommandsPerMsg.socketio ?? Number.NaN),
      note: 'commandsPerMessage: client-issued commands (a script call counts once) from a MONITOR sample; IncludingLua: INFO commandstats deltas over the 256 B rounds, which also count commands run inside scripts',
    },
    drain: { messagesPerSecond: round3(drainRate), cases: r.drain ?? [] },
    proximity: proximityReport(r.proximity),
    scaleout: scaleoutReport(r.scaleout),
    files: r.files
      ? {
          available: true,
          bytes: r.files.bytes,
          chunkBytes: r.files.chunkBytes,
          ratioToBare: round3(r.files.ratioToBare),
          megabytesPerSecond: round3(r.files.megabytesPerSecond),
          bareMegabytesPerSecond: round3(median(r.files.bare)),
          corrupted: r.files.corrupted,
          rounds: { passby: r.files.passby.map(round3), bare: r.files.bare.map(round3) },
        }
      : { available: false as const },
    correctness: {
      lost: c.lost,
      duplicated: c.duplicated,
      residualKeys: c.residualKeys,
      residualSample: c.residualSample,
      byScenario: r.correctness.byScenario,
      peers: {
        bare: r.correctness.byTarget.bare,
        socketio: r.correctness.byTarget.socketio,
        nats: r.correctness.byTarget.nats,
      },
    },
    checks: [] as Check[],
  };
  report.checks = checks(report);
  return report;
}

function proximityReport(p: ProximityFigures | undefined) {
  if (!p) return { available: false as const };
  return {
    available: true as const,
    ...p,
    updatesPerSecond: round3(p.updatesPerSecond),
    graphFramesPerSecond: round3(p.graphFramesPerSecond),
    relayCpuMicrosPerUpdate: round3(p.relayCpuMicrosPerUpdate ?? Number.NaN),
    redisCpuMicrosPerUpdate: round3(p.redisCpuMicrosPerUpdate),
    redisCommandsPerUpdate: round3(p.redisCommandsPerUpdate),
    redisClientCommandsPerUpdate: round3(p.redisClientCommandsPerUpdate),
    setupSeconds: round3(p.setupSeconds),
    connectSeconds: round3(p.connectSeconds),
    graphSeconds: round3(p.graphSeconds),
    measureSeconds: round3(p.measureSeconds),
    collectSeconds: round3(p.collectSeconds),
    keysLeft: Object.values(p.keysLeftAfterWindow).reduce((a, b) => a + b, 0),
    note: 'updatesPerSecond: presence answered ok / presence phases only (setup excluded); redisCommandsPerUpdate: INFO commandstats over the presence phases, commands inside scripts included; redisClientCommandsPerUpdate: client-issued commands (a script call counts once) from a MONITOR sample of one extra wave; keysLeft: keys the scenario made, after the window, except friend hashes (fr), identities (pk), the seen index of accounts (pb:seen:) and the relays leases (pb:sweep:, pb:aof-rewrite:)',
  };
}

function perCommand(counts: Record<string, number>, delivered: number): Record<string, number | null> {
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, round3(n / delivered)]));
}

function check(name: string, value: number | null, target: string, ok: (v: number) => boolean): Check {
  return { name, value, target, pass: value === null ? null : ok(value) };
}

/** The largest of a figure over the idle cases that have it; NaN when none does. */
function worstIdle(cases: IdleFigures[] | undefined, f: (c: IdleFigures) => number | null): number {
  const values = (cases ?? []).map(f).filter((v): v is number => v !== null && Number.isFinite(v));
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** The targets of the performance issues (the second round's where it set one), judged on this run's figures. */
function checks(j: Omit<Json, 'checks'>): Check[] {
  const size = (bytes: number) => j.throughput.bySize.find((s) => s.size === bytes);
  const prox = j.proximity.available ? j.proximity : null;
  return [
    check('throughput / bare ws (256 B)', j.throughput.ratioToBare, '>= 0.7', (v) => v >= 0.7),
    check('throughput / Socket.IO (256 B)', j.throughput.ratioToSocketio, '>= 5', (v) => v >= 5),
    check('throughput / NATS JetStream (256 B)', j.throughput.ratioToNats, '>= 1.5', (v) => v >= 1.5),
    check('throughput / bare ws (4 KiB)', finite(size(4096)?.ratioToBare), '>= 0.6', (v) => v >= 0.6),
    check('throughput / Socket.IO (4 KiB)', finite(size(4096)?.ratioToSocketio), '>= 3', (v) => v >= 3),
    check('throughput / bare ws (64 KiB)', j.throughput.large.ratioToBare, '>= 0.6', (v) => v >= 0.6),
    check('throughput / Socket.IO (64 KiB)', j.throughput.large.ratioToSocketio, '>= 2', (v) => v >= 2),
    check('throughput / NATS JetStream (64 KiB)', j.throughput.large.ratioToNats, '>= 1.5', (v) => v >= 1.5),
    check(
      'file through the SDK / bare ws (MB/s)',
      j.files.available ? j.files.ratioToBare : null,
      '>= 0.5',
      (v) => v >= 0.5,
    ),
    check(
      '  file through the SDK, MB/s',
      j.files.available ? j.files.megabytesPerSecond : null,
      '(info)',
      () => true,
    ),
    check('p99 / bare ws at 5k msg/s', j.latency.low.p99RatioToBare, '<= 2', (v) => v <= 2),
    check('p99.9 at 5k msg/s, ms', j.latency.low.p999Ms, '<= 5', (v) => v <= 5),
    check('p99 / bare ws at 20% of bare', j.latency.p99RatioToBareAt20, '<= 3', (v) => v <= 3),
    check('p99 / NATS JetStream at 5k msg/s', j.latency.p99RatioToNatsAt5k, '<= 1', (v) => v <= 1),
    check('p99 / Socket.IO at 20% of bare', j.latency.p99RatioToSocketio, '<= 0.7', (v) => v <= 0.7),
    check('RSS bytes per idle connection', j.memory.bytesPerConnection, '<= 4 KiB', (v) => v <= 4096),
    check('  the same, 1 s after the burst', j.memory.burstBytesPerConnection, '(info)', () => true),
    check('  settled RSS / bare ws (first case)', j.memory.ratioToBare, '(info)', () => true),
    check('drain msg/s (slower case)', j.drain.messagesPerSecond, '>= 100k', (v) => v >= 100_000),
    check('Redis commands per message', j.redis.commandsPerMessage, '<= 3', (v) => v <= 3),
    check('Redis commands incl. Lua', j.redis.commandsPerMessageIncludingLua, '(info)', () => true),
    check('proximity updates/s', prox ? prox.updatesPerSecond : null, '>= 50k', (v) => v >= 50_000),
    check(
      'proximity client-issued commands per update',
      prox ? prox.redisClientCommandsPerUpdate : null,
      '<= 2',
      (v) => v <= 2,
    ),
    check('  the same, incl. Lua', prox ? prox.redisCommandsPerUpdate : null, '(info)', () => true),
    check(
      'proximity relay CPU per update, us',
      prox ? prox.relayCpuMicrosPerUpdate : null,
      '<= 25',
      (v) => v <= 25,
    ),
    check('proximity missed matches', prox ? prox.missedMatches : null, '= 0', (v) => v === 0),
    check('proximity false matches', prox ? prox.falseMatches : null, '= 0', (v) => v === 0),
    check('proximity duplicate notices', prox ? prox.duplicateNotices : null, '= 0', (v) => v === 0),
    check(
      'presence keys after window',
      prox ? (prox.keysLeftAfterWindow.pr ?? 0) : null,
      '= 0',
      (v) => v === 0,
    ),
    check(
      'cluster / standalone msg/s, 1 relay',
      j.scaleout.available ? (j.scaleout.oneRelay?.throughputRatio ?? null) : null,
      '>= 0.85',
      (v) => v >= 0.85,
    ),
    check(
      'cluster / standalone msg/s, 2 relays',
      j.scaleout.available ? (j.scaleout.twoRelays?.throughputRatio ?? null) : null,
      '>= 0.85',
      (v) => v >= 0.85,
    ),
    check(
      'cluster / standalone commands/msg, 2 relays',
      j.scaleout.available ? (j.scaleout.twoRelays?.commandsPerMsgRatio ?? null) : null,
      '<= 1.5',
      (v) => v <= 1.5,
    ),
    check('files arrived different', j.files.available ? j.files.corrupted : null, '= 0', (v) => v === 0),
    check('messages lost', j.correctness.lost, '= 0', (v) => v === 0),
    check('messages duplicated', j.correctness.duplicated, '= 0', (v) => v === 0),
    check('Redis keys left after acks', j.correctness.residualKeys, '= 0', (v) => v === 0),
  ];
}

/** A figure, or null (not measured) when it is missing or not a number. */
function finite(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

export type Report = ReturnType<typeof buildReport>;
export type { TargetKind };
