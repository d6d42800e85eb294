import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import type { PauseFigures } from './heap-probe.js';
import { cpuMicros, rssBytes } from './proc-stats.js';

/**
 * A server process the bench starts and measures: a passby relay or one of the peers. It is a
 * plain `node` process (so its pid is the server's own), started with --expose-gc and the bench's
 * heap probe preloaded, and ready once it prints a JSON line whose msg ends in "listening" and
 * carries a `port`.
 */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  cpuMicros(): number;
  rssBytes(): number;
  /** Full GC in the process, then its memory figures. */
  heap(): Promise<HeapStats>;
  /** Starts recording GC pauses and event-loop delay (heap-probe.ts). */
  startPauses(): Promise<void>;
  /** What was recorded since startPauses, and stops (null: nothing was recording). */
  pauses(): Promise<PauseFigures | null>;
  stop(): Promise<void>;
}

/** An answer of the heap probe over IPC (heap-probe.ts). */
interface ProbeAnswer {
  type: string;
}

export interface HeapStats {
  gc: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface StartOptions {
  name: string;
  /** Script path relative to the repository root, e.g. relay/main.ts. */
  script: string;
  env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Path used for ws:// URLs (Socket.IO uses its own). */
  path?: string;
  /**
   * The port the server was told to use and an HTTP path that answers 2xx once it serves: ready
   * even when its "listening" log line is below the configured log level.
   */
  health?: { port: number; path: string };
  timeoutMs?: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = new URL('./heap-probe.ts', import.meta.url).href;

export async function startServer(o: StartOptions): Promise<ServerProcess> {
  const args = ['--expose-gc', ...(o.nodeArgs ?? []), '--import', 'tsx', '--import', PROBE, o.script];
  const child = track(
    spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  const pid = child.pid ?? -1;
  const port = await waitListening(child, o.name, o.timeoutMs ?? 30_000, o.health);
  // Answers come back in the order asked, per type.
  const waiters = new Map<string, ((m: ProbeAnswer) => void)[]>();
  child.on('message', (m: ProbeAnswer) => {
    if (typeof m?.type === 'string') waiters.get(m.type)?.shift()?.(m);
  });
  const ask = <T extends ProbeAnswer>(type: string, answer = type) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${o.name}: no ${type} answer`)), 30_000);
      const queue = waiters.get(answer) ?? [];
      waiters.set(answer, queue);
      queue.push((m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      child.send({ type });
    });
  return {
    name: o.name,
    pid,
    port,
    url: `ws://127.0.0.1:${port}${o.path ?? ''}`,
    cpuMicros: () => cpuMicros(pid),
    rssBytes: () => rssBytes(pid),
    heap: () => ask<HeapStats & ProbeAnswer>('heap'),
    startPauses: async () => {
      await ask('pauses-start');
    },
    pauses: async () => (await ask<ProbeAnswer & { figures: PauseFigures | null }>('pauses')).figures,
    stop: () => stop(child),
  };
}

function waitListening(
  child: ChildProcess,
  name: string,
  timeoutMs: number,
  health: StartOptions['health'],
): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let early = '';
    let done = false;
    const finish = (err: Error | null, port?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(port!);
    };
    const timer = setTimeout(
      () => finish(new Error(`${name} did not report listening in ${timeoutMs} ms:\n${early}${stderr}`)),
      timeoutMs,
    );
    if (health)
      void pollHealth(
        health,
        () => done,
        (port) => finish(null, port),
      );
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      let nl = stdout.indexOf('\n');
      while (nl >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        nl = stdout.indexOf('\n');
        if (!done && early.length < 8_000) early += `${line}\n`;
        const port = done ? undefined : listeningPort(line);
        if (port !== undefined) finish(null, port);
        // Errors and fatal records of the server are worth seeing next to the progress lines.
        else if (/"level":(50|60)/.test(line)) process.stderr.write(`[${name}] ${line.slice(0, 2000)}\n`);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (!done) stderr += d.toString();
      else process.stderr.write(`[${name}] ${d.toString()}`);
    });
    // 'close', not 'exit': by then stdout and stderr have been read to the end.
    child.once('close', (code, signal) =>
      finish(new Error(`${name} exited (${code ?? signal}):\n${early}${stdout}${stderr}`)),
    );
  });
}

async function pollHealth(
  health: { port: number; path: string },
  done: () => boolean,
  ready: (port: number) => void,
): Promise<void> {
  while (!done()) {
    try {
      const res = await fetch(`http://127.0.0.1:${health.port}${health.path}`);
      if (res.ok) return ready(health.port);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The port of a JSON log line that announces listening, else undefined. */
export function listeningPort(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const rec = JSON.parse(line) as { msg?: unknown; port?: unknown };
    if (typeof rec.msg === 'string' && rec.msg.endsWith('listening') && typeof rec.port === 'number')
      return rec.port;
  } catch {
    // not JSON: ignore
  }
  return undefined;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
