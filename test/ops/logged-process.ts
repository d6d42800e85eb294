import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A process whose stdout is pino JSON lines, parsed as they come, for tests of how it starts and stops. */
export interface LoggedProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first log record with this msg; rejects if the process ends first. */
  line(msg: string): Promise<Record<string, unknown>>;
  /** SIGKILL unless it has already ended. */
  kill(): Promise<void>;
}

export function spawnLogged(command: string, args: string[], options: SpawnOptions): LoggedProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiting: { msg: string; resolve: (r: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (!text.startsWith('{')) return; // npm's own banner lines
    const record = JSON.parse(text) as Record<string, unknown>;
    logs.push(record);
    for (const w of waiting.filter((x) => x.msg === record.msg)) w.resolve(record);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    line(msg) {
      const seen = logs.find((r) => r.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ msg, resolve });
        void exited.then(({ code }) => reject(new Error(`exited (${code}) before "${msg}": ${stderr}`)));
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
