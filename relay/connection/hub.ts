import type { Mailbox, MailboxEntry, MailboxProbe, Signal, SignalBus } from '../mailbox/index.js';
import type { Logger } from '../telemetry/index.js';

/** What the hub needs of a connection. */
export interface Attached {
  readonly uid: string;
  /** The device's slot in its identity (0 for a version 1-3 client: the identity itself). */
  readonly slot: number;
  /** Unique per connection across the whole deployment: `<slot>.<random>` (see Hub). */
  readonly token: string;
  /** The device ID (protocol v4), undefined for a version 1-3 client. */
  readonly device: string | undefined;
  /** How many live devices the identity has, as this connection last read it. */
  readonly liveDevices: number;
  ring(seq: number): void;
  /** A send on this node stored `entry` for the user; `prev` is its predecessor's seq (0: none). */
  offer(entry: MailboxEntry, prev: number): void;
  /** Reads the mailbox again, doorbell or not. */
  poke(): void;
  /**
   * The highest seq handed to this connection while it is caught up with its mailbox and not
   * reading it (only a newer entry makes a re-read worth it); undefined when it is behind, reading,
   * or not delivering yet.
   */
  readonly caughtUpAt: number | undefined;
  replace(): void;
  /** The device was revoked or the account erased: close with that code. */
  end(code: 'device_revoked' | 'erased'): void;
  /** The identity's devices changed (one linked, revoked or unlinked): read their count again. */
  devicesChanged(): void;
}

/** What an account change tells every node: the hub's control signals (see Hub). */
export type Control = { type: 'revoke'; slot: number } | { type: 'erased' } | { type: 'devices' };

/**
 * Who hears that a device's connection came or went on this node (the wake-up pushes' online
 * marks, relay/push). attached() is awaited before the connection is welcomed, and must not fail.
 */
export interface Presence {
  attached(conn: Attached): Promise<void>;
  detached(conn: Attached): void;
}

/** How often the safety pull runs: each run re-reads the share of users due by then. */
const SAFETY_TICK_MS = 1_000;

/**
 * The node-local registry of authenticated connections, one per device of a user, and the router
 * of store signals to them. A second connection of the same device replaces the first: locally at
 * once, on other nodes through a kick signal on the user's channel whose token starts with the
 * device's slot (`<slot>.<random>`), so devices of one identity stay connected together. Account
 * changes travel on the same channel as kicks whose token starts with `!` (never a connection's):
 * `!revoke:<slot>`, `!erased`, `!devices` (Control).
 *
 * A doorbell is only a hint (R5): one published while the signal connection was away is lost.
 * So when the store reports the connection back, every connection re-reads its mailbox, and a
 * safety pull re-reads each connected user's mailbox once every `safetyPullMs` (spread over that
 * period, a share every second), which bounds how long any stored entry can wait for an online
 * recipient whatever happened to its doorbell.
 */
export class Hub {
  /** Each user's connections on this node, one per device. */
  private readonly byUser = new Map<string, Attached[]>();
  private readonly timer: ReturnType<typeof setInterval>;
  /** Where the safety pull goes on; a live iterator over byUser, restarted at its end. */
  private walk: Iterator<Attached[]> | undefined;
  /** Users owed a re-read this tick, with the fraction left from earlier ticks. */
  private credit = 0;
  /** A safety pull's probe is under way: the next tick waits for it (its credit carries over). */
  private probing = false;

