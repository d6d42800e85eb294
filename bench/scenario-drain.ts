import type { DrainCase } from './cli.js';
import { type Context, residualKeys } from './context.js';
import type { ConnectResult, DrainResult } from './load-users.js';
import { Pool } from './pool.js';
import { CpuMeter } from './proc-stats.js';
import { allKeys, commandStats, diffCounts, totalOf } from './redis-stats.js';
import { human, split } from './stats.js';

/*
 * Backlog drain: users register (connect once, leave), a sender parks messages for them while
 * they are offline, then they all connect at once; the clock runs from the first connect to the
 * last first-time delivery. passby only (the peers keep nothing for offline users).
 */
export interface DrainFigures {
  users: number;
  perUser: number;
  stored: number;
  fillPerSec: number;
  delivered: number;
  drainMs: number;
  /** Delivered / time from the first connect to the last delivery (connect and auth included). */
  messagesPerSecond: number;
  /** Delivered / time from the first to the last delivery. */
  deliveryPhasePerSecond: number;
  /** Time until every user had connected and authenticated. */
  connectMs: number;
  lost: number;
  duplicated: number;
  residualKeys: number;
  relayCpuMicrosPerMsg: number | null;
  redisCommandsPerMsg: number;
}

const SIZE = 256;

/**
 * An unrecorded drain before the cases, as throughput warms up before it measures: the relay's
 * backlog path (fetch script, entry parsing, the pull loop) is used by no other scenario, and on
 * a cold relay the first case paid for the JIT compiling it (V8's compiler threads count in the
 * relay's CPU). One user's 10k messages read 40 us of relay CPU per message cold, 31-35 us after
 * a 2,000-message warm-up and 19-24 us after a warm-up the size of that case, as much as the 1M
 * messages of the second case cost (17 us). So the first case runs once unrecorded.
 */
export async function runDrain(ctx: Context): Promise<DrainFigures[]> {
  const first = ctx.options.drain[0];
  if (first) await drainCase(ctx, first, 'drain: warming up (not recorded)');
  const out: DrainFigures[] = [];
  for (const c of ctx.options.drain) out.push(await drainCase(ctx, c));
  return out;
}

async function drainCase(ctx: Context, c: DrainCase, warmUp?: string): Promise<DrainFigures> {
  const label = warmUp ?? `drain ${human(c.users)} x ${human(c.perUser)}`;
  const workers = Math.min(2, c.users);
  const pool = await Pool.start(workers);
  try {
    const shares = split(c.users, workers);
    const urls = [ctx.targets.passbyUrl];
    const users = (i: number) => ({ urls, count: shares[i]!, spread: 4, concurrency: 64 });
    ctx.progress(`${label}: registering users`);
    const reg = await pool.all<ConnectResult>((i) => ({ cmd: 'users', args: { ...users(i), hold: false } }));
    const regFailed = reg.find((r) => r.failures > 0);
    if (regFailed) throw new Error(`${label}: registration failed: ${regFailed.firstError}`);
    const keysBefore = await allKeys(ctx.db);
    ctx.progress(`${label}: parking ${human(c.users * c.perUser)} messages`);
    const fillStart = performance.now();
    const fill = await ticking(ctx, `${label}: parking`, () =>
      pool.all<{ stored: number }>(() => ({
        cmd: 'fill',
        args: { perUser: c.perUser, size: SIZE, window: 256 },
      })),
    );
    const stored = fill.reduce((a, f) => a + f.stored, 0);
    const fillPerSec = stored / ((performance.now() - fillStart) / 1000);
    ctx.progress(`${label}: ${stored} stored (${human(fillPerSec)}/s); users connect`);
    const before = await commandStats(ctx.db);
    const cpu = ctx.targets.relay ? new CpuMeter([ctx.targets.relay.pid]) : undefined;
    const timeoutMs = Math.max(30_000, (c.users * c.perUser) / 5);
    const results = await ticking(ctx, `${label}: draining`, () =>
      pool.all<DrainResult>((i) => ({ cmd: 'drain', args: { ...users(i), timeoutMs } })),
    );
    const commands = totalOf(diffCounts(before, await commandStats(ctx.db)));
    const cpuUsed = cpu?.used();
    await pool.all(() => ({ cmd: 'closeUsers', args: {} }));
    const delivered = results.reduce((a, r) => a + r.delivered, 0);
    const drainMs = Math.max(...results.map((r) => r.drainMs));
    const lost = results.reduce((a, r) => a + r.missing, 0);
    const duplicated = results.reduce((a, r) => a + r.duplicated + r.unexpected, 0);
    // A warm-up's losses still count: nothing may be lost, measured or not.
    ctx.correctness.add('passby', 'drain', { lost, duplicated });
    const residual = await residualKeys(ctx, 'drain', keysBefore);
    const figures: DrainFigures = {
      users: c.users,
      perUser: c.perUser,
      stored,
      fillPerSec,
      delivered,
      drainMs,
      messagesPerSecond: delivered / (drainMs / 1000),
      deliveryPhasePerSecond:
        delivered / ((drainMs - Math.min(...results.map((r) => r.firstDeliveryMs))) / 1000),
      connectMs: Math.max(...results.map((r) => r.connectMs)),
      lost,
      duplicated,
      residualKeys: residual.passby,
      relayCpuMicrosPerMsg: cpuUsed === undefined || delivered === 0 ? null : cpuUsed / delivered,
      redisCommandsPerMsg: delivered > 0 ? commands / delivered : Number.NaN,
    };
    ctx.progress(
      `${label}: ${delivered} delivered in ${human(drainMs)} ms = ${human(figures.messagesPerSecond)} msg/s` +
        (lost || duplicated || residual.passby
          ? ` (lost ${lost}, dup ${duplicated}, keys ${residual.passby})`
          : ''),
    );
    return figures;
  } finally {
    await pool.stop();
  }
}

/** Runs `work`, printing a progress line every 5 s while it lasts. */
async function ticking<T>(ctx: Context, label: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const timer = setInterval(
    () => ctx.progress(`${label}... ${Math.round((Date.now() - start) / 1000)} s`),
    5_000,
  );
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
