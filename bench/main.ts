import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stopChildrenOnSignals } from './children.js';
import { HELP, type Options, parseArgs } from './cli.js';
import {
  type Context,
  Correctness,
  openPairs,
  type PairBench,
  residualKeys,
  residualNats,
} from './context.js';
import { formatProfile, newestProfile, type ProfileSummary, summarizeProfile } from './cpu-profile.js';
import { collectMeta } from './meta.js';
import { startRedis } from './redis-server.js';
import { buildReport, type Results } from './report.js';
import { runDrain } from './scenario-drain.js';
import { runFiles } from './scenario-files.js';
import { runIdle } from './scenario-idle.js';
import { runLatency } from './scenario-latency.js';
import { runProximity } from './scenario-proximity.js';
import { runScaleout } from './scenario-scaleout.js';
import { runThroughput } from './scenario-throughput.js';
import { renderTable } from './table.js';
import { startTargets } from './targets.js';

/*
 * npm run bench -- [--quick] [--json FILE] [--relay-url URL] [--scenarios LIST] [--rounds N]
 * [--duration S]: starts redis-server, the relay and the three peers, runs the scenarios, prints
 * the table on stdout (progress on stderr) and optionally writes the JSON report.
 */
stopChildrenOnSignals();
const argv = process.argv.slice(2);
const startedAt = new Date();

function progress(text: string): void {
  const s = ((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${text}\n`);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (options.rounds < 3) progress(`warning: ${options.rounds} rounds; medians need at least 3`);
  const nodeArgs = [...options.relayNodeArgs];
  if (options.profileRelay) {
    mkdirSync(options.profileRelay, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${resolve(options.profileRelay)}`);
  }
  const results = await measure(options, nodeArgs);
  let profile: ProfileSummary | undefined;
  const file = options.profileRelay ? newestProfile(options.profileRelay) : undefined;
  if (file) {
    profile = summarizeProfile(file);
    process.stderr.write(formatProfile(profile));
  }
  const report = { ...buildReport({ ...results, meta: collectMeta(options, argv, startedAt) }), profile };
  process.stdout.write(renderTable(report));
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    progress(`wrote ${options.json}`);
  }
  return 0;
}

/** Starts everything, runs the chosen scenarios, and stops everything (also on failure). */
async function measure(options: Options, nodeArgs: string[]): Promise<Omit<Results, 'meta'>> {
  const want = new Set(options.scenarios);
  progress('starting redis-server, relay and peers (bare ws, Socket.IO, NATS JetStream)');
  const redis = await startRedis();
  const db = redis.client();
  let bench: PairBench | undefined;
  let stopTargets: (() => Promise<void>) | undefined;
  try {
    const targets = await startTargets(redis, options.relayUrl, nodeArgs);
    stopTargets = targets.stop;
    const ctx: Context = {
      options,
      redis,
      db,
      targets,
      correctness: new Correctness(),
      progress,
      pairs: async () => {
        bench ??= await openPairs(ctx);
        return bench;
      },
    };
    const results: Omit<Results, 'meta'> = { correctness: ctx.correctness };
    if (want.has('throughput')) results.throughput = await runThroughput(ctx);
    if (want.has('latency')) {
      results.latency = await runLatency(ctx, results.throughput?.sizes[0]?.msgsPerSec.bare);
      if (bench) {
        await residualKeys(ctx, 'latency', bench.keysBefore);
        await residualNats(ctx, 'latency', bench);
      }
    }
    await bench?.pool.stop();
    bench = undefined;
    if (want.has('idle')) results.idle = await runIdle(ctx);
    if (want.has('drain')) results.drain = await runDrain(ctx);
    if (want.has('proximity')) results.proximity = await runProximity(ctx);
    if (want.has('scaleout')) results.scaleout = await runScaleout(ctx);
    if (want.has('files')) results.files = await runFiles(ctx);
    return results;
  } finally {
    await bench?.pool.stop();
    await stopTargets?.();
    db.disconnect();
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
