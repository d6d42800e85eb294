import type { ProximityCase } from './cli.js';
import { type Context, RELAY_BOOKKEEPING } from './context.js';
import type { CollectResult, PresenceResult, SetupResult } from './load-proximity.js';
import { sleep } from './net.js';
import { Pool } from './pool.js';
import { CpuMeter } from './proc-stats.js';
import { expectedPairs, POD_SIZE, podCells } from './proximity-layout.js';
import { allKeys, commandStats, diffCounts, monitor, newKeys, totalOf } from './redis-stats.js';
import type { ServerProcess } from './server-process.js';
import { human, micros, split } from './stats.js';
import { startRelay } from './targets.js';

/*
 * Proximity: presence updates per second with matching. Relays of their own (a short
 * PASSBY_PROXIMITY_WINDOW_MS, PASSBY_PRESENCE_INTERVAL_MS=0) on the bench's Redis; users come in
 * waves so that no process holds more than its share of the 20000 open files: each wave connects
 * and authenticates its users and builds their friend graph with real frames (setup), posts
 * presence for every user (measured), waits for the nearby notices (collect), and disconnects.
 * Presence keys are checked with SCAN + PTTL after each wave, and every key the scenario made
 * (but the graph and the identities) must be gone once the window has passed.
 */
export interface ProximityFigures {
  usersRequested: number;
  /** Users that authenticated and took part in a completed wave. */
  users: number;
  relays: number;
  waves: number;
  friendsPerUser: number;
  windowMs: number;
  rounds: number;
  stoppedEarly: boolean;
  connectFailures: number;
  graphFrames: number;
  graphErrors: number;
  firstError: string | undefined;
  /** Connect + authenticate and friend/consent frames, summed over waves. */
  setupSeconds: number;
  connectSeconds: number;
  graphSeconds: number;
  /** Presence phases only (first presence sent to last `ok`), summed over waves. */
  measureSeconds: number;
  /** Waiting for notices after the presence phases, and the final wait for the window to pass. */
  collectSeconds: number;
  updates: number;
  updateErrors: number;
  updatesPerSecond: number;
  graphFramesPerSecond: number;
  relayCpuMicrosPerUpdate: number | null;
  redisCpuMicrosPerUpdate: number;
  redisCommandsPerUpdate: number;
  /**
   * Client-issued Redis commands per update (a script call counts once), from a MONITOR sample of
   * one extra small wave after the measured ones (its figures are not in the others but these).
   */
  redisClientCommandsPerUpdate: number;
  /** That sample's client-issued and in-Lua commands by name, per update. */
  clientCommandsSample: { updates: number; client: Record<string, number>; lua: Record<string, number> };
  expectedNotices: number;
  nearbyNotices: number;
  missedMatches: number;
  falseMatches: number;
  duplicateNotices: number;
  friendNotices: number;
  presenceKeysChecked: number;
  maxPresencePttlMs: number | null;
  presenceKeysWithoutTtl: number;
  /** New keys after the window, by kind; graph (`fr`) and identity (`pk`) keys are kept by design. */
  keysLeftAfterWindow: Record<string, number>;
  keysLeftSample: string[];
}

const WORKERS = 2;

