import type { Backend, ScaleCaseFigures, ScaleoutFigures } from './scenario-scaleout.js';
import { medianRatio, ratio, round3 } from './stats.js';

/*
 * The scale-out figures as the report gives them: cluster/standalone ratios for 1 and 2 relays
 * (throughput as the median of per-round ratios; per-message costs as ratios of medians), and
 * what one core of each component would carry at the measured per-message costs.
 */

/** One core's worth of CPU per second, in microseconds. */
const CORE_MICROS = 1e6;

export interface Capacity {
  /** msg/s one relay process on its own core would deliver at the measured relay CPU/msg. */
  perRelayCore: number | null;
  /** msg/s one primary on its own core would carry (the busiest primary's share, after its idle load). */
  perPrimaryCore: number | null;
  /** msg/s one load-generator core drives (the bench's own limit, not the relay's). */
  perGeneratorCore: number | null;
  /** Projected msg/s for relays x primaries, each process on its own core. */
  grid: { relays: number; primaries: number; msgsPerSec: number | null; bottleneck: string }[];
}

export function scaleoutReport(f: ScaleoutFigures | undefined) {
  if (!f) return { available: false as const };
  const find = (backend: Backend, relays: number) =>
    f.cases.find((c) => c.backend === backend && c.relays === relays);
  const compare = (relays: number) => {
    const s = find('standalone', relays);
    const c = find('cluster', relays);
    if (!s || !c) return null;
    return {
      throughputRatio: round3(medianRatio(c.rounds, s.rounds)),
      commandsPerMsgRatio: round3(ratio(c.redisCommandsPerMsg, s.redisCommandsPerMsg)),
      messagePathCommandsPerMsgRatio: round3(ratio(c.messagePathCommandsPerMsg, s.messagePathCommandsPerMsg)),
      relayCpuPerMsgRatio: round3(ratio(c.relayCpuMicrosPerMsg, s.relayCpuMicrosPerMsg)),
      redisCpuPerMsgRatio: round3(ratio(c.redisCpuMicrosPerMsg, s.redisCpuMicrosPerMsg)),
    };
  };
  const cluster2 = find('cluster', 2) ?? find('cluster', 1);
  return {
    available: true as const,
    primaries: f.primaries,
    replicas: f.replicas,
    pairs: f.pairs,
    payloadBytes: f.payloadBytes,
    oneRelay: compare(1),
    twoRelays: compare(2),
    cases: f.cases.map(rounded),
    background: f.background,
    residualKeys: f.residualKeys,
    capacity: cluster2 ? capacity(cluster2, f.background.cluster.nodeCpuMicrosPerSec) : null,
    note: 'ratios: cluster / standalone; throughput: median of per-round ratios, costs: ratios of medians; relay cpu: both relays of the set-up (the idle one too in the 1-relay case); redis: summed over every primary (INFO commandstats with Lua, INFO cpu); messagePath: commands less the idle background of the set-up (the sweep probing every slot shard), per command; capacity: from the 2-relay cluster case, each process on a core of its own',
  };
}

function rounded(c: ScaleCaseFigures) {
  return {
    ...c,
    rounds: c.rounds.map((x) => Math.round(x)),
    msgsPerSec: Math.round(c.msgsPerSec),
    relayCpuMicrosPerMsg: round3(c.relayCpuMicrosPerMsg),
    redisCpuMicrosPerMsg: round3(c.redisCpuMicrosPerMsg),
    redisNodeCpuMicrosPerMsg: c.redisNodeCpuMicrosPerMsg.map(round3),
    redisCommandsPerMsg: round3(c.redisCommandsPerMsg),
    messagePathCommandsPerMsg: round3(c.messagePathCommandsPerMsg),
    generatorCpuMicrosPerMsg: round3(c.generatorCpuMicrosPerMsg),
    byCommandPerMsg: Object.fromEntries(Object.entries(c.byCommandPerMsg).map(([k, v]) => [k, round3(v)])),
  };
}

/**
 * What one core of each component carries at the measured costs, and the grid of relays x
 * primaries that follows if the costs per message stay as measured (they would not quite: more
 * primaries mean smaller per-slot batches, so more script calls per message).
 */
export function capacity(c: ScaleCaseFigures, idleNodeMicrosPerSec: readonly number[]): Capacity {
  const perCore = (us: number) => (us > 0 && Number.isFinite(us) ? CORE_MICROS / us : null);
  const perRelayCore = perCore(c.relayCpuMicrosPerMsg / c.relays);
  // The busiest primary limits the cluster: its share of the per-message cost, after what it
  // spends with nothing moving (the sweep's probes of every slot).
  const nodes = c.redisNodeCpuMicrosPerMsg.length;
  let perPrimaryCore: number | null = null;
  for (let i = 0; i < nodes; i++) {
    const us = c.redisNodeCpuMicrosPerMsg[i]!;
    const free = CORE_MICROS - (idleNodeMicrosPerSec[i] ?? 0);
    const carried = us > 0 && free > 0 ? (free / us) * (1 / nodes) : null;
    if (carried !== null && (perPrimaryCore === null || carried < perPrimaryCore)) perPrimaryCore = carried;
  }
  const perGeneratorCore = perCore(c.generatorCpuMicrosPerMsg);
  const grid: Capacity['grid'] = [];
  for (const relays of [1, 2, 4, 8]) {
    for (const primaries of [3, 6, 12]) {
      const byRelays = perRelayCore === null ? null : perRelayCore * relays;
      const byPrimaries = perPrimaryCore === null ? null : perPrimaryCore * primaries;
      const both = [byRelays, byPrimaries].filter((x): x is number => x !== null);
      grid.push({
        relays,
        primaries,
        msgsPerSec: both.length === 0 ? null : Math.round(Math.min(...both)),
        bottleneck:
          byRelays === null || byPrimaries === null
            ? 'unknown'
            : byRelays <= byPrimaries
              ? 'relays'
              : 'redis',
      });
    }
  }
  return {
    perRelayCore: perRelayCore === null ? null : Math.round(perRelayCore),
    perPrimaryCore: perPrimaryCore === null ? null : Math.round(perPrimaryCore),
    perGeneratorCore: perGeneratorCore === null ? null : Math.round(perGeneratorCore),
    grid,
  };
}
