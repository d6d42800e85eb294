import type { WebSocket } from 'ws';
import {
  type AccountClientFrame,
  type AuthFrame,
  type ClientFrame,
  type DeviceAuthFrame,
  decodeClientFrame,
  ERRORS,
  type ErrorCode,
  type HelloFrame,
  type KeysRequestFrame,
  type RelayFrame,
  type SendFrame,
  type ShareFrame,
  type SocialClientFrame,
  SUPPORTED_VERSIONS,
} from '../../protocol/index.js';
import {
  ACCOUNT_FRAME_TYPES,
  type AccountHandlers,
  type AccountHost,
  type Devices,
} from '../account/index.js';
import { clientLimits, type RelayConfig } from '../config/index.js';
import type { MailboxEntry, Store } from '../mailbox/index.js';
import type { PushHandlers, PushHost } from '../push/index.js';
import { type Requester, SOCIAL_FRAME_TYPES, type SocialHandlers } from '../social/index.js';
import type { Logger, Metrics } from '../telemetry/index.js';
import { isAuthAnswer, newNonce } from './auth.js';
import { type Authenticated, checkAnswer } from './authenticate.js';
import { Delivery } from './delivery.js';
import { DeliveryClock } from './delivery-clock.js';
import { entryFrame } from './entry-frame.js';
import type { Attached, Hub } from './hub.js';
import type { InflightBudget } from './inflight.js';
import { Intake } from './intake.js';
import { type MessageHost, MessagePath } from './message-path.js';
import { TokenBucket } from './rate-limit.js';
import { Replies } from './replies.js';
import { bindSocket, cutOffLater } from './session-socket.js';

export interface SessionDeps {
  config: Readonly<RelayConfig>;
  store: Store;
  hub: Hub;
  metrics: Metrics;
  social: SocialHandlers;
  devices: Devices;
  account: AccountHandlers;
  push: PushHandlers;
  /** Something was filed for this user: wake its devices that are away (relay/push Waker). */
  wake(uid: string): void;
  budget: InflightBudget;
  now: () => number;
  /** The node's connections (the heartbeat and the stall check walk it): each is in it until its socket closes. */
  sessions: Set<Session>;
}

/** How long a closing socket may take to finish the closing handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

type Phase = 'hello' | 'auth' | 'opening' | 'open' | 'closed';

/**
 * One WebSocket connection: hello, then challenge-response authentication, then sends, acks and
 * key look-ups. Every frame is validated by protocol/ before a handler sees it; every problem is
 * answered with its own error code, in-band where the socket can stay open.
 */