export async function runProximity(ctx: Context): Promise<ProximityFigures> {
  const c = ctx.options.proximity;
  if (ctx.options.relayUrl)
    ctx.progress('proximity: starts relays of its own (short window), not --relay-url');
  const layout = expectedPairs(podCells(0)).length;
  ctx.progress(
    `proximity ${human(c.users)} users: pods of ${POD_SIZE} mutual friends, ${layout} of 10 pairs in range with consent; ` +
      `waves of ${human(c.waveUsers)}, ${c.relays} relays, window ${c.windowMs} ms`,
  );
  const relays: ServerProcess[] = [];
  let pool: Pool | undefined;
  try {
    // Several relays match users across nodes only through a shared presence Redis; the bench's
    // own Redis plays it (production gives presence a Redis without persistence of its own).
    const env = {
      PASSBY_PROXIMITY_WINDOW_MS: String(c.windowMs),
      PASSBY_PRESENCE_INTERVAL_MS: '0',
      PASSBY_PRESENCE_REDIS_URL: ctx.redis.url,
    };
    const started = await Promise.allSettled(
      Array.from({ length: c.relays }, (_, i) =>
        startRelay(`relay-proximity-${i}`, {
          redisUrl: ctx.redis.url,
          nodeArgs: ctx.options.relayNodeArgs,
          env,
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') relays.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    pool = await Pool.start(WORKERS);
    return await waves(ctx, c, relays, pool);
  } finally {
    await pool?.stop();
    await Promise.all(relays.map((r) => r.stop()));
  }
}

async function waves(ctx: Context, c: ProximityCase, relays: ServerProcess[], pool: Pool) {
  const urls = relays.map((r) => r.url);
  const keysBefore = await allKeys(ctx.db);
  const start = Date.now();
  const totalPods = c.users / POD_SIZE;
  const podsPerWave = Math.max(1, Math.floor(c.waveUsers / POD_SIZE));
  const f = emptyFigures(c);
  const relayCpuMicros: number[] = [];
  let redisCpuMicros = 0;
  let redisCommands = 0;
  let lastPresence = 0;
  for (let podStart = 0; podStart < totalPods; podStart += podsPerWave) {
    if ((Date.now() - start) / 1000 > c.capSeconds) {
      f.stoppedEarly = true;
      ctx.progress(`proximity: stopping after ${c.capSeconds} s with ${human(f.users)} users`);
      break;
    }
    const pods = split(Math.min(podsPerWave, totalPods - podStart), WORKERS);
    const firsts = pods.map((_, i) => podStart + pods.slice(0, i).reduce((a, b) => a + b, 0));
    const label = `proximity wave ${f.waves + 1}`;
    const setup = await pool.all<SetupResult>((i) => ({
      cmd: 'proxSetup',
      args: { urls, podStart: firsts[i]!, pods: pods[i]!, spread: 8, concurrency: 64 },
    }));
    const relayCpu = new CpuMeter(relays.map((r) => r.pid));
    const redisCpu = new CpuMeter([ctx.redis.pid]);
    const before = await commandStats(ctx.db);
    const presence = await pool.all<PresenceResult>(() => ({
      cmd: 'proxPresence',
      args: { rounds: c.rounds, window: 256 },
    }));
    lastPresence = Date.now();
    relayCpuMicros.push(relayCpu.used());
    redisCpuMicros += redisCpu.used();
    redisCommands += totalOf(diffCounts(before, await commandStats(ctx.db)));
    const ttl = await presenceTtls(ctx);
    const collect = await pool.all<CollectResult>(() => ({
      cmd: 'proxCollect',
      args: { quietMs: 2_000, capMs: 15_000 },
    }));
    tally(f, setup, presence, collect, ttl);
    ctx.progress(
      `${label}: ${human(sum(setup, (s) => s.connected))} users, setup ${(max(setup, (s) => s.connectMs + s.graphMs) / 1000).toFixed(1)} s, ` +
        `${human(sum(presence, (p) => p.ok))} updates in ${(max(presence, (p) => p.ms) / 1000).toFixed(2)} s, ` +
        `notices ${sum(collect, (x) => x.matched)}/${sum(collect, (x) => x.expected)} expected, ` +
        `${sum(collect, (x) => x.falseMatches)} false, ${ttl.keys} presence keys (max PTTL ${ttl.maxPttl} ms)` +
        (f.firstError ? `; first error: ${f.firstError}` : ''),
    );
  }
  if (!f.stoppedEarly) lastPresence = await sampleCommands(ctx, urls, pool, Math.ceil(totalPods), f);
  // Every presence, in-range mark and nearby notice must be gone once the window has passed.
  const waitUntil = lastPresence + c.windowMs + 1_500;
  const waitStart = Date.now();
  if (waitUntil > waitStart) {
    ctx.progress(
      `proximity: waiting ${((waitUntil - waitStart) / 1000).toFixed(1)} s for the window to pass`,
    );
    await sleep(waitUntil - waitStart);
  }
  f.collectSeconds += (Date.now() - waitStart) / 1000;
  // Friend hashes and identities stay, and so does the relay's bookkeeping (a run on a fresh
  // Redis creates the accounts' seen index here; a sweep's lease may be held as it looks).
  const left = (await newKeys(ctx.db, keysBefore)).filter(
    (k) => !/:(fr|pk)$/.test(k) && !RELAY_BOOKKEEPING.test(k),
  );
  for (const k of left) {
    const kind = /^pb:\{[^}]*\}:(\w+)$/.exec(k)?.[1] ?? /^pb:(\w+):/.exec(k)?.[1] ?? 'other';
    f.keysLeftAfterWindow[kind] = (f.keysLeftAfterWindow[kind] ?? 0) + 1;
  }
  f.keysLeftSample = left.slice(0, 5);
  ctx.correctness.add('passby', 'proximity', { residualKeys: left.length, residualSample: f.keysLeftSample });
  f.updatesPerSecond = f.measureSeconds > 0 ? f.updates / f.measureSeconds : Number.NaN;
  f.graphFramesPerSecond = f.graphSeconds > 0 ? f.graphFrames / f.graphSeconds : Number.NaN;
  const cpu = relayCpuMicros.reduce((a, b) => a + b, 0);
  f.relayCpuMicrosPerUpdate = f.updates > 0 ? cpu / f.updates : null;
  f.redisCpuMicrosPerUpdate = f.updates > 0 ? redisCpuMicros / f.updates : Number.NaN;
  f.redisCommandsPerUpdate = f.updates > 0 ? redisCommands / f.updates : Number.NaN;
  ctx.progress(
    `proximity: ${human(f.users)} users, ${human(f.updatesPerSecond)} updates/s with matching ` +
      `(relay cpu ${micros(f.relayCpuMicrosPerUpdate)}, redis ${micros(f.redisCpuMicrosPerUpdate)}, ` +
      `${human(f.redisCommandsPerUpdate)} redis commands per update, ${human(f.redisClientCommandsPerUpdate)} client-issued); missed ${f.missedMatches}, ` +
      `false ${f.falseMatches}, duplicate ${f.duplicateNotices}; keys left ${left.length}; ` +
      `setup ${f.setupSeconds.toFixed(1)} s, measuring ${f.measureSeconds.toFixed(1)} s`,
  );
  return f;
}

/** Pods in the MONITOR sample's wave. */
const SAMPLE_PODS = 100;

/**
 * One more wave of SAMPLE_PODS pods (after the measured ones, with pods of its own) whose presence
 * phase runs under MONITOR, to tell client-issued commands from those run inside Lua. MONITOR
 * slows Redis: this wave is in no rate or CPU figure. Returns when its presence phase ended.
 */
async function sampleCommands(
  ctx: Context,
  urls: string[],
  pool: Pool,
  podStart: number,
  f: ProximityFigures,
) {
  const pods = split(SAMPLE_PODS, WORKERS);
  const setup = await pool.all<SetupResult>((i) => ({
    cmd: 'proxSetup',
    args: { urls, podStart: podStart + (i === 0 ? 0 : pods[0]!), pods: pods[i]!, spread: 8, concurrency: 64 },
  }));
  let presence: PresenceResult[] = [];
  const sample = await monitor(ctx.redis.url, async () => {
    presence = await pool.all<PresenceResult>(() => ({
      cmd: 'proxPresence',
      args: { rounds: f.rounds, window: 256 },
    }));
  });
  const ended = Date.now();
  const collect = await pool.all<CollectResult>(() => ({
    cmd: 'proxCollect',
    args: { quietMs: 2_000, capMs: 15_000 },
  }));
  const updates = sum(presence, (p) => p.ok);
  const per = (counts: Record<string, number>) =>
    Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, updates > 0 ? n / updates : Number.NaN]));
  f.redisClientCommandsPerUpdate = updates > 0 ? totalOf(sample.client) / updates : Number.NaN;
  f.clientCommandsSample = { updates, client: per(sample.client), lua: per(sample.lua) };
  // Its notices count for correctness like every wave's.
  f.expectedNotices += sum(collect, (x) => x.expected);
  f.nearbyNotices += sum(collect, (x) => x.nearby);
  f.missedMatches += sum(collect, (x) => x.missed);
  f.falseMatches += sum(collect, (x) => x.falseMatches);
  f.duplicateNotices += sum(collect, (x) => x.duplicates);
  f.firstError ??=
    setup.find((s) => s.firstError)?.firstError ?? presence.find((p) => p.firstError)?.firstError;
  ctx.progress(
    `proximity sample wave (MONITOR, not timed): ${updates} updates, ${human(f.redisClientCommandsPerUpdate)} client-issued ` +
      `Redis commands per update; notices ${sum(collect, (x) => x.matched)}/${sum(collect, (x) => x.expected)}`,
  );
  return ended;
}

