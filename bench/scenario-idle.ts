import type { IdleCase } from './cli.js';
import type { Context } from './context.js';
import type { ConnectResult } from './load-users.js';
import { sleep } from './net.js';
import { Pool } from './pool.js';
import { CpuMeter } from './proc-stats.js';
import type { HeapStats, ServerProcess } from './server-process.js';
import { bytes, human, micros, split } from './stats.js';
import { startRelay } from './targets.js';

/*
 * Idle authenticated connections: fresh relay processes (several for the large case, since one
 * process may hold at most 20000 open files; they share one Redis, which is passby's scale-out
 * shape), load-generator processes of at most 10k connections each, several loopback source
 * addresses. Memory per connection = growth of RSS (and of heap after a full GC) over all relays,
 * divided by the connections that authenticated: one second after the connect burst, and again
 * once the relays have settled. V8 keeps the heap it grew during the burst committed until its
 * memory reducer runs, several seconds into idleness (then RSS fell from 10 to 3 KiB per
 * connection at 10k, bench/RESULTS.md); "settled" is the first reading after which RSS stayed
 * within 1% for SETTLE.polls one-second polls, at most SETTLE.maxPolls polls after the burst.
 * The baseline before the connects is a settled reading too, so the two compare like with like.
 */
export interface IdleFigures {
  connections: number;
  relays: number;
  authenticated: number;
  failures: number;
  firstError: string | undefined;
  connectPerSec: number;
  rssBytesPerConnection: number | null;
  heapBytesPerConnection: number | null;
  /** The same, once RSS stopped moving (see above); null without relays of the bench's own. */
  settledRssBytesPerConnection: number | null;
  settledHeapBytesPerConnection: number | null;
  /** When the settled reading was taken, in ms after the first one. */
  settledAfterMs: number | null;
  redisBytesPerUser: number;
  /** CPU per connect-plus-authenticate: relays, Redis, load generator (with Ed25519 key generation). */
  relayCpuMicrosPerConnect: number | null;
  redisCpuMicrosPerConnect: number;
  generatorCpuMicrosPerConnect: number;
  /**
   * The baseline measured in the same run, on the first case only (null on the others): as many
   * idle connections to the bare ws forwarder, its settled RSS and heap growth per connection.
   */
  bareSettledRssBytesPerConnection: number | null;
  bareSettledHeapBytesPerConnection: number | null;
}

const PER_WORKER = 10_000;
/**
 * Steady polls: longer than V8 takes to start its memory reducer once allocation stops (5-7 s
 * here), and the most polls. The quick run waits less (its sizes are not the target's, and it
 * must stay under 3 minutes).
 */
const SETTLE = { polls: 10, maxPolls: 40 };
const SETTLE_QUICK = { polls: 5, maxPolls: 10 };

export async function runIdle(ctx: Context): Promise<IdleFigures[]> {
  const out: IdleFigures[] = [];
  for (const c of ctx.options.idle) out.push(await idleCase(ctx, c));
  const first = out[0];
  if (first) {
    const bare = await bareBaseline(ctx, first.connections);
    first.bareSettledRssBytesPerConnection = bare.rss;
    first.bareSettledHeapBytesPerConnection = bare.heap;
  }
  return out;
}

