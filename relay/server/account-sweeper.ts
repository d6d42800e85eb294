import type { AccountSignals, Accounts, Devices } from '../account/index.js';
import type { RelayConfig } from '../config/index.js';
import type { Mailbox } from '../mailbox/index.js';
import type { Logger, Metrics } from '../telemetry/index.js';

const DAY_MS = 86_400_000;
const BATCH = 100;
const MAX_BATCHES = 20;
/** How often devices and accounts are checked for inactivity (their periods are days). */
const IDLE_CHECK_MS = 60_000;

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

  constructor(
    private readonly d: {
      config: Readonly<RelayConfig>;
      devices: Devices;
      accounts: Accounts;
      mailbox: Pick<Mailbox, 'dropDevice'>;
      signals: AccountSignals;
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