/** SCAN for presence keys and their PTTL: how many, the longest, and how many have none (-1). */
async function presenceTtls(ctx: Context): Promise<{ keys: number; maxPttl: number; noTtl: number }> {
  let cursor = '0';
  let keys = 0;
  let maxPttl = -2;
  let noTtl = 0;
  let rounds = 0;
  do {
    const [next, batch] = await ctx.db.scan(cursor, 'MATCH', 'pb:*:pr', 'COUNT', 5000);
    cursor = next;
    if (batch.length > 0) {
      const pipe = ctx.db.pipeline();
      for (const k of batch) pipe.pttl(k);
      for (const [, v] of (await pipe.exec()) ?? []) {
        const pttl = Number(v);
        if (pttl === -2) continue; // expired between SCAN and PTTL
        keys += 1;
        if (pttl === -1) noTtl += 1;
        maxPttl = Math.max(maxPttl, pttl);
      }
    }
  } while (cursor !== '0' && ++rounds < 100_000);
  return { keys, maxPttl, noTtl };
}

function tally(
  f: ProximityFigures,
  setup: SetupResult[],
  presence: PresenceResult[],
  collect: CollectResult[],
  ttl: { keys: number; maxPttl: number; noTtl: number },
): void {
  f.waves += 1;
  f.users += sum(setup, (s) => s.connected);
  f.connectFailures += sum(setup, (s) => s.connectFailures);
  f.graphFrames += sum(setup, (s) => s.graphFrames);
  f.graphErrors += sum(setup, (s) => s.graphErrors);
  f.firstError ??=
    setup.find((s) => s.firstError)?.firstError ?? presence.find((p) => p.firstError)?.firstError;
  // The workers ran side by side: a phase lasts as long as its slowest worker.
  const connect = max(setup, (s) => s.connectMs) / 1000;
  const graph = max(setup, (s) => s.graphMs) / 1000;
  f.connectSeconds += connect;
  f.graphSeconds += graph;
  f.setupSeconds += max(setup, (s) => s.connectMs + s.graphMs) / 1000;
  f.measureSeconds += max(presence, (p) => p.ms) / 1000;
  f.collectSeconds += max(collect, (x) => x.waitMs) / 1000;
  f.updates += sum(presence, (p) => p.ok);
  f.updateErrors += sum(presence, (p) => p.errors);
  f.expectedNotices += sum(collect, (x) => x.expected);
  f.nearbyNotices += sum(collect, (x) => x.nearby);
  f.missedMatches += sum(collect, (x) => x.missed);
  f.falseMatches += sum(collect, (x) => x.falseMatches);
  f.duplicateNotices += sum(collect, (x) => x.duplicates);
  f.friendNotices += sum(collect, (x) => x.friendNotices);
  f.presenceKeysChecked += ttl.keys;
  if (ttl.keys > 0) f.maxPresencePttlMs = Math.max(f.maxPresencePttlMs ?? 0, ttl.maxPttl);
  f.presenceKeysWithoutTtl += ttl.noTtl;
}

