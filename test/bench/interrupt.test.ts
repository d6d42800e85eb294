import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/** The command name of a process (its /proc comm), or '' once it is gone. */
function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The data directories of the bench's servers: nats-server's -sd from its command line, and
 * redis-server's working directory (it moves into its --dir, and rewrites its command line).
 */
function dataDirs(pids: number[]): string[] {
  const dirs: string[] = [];
  for (const pid of pids) {
    try {
      const command = commandOf(pid);
      if (command === 'redis-server') dirs.push(readlinkSync(`/proc/${pid}/cwd`));
      if (command !== 'nats-server') continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = args.indexOf('-sd');
      if (i >= 0 && args[i + 1]) dirs.push(args[i + 1]!);
    } catch {
      // The process ended while we looked.
    }
  }
  return dirs;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the bench on `scenarios`, waits for `marker` on its stderr, checks the servers it
 * expects below it, sends SIGTERM and asserts every child ended and every data directory went.
 */
async function interruptMidRun(scenarios: string, marker: string, redisServers: number): Promise<void> {
  const bench = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/main.ts', '--scenarios', scenarios, '--quick'],
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
    // On a timeout, the bench's last progress lines say where it stood.
    await waitFor(
      `the bench to reach "${marker}"`,
      () => stderr.includes(marker),
      { timeoutMs: 90_000 },
      () => stderr.slice(-600),
    );
    const children = descendants(bench.pid!);
    // redis-server(s), nats-server, relay(s), bare ws, Socket.IO, two load workers at least.
    expect(children.length).toBeGreaterThanOrEqual(6 + redisServers);
    const servers = children.map(commandOf).filter((c) => c.endsWith('-server'));
    expect(servers.sort()).toEqual(['nats-server', ...Array<string>(redisServers).fill('redis-server')]);
    const dirs = dataDirs(children);
    expect(dirs.map((d) => /passby-bench-(redis|nats)-/.exec(d)?.[1]).sort()).toEqual([
      'nats',
      ...Array<string>(redisServers).fill('redis'),
    ]);
    bench.kill('SIGTERM');
    expect(await exited).toBe(143);
    await waitFor('every child of the bench to end', () => children.every((pid) => !alive(pid)), {
      timeoutMs: 10_000,
    });
    expect(children.filter(alive)).toEqual([]);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  } finally {
    // A failure before the SIGTERM above must not leave the bench's servers behind: SIGTERM lets
    // the bench stop them, SIGKILL only if it does not exit.
    if (bench.exitCode === null && bench.signalCode === null) {
      bench.kill('SIGTERM');
      const timer = setTimeout(() => bench.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

describe('the bench', () => {
  it('stops redis-server, nats-server, the relay, the peers and its workers when it gets SIGTERM mid-run, and removes their data directories', async () => {
    // Everything is up once the first warm-up runs: Redis, the relay, the peers, the workers.
    await interruptMidRun('throughput', 'throughput: warming up', 1);
  });

  it('stops the Redis Cluster nodes, the standalone server and the relays of the scale-out scenario on SIGTERM', async () => {
    // The shared Redis, the scenario's standalone one and 3 cluster primaries.
    await interruptMidRun('scaleout', 'scaleout: warming up', 5);
  }, 120_000);
});
