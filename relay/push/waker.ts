import type { PushKind } from '../../protocol/index.js';
import type { Logger } from '../telemetry/index.js';
import type { OnlineConn, PushStore, Woken } from './contract.js';
import type { FailReason, Outcome, Sender } from './senders/outcome.js';

/*
 * When to wake (PROTOCOL.md "Wake-up pushes"). A hook on the paths that file something for a
 * user (a confirmed send, an offer, a nearby notice, a receipt) calls filed(uid); the send path
 * pays a Set insertion and nothing else:
 *
 *   filed(uid)  skipped when every live device of uid is connected to this node (Hub.allHere);
 *               else uid joins this event-loop turn's batch (once, however many filings);
 *   a turn later, per user: PushStore.claim, one atomic call on the user's slot, picks the
 *               devices with a registration, no connection on any node and no wake-up within the
 *               coalesce period, and marks them woken (so of two nodes, one sends);
 *   each pick   goes to its kind's sender, at most `concurrency` under way at once; 429 and 5xx
 *               are tried again (no sooner than Retry-After, else backoff with jitter), up to
 *               `attempts` tries; 404 and 410 drop the registration.
 *
 * Bounded: the users waiting for a decision plus the pushes waiting, retrying or under way are at
 * most `maxQueue` (10,000 by default); past it a filing is dropped and counted as
 * failed{reason="overflow"}, so a push service that hangs costs that much memory and no delivery
 * (each request also has its deadline).
 *
 * The online marks that make "connected on any node" true are written here too: at attach, every
 * third of `onlineMs` for this node's connections that have a registration (a mark lasts
 * `onlineMs`, so a dead node's go), and at detach. Only connections the store marked (their device
 * has a registration) are refreshed: a node with 100,000 connections and few registrations sends
 * few refreshes.
 */

/** How long an online mark lasts by default (PASSBY_PUSH_ONLINE_SECONDS). */
export const ONLINE_MS = 45_000;
export const WAKE_QUEUE = 10_000;

export interface WakeMetrics {
  sent(): void;
  failed(reason: FailReason): void;
  coalesced(n: number): void;
}

export interface WakerOptions {
  store: PushStore;
  senders: ReadonlyMap<PushKind, Sender>;
  /** Whether every live device of uid is connected to this node (relay/connection Hub). */
  allHere(uid: string): boolean;
  metrics: WakeMetrics;
  log: Logger;
  coalesceMs: number;
  /** How long an online mark lasts; refreshed every third of it. Default ONLINE_MS. */
  onlineMs?: number;
  maxQueue?: number;
  concurrency?: number;
  attempts?: number;
  /** Backoff before the second try (doubled each time, full jitter); default 1 s. */
  backoffMs?: number;
  /** A Retry-After longer than this gives up (counted unavailable); default 10 minutes. */
  maxRetryAfterMs?: number;
}

interface Job {
  uid: string;
  woken: Woken;
  attempt: number;
}

export class Waker {
  private readonly batch = new Set<string>();
  private scheduled = false;
  private readonly waiting: Job[] = [];
  private active = 0;
  /** Jobs sleeping before a retry, and claims under way. */
  private parked = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly refresh: ReturnType<typeof setInterval>;
  private stopped = false;
  private readonly maxQueue: number;
  private readonly concurrency: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;
  /** How long an online mark lasts. */
  readonly onlineMs: number;
  private idleWaiters: (() => void)[] = [];
  /** This node's connections whose devices have a registration (marked online), by token. */
  private readonly marked = new Map<string, OnlineConn>();
  /** Connections whose attach is being written, and those of them that closed meanwhile. */
  private readonly attaching = new Set<string>();
  private readonly left = new Set<string>();

  constructor(private readonly o: WakerOptions) {
    this.maxQueue = o.maxQueue ?? WAKE_QUEUE;
    this.concurrency = o.concurrency ?? 64;
    this.attempts = o.attempts ?? 4;
    this.backoffMs = o.backoffMs ?? 1_000;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? 600_000;
    this.onlineMs = o.onlineMs ?? ONLINE_MS;
    this.refresh = setInterval(() => this.refreshOnline(), Math.floor(this.onlineMs / 3));
    this.refresh.unref();
  }