function emptyFigures(c: ProximityCase): ProximityFigures {
  return {
    usersRequested: c.users,
    users: 0,
    relays: c.relays,
    waves: 0,
    friendsPerUser: POD_SIZE - 1,
    windowMs: c.windowMs,
    rounds: c.rounds,
    stoppedEarly: false,
    connectFailures: 0,
    graphFrames: 0,
    graphErrors: 0,
    firstError: undefined,
    setupSeconds: 0,
    connectSeconds: 0,
    graphSeconds: 0,
    measureSeconds: 0,
    collectSeconds: 0,
    updates: 0,
    updateErrors: 0,
    updatesPerSecond: Number.NaN,
    graphFramesPerSecond: Number.NaN,
    relayCpuMicrosPerUpdate: null,
    redisCpuMicrosPerUpdate: Number.NaN,
    redisCommandsPerUpdate: Number.NaN,
    redisClientCommandsPerUpdate: Number.NaN,
    clientCommandsSample: { updates: 0, client: {}, lua: {} },
    expectedNotices: 0,
    nearbyNotices: 0,
    missedMatches: 0,
    falseMatches: 0,
    duplicateNotices: 0,
    friendNotices: 0,
    presenceKeysChecked: 0,
    maxPresencePttlMs: null,
    presenceKeysWithoutTtl: 0,
    keysLeftAfterWindow: {},
    keysLeftSample: [],
  };
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0);
}

function max<T>(xs: readonly T[], f: (x: T) => number): number {
  return Math.max(0, ...xs.map(f));
}
