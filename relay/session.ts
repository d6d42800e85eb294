import type { RawData, WebSocket } from 'ws';
import {
  type AckBatchFrame,
  type AuthFrame,
  type ClientFrame,
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
} from '../protocol/index.js';
import { isAuthAnswer, newNonce, verifyAuth } from './auth.js';
import { clientLimits, type RelayConfig } from './config.js';
import { Delivery } from './delivery.js';
import { entryFrame } from './entry-frame.js';
import type { Attached, Hub } from './hub.js';
import type { InflightBudget, Throttled } from './inflight.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { Pending } from './pending.js';
import { TokenBucket } from './rate-limit.js';
import { Replies } from './replies.js';
import { type Requester, SOCIAL_FRAME_TYPES, type SocialHandlers } from './social.js';
import type { AckResult, MailboxEntry, SendInput, SendResult, Store } from './store.js';

export interface SessionDeps {
  config: Readonly<RelayConfig>;
  store: Store;
  hub: Hub;
  metrics: Metrics;
  social: SocialHandlers;
  budget: InflightBudget;
  now: () => number;
}

/** Bytes a frame under way is counted for besides its body (the frame object, its header). */
const FRAME_OVERHEAD_BYTES = 256;
/** How long a closing socket may take to finish the closing handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

type Phase = 'hello' | 'auth' | 'opening' | 'open' | 'closed';

/**
 * One WebSocket connection: hello, then challenge-response authentication, then sends, acks and
 * key look-ups. Every frame is validated by protocol/ before a handler sees it; every problem is
 * answered with its own error code, in-band where the socket can stay open.
 */