  /** Something was filed for uid: its devices that are away may need a wake-up. */
  filed(uid: string): void {
    if (this.stopped || this.batch.has(uid) || this.o.allHere(uid)) return;
    if (this.size >= this.maxQueue) return this.o.metrics.failed('overflow');
    this.batch.add(uid);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.decide());
    }
  }

  /** A connection of uid's device opened on this node: it is online, and its wake mark goes. */
  attached(conn: OnlineConn): Promise<void> {
    return this.write(conn, true);
  }

  /**
   * Writes a connection's mark (at attach: `fresh`, which also drops its wake mark; or when it
   * registered while connected) and keeps it for the refresh; a connection that closed while the
   * mark was written has it taken back.
   */
  private async write(conn: OnlineConn, fresh: boolean): Promise<void> {
    this.attaching.add(conn.token);
    try {
      const marked = (await this.o.store.online([conn], this.onlineMs, fresh)) > 0;
      // Closed while its mark was being written: take the mark back.
      if (this.left.delete(conn.token)) {
        if (marked) this.offline(conn);
      } else if (marked) this.mark(conn);
    } catch (err) {
      this.left.delete(conn.token);
      this.o.log.warn({ err }, 'could not mark a device online');
    } finally {
      this.attaching.delete(conn.token);
    }
  }

  detached(conn: OnlineConn): void {
    if (this.marked.delete(conn.token)) this.offline(conn);
    else if (this.attaching.has(conn.token)) this.left.add(conn.token);
  }

  private offline(conn: OnlineConn): void {
    this.o.store
      .offline(conn)
      .catch((err: unknown) => this.o.log.warn({ err }, 'could not mark a device offline'));
  }

  /** A device that registered while connected (still open): online now, not from the next refresh. */
  registered(conn: OnlineConn): Promise<void> {
    return this.write(conn, false);
  }

  private mark(conn: OnlineConn): void {
    // A copy: the connection object stays the session's, the map holds three strings' worth.
    this.marked.set(conn.token, { uid: conn.uid, slot: conn.slot, token: conn.token });
  }

  /** Everything waiting, retrying or under way. */
  get size(): number {
    return this.batch.size + this.waiting.length + this.active + this.parked;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.refresh);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
    this.batch.clear();
    for (const s of this.o.senders.values()) s.close();
  }

  /** Resolves once nothing waits or runs (tests, shutdown). */
  idle(): Promise<void> {
    if (this.size === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private decide(): void {
    this.scheduled = false;
    const uids = [...this.batch];
    this.batch.clear();
    for (const uid of uids) {
      this.parked++;
      this.o.store.claim(uid, this.o.coalesceMs).then(
        ({ wake, coalesced }) => {
          this.parked--;
          if (coalesced > 0) this.o.metrics.coalesced(coalesced);
          for (const woken of wake) this.enqueue({ uid, woken, attempt: 0 });
          this.pump();
        },
        (err: unknown) => {
          this.parked--;
          this.o.log.warn({ err }, 'could not decide a wake-up');
          this.pump();
        },
      );
    }
  }

  private enqueue(job: Job): void {
    if (this.stopped) return;
    if (this.size >= this.maxQueue) return this.o.metrics.failed('overflow');
    this.waiting.push(job);
  }

  private pump(): void {
    while (!this.stopped && this.active < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      const sender = this.o.senders.get(job.woken.registration.kind);
      if (sender === undefined) {
        this.o.metrics.failed('unconfigured');
        continue;
      }
      this.active++;
      sender
        .send(job.woken.registration)
        .catch((err: unknown): Outcome => {
          this.o.log.warn({ err, kind: sender.kind }, 'push sender failed');
          return { status: 'failed', reason: 'rejected' };
        })
        .then((outcome) => {
          this.active--;
          this.settle(job, outcome);
          this.pump();
        });
    }
    if (this.size === 0 && !this.scheduled) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private settle(job: Job, outcome: Outcome): void {
    const { metrics, log, store } = this.o;
    const kind = job.woken.registration.kind;
    switch (outcome.status) {
      case 'sent':
        metrics.sent();
        return;
      case 'gone':
        metrics.failed('gone');
        log.info({ kind, slot: job.woken.slot }, 'push service says the registration is gone: dropped');
        store
          .drop(job.uid, job.woken.slot, job.woken.raw)
          .catch((err: unknown) => log.warn({ err }, 'could not drop a push registration'));
        return;
      case 'failed':
        metrics.failed(outcome.reason);
        log.info({ kind, reason: outcome.reason }, 'wake-up refused by the push service');
        return;
      case 'retry': {
        const next = job.attempt + 1;
        const backoff = Math.random() * this.backoffMs * 2 ** job.attempt;
        const delay = outcome.afterMs ?? backoff;
        if (next >= this.attempts || delay > this.maxRetryAfterMs || this.stopped) {
          metrics.failed(outcome.reason);
          log.info({ kind, reason: outcome.reason, attempts: next }, 'wake-up not sent');
          return;
        }
        this.parked++;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.parked--;
          this.waiting.push({ ...job, attempt: next });
          this.pump();
        }, delay);
        timer.unref();
        this.timers.add(timer);
      }
    }
  }

  private refreshOnline(): void {
    const conns = [...this.marked.values()];
    if (conns.length === 0) return;
    this.o.store
      .online(conns, this.onlineMs, false)
      .catch((err: unknown) => this.o.log.warn({ err }, 'could not refresh the online marks'));
  }
}
