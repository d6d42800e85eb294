import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/poll.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every live process below `pid` (children, their children ...), from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, ppid] of parent) {
      if (ppid !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the bench', () => {
  it('stops redis-server, the relay, the peers and its workers when it gets SIGTERM mid-run', async () => {
    const bench = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/main.ts', '--scenarios', 'throughput', '--quick'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    let stderr = '';
    bench.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      // Everything is up once the first warm-up runs: Redis, the relay, both peers, the workers.
      await waitFor('the bench to start its load', () => stderr.includes('throughput: warming up'), {
        timeoutMs: 60_000,
      });
      const children = descendants(bench.pid!);
      // redis-server, relay, bare ws, Socket.IO, two load workers at least.
      expect(children.length).toBeGreaterThanOrEqual(6);
      bench.kill('SIGTERM');
      expect(await exited).toBe(143);
      await waitFor('every child of the bench to end', () => children.every((pid) => !alive(pid)), {
        timeoutMs: 10_000,
      });
      expect(children.filter(alive)).toEqual([]);
    } finally {
      if (bench.exitCode === null) bench.kill('SIGKILL');
    }
  });
});