export class Session implements Attached, Requester, Throttled {
  uid = '';
  readonly token: string;
  alive = true;
  private phase: Phase = 'hello';
  /** The protocol version agreed in hello. */
  private version = 0;
  private nonce = '';
  private errors = 0;
  private readonly out: Replies;
  private delivery: Delivery | undefined;
  private readonly bucket: TokenBucket;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  /** Handlers under way (store writes among them), and who waits for them to end. */
  private readonly pending: Pending;
  /** Set while the socket is not read: too much of this connection's (or the process's) work is under way. */
  private paused = false;
  /** When the socket was last read again after a pause. */
  private resumedAt = 0;
  private keptLog: Logger | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: SessionDeps,
    private readonly connId: number,
    private readonly rootLog: Logger,
  ) {
    this.token = newNonce();
    this.pending = new Pending((bytes) => this.ended(bytes));
    this.out = new Replies(socket);
    this.bucket = new TokenBucket(deps.config.sendsPerSecond, deps.config.sendBurst, deps.now());
    this.authTimer = setTimeout(() => this.close('auth_timeout'), deps.config.authTimeoutMs);
    sessionOf.set(socket, this);
    socket.on('message', onSocketMessage);
    socket.on('pong', onSocketPong);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
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
  private get debugging(): boolean {
    return this.rootLog.isLevelEnabled('debug');
  }

  /** Resolves once no handler is under way (store writes still in flight); shutdown waits for it. */
  settled(): Promise<void> {
    return this.pending.settled();
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

  replace(): void {
    this.close('replaced');
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
    setTimeout(cutOff, CLOSE_GRACE_MS, this).unref();
  }

  /** Whether the socket is not being read (backpressure); the heartbeat does not count it dead. */
  get throttled(): boolean {
    return this.paused;
  }

  /**
   * The client has not acknowledged anything for `ackTimeoutMs` while deliveries wait for its
   * ack: it holds a full window of the relay's attention and reads nothing (R3).
   */
  stalled(now: number): boolean {
    // Acks in a socket the relay does not read are not the client's fault.
    const since = this.paused ? undefined : this.delivery?.waitingSince;
    return since !== undefined && now - Math.max(since, this.resumedAt) > this.deps.config.ackTimeoutMs;
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
      this.throttle();
    }
  }

  /** A defect while handling a frame: logged once, counted, and this connection closed. */
  private failed(err: unknown): void {
    this.log.error({ err }, 'handler failed');
    this.close('internal_error');
  }

  /** Stops reading the socket while too much is under way for it or for the whole process (R4). */
  private throttle(): void {
    if (this.paused || this.phase === 'closed' || !this.overLimits()) return;
    this.paused = true;
    this.socket.pause();
    if (this.deps.budget.full) this.deps.budget.hold(this);
  }

  private overLimits(): boolean {
    const { config, budget } = this.deps;
    return (
      this.pending.count >= config.connectionInflightOps ||
      this.pending.bytes >= config.connectionInflightBytes ||
      budget.full
    );
  }

  /** Throttled: room again (an operation ended, or the process budget has room). */
  mayResume(): void {
    if (!this.paused || this.phase === 'closed') return;
    if (this.overLimits()) {
      if (this.deps.budget.full) this.deps.budget.hold(this);
      return;
    }
    this.paused = false;
    this.resumedAt = this.deps.now();
    this.socket.resume();
  }

  /** An operation under way ended, releasing `bytes`. */
  private ended(bytes: number): void {
    if (bytes > 0) this.deps.budget.release(bytes);
    if (this.paused) this.mayResume();
  }

  /** Starts an operation that holds `bytes` of payload until it ends. */
  private begin(bytes: number): void {
    this.pending.begin(bytes);
    this.deps.budget.add(bytes);
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
        if (frame.t === 'auth') return this.track(this.onAuth(frame));
        return this.reject(
          frame.t === 'hello' ? 'out_of_order' : 'auth_required',
          `"${frame.t}" before auth`,
          refOf(frame),
        );
      case 'opening':
        return this.reject('out_of_order', `"${frame.t}" while authentication completes`, refOf(frame));
      case 'open':
        if (frame.t === 'send') return this.onSend(frame);
        if (frame.t === 'ack') return 'ids' in frame ? this.onAcks(frame) : this.ack(frame.id);
        if (frame.t === 'keys') return this.track(this.onKeys(frame));
        if (frame.t === 'share') return this.onSocial(frame);
        if (SOCIAL_FRAME_TYPES.has(frame.t)) return this.onSocial(frame as SocialClientFrame);
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

  private async onAuth(frame: AuthFrame): Promise<void> {
    const { config, now, store, hub, metrics } = this.deps;
    const outcome = verifyAuth(frame, config.relayId, this.nonce, now(), config.authSkewMs);
    if (!outcome.ok) return this.authFailed(outcome.code, outcome.reason);
    this.nonce = ''; // single use
    this.phase = 'opening';
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.uid = outcome.uid;
    this.keptLog = undefined; // the next record names the user
    try {
      await store.register(this.uid, frame.pk);
      if (this.phase !== 'opening') return;
      await hub.attach(this);
    } catch (err) {
      this.log.error({ err }, 'store unavailable during authentication');
      this.reject('store_unavailable', 'could not register the identity');
      return this.close('going_away');
    }
    if (this.phase !== 'opening') return void hub.detach(this);
    this.phase = 'open';
    metrics.authenticated++;
    this.log.info('authenticated');
    this.send({ t: 'welcome', id: this.uid, limits: clientLimits(this.deps.config) });
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

  /*
   * The message path (send, ack) runs on callbacks rather than async functions: a suspended
   * async function kept about a kilobyte per message alive until Redis answered, most of the
   * relay's garbage at saturation (bench/RESULTS.md). `pending` counts each operation until its
   * continuation has run, as track() does for the rest.
   */
  private onSend(frame: SendFrame): void {
    const { config, now, store, hub } = this.deps;
    if (!this.bucket.take(now()))
      return this.reject('rate_limited', `more than ${config.sendsPerSecond} sends a second`, frame.mid);
    if (frame.offer !== undefined && this.version < 2) {
      return this.reject('invalid_field', 'send.offer needs protocol version 2', frame.mid);
    }
    const ttlSeconds = Math.min(frame.ttl ?? config.maxTtlSeconds, config.maxTtlSeconds);
    const input: SendInput = {
      from: this.uid,
      to: frame.to,
      mid: frame.mid,
      body: frame.body,
      ttlMs: ttlSeconds * 1000,
      receipt: frame.receipt === true,
      now: now(),
      bell: hub.get(frame.to) === undefined && frame.offer === undefined,
    };
    if (frame.offer !== undefined) {
      input.offer = frame.offer;
      input.holdMs = config.heldPartsTtlSeconds * 1000;
    }
    this.begin(frame.body.length + FRAME_OVERHEAD_BYTES);
    let stored: Promise<SendResult | undefined>;
    try {
      stored =
        frame.offer !== undefined && config.strangerShares === 0 ? this.holdPart(input) : store.send(input);
    } catch (err) {
      return this.sendFailed(frame, err);
    }
    stored.then(
      (result) => this.sent(frame, result),
      (err: unknown) => this.sendFailed(frame, err),
    );
  }

  /** A part of a share when only friends may share (PASSBY_STRANGER_SHARES=0); undefined: refused. */
  private async holdPart(input: SendInput): Promise<SendResult | undefined> {
    if (!(await this.deps.social.mayShare(input.to, input.from))) return undefined;
    return this.deps.store.send(input);
  }

  private sent(frame: SendFrame, result: SendResult | undefined): void {
    try {
      if (result === undefined) return this.reject('not_friends', ONLY_FRIENDS_SHARE, frame.mid);
      if (result.status === 'unknown_recipient')
        return this.reject('unknown_recipient', undefined, frame.mid);
      if (result.status === 'quota_exceeded') {
        return this.reject('quota_exceeded', `the recipient's mailbox is full (${result.limit})`, frame.mid);
      }
      const { metrics, hub } = this.deps;
      if (result.dup) metrics.duplicates++;
      else metrics.stored++;
      if (this.debugging)
        this.log.debug({ to: frame.to, mid: frame.mid, bytes: frame.body.length, dup: result.dup }, 'stored');
      this.send({ t: 'stored', to: frame.to, mid: frame.mid, exp: result.exp, dup: result.dup });
      if (result.dup || frame.offer !== undefined) return;
      // The recipient is on this node (the doorbell was skipped, or rang too): hand the entry over
      // without another store round trip; Delivery turns it into a pull when it would overtake.
      (hub.get(frame.to) as Session | undefined)?.offer(
        {
          kind: 'msg',
          id: `m:${this.uid}:${frame.mid}`,
          seq: result.seq,
          from: this.uid,
          mid: frame.mid,
          ts: result.ts,
          exp: result.exp,
          body: frame.body,
        },
        result.prev,
      );
    } catch (err) {
      this.failed(err);
    } finally {
      this.pending.end(frame.body.length + FRAME_OVERHEAD_BYTES);
    }
  }

  private sendFailed(frame: SendFrame, err: unknown): void {
    try {
      this.log.error({ err }, 'store failed a send');
      this.reject('store_unavailable', 'the payload was not stored; send it again', frame.mid);
    } finally {
      this.pending.end(frame.body.length + FRAME_OVERHEAD_BYTES);
    }
  }

  /**
   * An ack: the client has the entry, so its window slot is free now, not one store round trip
   * later (a backlog pulls its next batch meanwhile; the cursor is past the entry, so it cannot
   * come back on this connection). The entry itself is deleted only once the store confirms.
   */
  private ack(id: string): void {
    this.delivery?.acked(id);
    this.begin(FRAME_OVERHEAD_BYTES);
    let done: Promise<AckResult>;
    try {
      done = this.deps.store.ack(this.uid, id, this.deps.now());
    } catch (err) {
      return this.ackFailed([id], err);
    }
    done.then(
      (result) => this.acknowledged([id], [result]),
      (err: unknown) => this.ackFailed([id], err),
    );
  }

  /** Version 3: each ID is handled as its own ack, in one store call for the frame. */
  private onAcks(frame: AckBatchFrame): void {
    if (this.version < 3) return this.reject('invalid_field', 'ack.ids needs protocol version 3');
    const { ids } = frame;
    for (const id of ids) this.delivery?.acked(id);
    this.begin(FRAME_OVERHEAD_BYTES);
    let done: Promise<AckResult[]>;
    try {
      done = this.deps.store.ackAll(this.uid, ids, this.deps.now());
    } catch (err) {
      return this.ackFailed(ids, err);
    }
    done.then(
      (results) => this.acknowledged(ids, results),
      (err: unknown) => this.ackFailed(ids, err),
    );
  }

  private acknowledged(ids: readonly string[], results: readonly AckResult[]): void {
    try {
      for (let i = 0; i < ids.length; i++) {
        const { deleted } = results[i]!;
        this.delivery?.ackStored(ids[i]!);
        if (deleted) this.deps.metrics.acked++;
        if (this.debugging) this.log.debug({ entry: ids[i], deleted }, 'acked');
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.pending.end(FRAME_OVERHEAD_BYTES);
    }
  }

  /** The entry stays in the mailbox: the client hears so, and Delivery offers it again. */
  private ackFailed(ids: readonly string[], err: unknown): void {
    try {
      this.log.error({ err }, 'store failed an ack');
      for (const id of ids) {
        this.reject('store_unavailable', 'the ack was not recorded; the entry will come again', id);
        this.delivery?.ackFailed(id);
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.pending.end(FRAME_OVERHEAD_BYTES);
    }
  }

  private async onKeys(frame: KeysRequestFrame): Promise<void> {
    if (!this.bucket.take(this.deps.now())) return this.reject('rate_limited', undefined, String(frame.rid));
    try {
      const keys = await this.deps.store.publicKeys(frame.ids);
      this.send({
        t: 'keys',
        rid: frame.rid,
        keys: Object.fromEntries(frame.ids.map((id, i) => [id, keys[i] ?? null])),
      });
    } catch (err) {
      this.log.error({ err }, 'store failed a key look-up');
      this.reject('store_unavailable', undefined, String(frame.rid));
    }
  }

  private onSocial(frame: SocialClientFrame | ShareFrame): void {
    const rid = frame.t === 'share' ? frame.mid : String(frame.rid);
    if (this.version < 2) return this.reject('unknown_type', `"${frame.t}" needs protocol version 2`, rid);
    if (!this.bucket.take(this.deps.now())) return this.reject('rate_limited', undefined, rid);
    this.track(
      this.deps.social.handle(this, frame).catch((err: unknown) => {
        this.log.error({ err }, 'store failed a request');
        this.reject('store_unavailable', undefined, rid);
      }),
    );
  }

  reply(frame: RelayFrame): void {
    this.send(frame);
  }

  /** An entry handed to this connection left the mailbox other than by ack (an answered offer). */
  settledEntry(id: string): void {
    this.delivery?.settled(id);
  }

  /** Delivery host: writes one entry to the socket. */
  deliver(entry: MailboxEntry): void {
    this.deps.metrics.delivered++;
    if (this.debugging) this.log.debug({ entry: entry.id, kind: entry.kind }, 'delivered');
    this.send(entryFrame(entry));
  }

  /** Delivery host: a version 1 client cannot read notices; they wait for a newer client. */
  accepts(entry: MailboxEntry): boolean {
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
    this.pending.track(work, (err) => this.failed(err));
  }

  private leave(): void {
    if (this.phase === 'closed') return;
    const wasAttached = this.phase === 'open' || this.phase === 'opening';
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    this.delivery?.stop();
    this.deps.budget.forget(this);
    this.deps.metrics.connectionsOpen--;
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
    this.leave();
    this.log.info({ code, unacked: this.delivery?.unacked ?? 0 }, 'connection closed');
  }
}

function cutOff(session: Session): void {
  session.cutOff();
}

const ONLY_FRIENDS_SHARE = "this relay files shares only from the recipient's friends";

/** Each socket's session, for the socket event handlers every connection shares (no closures
 * held per connection). */
const sessionOf = new WeakMap<WebSocket, Session>();

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  sessionOf.get(this)?.onMessage(data as Buffer, isBinary);
}

function onSocketPong(this: WebSocket): void {
  const session = sessionOf.get(this);
  if (session) session.alive = true;
}

function onSocketClose(this: WebSocket, code: number): void {
  sessionOf.get(this)?.onClose(code);
}

/**
 * ws reports a frame it refuses (over the 1 MiB limit, bad framing) here and closes the socket
 * (1009, 1002): the client's fault, so one line without a stack. Anything else is logged whole.
 */
function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  const session = sessionOf.get(this);
  if (session === undefined) return;
  if (err.code?.startsWith('WS_ERR_')) session.refusedByWs(err.code, err.message);
  else session.log.warn({ err }, 'socket error');
}

/** The reference an error answer carries for a frame: the send's or share's mid, a request's rid. */
function refOf(frame: ClientFrame): string | undefined {
  if (frame.t === 'send' || frame.t === 'share') return frame.mid;
  if ('rid' in frame) return String(frame.rid);
  if (frame.t === 'ack' && 'id' in frame) return frame.id;
  return undefined;
}
