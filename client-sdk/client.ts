import {
  ENTRY_ID_PATTERN,
  PassbyError,
  type RelayFrame,
  type RelayLimits,
  toBase64url,
  USER_ID_PATTERN,
} from '../protocol/index.js';
import { cancelled, onAbort } from './abort.js';
import { Account, type AccountExport } from './account.js';
import { Acks } from './acks.js';
import { DEFAULT_BACKOFF, fullJitter } from './backoff.js';
import { Connection } from './connection.js';
import { type DeviceKey, loadOrCreateDeviceKey } from './device-key.js';
import { DISCOVERY_RENEW_MS, Discovery } from './discovery.js';
import { Emitter } from './emitter.js';
import { ClientError } from './errors.js';
import type { ClientEvents, EndedCode, Sent } from './events.js';
import { ChunkStore } from './file-store.js';
import { Friends } from './friends.js';
import { SeenSet } from './inbox.js';
import { counter, KeyDirectory } from './keys.js';
import { Notices } from './notices.js';
import { Offers } from './offers.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { encodePayload, type Payload } from './payload.js';
import { Proximity } from './presence.js';
import { PushRegistrations } from './push.js';
import { Receiver } from './receiver.js';
import { Requests } from './requests.js';
import { type FileMeta, type OutboxItem, type OutboxView, Sender, type SendOptions } from './sender.js';
import { SentCopies } from './sent-copies.js';
import { type ShareContent, type Shared, type ShareOptions, sendShare } from './share-send.js';
import { ready, sodium } from './sodium.js';
import type { State } from './state.js';
import { wipeStorage } from './storage.js';
import { nextEvent, opened, type WaitContext, type WaitOptions } from './wait.js';

export type { FileMeta, OutboxItem, OutboxView, SendOptions, ShareContent, Shared, ShareOptions };

/** The close codes after which this device can never connect again (protocol v4). */
const ENDED: ReadonlySet<string> = new Set<EndedCode>(['device_revoked', 'erased', 'device_required']);

/** Creates a client; it connects at once unless `autoConnect: false`. */
export async function createClient(options: ClientOptions): Promise<PassbyClient> {
  const resolved = resolveOptions(options);
  await ready(); // throws ClientError('crypto_unavailable') when the platform's libsodium lacks a function
  const client = new PassbyClient(resolved);
  await client.start();
  return client;
}

