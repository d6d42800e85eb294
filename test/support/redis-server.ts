import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A real redis-server for one test file: a free loopback port, a temporary directory, and
 * (optionally) AOF persistence with fsync always so crash tests can restart it on the same data.
 * Never the shared server on 6379.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** A plain client for assertions (SCAN every key, INFO ...). */
  client(): Redis;
  /** Stops the server with SIGKILL (no save) and starts it again on the same port and directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL, keeping the port and directory for start(); the halves of restart() with a gap between. */
  crash(): Promise<void>;
  /** Starts the server again after crash(), on the same port and directory (AOF reloaded). */
  start(): Promise<void>;
  /** True between a start and a crash (or stop): the process has not exited. */
  running(): boolean;
  /** SIGSTOP: the process is frozen, its sockets stay open and nothing answers. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** CLIENT KILL TYPE pubsub through a connection of its own; resolves with how many were killed. */
  killPubsub(): Promise<number>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export interface RedisOptions {
  /** AOF on, fsync always. */
  persistence?: boolean;
  /** A port chosen by the caller (a cluster node needs port + 10000 free too); a free one by default. */
  port?: number;
  /** More redis-server arguments (a cluster node's). */
  extraArgs?: readonly string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'passby-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--protected-mode',
    'yes',
    '--loglevel',
    'warning',
    ...(options.extraArgs ?? []),
  ];
  let child: ChildProcess = await launch(args);
  const clients: Redis[] = [];

  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    client() {
      const c = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 3 });
      // A fault test stops this server under the client's feet: no unhandled 'error' noise.
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async restart() {
      await kill(child);
      child = await launch(args);
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async crash() {
      await kill(child);
    },
    async start() {
      if (child.exitCode === null && child.signalCode === null) throw new Error('redis-server is running');
      child = await launch(args);
    },
    running() {
      return child.exitCode === null && child.signalCode === null;
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async killPubsub() {
      const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
      admin.on('error', () => {});
      try {
        await admin.connect();
        return (await admin.client('KILL', 'TYPE', 'pubsub')) as number;
      } finally {
        admin.disconnect();
      }
    },
  };
}

async function launch(args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // Ready when a client gets through (ioredis retries the connection on its own and emits
  // 'ready' once the server has finished loading); an exit first is a failure with its output.
  const port = Number(args[args.indexOf('--port') + 1]);
  const probe = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 10, maxRetriesPerRequest: null });
  probe.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`redis-server exited (${code}): ${output}`));
      child.once('exit', onExit);
      probe.once('ready', () => {
        child.off('exit', onExit);
        resolve();
      });
    });
  } finally {
    probe.disconnect();
  }
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