async function idleCase(ctx: Context, c: IdleCase): Promise<IdleFigures> {
  const external = ctx.options.relayUrl;
  ctx.progress(`idle ${human(c.connections)}: starting ${external ? 0 : c.relays} relay(s)`);
  const relays: ServerProcess[] = [];
  let pool: Pool | undefined;
  try {
    if (!external) {
      for (let i = 0; i < c.relays; i++) {
        relays.push(await startRelay(`relay-idle-${i}`, { redisUrl: ctx.redis.url, nodeArgs: [] }));
      }
    }
    const urls = external ? [external] : relays.map((r) => r.url);
    // The baseline settled as well, so both readings compare like with like.
    const polls = ctx.options.quick ? SETTLE_QUICK : SETTLE;
    const before = (await settle(relays, await Promise.all(relays.map((r) => r.heap())), polls)).stats;
    const redisBefore = await redisMemory(ctx);
    const workers = Math.max(2, Math.ceil(c.connections / PER_WORKER));
    pool = await Pool.start(workers);
    const shares = split(c.connections, workers);
    ctx.progress(`idle ${human(c.connections)}: connecting and authenticating over ${workers} worker(s)`);
    const relayCpu = new CpuMeter(relays.map((r) => r.pid));
    const redisCpu = new CpuMeter([ctx.redis.pid]);
    const generatorCpu = new CpuMeter(pool.pids);
    const results = await pool.all<ConnectResult>((i) => ({
      cmd: 'users',
      args: { urls, count: shares[i]!, spread: 8, concurrency: 64, hold: true },
    }));
    // Each worker times its own connects (identity generation excluded); they ran side by side.
    const ms = Math.max(...results.map((r) => r.ms));
    const cpu = { relay: relayCpu.used(), redis: redisCpu.used(), generator: generatorCpu.used() };
    await sleep(1_000);
    const after = await Promise.all(relays.map((r) => r.heap()));
    const redisAfter = await redisMemory(ctx);
    const ok = results.reduce((a, r) => a + r.ok, 0);
    const failures = results.reduce((a, r) => a + r.failures, 0);
    const growthOf = (stats: HeapStats[], f: (h: HeapStats) => number) =>
      relays.length === 0 || ok === 0 ? null : stats.reduce((a, h, i) => a + f(h) - f(before[i]!), 0) / ok;
    ctx.progress(`idle ${human(c.connections)}: waiting for the relays' memory to settle`);
    const settled = await settle(relays, after, polls);
    const figures: IdleFigures = {
      connections: c.connections,
      relays: external ? 1 : c.relays,
      authenticated: ok,
      failures,
      firstError: results.find((r) => r.firstError)?.firstError,
      connectPerSec: ok / (ms / 1000),
      rssBytesPerConnection: growthOf(after, (h) => h.rss),
      heapBytesPerConnection: growthOf(after, (h) => h.heapUsed),
      settledRssBytesPerConnection: growthOf(settled.stats, (h) => h.rss),
      settledHeapBytesPerConnection: growthOf(settled.stats, (h) => h.heapUsed),
      settledAfterMs: relays.length === 0 ? null : settled.afterMs,
      redisBytesPerUser: ok > 0 && !external ? (redisAfter - redisBefore) / ok : Number.NaN,
      relayCpuMicrosPerConnect: external ? null : cpu.relay / ok,
      redisCpuMicrosPerConnect: cpu.redis / ok,
      generatorCpuMicrosPerConnect: cpu.generator / ok,
      bareSettledRssBytesPerConnection: null,
      bareSettledHeapBytesPerConnection: null,
    };
    ctx.progress(
      `idle ${human(c.connections)}: ${ok} authenticated at ${human(figures.connectPerSec)}/s, ` +
        `${bytes(figures.rssBytesPerConnection)} RSS per connection ` +
        `(${bytes(figures.settledRssBytesPerConnection)} settled); cpu per connect: relay ` +
        `${micros(figures.relayCpuMicrosPerConnect)}, redis ${micros(figures.redisCpuMicrosPerConnect)}, ` +
        `generator ${micros(figures.generatorCpuMicrosPerConnect)} (with key generation)` +
        (failures ? `, ${failures} failed (${figures.firstError})` : ''),
    );
    await pool.all(() => ({ cmd: 'closeUsers', args: {} }));
    return figures;
  } finally {
    await pool?.stop();
    await Promise.all(relays.map((r) => r.stop()));
  }
}

/**
 * The same number of idle connections to the bare ws forwarder (which keeps a map of its
 * sockets, as the relay's hub does), measured the same way: growth per connection of settled RSS
 * and heap. What Node and ws themselves cost per connection on this machine and this run.
 */
async function bareBaseline(ctx: Context, connections: number): Promise<{ rss: number; heap: number }> {
  const bare = ctx.targets.bare;
  const polls = ctx.options.quick ? SETTLE_QUICK : SETTLE;
  ctx.progress(`idle ${human(connections)}: the same on the bare ws forwarder (baseline)`);
  const before = (await settle([bare], [await bare.heap()], polls)).stats[0]!;
  const workers = Math.max(2, Math.ceil(connections / PER_WORKER));
  const pool = await Pool.start(workers);
  try {
    const shares = split(connections, workers);
    const results = await pool.all<ConnectResult>((i) => ({
      cmd: 'users',
      args: { urls: [bare.url], count: shares[i]!, spread: 8, concurrency: 64, hold: true, kind: 'bare' },
    }));
    const ok = results.reduce((a, r) => a + r.ok, 0);
    await sleep(1_000);
    const after = (await settle([bare], [await bare.heap()], polls)).stats[0]!;
    await pool.all(() => ({ cmd: 'closeUsers', args: {} }));
    return { rss: (after.rss - before.rss) / ok, heap: (after.heapUsed - before.heapUsed) / ok };
  } finally {
    await pool.stop();
  }
}

async function redisMemory(ctx: Context): Promise<number> {
  const info = await ctx.db.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/**
 * Polls the relays' memory once a second until their summed RSS has stayed within 1% of one
 * reading for `polls.polls` polls (that reading is the result), or `polls.maxPolls` passed
 * (the last one is). Nothing to wait for without relays of the bench's own.
 */
async function settle(
  relays: ServerProcess[],
  first: HeapStats[],
  polls: { polls: number; maxPolls: number },
): Promise<{ stats: HeapStats[]; afterMs: number }> {
  if (relays.length === 0) return { stats: first, afterMs: 0 };
  const start = Date.now();
  const rss = (stats: HeapStats[]) => stats.reduce((a, h) => a + h.rss, 0);
  let candidate = { stats: first, afterMs: 0 };
  let steady = 0;
  for (let poll = 1; poll <= polls.maxPolls; poll++) {
    await sleep(1_000);
    const stats = await Promise.all(relays.map((r) => r.heap()));
    if (Math.abs(rss(stats) - rss(candidate.stats)) <= 0.01 * rss(candidate.stats)) {
      if (++steady >= polls.polls) return candidate;
    } else {
      candidate = { stats, afterMs: Date.now() - start };
      steady = 0;
    }
  }
  return candidate;
}
