import { randomBytes } from 'node:crypto';
import { connect } from './connect.js';
import { Histogram, type HistogramData } from './histogram.js';
import { Ledger, type LedgerCounts, makeBody, readBody } from './ledger.js';
import { type Link, newIdentity, runLimited, type TargetKind } from './link.js';
import { loopbackSource, sleep, untilQuiet } from './net.js';

/*
 * Sender-to-receiver pairs inside one worker process (both ends share a clock, so one-way
 * latency needs no clock sync), driven closed-loop at saturation or open-loop at a fixed rate.
 * Each payload carries [stream = run << 16 | pair][seq][time] (ledger.ts).
 */
export interface PairsArgs {
  kind: TargetKind;
  /** Pairs group in the worker (default: the kind), so one kind can have several sets of pairs. */
  group?: string;
  /** Servers to connect to, spread by pairEnds: with several, half the pairs cross servers. */
  urls: string[];
  count: number;
  spread: number;
}

export interface RunResult extends LedgerCounts {
  /** Deliveries that arrived before the end of the timed window. */
  inWindow: number;
  missing: number;
  stale: number;
  elapsedMs: number;
  latency: HistogramData;
  /** Open loop only: how late the generator issued each send against its schedule. */
  lag: HistogramData;
  /** Open loop only: sends skipped because too many were outstanding. */
  shed: number;
}

interface Pair {
  sender: Link;
  receiver: Link;
}

interface Current {
  run: number;
  onDeliver(pair: number, seq: number, time: number): void;
  onRefused(pair: number): void;
}

const filler = randomBytes(64 * 1024);

/**
 * Which of `servers` the receiver and the sender of pair i connect to: the receiver to i mod n,
 * the sender to floor(i / n) mod n, so over n * n consecutive pairs every (sender, receiver)
 * combination occurs once: with two servers, half the pairs have their ends on different servers.
 */
export function pairEnds(i: number, servers: number): { sender: number; receiver: number } {
  const n = Math.max(1, servers);
  return { receiver: i % n, sender: Math.floor(i / n) % n };
}

export class PairGroup {
  private readonly pairs: Pair[] = [];
  private run = 0;
  private current: Current | undefined;
  private stale = 0;

  constructor(readonly kind: TargetKind) {}

  async open(a: PairsArgs): Promise<{ failures: number; firstError: string | undefined }> {
    return runLimited(a.count, 20, async (i) => {
      const ends = pairEnds(i, a.urls.length);
      const localAddress = loopbackSource(i, a.spread);
      const handlers = {
        onMessage: (body: Uint8Array) => this.delivered(body),
        onError: (_code: string, ref?: string) => this.refused(ref),
      };
      const identity = () => newIdentity(a.kind);
      const to = (k: number) => ({ url: a.urls[k]!, localAddress, identity: identity(), handlers });
      const receiver = await connect(a.kind, to(ends.receiver));
      const sender = await connect(a.kind, to(ends.sender));
      this.pairs.push({ sender, receiver });
    });
  }

  close(): void {
    for (const p of this.pairs) {
      p.sender.close();
      p.receiver.close();
    }
    this.pairs.length = 0;
  }

  /** Closed loop: every pair keeps `window` messages in flight for `durationMs`. */
  async saturate(size: number, durationMs: number, window: number, settleMs: number): Promise<RunResult> {
    const { ledger, latency, send, finish } = this.begin(size);
    const start = performance.now();
    const end = start + durationMs;
    let inWindow = 0;
    this.current!.onDeliver = (pair, seq, time) => {
      if (!ledger.deliver(pair, seq)) return;
      const now = performance.now();
      latency.record((now - time) * 1000);
      if (now > end) return;
      inWindow += 1;
      while (ledger.outstanding(pair) < window) send(pair, performance.now());
    };
    for (let p = 0; p < this.pairs.length; p++) for (let w = 0; w < window; w++) send(p, performance.now());
    await sleep(durationMs);
    await untilQuiet(
      () => ledger.missing() === 0,
      () => ledger.counts.delivered,
      2_000,
      settleMs,
    );
    return finish(start, inWindow, new Histogram(), 0);
  }

  /** Open loop: `rate` messages a second over all pairs for `durationMs`, on schedule. */
  async openLoop(size: number, rate: number, durationMs: number, settleMs: number, maxOutstanding: number) {
    const { ledger, latency, send, finish } = this.begin(size);
    const lag = new Histogram();
    const total = Math.floor((rate * durationMs) / 1000);
    const interval = 1000 / rate;
    const start = performance.now();
    let issued = 0;
    let shed = 0;
    this.current!.onDeliver = (pair, seq, time) => {
      if (ledger.deliver(pair, seq)) latency.record((performance.now() - time) * 1000);
    };
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - start) / interval) + 1);
        for (; issued < due; issued++) {
          const intended = start + issued * interval;
          lag.record((now - intended) * 1000);
          if (ledger.missing() >= maxOutstanding) shed += 1;
          else send(issued % this.pairs.length, intended);
        }
        if (issued < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    await untilQuiet(
      () => ledger.missing() === 0,
      () => ledger.counts.delivered,
      2_000,
      settleMs,
    );
    return finish(start, ledger.counts.delivered, lag, shed);
  }

  private begin(size: number) {
    this.run = (this.run + 1) & 0xffff;
    const run = this.run;
    const ledger = new Ledger(this.pairs.length);
    const latency = new Histogram();
    this.current = { run, onDeliver: () => {}, onRefused: (pair) => ledger.refused(pair) };
    const send = (pair: number, time: number) => {
      const p = this.pairs[pair]!;
      const seq = ledger.nextSeq(pair);
      const body = makeBody(filler, size, (run << 16) | pair, seq, time);
      p.sender.send(p.receiver.id, `${run}-${pair}-${seq}`, body);
    };
    const finish = (start: number, inWindow: number, lag: Histogram, shed: number): RunResult => {
      this.current = undefined;
      return {
        ...ledger.counts,
        inWindow,
        missing: ledger.missing(),
        stale: this.stale,
        elapsedMs: performance.now() - start,
        latency: latency.toData(),
        lag: lag.toData(),
        shed,
      };
    };
    return { ledger, latency, send, finish };
  }

  private delivered(body: Uint8Array): void {
    const stamp = readBody(body);
    const c = this.current;
    if (!stamp || !c || stamp.stream >>> 16 !== c.run) {
      this.stale += 1;
      return;
    }
    c.onDeliver(stamp.stream & 0xffff, stamp.seq, stamp.time);
  }

  private refused(ref: string | undefined): void {
    const parts = ref?.split('-');
    if (parts?.length !== 3 || Number(parts[0]) !== this.current?.run) return;
    this.current.onRefused(Number(parts[1]));
  }
}