  constructor(
    private readonly store: SignalBus & Pick<Mailbox, 'newer'>,
    private readonly log: Logger,
    private readonly safetyPullMs: number,
    private readonly presence?: Presence,
  ) {
    store.onSignal((uid, signal) => this.signal(uid, signal));
    store.onReconnect(() => {
      this.log.info({ users: this.byUser.size }, 'signals may have been lost: re-reading mailboxes');
      for (const conns of this.byUser.values()) for (const conn of conns) conn.poke();
    });
    this.timer = setInterval(() => this.safetyPull(), Math.min(SAFETY_TICK_MS, safetyPullMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get size(): number {
    return this.byUser.size;
  }

  /** The user's connections on this node (one per device), or undefined when it has none. */
  get(uid: string): readonly Attached[] | undefined {
    return this.byUser.get(uid);
  }

  /** Whether every live device of the user is connected to this node (then no doorbell is needed). */
  allHere(uid: string): boolean {
    const conns = this.byUser.get(uid);
    return conns !== undefined && conns.length >= conns[0]!.liveDevices;
  }

  async attach(conn: Attached): Promise<void> {
    const conns = this.byUser.get(conn.uid);
    if (conns === undefined) {
      this.byUser.set(conn.uid, [conn]);
      await this.store.watch(conn.uid);
    } else {
      const i = conns.findIndex((c) => c.slot === conn.slot);
      const previous = i < 0 ? undefined : conns[i];
      if (previous === undefined) conns.push(conn);
      else conns[i] = conn;
      previous?.replace();
    }
    await Promise.all([this.store.kick(conn.uid, conn.token), this.presence?.attached(conn)]);
  }

  async detach(conn: Attached): Promise<void> {
    const conns = this.byUser.get(conn.uid);
    const i = conns?.indexOf(conn) ?? -1;
    if (conns === undefined || i < 0) return;
    this.presence?.detached(conn);
    if (conns.length > 1) return void conns.splice(i, 1);
    this.byUser.delete(conn.uid);
    try {
      await this.store.unwatch(conn.uid);
    } catch (err) {
      this.log.warn({ err }, 'unwatch failed');
    }
  }

  all(): Attached[] {
    return [...this.byUser.values()].flat();
  }

  /** Tells this node's and every other node's connections of `uid` of an account change. */
  async control(uid: string, control: Control): Promise<void> {
    this.apply(uid, control);
    const token = control.type === 'revoke' ? `!revoke:${control.slot}` : `!${control.type}`;
    await this.store.kick(uid, token);
  }

  /** One tick of the safety pull: the next share of users, so each comes once per period. */
  /**
   * One tick of the safety pull. A connection that is caught up is re-read only when the probe
   * (one store call for every such connection due this tick) finds an entry past its cursor: an
   * idle node then costs one small call a second, not a fetch per user, and allocates next to
   * nothing (V8 gives back the heap a connect burst grew only once allocation goes quiet). A
   * failed probe re-reads them all, as before there was one.
   */
  private safetyPull(): void {
    if (this.probing) return;
    const ticks = Math.max(1, Math.floor(this.safetyPullMs / SAFETY_TICK_MS));
    // Fractions carry over, so a few users are each re-read once a period, not once a tick.
    this.credit = Math.min(this.credit + this.byUser.size / ticks, this.byUser.size);
    let due = Math.floor(this.credit);
    this.credit -= due;
    const quiet: Attached[] = [];
    while (due > 0) {
      this.walk ??= this.byUser.values();
      const next = this.walk.next();
      if (next.done) {
        // A lap ends here; the next tick starts the next one (no user twice in a tick).
        this.walk = undefined;
        break;
      }
      for (const conn of next.value) {
        if (conn.caughtUpAt === undefined) conn.poke();
        else quiet.push(conn);
      }
      due--;
    }
    if (quiet.length > 0) this.probe(quiet);
  }

  private probe(conns: Attached[]): void {
    const probes: MailboxProbe[] = conns.map((c) => ({ uid: c.uid, after: c.caughtUpAt ?? 0 }));
    this.probing = true;
    this.store.newer(probes).then(
      (newer) => {
        this.probing = false;
        conns.forEach((conn, i) => {
          if (newer[i]) conn.poke();
        });
      },
      (err: unknown) => {
        this.probing = false;
        this.log.warn({ err, users: conns.length }, 'safety pull probe failed: re-reading those mailboxes');
        for (const conn of conns) conn.poke();
      },
    );
  }

  private signal(uid: string, signal: Signal): void {
    const conns = this.byUser.get(uid);
    if (!conns) return;
    if (signal.type === 'bell') {
      for (const conn of conns) conn.ring(signal.seq);
      return;
    }
    const token = signal.conn;
    if (token.startsWith('!')) return this.apply(uid, parseControl(token));
    const slot = Number(token.slice(0, token.indexOf('.')));
    for (const conn of [...conns]) if (conn.slot === slot && conn.token !== token) conn.replace();
  }

  private apply(uid: string, control: Control | undefined): void {
    if (control === undefined) return;
    for (const conn of [...(this.byUser.get(uid) ?? [])]) {
      if (control.type === 'devices') conn.devicesChanged();
      else if (control.type === 'erased') conn.end('erased');
      else if (conn.slot === control.slot) conn.end('device_revoked');
    }
  }
}

function parseControl(token: string): Control | undefined {
  if (token === '!erased') return { type: 'erased' };
  if (token === '!devices') return { type: 'devices' };
  const slot = Number(token.slice('!revoke:'.length));
  if (token.startsWith('!revoke:') && Number.isInteger(slot)) return { type: 'revoke', slot };
  return undefined;
}
