import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { track } from './children.js';
import { freePort, sleep } from './net.js';
import { type BenchRedis, startRedis } from './redis-server.js';

/**
 * The bench's own Redis Cluster: `primaries` redis-server processes with `--cluster-enabled yes`
 * (the same AOF settings as the standalone server of redis-server.ts, so the two compare), no
 * replicas (a replica would take CPU from the 2-core machine the figures come from), joined by
 * `redis-cli --cluster create` on free loopback ports. Each node and the redis-cli run are
 * registered with children.ts, so SIGINT/SIGTERM and errors stop them too.
 */
export interface BenchCluster {
  readonly nodes: readonly BenchRedis[];
  /** PASSBY_REDIS_URL for a relay with PASSBY_REDIS_CLUSTER=1: every node, comma-separated. */
  readonly url: string;
  readonly pids: number[];
  /** One plain client per node (INFO, SCAN); the caller disconnects them. */
  clients(): Redis[];
  stop(): Promise<void>;
}

export async function startCluster(primaries = 3): Promise<BenchCluster> {
  const nodes: BenchRedis[] = [];
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await clusterPort();
      const extraArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
      nodes.push(await startRedis({ port, extraArgs }));
    }
    await redisCli([
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await allSeeOk(nodes, primaries, 20_000);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    pids: nodes.map((n) => n.pid),
    clients: () => nodes.map((n) => n.client()),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** Runs redis-cli (a tracked child, bounded to 30 s) and resolves with its output. */
function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`redis-cli ${args.slice(0, 2).join(' ')} exited (${code}): ${output}`));
    });
  });
}

/** Waits until every node reports cluster_state:ok and knows every primary. */
async function allSeeOk(nodes: readonly BenchRedis[], primaries: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    const admin = node.client();
    try {
      for (;;) {
        const info = String(await admin.cluster('INFO'));
        const masters = String(await admin.cluster('NODES'))
          .trim()
          .split('\n')
          .filter((line) => (line.split(' ')[2] ?? '').includes('master')).length;
        if (/cluster_state:ok/.test(info) && masters === primaries) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ok in ${timeoutMs} ms`);
        await sleep(50);
      }
    } finally {
      admin.disconnect();
    }
  }
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
