import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { track, trackDir } from './children.js';
import { freePort } from './net.js';

/**
 * The bench's own redis-server: a free loopback port, a temporary directory, AOF with fsync every
 * second (production-like durability), no RDB snapshots. Never the shared server on 6379.
 */
export interface BenchRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** A client for INFO, SCAN and MONITOR; the caller disconnects it. */
  client(): Redis;
  stop(): Promise<void>;
}

export interface RedisStartOptions {
  /** A port chosen by the caller (a cluster node needs port + 10000 free too); default: a free one. */
  port?: number;
  /** Extra redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  extraArgs?: string[];
}

export async function startRedis(o: RedisStartOptions = {}): Promise<BenchRedis> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'passby-bench-redis-'));
  const removeDir = trackDir(dir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', 'yes', '--appendfsync', 'everysec', '--loglevel', 'warning');
  args.push(...(o.extraArgs ?? []));
  // Room for 50k subscribed relay connections' worth of clients is not needed (clients are relays),
  // but the default maxclients (10000) is kept well above what the bench opens.
  const child = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  await ready(child, port, () => output);
  const pid = child.pid ?? -1;
  return {
    port,
    pid,
    url: `redis://127.0.0.1:${port}`,
    client: () => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 3 }),
    async stop() {
      await kill(child);
      removeDir();
    },
  };
}

async function ready(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const probe = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 20, maxRetriesPerRequest: null });
  probe.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`redis-server exited (${code}): ${output()}`));
      const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000);
      child.once('exit', onExit);
      probe.once('ready', () => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      });
    });
  } finally {
    probe.disconnect();
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
