import { randomBytes } from 'node:crypto';
import { connect } from './connect.js';
import { Ledger, type LedgerCounts, makeBody, readBody } from './ledger.js';
import { type Identity, type Link, newIdentity, runLimited } from './link.js';
import { loopbackSource, untilQuiet } from './net.js';

/*
 * Many users in one worker process: idle authenticated connections (memory per connection,
 * connect-plus-authenticate rate) and offline mailboxes (register, fill while offline, drain
 * when they connect). passby's, but for idle connections to the bare forwarder (the baseline of
 * memory per connection): the peers have no backlog to drain and no authentication.
 */
export interface UsersArgs {
  urls: string[];
  count: number;
  spread: number;
  concurrency: number;
  /** Whose connections (default passby); the bare forwarder's are the idle scenario's baseline. */
  kind?: 'passby' | 'bare';
}

export interface ConnectResult {
  ok: number;
  failures: number;
  firstError: string | undefined;
  ms: number;
}

export interface DrainResult extends LedgerCounts {
  missing: number;
  connectMs: number;
  /** From the first connect to the last first-time delivery. */
  drainMs: number;
  /** From the first connect to the first delivery. */
  firstDeliveryMs: number;
  drainedSignals: number;
}

const filler = randomBytes(64 * 1024);

export class UserGroup {
  private identities: Identity[] = [];
  private links: Link[] = [];
  private sender: Link | undefined;
  private ledger = new Ledger(0);
  private lastDelivery = 0;
  private firstDelivery = 0;
  private drainedSignals = 0;
  private readonly waiters = new Map<string, (ok: boolean) => void>();

  /**
   * Creates `count` identities and keeps each connected (idle) or, with `hold` false, registers
   * them (connect once, leave) and connects the sender that will fill their mailboxes.
   */
  async open(a: UsersArgs, hold: boolean): Promise<ConnectResult> {
    this.identities = Array.from({ length: a.count }, () => newIdentity(a.kind ?? 'passby'));
    if (!hold) {
      const handlers = {
        onMessage: () => {},
        onStored: (mid: string) => this.settle(mid, true),
        onError: (_code: string, ref?: string) => {
          if (ref) this.settle(ref, false);
        },
      };
      this.sender = await connect('passby', { url: a.urls[0]!, identity: newIdentity('passby'), handlers });
    }
    return this.connectAll(a, hold);
  }

  close(): void {
    for (const l of this.links) l.close();
    this.links = [];
    this.sender?.close();
    this.sender = undefined;
  }

  /** Sends `perUser` payloads to every (offline) user through one sender connection. */
  async fill(perUser: number, size: number, window: number): Promise<{ stored: number; ms: number }> {
    const sender = this.sender;
    if (!sender) throw new Error('fill before users were registered');
    this.ledger = new Ledger(this.identities.length);
    const start = performance.now();
    const total = perUser * this.identities.length;
    let stored = 0;
    await runLimited(total, window, async (k) => {
      const user = k % this.identities.length;
      const seq = this.ledger.nextSeq(user);
      const mid = `d-${user}-${seq}`;
      const ok = await new Promise<boolean>((resolve) => {
        this.waiters.set(mid, resolve);
        sender.send(this.identities[user]!.id, mid, makeBody(filler, size, user, seq, 0));
      });
      if (ok) stored += 1;
      else this.ledger.refused(user);
    });
    return { stored, ms: performance.now() - start };
  }

  /** Connects every user and waits until each has received its backlog (or the timeout). */
  async drain(a: UsersArgs, timeoutMs: number): Promise<DrainResult> {
    this.lastDelivery = 0;
    this.firstDelivery = 0;
    this.drainedSignals = 0;
    const start = performance.now();
    const connected = await this.connectAll(a, true);
    const connectMs = performance.now() - start;
    await untilQuiet(
      () => this.ledger.missing() === 0,
      () => this.ledger.counts.delivered,
      5_000,
      timeoutMs,
    );
    return {
      ...this.ledger.counts,
      missing: this.ledger.missing(),
      connectMs: connected.failures > 0 ? Number.NaN : connectMs,
      drainMs: Math.max(0, (this.lastDelivery || performance.now()) - start),
      firstDeliveryMs: this.firstDelivery ? this.firstDelivery - start : Number.NaN,
      drainedSignals: this.drainedSignals,
    };
  }

  private async connectAll(a: UsersArgs, hold: boolean): Promise<ConnectResult> {
    const start = performance.now();
    const handlers = {
      onMessage: (body: Uint8Array) => this.delivered(body),
      onDrained: () => {
        this.drainedSignals += 1;
      },
    };
    const result = await runLimited(this.identities.length, a.concurrency, async (i) => {
      const link = await connect(a.kind ?? 'passby', {
        url: a.urls[i % a.urls.length]!,
        localAddress: loopbackSource(i, a.spread),
        identity: this.identities[i]!,
        handlers,
      });
      if (hold) this.links.push(link);
      else link.close();
    });
    return { ok: this.identities.length - result.failures, ...result, ms: performance.now() - start };
  }

  private delivered(body: Uint8Array): void {
    const stamp = readBody(body);
    if (stamp && this.ledger.deliver(stamp.stream, stamp.seq)) {
      this.lastDelivery = performance.now();
      this.firstDelivery ||= this.lastDelivery;
    }
  }

  private settle(mid: string, ok: boolean): void {
    const waiter = this.waiters.get(mid);
    if (!waiter) return;
    this.waiters.delete(mid);
    waiter(ok);
  }
}
