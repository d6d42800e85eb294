import { request } from 'node:http';
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
      resolve({ code, status, ms: Date.now() - started });
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

/**
 * Probes /healthz over and over in the background (one at a time, `intervalMs` apart) until
 * stopped, so a test can check every answer a phase got: its status and that none was late.
 */
export class HealthWatch {
  readonly probes: Health[] = [];
  #running = true;
  readonly #loop: Promise<void>;

  constructor(
    readonly port: number,
    intervalMs = 100,
  ) {
    this.#loop = (async () => {
      while (this.#running) {
        this.probes.push(await health(port));
        if (this.#running) await pause(intervalMs);
      }
    })();
  }

  /** Stops probing; resolves with every probe made. */
  async stop(): Promise<Health[]> {
    this.#running = false;
    await this.#loop;
    return this.probes;
  }
}

/** The probes that broke the one-second promise (timed out or took longer), for `toEqual([])`. */
export function lateProbes(probes: readonly Health[]): Health[] {
  return probes.filter((p) => p.code === -1 || p.ms > HEALTH_DEADLINE_MS);
}
