import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import type { WorkerCommand } from './worker.js';

/**
 * A bounded set of load-generator processes (worker.ts). Each is a separate process so that no
 * one of them holds more than its share of sockets (open files are capped at 20000 per process)
 * and so the generator can use more than one core.
 */
export class Pool {
  private readonly children: ChildProcess[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  private constructor(readonly size: number) {}

  static async start(size: number): Promise<Pool> {
    const pool = new Pool(size);
    const script = fileURLToPath(new URL('./worker.ts', import.meta.url));
    await Promise.all(
      Array.from({ length: size }, () => {
        const child = track(
          fork(script, [], {
            execArgv: ['--import', 'tsx'],
            serialization: 'advanced',
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        );
        pool.children.push(child);
        return new Promise<void>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`load worker exited (${code}) while starting`)));
          child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
            if (m.id === 0) return resolve();
            const waiter = pool.pending.get(m.id);
            if (!waiter) return;
            pool.pending.delete(m.id);
            if (m.ok) waiter.resolve(m.result);
            else waiter.reject(new Error(`load worker: ${m.error}`));
          });
        });
      }),
    );
    return pool;
  }

  /** Process ids of the workers (their CPU is the load generator's own cost). */
  get pids(): number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  /** Sends one command to worker `i`. */
  call<T>(i: number, command: WorkerCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.children[i]!.send({ id, ...command });
    });
  }

  /** Sends a command to every worker at once, built per worker, and waits for all answers. */
  all<T>(build: (i: number) => WorkerCommand): Promise<T[]> {
    return Promise.all(this.children.map((_, i) => this.call<T>(i, build(i))));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.disconnect();
          }),
      ),
    );
    for (const w of this.pending.values()) w.reject(new Error('pool stopped'));
    this.pending.clear();
  }
}
