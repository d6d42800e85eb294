import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/*
 * Every process the bench starts (redis-server, relays, peers, load workers) is registered here,
 * so that none outlives the bench: on SIGINT or SIGTERM they are stopped before the bench exits
 * (SIGTERM, then SIGKILL for any still running a few seconds later), and whatever is still
 * running when the bench process exits for any other reason (an error, process.exit) is killed.
 * The temporary directories of those processes (Redis's AOF, JetStream's store) are removed then.
 */
const running = new Set<ChildProcess>();
const scratch = new Set<string>();
/** How long children may take to stop on SIGTERM before they are killed. */
const STOP_GRACE_MS = 3_000;

export function track<C extends ChildProcess>(child: C): C {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** A scratch directory a child writes to, removed when the bench exits; call the result to remove it now. */
export function trackDir(dir: string): () => void {
  scratch.add(dir);
  return () => {
    scratch.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };
}

function signalAll(signal: NodeJS.Signals): void {
  for (const child of running) child.kill(signal);
}

function interrupted(signal: NodeJS.Signals): void {
  process.stderr.write(`[bench] ${signal}: stopping ${running.size} child processes\n`);
  signalAll('SIGTERM');
  const code = signal === 'SIGINT' ? 130 : 143;
  const deadline = setTimeout(() => process.exit(code), STOP_GRACE_MS);
  const check = setInterval(() => {
    if (running.size > 0) return;
    clearTimeout(deadline);
    clearInterval(check);
    process.exit(code);
  }, 50);
}

/**
 * Makes SIGINT and SIGTERM stop the children before the process exits. The bench's entry point
 * calls it; a test that imports bench modules keeps its own runner's signal handling.
 */
export function stopChildrenOnSignals(): void {
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
}

// Synchronous, so it runs on every exit: nothing started by the bench is left behind.
process.on('exit', () => {
  signalAll('SIGKILL');
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
