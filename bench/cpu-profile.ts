import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Where a relay's CPU went: reads the newest V8 .cpuprofile in a directory (written by the relay
 * at exit when started with --cpu-prof) and sums self time per function and per area (relay code,
 * ioredis, ws, libsodium, Node internals, GC, idle).
 */
export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Sampled time minus (idle): what the shares below are relative to. */
  busyMs: number;
  byArea: Record<string, number>;
  top: { fn: string; where: string; selfMs: number; share: number }[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export function newestProfile(dir: string): string | undefined {
  let files: string[];
  try {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the
    // others are loader threads, e.g. tsx's).
    files = readdirSync(dir).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f));
  } catch {
    return undefined;
  }
  const sorted = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return sorted[0];
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, { fn: string; where: string; micros: number }>();
  const byArea: Record<string, number> = {};
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i]!);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!frame) continue;
    total += dt;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const entry = self.get(key) ?? { fn: frame.functionName || '(anonymous)', where, micros: 0 };
    entry.micros += dt;
    self.set(key, entry);
    const area = areaOf(frame.functionName, frame.url);
    byArea[area] = (byArea[area] ?? 0) + dt / 1000;
  }
  const busy = total - (byArea.idle ?? 0) * 1000;
  const top = [...self.values()]
    .filter((e) => e.fn !== '(idle)')
    .sort((a, b) => b.micros - a.micros)
    .slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: Math.round(e.micros / 1000), share: e.micros / busy }));
  for (const k of Object.keys(byArea)) byArea[k] = Math.round(byArea[k]!);
  return { file, totalMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), byArea, top };
}

function shortUrl(url: string): string {
  const i = url.indexOf('/work/');
  const path = url.replace(/^file:\/\//, '');
  if (i < 0) return path;
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  const root = path.search(/\/(relay|protocol|bench)\//);
  return root >= 0 ? path.slice(root + 1) : path;
}

function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program';
  if (url.includes('node_modules/ioredis') || url.includes('node_modules/redis-parser')) return 'ioredis';
  if (url.includes('node_modules/ws/')) return 'ws';
  if (url.includes('node_modules/libsodium')) return 'libsodium';
  if (url.includes('node_modules/pino')) return 'pino';
  if (url.includes('node_modules/')) return 'other modules';
  if (url.includes('/relay/')) return 'relay';
  if (url.includes('/protocol/')) return 'protocol';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

/** Lines for stderr. */
export function formatProfile(p: ProfileSummary): string {
  const areas = Object.entries(p.byArea)
    .filter(([k]) => k !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, p.busyMs)).toFixed(1)}%`)
    .join(', ');
  const lines = [
    `relay CPU profile ${p.file}: ${p.busyMs} ms busy of ${p.totalMs} ms sampled; shares of busy time:`,
    `  ${areas}`,
  ];
  for (const t of p.top) lines.push(`  ${(100 * t.share).toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`);
  return `${lines.join('\n')}\n`;
}
