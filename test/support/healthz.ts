import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { pause } from './poll.js';

/**
 * GET /healthz with a deadline, as an operator's probe would do it: a relay must answer within a
 * second whatever its store does (DESIGN R4).
 */
export const HEALTH_DEADLINE_MS = 1000;

export interface Health {
  /** HTTP status; 0 when the connection was refused or reset, -1 when the deadline passed. */
  code: number;
  /** The body's `status` field ('ok', 'unavailable'), or 'refused' / 'timeout'. */
  status: string;
  /** How long the answer took. */
  ms: number;
  /** When the probe started (ms since the epoch), to place it in a test's phases. */
  at: number;
}

/** One probe on 127.0.0.1:port, never longer than `deadlineMs`. */
export function health(port: number, deadlineMs = HEALTH_DEADLINE_MS): Promise<Health> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (code: number, status: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ code, status, ms: Date.now() - started, at: started });
    };
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => done(res.statusCode ?? 0, statusOf(body)));
      res.on('error', () => done(0, 'refused'));
    });
    const timer = setTimeout(() => done(-1, 'timeout'), deadlineMs);
    req.on('error', () => done(0, 'refused'));
    req.end();
  });
}

function statusOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { status?: unknown };
    return typeof parsed.status === 'string' ? parsed.status : `no status in ${body}`;
  } catch {
    return `not JSON: ${body.slice(0, 80)}`;
  }
}

/**
 * Probes until /healthz says `status` (each probe within the deadline), at most `timeoutMs`.
 * Resolves with every probe made; the last one is the match, or the last try when none came, so
 * a test asserts on it (softly, to see what the rest of the fault does) rather than here.
 */
export async function healthBecomes(port: number, status: string, timeoutMs: number): Promise<Health[]> {
  const probes: Health[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await health(port);
    probes.push(h);
    if (h.status === status) return probes;
    if (Date.now() >= deadline) return probes;
    await pause(50);
  }
}

/*
 * The watcher's probe loop, run in a process of its own so that what it measures is the relay's
 * promptness, not the test process's event loop (busy sealing and opening 64 KiB messages). It
 * prints one JSON line per probe and ends when its stdin closes (stop(), or the test process
 * going away) or after 120 s at most.
 */
const WATCH_SCRIPT = `
const http = require('node:http');
const [port, intervalMs, deadlineMs] = process.argv.slice(1).map(Number);
let running = true;
process.stdin.on('end', () => { running = false; });
process.stdin.resume();
setTimeout(() => { running = false; }, 120000).unref();
function probe() {
  return new Promise((resolve) => {
    const at = Date.now();
    let settled = false;
    const done = (code, status) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ code, status, ms: Date.now() - at, at });
    };
    const req = http.request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        let status;
        try { status = String(JSON.parse(body).status); } catch { status = 'not JSON'; }
        done(res.statusCode, status);
      });
      res.on('error', () => done(0, 'refused'));
    });
    const timer = setTimeout(() => done(-1, 'timeout'), deadlineMs);
    req.on('error', () => done(0, 'refused'));
    req.end();
  });
}
(async () => {
  while (running) {
    process.stdout.write(JSON.stringify(await probe()) + '\\n');
    if (running) await new Promise((r) => setTimeout(r, intervalMs));
  }
  process.exit(0);
})();
`;

const watching = new Set<HealthWatch>();

/** Stops every watch still running (afterEach clean-up when a test failed before its stop()). */
export async function stopHealthWatches(): Promise<void> {
  await Promise.all([...watching].map((w) => w.stop()));
}

/**
 * Probes /healthz over and over in the background (one at a time, `intervalMs` apart, from a
 * process of its own) until stopped, so a test can check every answer a phase got: its status
 * and that none was late.
 */
export class HealthWatch {
  readonly probes: Health[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  constructor(
    readonly port: number,
    intervalMs = 100,
  ) {
    this.#child = spawn(
      process.execPath,
      ['-e', WATCH_SCRIPT, String(port), String(intervalMs), String(HEALTH_DEADLINE_MS)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    this.#exited = new Promise((resolve) => this.#child.once('close', () => resolve()));
    watching.add(this);
    void this.#exited.then(() => watching.delete(this));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.probes.push(JSON.parse(line) as Health);
    });
  }

  /** Stops probing (after the probe under way); resolves with every probe made. */
  async stop(): Promise<Health[]> {
    this.#child.stdin?.end();
    await this.#exited;
    return this.probes;
  }
}

/** The probes that broke the one-second promise (timed out or took longer), for `toEqual([])`. */
export function lateProbes(probes: readonly Health[]): Health[] {
  return probes.filter((p) => p.code === -1 || p.ms > HEALTH_DEADLINE_MS);
}