/** A passby client: one identity, one relay, with its outbox and inbox. Build it with createClient. */
export class PassbyClient {
  readonly id: string;
  readonly #o: ResolvedOptions;
  readonly #events = new Emitter<ClientEvents>((err, event) => {
    // A throwing `error` handler is the app's bug with nowhere left to report it: let it surface
    // as an uncaught exception, as Node's EventEmitter would, instead of looping.
    if (event === 'error') {
      queueMicrotask(() => {
        throw err;
      });
      return;
    }
    this.#problem(new ClientError('handler_failed', `a "${String(event)}" handler threw`, { cause: err }));
  });
  readonly #seen: SeenSet;
  #pruned = false;
  readonly #conn: Connection;
  readonly #keys: KeyDirectory;
  readonly #receiver: Receiver;
  readonly #sender: Sender;
  readonly #requests: Requests;
  readonly #notices: Notices;
  readonly #offers: Offers;
  readonly #acks: Acks;
  readonly #sentCopies: SentCopies;
  readonly #account: Account;
  #device: Promise<DeviceKey> | undefined;
  /** This device's ID, once a version 4 relay welcomed it. */
  #deviceId: string | undefined;
  /** The relay's welcome carried a pairing box: tell it the identity arrived (`device received`). */
  #boxPending = false;
  /** close() is under way: frames that would need handling are left at the relay. */
  #closing = false;
  /** This connection's backlog has been handed to the app (`drained` emitted since it opened). */
  #drained = false;
  #limits: RelayLimits | undefined;
  /** The next renewal check of the discoverability entry while open. */
  #renewTimer: unknown;
  /** Why the last connection attempt failed, until one opens (for ready()'s timeout). */
  #lastError: PassbyError | ClientError | undefined;
  readonly #waitContext: WaitContext;
  /** Friends and consent (protocol v2). */
  readonly friends: Friends;
  /** Contact discovery by phone number (protocol v2). */
  readonly discovery: Discovery;
  /** Location updates from raw fixes, as cells or blind tokens (protocol v2). */
  readonly proximity: Proximity;
  /** This device's wake-up push registration (protocol v4): `push.register(...)`, `push.remove()`. */
  readonly push: PushRegistrations;
  /** What waits for the relay: how many sends, which, and a way to give one (or a file, a share) up. */
  readonly outbox: OutboxView;

  /** @internal Use createClient. */
  constructor(o: ResolvedOptions) {
    this.#o = o;
    this.id = o.identity.id;
    this.#waitContext = { clock: o.clock, lastError: () => this.#lastError };
    this.#conn = new Connection(
      o,
      {
        state: (from, to) => this.#onState(from, to),
        welcome: (frame) => {
          this.#limits = frame.limits;
          this.#deviceId = frame.device;
          // This device holds the identity already: a box left by its pairing is only acknowledged.
          this.#boxPending = frame.box !== undefined;
          return undefined;
        },
        frame: (frame) => this.#onFrame(frame),
        problem: (error) => this.#problem(error),
      },
      {
        identity: () => o.identity,
        device: () => this.#deviceKey(),
      },
    );
    this.#seen = new SeenSet(o.storage, () => o.clock.now());
    this.#acks = new Acks({
      send: (frame) => this.#conn.send(frame),
      version: () => this.#conn.version,
      busy: () => this.#receiver.busy,
    });
    const nextRid = counter();
    this.#keys = new KeyDirectory(
      o.storage,
      (frame) => this.#conn.send(frame),
      (error) => this.#problem(error),
      nextRid,
    );
    this.#requests = new Requests({
      send: (frame) => this.#conn.send(frame),
      nextRid,
      clock: o.clock,
      timeoutMs: o.requestTimeoutMs,
    });
    this.friends = new Friends(this.#requests, o.storage);
    this.#account = new Account({
      identity: o.identity,
      requests: this.#requests,
      clock: o.clock,
      challenge: () => this.#conn.challenge,
      version: () => this.#conn.version,
    });
    this.discovery = new Discovery(this.#requests, o.storage, () => o.clock.now());
    this.push = new PushRegistrations({ requests: this.#requests, version: () => this.#conn.version });
    this.proximity = new Proximity({
      identity: o.identity,
      keys: this.#keys,
      requests: this.#requests,
      storage: o.storage,
      clock: o.clock,
      // What the relay announced wins; the options serve a relay that does not say.
      intervalMs: () => this.#limits?.presenceIntervalMs ?? o.presenceIntervalMs,
      windowMs: () => this.#limits?.proximityWindowMs ?? o.proximityWindowMs,
      blind: o.blindProximity,
    });
    this.#notices = new Notices({
      seen: this.#seen,
      events: this.#events,
      discovery: this.discovery,
      friends: this.friends,
      now: () => o.clock.now(),
      ack: (id) => this.#acks.ack(id),
      problem: (error) => this.#problem(error),
    });
    this.#offers = new Offers({
      identity: o.identity,
      keys: this.#keys,
      seen: this.#seen,
      events: this.#events,
      requests: this.#requests,
      ack: (id) => this.#acks.ack(id),
      problem: (error, mid) => {
        if (this.#events.listenerCount('error') > 0)
          this.#events.emit('error', mid === undefined ? { error } : { error, mid });
      },
    });
    this.#sentCopies = new SentCopies({
      identity: o.identity,
      keys: this.#keys,
      seen: this.#seen,
      events: this.#events,
      ack: (id) => this.#acks.ack(id),
      problem: (error, mid) => {
        if (this.#events.listenerCount('error') > 0) this.#events.emit('error', { error, mid });
      },
    });
    this.#receiver = new Receiver({
      identity: o.identity,
      keys: this.#keys,
      seen: this.#seen,
      chunks: new ChunkStore(o.storage, () => o.clock.now()),
      events: this.#events,
      clock: o.clock,
      fileTimeoutMs: o.fileTimeoutMs,
      maxFileBytes: o.maxFileBytes,
      ack: (id) => this.#acks.ack(id),
      idle: () => this.#acks.flush(),
    });
    const sender = new Sender({
      o,
      keys: this.#keys,
      events: this.#events,
      isOpen: () => this.#conn.state.kind === 'open',
      isClosed: () => this.#conn.state.kind === 'closed',
      send: (frame) => this.#conn.send(frame),
      limits: () => this.#limits,
      problem: (error) => this.#problem(error),
    });
    this.#sender = sender;
    this.outbox = sender.view();
  }

  /** @internal Loads the outbox an earlier run left, then connects unless told not to. */
  async start(): Promise<void> {
    await this.#sender.load();
    if (this.#o.autoConnect) this.connect();
  }

  get state(): State {
    return this.#conn.state;
  }

  /** This device's ID (protocol v4), once a relay of version 4 has welcomed it. */
  get deviceId(): string | undefined {
    return this.#deviceId;
  }

  /** The relay's limits, once it has welcomed us. */
  get limits(): RelayLimits | undefined {
    return this.#limits;
  }

  on<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void | Promise<void>) {
    return this.#events.on(event, handler);
  }

  off<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void | Promise<void>) {
    this.#events.off(event, handler);
  }

  /**
   * Resolves with the next `event`. Rejects with ClientError `timeout` after `timeoutMs`,
   * `cancelled` when `signal` fires, and `closed` (or the error that closed it) when the client
   * closes first, so it never waits for good. (`once('state')` resolves with the closing event.)
   */
  once<K extends keyof ClientEvents>(event: K, options: WaitOptions = {}): Promise<ClientEvents[K]> {
    return nextEvent(this.#events, this.#waitContext, event, options);
  }

  /**
   * Resolves once the connection is open (at once if it is). Rejects like `once`: `timeout`
   * (its message carries the last connection error, also its `cause`), `cancelled`, or the error
   * that closed the client (`connection_failed` after `maxAttempts`, `wrong_relay` ...).
   */
  ready(options: WaitOptions = {}): Promise<void> {
    return opened(this.#events, this.#waitContext, this.#conn.state, options);
  }

  /** Connects, or during a backoff retries at once (say, when the app returns to the foreground). */
  connect(): void {
    this.#conn.dispatch({ type: 'connect' });
  }

  /**
   * For an app woken by a push (or a background task): connects, resolves once the backlog has
   * been handed to the app's handlers (`drained`) and their acks have left, and closes. Make the
   * client with `autoConnect: false` and attach the handlers first, so nothing comes before them.
   */
  async drain(options: WaitOptions = {}): Promise<void> {
    try {
      if (this.state.kind === 'open' && this.#drained) return;
      const drained = this.once('drained', options);
      if (this.state.kind === 'idle') this.connect();
      await drained;
    } finally {
      await this.close();
    }
  }

  /**
   * Closes for good. Unconfirmed sends stay in storage for the next client and reject here. While
   * open, the handler running now finishes and every ack owed leaves before the socket closes;
   * what was delivered and not handed to the app yet stays at the relay for next time.
   */
  async close(): Promise<void> {
    await this.#sender.settled(); // sends already made reach storage first
    if (this.#conn.state.kind === 'open') {
      this.#closing = true;
      this.#receiver.stop(); // the handler running now finishes; nothing queued starts
      await this.#receiver.idle();
      this.#acks.flush();
    }
    this.#conn.dispatch({ type: 'close' });
    await this.#receiver.idle();
  }

  /** Encrypts and sends text or bytes; resolves once the relay has stored it. Works offline too. */
  async send(to: string, content: string | Uint8Array, options: SendOptions = {}): Promise<Sent> {
    if (typeof content !== 'string' && !(content instanceof Uint8Array)) {
      throw new TypeError('send takes a string or a Uint8Array');
    }
    const payload: Payload =
      typeof content === 'string' ? { kind: 'text', text: content } : { kind: 'bytes', bytes: content };
    const mid = options.mid ?? toBase64url(sodium.randombytes_buf(16));
    const stop = onAbort(options.signal, 'the send', () => this.#sender.cancel(mid, cancelled('the send')));
    try {
      return await this.#sender.send(to, encodePayload(payload), true, { ...options, mid });
    } finally {
      stop();
      this.#sender.release(mid);
    }
  }

  /**
   * Sends a file of any size as encrypted chunks; resolves once the relay stored every chunk.
   * Progress comes as `progress` events. A file is held in memory only: if the app stops before
   * the promise resolves, send it again.
   */
  async sendFile(to: string, data: Uint8Array, meta: FileMeta, options: Omit<SendOptions, 'mid'> = {}) {
    if (!(data instanceof Uint8Array)) throw new TypeError('sendFile takes the file as a Uint8Array');
    if (typeof meta?.name !== 'string') throw new TypeError('sendFile needs meta.name');
    let fileId: string | undefined;
    const stop = onAbort(options.signal, 'the file', () => {
      if (fileId !== undefined) this.#sender.cancel(fileId, cancelled('the file'));
    });
    try {
      return await this.#sender.sendFile(to, data, meta, options, {
        onStart: (id) => {
          fileId = id;
        },
      });
    } finally {
      stop();
    }
  }

  /**
   * Shares content as an offer (protocol v2): the relay holds it until `to` accepts, deletes it if
   * `to` rejects (you get a `rejected` receipt), and delivers it at once when `to` pre-approved you
   * and you are in range. Resolves once the content and the offer are stored, with the share's
   * `mid`. A file reports `progress` as with sendFile. Shares are held in memory only: if the app
   * stops before the promise resolves, share again.
   */
  async share(to: string, content: ShareContent, options: ShareOptions): Promise<Shared> {
    const isFile =
      typeof content === 'object' &&
      content !== null &&
      !(content instanceof Uint8Array) &&
      content.file instanceof Uint8Array &&
      typeof content.name === 'string';
    if (typeof content !== 'string' && !(content instanceof Uint8Array) && !isFile) {
      throw new TypeError('share takes a string, a Uint8Array or { file: Uint8Array, name, type? }');
    }
    const preview = options?.preview;
    if (typeof preview !== 'string' && !(preview instanceof Uint8Array)) {
      throw new TypeError('share needs options.preview, a string or a Uint8Array');
    }
    if (typeof to !== 'string' || !USER_ID_PATTERN.test(to)) throw new TypeError('to must be a user ID');
    const mid = toBase64url(sodium.randombytes_buf(16));
    return sendShare(this.#sender, to, content, options, mid, this.#o.maxInFlight * 2);
  }

  /**
   * Approves a new device of this identity from the text it shows (`passby-pair:1:<dk>`, its
   * QR code): signs its key with the identity key and seals the identity to it. Resolves with the
   * new device's ID once the relay has it; the new device then connects and gets the identity.
   * Rejects with TypeError for a payload that is not one, or PassbyError `too_many_devices`,
   * `device_taken`, `invalid_signature` (and ClientError `not_supported` before protocol v4).
   */
  approveDevice(payload: string): Promise<{ id: string }> {
    return this.#account.approveDevice(payload);
  }

  /** The identity's devices (protocol v4): `{ id, created, seen, pending, current }` each. */
  devices() {
    return this.#account.devices();
  }

  /** Revokes a device (protocol v4); PassbyError `no_device` or `last_device` when it cannot. */
  revokeDevice(id: string): Promise<void> {
    return this.#account.revokeDevice(id);
  }

  /** Everything the relay keeps about this account (protocol v4), signed for by the identity key. */
  exportAccount(): Promise<AccountExport> {
    return this.#account.exportAccount();
  }

  /**
   * Erases the account at the relay (protocol v4): every device of it is closed with `erased`.
   * Once the relay confirmed, this client closes for good and wipes everything it kept in its
   * Storage (identity, device key, outbox, seen entries, kept file chunks, cached keys).
   */
  async eraseAccount(): Promise<void> {
    await this.#account.erase();
    await this.#sender.settled();
    this.#closing = true;
    this.#receiver.stop();
    this.#conn.dispatch({ type: 'close' });
    await this.#receiver.idle();
    await wipeStorage(this.#o.storage);
  }

  /** The device key, loaded or made (and stored) once; a failure is tried again next time. */
  #deviceKey(): Promise<DeviceKey> {
    if (this.#device !== undefined) return this.#device;
    const device = loadOrCreateDeviceKey(this.#o.storage);
    this.#device = device;
    device.catch(() => {
      if (this.#device === device) this.#device = undefined;
    });
    return device;
  }

  #onState(from: State, to: State): void {
    if (to.kind === 'open') this.#lastError = undefined;
    else if ((to.kind === 'backoff' || to.kind === 'closed') && to.error) this.#lastError = to.error;
    this.#events.emit('state', { from: from.kind, to: to.kind, state: to });
    if (from.kind === 'open') {
      this.#drained = false;
      this.#o.clock.clearTimeout(this.#renewTimer);
      this.#sender.lost();
      this.#keys.disconnected();
      this.#requests.disconnected();
    }
    if (to.kind === 'open') {
      this.#events.emit('open', { id: this.id, limits: this.#limits! });
      this.#acks.opened();
      this.#renewDiscovery();
      this.#keys.flush();
      this.#requests.flush();
      this.#sender.opened();
      if (this.#boxPending) {
        this.#boxPending = false;
        this.#requests.request({ t: 'device', op: 'received' }).catch((err: unknown) => {
          // The box stays at the relay until a later connection says so; nothing else depends on it.
          if (err instanceof PassbyError || err instanceof ClientError) this.#problem(err);
        });
      }
      if (!this.#pruned) {
        this.#pruned = true;
        Promise.all([this.#seen.prune(), this.discovery.prune(), this.#receiver.prune()]).catch(
          (err: unknown) => {
            const why = 'pruning the seen set, the lookup tickets or kept file chunks failed';
            this.#problem(new ClientError('storage', why, { cause: err }));
          },
        );
      }
    }
    if (to.kind === 'closed') {
      this.#sender.closed(to.error);
      this.#keys.close();
      this.#requests.close(to.error);
      this.#receiver.close();
      if (to.error) this.#problem(to.error);
      if (to.error instanceof PassbyError && ENDED.has(to.error.code))
        this.#events.emit('ended', { code: to.error.code as EndedCode, error: to.error });
    }
  }

  #onFrame(frame: RelayFrame): void {
    // Closing: nothing new is handed to the app, so nothing new needs an ack.
    if (
      this.#closing &&
      (frame.t === 'msg' ||
        frame.t === 'receipt' ||
        frame.t === 'notice' ||
        frame.t === 'offer' ||
        frame.t === 'sent')
    )
      return;
    switch (frame.t) {
      case 'msg':
      case 'receipt':
        return this.#receiver.push(frame);
      case 'stored':
        if (!('items' in frame)) return this.#sender.stored(frame);
        // Version 3: several confirmations in one frame.
        for (const item of frame.items) this.#sender.stored({ t: 'stored', ...item });
        return;
      case 'keys':
        return this.#keys.onReply(frame);
      case 'drained':
        return this.#receiver.after(() => {
          this.#drained = true;
          this.#events.emit('drained', {});
        });
      case 'ok':
      case 'friends':
      case 'lookup':
      case 'devices':
      case 'export':
        // A reply to a request that already timed out finds no taker; nothing is left to do.
        this.#requests.onReply(frame);
        return;
      case 'notice':
        return this.#receiver.enqueue(() => this.#notices.handle(frame));
      case 'offer':
        return this.#receiver.enqueue(() => this.#offers.handle(frame));
      case 'sent':
        return this.#receiver.enqueue(() => this.#sentCopies.handle(frame));
      case 'error': {
        const error = new PassbyError(frame.code, frame.message);
        if (frame.ref !== undefined && this.#sender.refused(frame.ref, error)) return;
        if (frame.ref !== undefined && ENTRY_ID_PATTERN.test(frame.ref) && error.retry) {
          // An ack the relay could not record: the entry is still there; ack it again shortly
          // (the relay may also deliver it again: the seen set acks that copy too).
          const id = frame.ref;
          this.#o.clock.setTimeout(() => this.#acks.ack(id), this.#retryDelay());
          return;
        }
        const rid = frame.ref !== undefined && /^\d+$/.test(frame.ref) ? Number(frame.ref) : undefined;
        if (rid !== undefined && this.#requests.onError(rid, error)) return;
        if (rid !== undefined && this.#keys.onError(rid, error)) {
          // A retryable refusal (rate_limited) keeps the IDs; ask again after a short, jittered pause.
          if (error.retry) this.#o.clock.setTimeout(() => this.#keys.flush(), this.#retryDelay());
          return;
        }
        return this.#problem(error);
      }
      default:
        return this.#problem(new ClientError('protocol', `unexpected "${frame.t}" while open`));
    }
  }

  /** Renews the discoverability entry when due, now and every DISCOVERY_RENEW_MS while open. */
  #renewDiscovery(): void {
    this.discovery.renew().catch((err: unknown) => {
      this.#problem(
        err instanceof PassbyError || err instanceof ClientError
          ? err
          : new ClientError('storage', 'renewing the discoverability entry failed', { cause: err }),
      );
    });
    const timer = this.#o.clock.setTimeout(() => {
      if (this.#conn.state.kind === 'open') this.#renewDiscovery();
    }, DISCOVERY_RENEW_MS);
    this.#renewTimer = timer;
  }

  /** A short, jittered pause before a retryable refusal is tried again. */
  #retryDelay(): number {
    return 250 + fullJitter(1, DEFAULT_BACKOFF, this.#o.random);
  }

  #problem(error: PassbyError | ClientError): void {
    if (this.#events.listenerCount('error') > 0) this.#events.emit('error', { error });
  }
}
