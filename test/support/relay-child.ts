import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../relay/main.ts', import.meta.url));

/** A relay running as its own process (node + tsx), for crash, restart and signal tests. */
export interface RelayChild {
  readonly process: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Every JSON log line the process wrote to stdout, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnRelay(env: Record<string, string>): Promise<RelayChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      PASSBY_HOST: '127.0.0.1',
      PASSBY_PORT: '0',
      PASSBY_LOG_LEVEL: 'info',
      PASSBY_DISCOVERY_SECRET: 'test-discovery-secret-0123456789abcdef',
      ...env,
    },
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
  return { process: child, port, url: `ws://127.0.0.1:${port}/`, logs, exited };
}
