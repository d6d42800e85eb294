import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../relay/main.ts', import.meta.url));

/** Every relay process spawned and not yet ended, so a failed test cannot leave one behind. */
const running = new Set<RelayChild>();

/** Kills every relay process still running (afterEach / afterAll clean-up). */
export async function stopRelays(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}

/** A relay running as its own process (node + tsx), for crash, restart and signal tests. */
export interface RelayChild {
  readonly process: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Every JSON log line the process wrote to stdout, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process with SIGKILL unless it has already ended; for clean-up after a failure. */
  stop(): Promise<void>;
  /** The process's resident set size in bytes now (VmRSS in /proc/<pid>/status). */
  rss(): number;
}

/**
 * The parent's environment without any PASSBY_* variable: a developer's shell with
 * PASSBY_REDIS_URL (or any other relay setting) must not leak into a test's relay.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PASSBY_')),
  );
  return {
    ...inherited,
    PASSBY_HOST: '127.0.0.1',
    PASSBY_PORT: '0',
    PASSBY_LOG_LEVEL: 'info',
    PASSBY_DISCOVERY_SECRET: 'test-discovery-secret-0123456789abcdef',
    ...env,
  };
}

export async function spawnRelay(env: Record<string, string>): Promise<RelayChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const rss = () => rssOf(child.pid ?? 0);
  const handle = { process: child, port: 0, url: '', logs, exited, stop, rss };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        logs.push(record);
        if (record.msg === 'relay listening') resolve(record.port as number);
      } catch {
        logs.push({ unparsed: line });
      }
    });
    void exited.then(({ code }) => reject(new Error(`relay exited (${code}) before listening: ${stderr}`)));
  });
  return Object.assign(handle, { port, url: `ws://127.0.0.1:${port}/` });
}

/** VmRSS of a live process in bytes, from /proc (Linux); throws when the process is gone. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kib) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib[1]) * 1024;
}
