import type { ChildProcess } from 'node:child_process';

/*
 * Every process the bench starts (redis-server, relays, peers, load workers) is registered here,
 * so that none outlives the bench: on SIGINT or SIGTERM they are stopped before the bench exits
 * (SIGTERM, then SIGKILL for any still running a few seconds later), and whatever is still
 * running when the bench process exits for any other reason (an error, process.exit) is killed.
 */
const running = new Set<ChildProcess>();
/** How long children may take to stop on SIGTERM before they are killed. */
const STOP_GRACE_MS = 3_000;

export function track<C extends ChildProcess>(child: C): C {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
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

process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);
// Synchronous, so it runs on every exit: nothing started by the bench is left behind.
process.on('exit', () => signalAll('SIGKILL'));
