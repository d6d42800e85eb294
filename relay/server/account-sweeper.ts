import type { AccountSignals, Accounts, Devices, MailboxPart, PushPart } from '../account/index.js';
import type { RelayConfig } from '../config/index.js';
import type { Logger, Metrics } from '../telemetry/index.js';

const DAY_MS = 86_400_000;
const BATCH = 100;
const MAX_BATCHES = 20;
/** How often devices and accounts are checked for inactivity (their periods are days). */
const IDLE_CHECK_MS = 60_000;
/** How often the connections of this node count as seen (a connection may outlive days). */
const SEEN_MS = 3_600_000;

/** A connection of this node, as the sweeper needs it (relay/connection's Attached). */
export interface Connected {
  readonly uid: string;
  readonly device: string | undefined;
  end(code: 'device_revoked' | 'erased'): void;
}

/**
 * The account chores every relay node runs: the erase journal (every sweep interval, and at once
 * after an erase request), and once a minute the inactivity rules: devices unseen for
 * PASSBY_DEVICE_IDLE_DAYS are unlinked (never an identity's last), approved devices that never
 * connected within PASSBY_PAIRING_TTL_SECONDS go with their sealed key, and accounts unseen for
 * PASSBY_ACCOUNT_IDLE_DAYS are filed for erasure. Every step is idempotent, so nodes running them
 * at the same moment only repeat each other's work, and a journal entry left by a crashed node is
 * finished by the next run anywhere.
 */
export class AccountSweeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private again = false;
  private lastIdleCheck = Number.NEGATIVE_INFINITY;
  private lastSeen = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly d: {
      config: Readonly<RelayConfig>;
      devices: Devices;
      accounts: Accounts;
      mailbox: Pick<MailboxPart, 'dropDevice'>;
      /** An unlinked device's wake-up registration goes with it. */
      push?: Pick<PushPart, 'remove'>;
      signals: AccountSignals;
      /** This node's authenticated connections. */
      connected: () => Iterable<Connected>;
      metrics: Metrics;
      log: Logger;
      now: () => number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.runSoon(), this.d.config.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves when no run is under way. */
  idle(): Promise<void> {
    return this.running;
  }

  /** Runs the chores now, or once more after the run under way. */
  runSoon(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = this.run().finally(() => {
      this.busy = false;
      if (this.again && this.timer !== undefined) {
        this.again = false;
        this.runSoon();
      }
    });
  }

  private async run(): Promise<void> {
    try {
      const now = this.d.now();
      if (now - this.lastSeen >= SEEN_MS) {
        this.lastSeen = now;
        await this.seeConnected(now);
      }
      if (now - this.lastIdleCheck >= IDLE_CHECK_MS) {
        this.lastIdleCheck = now;
        await this.unlinkIdle(now);
        await this.fileInactive(now);
      }
      await this.erase();
    } catch (err) {
      this.d.log.error({ err }, 'account sweep failed');
    }
  }

  /**
   * Marks every connection of this node seen, as an authentication does: an app that stays
   * connected for days is not idle. A device revoked or erased meanwhile (its signal lost) is closed.
   */
  private async seeConnected(now: number): Promise<void> {
    const all = [...this.d.connected()];
    const see = async (conn: Connected) => {
      if (conn.device === undefined) return this.d.devices.touch(conn.uid, now);
      const auth = await this.d.devices.authDevice(conn.device, now);
      if (auth.status === 'device_revoked' || auth.status === 'erased') conn.end(auth.status);
    };
    // A hundred at a time: pipelined, without a burst of every connection at once.
    for (let i = 0; i < all.length; i += BATCH) await Promise.all(all.slice(i, i + BATCH).map(see));
  }

  private async erase(): Promise<void> {
    for (let i = 0; i < MAX_BATCHES; i++) {
      const { erased, more } = await this.d.accounts.runErasures(this.d.now(), BATCH);
      if (erased.length > 0) {
        this.d.metrics.accountsErased += erased.length;
        this.d.log.info({ accounts: erased.length }, 'accounts erased');
      }
      if (!more) return;
    }
  }

  private async unlinkIdle(now: number): Promise<void> {
    const { config, devices, mailbox, signals } = this.d;
    const idleBefore = now - config.deviceIdleDays * DAY_MS;
    const pendingBefore = now - config.pairingTtlSeconds * 1000;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const { unlinked, more } = await devices.sweepIdle(idleBefore, pendingBefore, BATCH);
      for (const { uid, slot } of unlinked) {
        await mailbox.dropDevice(uid, slot, now);
        await this.d.push?.remove(uid, slot);
        await signals.devicesChanged(uid);
        await signals.revoked(uid, slot);
      }
      if (unlinked.length > 0) {
        this.d.metrics.devicesUnlinked += unlinked.length;
        this.d.log.info({ devices: unlinked.length }, 'idle devices unlinked');
      }
      if (!more) return;
    }
  }

  private async fileInactive(now: number): Promise<void> {
    const idleBefore = now - this.d.config.accountIdleDays * DAY_MS;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const { filed, more } = await this.d.accounts.sweepInactive(idleBefore, now, BATCH);
      if (filed > 0) this.d.log.info({ accounts: filed }, 'inactive accounts filed for erasure');
      if (!more) return;
    }
  }
}