export class Session implements Attached, Requester, MessageHost, AccountHost, PushHost {
  uid = '';
  /** The device's slot in its identity; 0 for a version 1-3 client. */
  slot = 0;
  /** The device ID (version 4). */
  device: string | undefined;
  /** The identity's live devices, as last read: more than one makes sends copy to the others. */
  liveDevices = 1;
  /** `<slot>.<random>` once authenticated (Hub). */
  token: string;
  /** The challenge's nonce, kept after authentication: export and erase are signed over it. */
  challengeNonce = '';
  alive = true;
  private phase: Phase = 'hello';
  /** The protocol version agreed in hello. */
  version = 0;
  private nonce = '';
  private errors = 0;
  private readonly out: Replies;
  delivery: Delivery | undefined;
  private readonly bucket: TokenBucket;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  /** Handlers under way (store writes among them), and whether the socket is read meanwhile. */
  readonly intake: Intake;
  private readonly messages: MessagePath;
  private keptLog: Logger | undefined;
  /** When the payloads delivered and not acked yet were stored (delivery latency). */
  readonly clock: DeliveryClock;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: SessionDeps,
    private readonly connId: number,
    private readonly rootLog: Logger,
  ) {
    this.token = newNonce();
    this.intake = new Intake(socket, deps.config, deps.budget, deps.now);
    this.messages = new MessagePath(this, deps);
    this.out = new Replies(socket, deps.metrics);
    this.clock = new DeliveryClock(deps.metrics, deps.now);
    this.bucket = new TokenBucket(deps.config.sendsPerSecond, deps.config.sendBurst, deps.now());
    this.authTimer = setTimeout(() => this.close('auth_timeout'), deps.config.authTimeoutMs);
    bindSocket(socket, this);
    deps.sessions.add(this);
    deps.metrics.connectionsOpen++;
    deps.metrics.connectionsTotal++;
    this.log.info('connection opened');
  }

  /**
   * This connection's logger: a child of the root with the connection number and, once
   * authenticated, the user. Made when a record is written rather than held, so an idle
   * connection holds no logger; kept while debug is on, since debug writes records per frame.
   */
  get log(): Logger {
    if (this.keptLog !== undefined) return this.keptLog;
    const log = this.rootLog.child(
      this.uid === '' ? { conn: this.connId } : { conn: this.connId, user: this.uid },
    );
    if (this.debugging) this.keptLog = log;
    return log;
  }

  /** Whether debug records are written (checked before building one on the message path). */
  get debugging(): boolean {
    return this.rootLog.isLevelEnabled('debug');
  }

  /** Resolves once no handler is under way (store writes still in flight); shutdown waits for it. */
  settled(): Promise<void> {
    return this.intake.settled();
  }

  ring(seq: number): void {
    this.delivery?.ring(seq);
  }

  offer(entry: MailboxEntry, prev: number): void {
    this.delivery?.offer(entry, prev);
  }

  poke(): void {
    this.delivery?.poke();
  }

  get caughtUpAt(): number | undefined {
    return this.delivery?.caughtUpAt;
  }

  replace(): void {
    this.close('replaced');
  }

  end(code: 'device_revoked' | 'erased'): void {
    this.close(code);
  }

  devicesChanged(): void {
    if (this.phase !== 'open') return;
    this.deps.devices.liveCount(this.uid).then(
      (count) => {
        this.liveDevices = count;
      },
      (err: unknown) => this.log.warn({ err }, 'could not read the device count'),
    );
  }

  /**
   * Closes with the error's close code (or `going_away`), counted by code. The close frame goes
   * behind what is queued; a peer that has not finished the closing handshake CLOSE_GRACE_MS
   * later (a slow consumer with megabytes unread before the close frame) is cut off.
   */
  close(code: ErrorCode): void {
    if (this.phase === 'closed') return;
    const close = ERRORS[code].close ?? 1011;
    this.deps.metrics.error(code);
    this.log.info({ code }, 'closing connection');
    this.leave();
    this.out.flush(); // what this tick queued goes before the close frame
    this.socket.close(close, code);
    setTimeout(cutOffLater, CLOSE_GRACE_MS, this).unref();
  }

  /** Whether the connection is authenticated and not closed. */
  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Whether the socket is not being read (backpressure); the heartbeat does not count it dead. */
  get throttled(): boolean {
    return this.intake.throttled;
  }

  /**
   * The client has not acknowledged anything for `ackTimeoutMs` while deliveries wait for its
   * ack: it holds a full window of the relay's attention and reads nothing (R3).
   */
  stalled(now: number): boolean {
    // Acks in a socket the relay does not read (or has just read again) are not the client's fault.
    const reading = this.intake.readingSince;
    const waiting = this.delivery?.waitingSince;
    if (reading === undefined || waiting === undefined) return false;
    return now - Math.max(waiting, reading) > this.deps.config.ackTimeoutMs;
  }

  ping(): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
  }

  /** The closing handshake did not finish in time: the peer is not reading (see close()). */
  cutOff(): void {
    if (this.socket.readyState === this.socket.CLOSED) return;
    this.log.info({ unsentBytes: this.out.buffered }, 'closing handshake timed out: connection cut');
    this.socket.terminate();
  }

  /** Drops a peer that stopped answering pings, without a closing handshake. */
  terminate(): void {
    this.leave();
    this.socket.terminate();
  }

  /**
   * A WebSocket message from the client (called by the socket's event handler). Whatever goes
   * wrong while handling it ends this connection, never the process (R1).
   */
  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    this.deps.metrics.frameIn(data.length);
    try {
      if (!isBinary) return this.reject('malformed_frame', 'frames must be binary WebSocket messages');
      const decoded = decodeClientFrame(data);
      if (!decoded.ok && this.phase === 'auth' && isAuthAnswer(data))
        return this.authFailed('auth_failed', 'the answer does not validate');
      if (!decoded.ok) return this.reject(decoded.code, decoded.message, decoded.ref);
      this.dispatch(decoded.frame);
    } catch (err) {
      this.failed(err);
    } finally {
      this.intake.check();
    }
  }

  /** A defect while handling a frame: logged once, counted, and this connection closed. */
  failed(err: unknown): void {
    this.log.error({ err }, 'handler failed');
    this.close('internal_error');
  }

  private dispatch(frame: ClientFrame): void {
    switch (this.phase) {
      case 'hello':
        if (frame.t === 'hello') return this.onHello(frame);
        return this.reject(
          frame.t === 'auth' ? 'out_of_order' : 'auth_required',
          `"${frame.t}" before hello`,
          refOf(frame),
        );
      case 'auth':
        if (frame.t === 'auth' && 'dk' in frame && this.version < 4)
          return this.authFailed('auth_failed', 'device keys come in protocol version 4');
        if (frame.t === 'auth') return this.onAuth(frame);
        return this.reject(
          frame.t === 'hello' ? 'out_of_order' : 'auth_required',
          `"${frame.t}" before auth`,
          refOf(frame),
        );
      case 'opening':
        return this.reject('out_of_order', `"${frame.t}" while authentication completes`, refOf(frame));
      case 'open':
        if (frame.t === 'send') return this.onSend(frame);
        if (frame.t === 'ack')
          return 'ids' in frame ? this.messages.acks(frame) : this.messages.ack(frame.id);
        if (frame.t === 'keys') return this.onRequest(String(frame.rid), 'keys', 1, () => this.keys(frame));
        if (frame.t === 'share' || SOCIAL_FRAME_TYPES.has(frame.t)) {
          const social = frame as SocialClientFrame | ShareFrame;
          const ref = social.t === 'share' ? social.mid : String(social.rid);
          return this.onRequest(ref, frame.t, 2, () => this.deps.social.handle(this, social));
        }
        if (ACCOUNT_FRAME_TYPES.has(frame.t)) {
          const account = frame as AccountClientFrame;
          return this.onRequest(String(account.rid), frame.t, 4, () =>
            this.deps.account.handle(this, account),
          );
        }
        if (frame.t === 'push') {
          const push = frame;
          return this.onRequest(String(push.rid), 'push', 4, () => this.deps.push.handle(this, push));
        }
        return this.reject('out_of_order', `"${frame.t}" after authentication`);
      case 'closed':
        return;
    }
  }

  private onHello(frame: HelloFrame): void {
    const version = Math.max(...frame.versions.filter((v) => SUPPORTED_VERSIONS.includes(v)), 0);
    if (version === 0) return this.close('unsupported_version');
    this.version = version;
    this.out.batchStored = version >= 3;
    this.phase = 'auth';
    this.nonce = newNonce();
    this.send({
      t: 'challenge',
      v: version,
      nonce: this.nonce,
      relay: this.deps.config.relayId,
      time: this.deps.now(),
    });
  }

  private onAuth(frame: AuthFrame | DeviceAuthFrame): void {
    const { config, now, store, devices } = this.deps;
    const nonce = this.nonce;
    const ctx = { relayId: config.relayId, nonce, now: now(), skewMs: config.authSkewMs };
    // Checked before anything after it is read: a failed answer closes at once (R2).
    const checked = checkAnswer(frame, { ...ctx, identities: store, devices });
    if (typeof checked !== 'function') return this.authFailed(checked.code, checked.reason);
    this.nonce = ''; // single use
    this.phase = 'opening';
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.track(this.open(checked, nonce));
  }

  private async open(complete: () => Promise<Authenticated>, nonce: string): Promise<void> {
    const { config, hub, metrics, store, now } = this.deps;
    let box: string | null = null;
    try {
      const outcome = await complete();
      if (this.phase !== 'opening') return;
      if (!outcome.ok) return this.authFailed(outcome.code, outcome.reason);
      const id = outcome.identity;
      this.uid = id.uid;
      this.slot = id.slot;
      this.device = id.device;
      this.liveDevices = id.liveDevices;
      this.token = `${id.slot}.${this.token}`;
      this.challengeNonce = nonce;
      box = id.box;
      this.keptLog = undefined; // the next record names the user
      await hub.attach(this);
    } catch (err) {
      this.log.error({ err }, 'store unavailable during authentication');
      this.reject('store_unavailable', 'could not register the identity');
      return this.close('going_away');
    }
    if (this.phase !== 'opening') return void hub.detach(this);
    this.phase = 'open';
    metrics.authenticated++;
    this.log.info({ slot: this.slot }, 'authenticated');
    const limits =
      this.version >= 4 ? { ...clientLimits(config), maxDevices: config.maxDevices } : clientLimits(config);
    const welcome: RelayFrame = { t: 'welcome', id: this.uid, limits };
    if (this.device !== undefined) welcome.device = this.device;
    if (box !== null) welcome.box = box;
    this.send(welcome);
    this.delivery = new Delivery(this, store, config.deliveryWindow, now);
    this.delivery.start();
  }

  /** An answer to the challenge failed: its nonce is spent, whatever the failure (R2). */
  private authFailed(code: ErrorCode, reason: string): void {
    this.nonce = '';
    this.deps.metrics.authFailures++;
    this.log.info({ reason }, 'authentication failed');
    this.close(code);
  }

  private onSend(frame: SendFrame): void {
    const { config, now } = this.deps;
    if (!this.bucket.take(now()))
      return this.reject('rate_limited', `more than ${config.sendsPerSecond} sends a second`, frame.mid);
    this.messages.send(frame);
  }

  private async keys(frame: KeysRequestFrame): Promise<void> {
    const keys = await this.deps.store.publicKeys(frame.ids);
    this.send({
      t: 'keys',
      rid: frame.rid,
      keys: Object.fromEntries(frame.ids.map((id, i) => [id, keys[i] ?? null])),
    });
  }

  /**
   * A request (keys, or a version 2 or 4 one): refused below its version, counted against the
   * rate, answered by its handler; a store that fails it is `store_unavailable` naming `ref`.
   */
  private onRequest(ref: string, t: string, since: number, handle: () => Promise<void>): void {
    if (this.version < since)
      return this.reject('unknown_type', `"${t}" needs protocol version ${since}`, ref);
    if (!this.bucket.take(this.deps.now())) return this.reject('rate_limited', undefined, ref);
    this.track(
      handle().catch((err: unknown) => {
        this.log.error({ err, t }, 'store failed a request');
        this.reject('store_unavailable', undefined, ref);
      }),
    );
  }

  reply(frame: RelayFrame): void {
    this.send(frame);
  }

  /** An entry handed to this connection left the mailbox other than by ack (an answered offer). */
  settledEntry(id: string): void {
    this.clock.forget(id);
    this.delivery?.settled(id);
  }

  /** Delivery host: writes one entry to the socket. */
  deliver(entry: MailboxEntry): void {
    this.deps.metrics.delivered++;
    this.clock.delivered(entry);
    if (this.debugging) this.log.debug({ entry: entry.id, kind: entry.kind }, 'delivered');
    this.send(entryFrame(entry));
  }

  /** Delivery host: a version 1 client cannot read notices; they wait for a newer client. */
  accepts(entry: MailboxEntry): boolean {
    if (entry.kind === 'notice' && entry.notice.kind === 'friends') return this.version >= 4;
    if (entry.kind === 'sent') return this.version >= 4;
    return (entry.kind !== 'notice' && entry.kind !== 'offer') || this.version >= 2;
  }

  /** Delivery host: the mailbox had nothing more to deliver, for the first time. */
  drained(): void {
    this.send({ t: 'drained' });
  }

  /** Answers an error in-band (or closes, for closing codes), counting bad frames. */
  reject(code: ErrorCode, message?: string, ref?: string): void {
    if (ERRORS[code].close !== null) return this.close(code);
    this.deps.metrics.error(code);
    const frame: RelayFrame = {
      t: 'error',
      code,
      message: message ?? ERRORS[code].text,
      retry: ERRORS[code].retry,
    };
    if (ref !== undefined) frame.ref = ref;
    if (this.debugging) this.log.debug({ code }, 'error answered');
    this.send(frame);
    if (!ERRORS[code].retry && ++this.errors > this.deps.config.maxErrorsPerConnection)
      this.close('too_many_errors');
  }

  /**
   * Queues a frame for this tick's one socket write (Replies); a reader too slow for the buffer
   * limit is closed (R3).
   */
  private send(frame: RelayFrame): void {
    if (this.phase === 'closed') return;
    if (this.out.buffered > this.deps.config.maxBufferedBytes) return this.close('slow_consumer');
    this.out.send(frame);
  }

  private track(work: Promise<void>): void {
    this.intake.track(work, (err) => this.failed(err));
  }

  private leave(): void {
    if (this.phase === 'closed') return;
    const wasAttached = this.phase === 'open' || this.phase === 'opening';
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    this.delivery?.stop();
    this.intake.stop();
    this.deps.metrics.connectionsOpen--;
    this.clock.clear();
    if (wasAttached) void this.deps.hub.detach(this);
  }

  /** The WebSocket layer refused a frame and closes the socket (onSocketError). */
  refusedByWs(code: string, message: string): void {
    this.deps.metrics.error(
      code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'payload_too_large' : 'malformed_frame',
    );
    this.log.info({ wsError: code, reason: message }, 'frame refused by the WebSocket layer');
  }

  /** The socket closed (called by its event handler). */
  onClose(code: number): void {
    this.deps.sessions.delete(this);
    this.leave();
    this.log.info({ code, unacked: this.delivery?.unacked ?? 0 }, 'connection closed');
  }
}

/** The reference an error answer carries for a frame: the send's or share's mid, a request's rid. */
function refOf(frame: ClientFrame): string | undefined {
  if (frame.t === 'send' || frame.t === 'share') return frame.mid;
  if ('rid' in frame) return String(frame.rid);
  if (frame.t === 'ack' && 'id' in frame) return frame.id;
  return undefined;
}
