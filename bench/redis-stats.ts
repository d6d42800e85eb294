import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { sleep } from './net.js';

/**
 * What Redis did for a run: command counts from INFO commandstats (which also counts commands
 * that Lua scripts run), client-issued commands from a MONITOR sample (where Lua's own calls are
 * tagged "lua"), and the keys left behind via SCAN.
 */
export type CommandCounts = Record<string, number>;

/** Commands the bench itself sends while measuring; never charged to a target. */
const OWN = new Set(['info', 'scan', 'monitor', 'config|resetstat', 'dbsize', 'ping', 'client|setinfo']);

export async function commandStats(client: Redis): Promise<CommandCounts> {
  const text = await client.info('commandstats');
  const out: CommandCounts = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** INFO commandstats summed over several servers (every primary of a cluster). */
export async function commandStatsOf(clients: readonly Redis[]): Promise<CommandCounts> {
  const out: CommandCounts = {};
  for (const counts of await Promise.all(clients.map(commandStats))) {
    for (const [name, calls] of Object.entries(counts)) out[name] = (out[name] ?? 0) + calls;
  }
  return out;
}

/** CPU the server has used so far (INFO cpu used_cpu_sys + used_cpu_user), in microseconds. */
export async function redisCpuOf(client: Redis): Promise<number> {
  return cpuFromInfo(await client.info('cpu'));
}

/** used_cpu_sys + used_cpu_user of an INFO cpu reply, in microseconds. */
export function cpuFromInfo(text: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1e6;
}

/** after - before, without the bench's own commands and without zero rows. */
export function diffCounts(before: CommandCounts, after: CommandCounts): CommandCounts {
  const out: CommandCounts = {};
  for (const [name, calls] of Object.entries(after)) {
    if (OWN.has(name)) continue;
    const d = calls - (before[name] ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}

/**
 * Counts less what a background of `perSec` commands a second (measured with nothing moving)
 * accounts for over `windowMs`, per command, never below zero: the commands the load added.
 */
export function lessBackground(
  counts: CommandCounts,
  perSec: CommandCounts,
  windowMs: number,
): CommandCounts {
  const out: CommandCounts = {};
  for (const [name, n] of Object.entries(counts)) {
    const left = n - ((perSec[name] ?? 0) * windowMs) / 1000;
    if (left > 0) out[name] = left;
  }
  return out;
}

export function totalOf(counts: CommandCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Every key in the database. */
export async function allKeys(client: Redis): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 5000);
    cursor = next;
    for (const k of batch) keys.add(k);
  } while (cursor !== '0');
  return keys;
}

/** Keys present now that were not in `before`. */
export async function newKeys(client: Redis, before: Set<string>): Promise<string[]> {
  const now = await allKeys(client);
  return [...now].filter((k) => !before.has(k));
}

export interface MonitorSample {
  /** Commands sent by clients (scripts count once, as eval/evalsha/fcall). */
  client: CommandCounts;
  /** Commands run inside Lua scripts or functions. */
  lua: CommandCounts;
}

/**
 * Counts what MONITOR shows while `during` runs. MONITOR slows Redis: use on short samples only.
 * It runs on a socket of its own, its lines parsed here: ioredis's monitor mode can take lines
 * that arrive with MONITOR's +OK for replies and fail ("Command queue state error"), which it did
 * under the proximity scenario's 100k-user load. Each line names its source: "lua" for a script's
 * own commands.
 */
export async function monitor(url: string, during: () => Promise<void>): Promise<MonitorSample> {
  const { hostname, port } = new URL(url);
  const sample: MonitorSample = { client: {}, lua: {} };
  const socket = connect(Number(port), hostname);
  socket.setEncoding('utf8');
  let pending = '';
  socket.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\r\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
      if (!m) continue;
      const name = m[2]!.toLowerCase();
      if (OWN.has(name)) continue;
      const bucket = m[1] === 'lua' || m[1]!.endsWith(' lua') ? sample.lua : sample.client;
      bucket[name] = (bucket[name] ?? 0) + 1;
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => resolve());
  });
  socket.on('error', () => {});
  socket.write('MONITOR\r\n');
  try {
    await during();
    // MONITOR output trails the commands slightly.
    await sleep(200);
  } finally {
    socket.destroy();
  }
  return sample;
}

/**
 * Redis's own service-time histogram of one command (LATENCY HISTOGRAM, Redis 7): cumulative
 * call counts by bucket, keyed by the bucket's upper bound in microseconds.
 */
export async function latencyHistogram(client: Redis, command: string): Promise<Map<number, number>> {
  const reply = (await client.call('LATENCY', 'HISTOGRAM', command)) as unknown[];
  const fields = (reply[1] ?? []) as unknown[];
  const buckets = (fields[fields.indexOf('histogram_usec') + 1] ?? []) as number[];
  const out = new Map<number, number>();
  for (let i = 0; i + 1 < buckets.length; i += 2) out.set(Number(buckets[i]), Number(buckets[i + 1]));
  return out;
}

/**
 * The p-th percentile (an upper bound: the bucket it falls in) of the calls between two
 * histograms, in microseconds, and how many calls there were; null percentile without calls.
 */
export function latencyBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  p: number,
): { calls: number; usec: number | null } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  // Counts are cumulative: `before` at a bound is its count at the highest bucket not above it.
  const beforeAt = (bound: number) => {
    let count = 0;
    for (const [b, c] of before) if (b <= bound) count = Math.max(count, c);
    return count;
  };
  const diff = bounds.map((b) => after.get(b)! - beforeAt(b));
  const calls = diff.at(-1) ?? 0;
  if (calls <= 0) return { calls: 0, usec: null };
  const i = diff.findIndex((c) => c >= (p / 100) * calls);
  return { calls, usec: bounds[i] ?? null };
}
