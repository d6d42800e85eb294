import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ERROR_CODES, type ErrorCode } from '../../protocol/index.js';
import { FastHistogram } from './histogram.js';
import { VERSION } from './version.js';

/**
 * What an operator scrapes at GET /metrics (Prometheus text format), through prom-client: the
 * relay's counters (the same names and meanings as before), histograms of store latency, delivery
 * latency and frame sizes (relay/telemetry/histogram.ts, cheap enough for the message path), the state of
 * each Redis connection, build info, and the process and
 * runtime metrics prom-client collects (event-loop lag, GC, heap, RSS, handles). Labels have low
 * cardinality by construction: error codes from the closed table, store operations from the Store
 * interface, a direction, a Redis role; nothing names a user, a device or an endpoint.
 *
 * The counters are plain fields the relay increments (`metrics.stored++`), read when scraped.
 */
export class Metrics {
  connectionsOpen = 0;
  connectionsTotal = 0;
  authenticated = 0;
  authFailures = 0;
  stored = 0;
  duplicates = 0;
  delivered = 0;
  acked = 0;
  expired = 0;
  receiptsExpired = 0;
  accountsErased = 0;
  devicesUnlinked = 0;
  /** Wake-up pushes the push services accepted, and wake-ups skipped for a recent one. */
  wakeupsSent = 0;
  wakeupsCoalesced = 0;

  readonly registry = new Registry();
  private readonly errors = new Counter({
    name: 'passby_errors_total',
    help: 'Errors answered, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private readonly wakeupsFailed = new Counter({
    name: 'passby_wakeups_failed_total',
    help: 'Wake-up pushes not sent, by reason (overflow, gone, rejected, unavailable, timeout, network, unconfigured)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly storeSeconds = new FastHistogram(
    'passby_store_seconds',
    'Time a store operation took, by operation (failed ones too)',
    'op',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    this.registry,
  );
  private readonly deliverySeconds = new FastHistogram(
    'passby_delivery_latency_seconds',
    'Time from a payload stored to its ack; queued="true" when it was delivered more than 5 s after it was stored (the recipient was away or behind)',
    'queued',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86_400, 604_800],
    this.registry,
  );
  private readonly frameBytes = new FastHistogram(
    'passby_frame_bytes',
    'Size of WebSocket data frames, by direction (in: from clients, out: to clients)',
    'direction',
    [64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576],
    this.registry,
  );
  private readonly liveDeliveries = this.deliverySeconds.child('false');
  private readonly queuedDeliveries = this.deliverySeconds.child('true');
  private readonly framesIn = this.frameBytes.child('in');
  private readonly framesOut = this.frameBytes.child('out');
  private readonly redis = new Map<string, () => boolean>();

  constructor() {
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name: `passby_${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const open = () => this.connectionsOpen;
    new Gauge({
      name: 'passby_connections_open',
      help: 'WebSocket connections open now',
      registers: [this.registry],
      collect() {
        this.set(open());
      },
    });
    counter('connections_total', 'WebSocket connections accepted', () => this.connectionsTotal);
    counter('authenticated_total', 'Successful authentications', () => this.authenticated);
    counter('auth_failures_total', 'Failed authentications', () => this.authFailures);
    counter('messages_stored_total', 'Payloads durably stored', () => this.stored);
    counter('messages_duplicate_total', 'Sends that were retries of a stored payload', () => this.duplicates);
    counter('messages_delivered_total', 'Mailbox entries written to a recipient', () => this.delivered);
    counter('messages_acked_total', 'Mailbox entries acknowledged and deleted', () => this.acked);
    counter('messages_expired_total', 'Entries deleted undelivered at expiry', () => this.expired);
    counter('receipts_expired_total', 'Expired receipts filed for senders', () => this.receiptsExpired);
    counter('accounts_erased_total', 'Accounts erased (asked for, or inactive)', () => this.accountsErased);
    counter(
      'devices_unlinked_total',
      'Devices unlinked for being unseen too long',
      () => this.devicesUnlinked,
    );
    counter('wakeups_sent_total', 'Wake-up pushes a push service accepted', () => this.wakeupsSent);
    counter(
      'wakeups_coalesced_total',
      'Wake-ups not sent because the device was woken within PASSBY_PUSH_COALESCE_SECONDS',
      () => this.wakeupsCoalesced,
    );
    for (const code of ERROR_CODES) this.errors.inc({ code }, 0);
    const redis = this.redis;
    new Gauge({
      name: 'passby_redis_connected',
      help: 'Whether each Redis connection is ready (1) or not (0), by role; absent on the in-process store',
      labelNames: ['role'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [role, ready] of redis) this.set({ role }, ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'passby_build_info',
      help: 'The running build: relay version and Node.js version (always 1)',
      labelNames: ['version', 'node'],
      registers: [this.registry],
    }).set({ version: VERSION, node: process.version }, 1);
  }

  /** A wake-up push not sent, by a reason from a closed set (relay/push FAIL_REASONS); by 0 to show the series. */
  wakeupFailed(reason: string, by = 1): void {
    this.wakeupsFailed.inc({ reason }, by);
  }

  error(code: ErrorCode): void {
    this.errors.inc({ code });
  }

  /**
   * The histogram of one store operation, to observe its durations in seconds (one child per
   * operation, made once: observing through labels costs several times more on the message path).
   */
  storeOperation(op: string): (seconds: number) => void {
    const series = this.storeSeconds.child(op);
    return (seconds) => series.observe(seconds);
  }

  /** A payload stored at `storedAt` was acknowledged at `ackedAt` (ms); `queued` as in the help. */
  deliveryLatency(storedAt: number, ackedAt: number, queued: boolean): void {
    (queued ? this.queuedDeliveries : this.liveDeliveries).observe(Math.max(0, ackedAt - storedAt) / 1000);
  }

  frameIn(bytes: number): void {
    this.framesIn.observe(bytes);
  }

  frameOut(bytes: number): void {
    this.framesOut.observe(bytes);
  }

  /** Reports a Redis connection's state under `role` at every scrape. */
  watchRedis(role: string, ready: () => boolean): void {
    this.redis.set(role, ready);
  }

  readonly contentType = this.registry.contentType;

  /** The relay's metrics and the process's, in Prometheus text format. */
  async render(): Promise<string> {
    return Registry.merge([processRegistry(), this.registry]).metrics();
  }
}

/** A payload delivered later than this after it was stored counts as queued (see the help). */
export const QUEUED_AFTER_MS = 5_000;

let processMetrics: Registry | undefined;

/**
 * Process and runtime metrics, collected once per process however many relays it runs (tests
 * start many): prom-client's default set, with the event-loop delay sampled every 10 ms.
 */
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, eventLoopMonitoringPrecision: 10 });
  }
  return processMetrics;
}
