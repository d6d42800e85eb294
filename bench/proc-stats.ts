import { readFileSync } from 'node:fs';

/*
 * Resource figures of a server process from /proc (Linux only): CPU time from utime + stime in
 * /proc/<pid>/stat, resident memory from VmRSS in /proc/<pid>/status.
 */

/** Clock ticks per second for /proc/<pid>/stat; 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100;

/** User + system CPU time of the process so far, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may hold spaces; everything after the closing parenthesis is space-separated.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / TICKS_PER_SECOND;
}

/** Resident set size of the process in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Open file descriptors of the process. */
export function openFiles(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/FDSize:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** CPU time used by a set of processes between two calls. */
export class CpuMeter {
  private readonly start: Map<number, number>;

  constructor(private readonly pids: readonly number[]) {
    this.start = new Map(pids.map((pid) => [pid, cpuMicros(pid)]));
  }

  /** Microseconds of CPU used since construction, summed over the processes. */
  used(): number {
    let total = 0;
    for (const pid of this.pids) total += cpuMicros(pid) - (this.start.get(pid) ?? 0);
    return total;
  }
}
