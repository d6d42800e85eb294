import {
  authMessage,
  type ChallengeFrame,
  type ClientFrame,
  type DeviceAuthFrame,
  decodeRelayFrame,
  deviceAuthMessage,
  deviceCertMessage,
  ERRORS,
  encodeFrame,
  errorForCloseCode,
  PassbyError,
  type RelayFrame,
  SUPPORTED_VERSIONS,
  toBase64url,
  type WelcomeFrame,
} from '../protocol/index.js';
import { fullJitter } from './backoff.js';
import type { DeviceKey } from './device-key.js';
import { ClientError } from './errors.js';
import type { Identity } from './identity.js';
import type { ResolvedOptions, SocketLike } from './options.js';
import { type State, type StateEvent, transition } from './state.js';

const OPEN = 1;
const NORMAL_CLOSURE = 1000;
const noop = () => undefined;

export interface ConnectionHooks {
  /** After every change of state, before the side effects of the new state run. */
  state(from: State, to: State): void;
  /**
   * The relay accepted us; called just before the state becomes open. An error returned refuses
   * the welcome: the connection ends in `closed` with it (a pairing box that does not open, say).
   */
  welcome(frame: WelcomeFrame): PassbyError | ClientError | undefined;
  /** A frame while open. */
  frame(frame: RelayFrame): void;
  /** Something went wrong that the app should hear about, without changing the state. */
  problem(error: PassbyError | ClientError): void;
}

/** What the connection authenticates with. */
export interface Credentials {
  /** The identity, when this device holds it (a device being paired does not yet). */
  identity(): Identity | undefined;
  /** This device's key: loaded, or made and stored, on the first version 4 challenge. */
  device(): Promise<DeviceKey>;
}

/** The relay and nonce of the current connection's challenge: export and erase sign them. */
export interface Challenge {
  relay: string;
  nonce: string;
}

/**
 * Drives the state machine (state.ts) with a real socket: it opens sockets, runs the handshake,
 * waits out the backoff and closes. Each socket gets a generation number; events from a socket of
 * an older generation are ignored, so a late close can never tear down its successor.
 */
export class Connection {
  #state: State = { kind: 'idle' };
  #generation = 0;
  #socket: SocketLike | undefined;
  #timer: unknown;
  #useRelayTime = false;
  #challenge: Challenge | undefined;
  /** The device ID the current connection authenticated with (version 4). */
  #deviceId: string | undefined;
  /** The protocol version the relay chose for the current (or last) connection; 0 before one. */
  version = 0;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly hooks: ConnectionHooks,
    private readonly credentials: Credentials,
  ) {}

  /** The challenge the open connection answered; undefined while none is open. */
  get challenge(): Challenge | undefined {
    return this.#state.kind === 'open' ? this.#challenge : undefined;
  }

  get state(): State {
    return this.#state;
  }

  dispatch(event: StateEvent): void {
    const from = this.#state;
    let to = transition(from, event);
    if (to === from) return;
    // The jittered delay is decided here, so the state event can say when the next try comes.
    if (to.kind === 'backoff') to = { ...to, delayMs: fullJitter(to.attempt, this.o.backoff, this.o.random) };
    this.#state = to;
    this.hooks.state(from, to);
    if (this.#state === to) this.#enter(to);
  }

  /** Sends a frame on the open socket; false when there is none (the caller keeps it for later). */
  send(frame: ClientFrame): boolean {
    const s = this.#socket;
    if (this.#state.kind !== 'open' || !s || s.readyState !== OPEN) return false;
    s.send(encodeFrame(frame));
    return true;
  }

  #enter(state: State): void {
    this.#clearTimer();
    switch (state.kind) {
      case 'connecting':
        this.#dropSocket();
        this.#timer = this.o.clock.setTimeout(
          () => this.#lost(true, 'the relay did not answer in time'),
          this.o.handshakeTimeoutMs,
        );
        this.#openSocket();
        return;
      case 'authenticating':
        this.#timer = this.o.clock.setTimeout(
          () => this.#lost(true, 'the handshake timed out'),
          this.o.handshakeTimeoutMs,
        );
        this.#socket?.send(encodeFrame({ t: 'hello', versions: [...SUPPORTED_VERSIONS] }));
        return;
      case 'open':
        this.#useRelayTime = false;
        return;
      case 'backoff': {
        this.#dropSocket();
        const delay = state.delayMs ?? fullJitter(state.attempt, this.o.backoff, this.o.random);
        this.#timer = this.o.clock.setTimeout(() => this.dispatch({ type: 'backoff-elapsed' }), delay);
        return;
      }
      case 'closed':
        this.#dropSocket();
        return;
      case 'idle':
        return;
    }
  }

  #openSocket(): void {
    const generation = ++this.#generation;
    let socket: SocketLike;
    try {
      socket = new this.o.WebSocket(this.o.url);
    } catch (err) {
      const why = `the WebSocket could not be created: ${messageOf(err)}`;
      this.#lost(true, undefined, new ClientError('connection_failed', why, { cause: err }));
      return;
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    const current = () => generation === this.#generation;
    socket.onopen = () => {
      if (current()) this.dispatch({ type: 'socket-open' });
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (current()) this.#onData(event.data);
    };
    let failure: unknown;
    socket.onclose = (event: { code?: number; reason?: string }) => {
      if (current()) this.#onClose(event.code ?? 1006, event.reason ?? '', failure);
    };
    // A close event always follows an error event; the close decides what happens, and says why.
    socket.onerror = (event: { error?: unknown; message?: unknown }) => {
      failure = event?.error ?? event?.message ?? failure;
    };
  }

  #onClose(code: number, reason: string, failure: unknown): void {
    const known = errorForCloseCode(code);
    if (known === undefined) {
      const stage =
        this.#state.kind === 'open' ? 'the connection to the relay was lost' : 'the relay was not reached';
      const detail = [failure === undefined ? '' : messageOf(failure), `close code ${code}`, reason]
        .filter((part) => part !== '')
        .join(', ');
      const cause = failure === undefined ? {} : { cause: failure };
      return this.#lost(
        true,
        undefined,
        new ClientError('connection_failed', `${stage} (${detail})`, cause),
        false,
      );
    }
    if (known === 'auth_expired') this.#useRelayTime = true;
    this.#lost(ERRORS[known].retry, undefined, new PassbyError(known, reason || undefined));
  }

  /**
   * The socket is gone. With `retry`, a backoff follows, unless this was the last attempt the
   * options allow (`maxAttempts`): then the client closes with `connection_failed`. `report`
   * also tells the app's `error` handlers (a plain network failure is only in the state event).
   */
  #lost(retry: boolean, why?: string, error?: PassbyError | ClientError, report = true): void {
    let e = error ?? (why === undefined ? undefined : new ClientError('timeout', why));
    const s = this.#state;
    const failed = s.kind === 'connecting' || s.kind === 'authenticating' ? s.attempt + 1 : 1;
    if (retry && failed >= this.o.maxAttempts) {
      const last = e ? `: ${e.message}` : '';
      const why = `gave up after ${failed} failed connection attempts in a row${last}`;
      e = new ClientError('connection_failed', why, e ? { cause: e } : {});
      retry = false;
    }
    if (e && retry && report) this.hooks.problem(e);
    this.dispatch(e ? { type: 'socket-lost', retry, error: e } : { type: 'socket-lost', retry });
  }

  #onData(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.hooks.problem(new ClientError('protocol', 'the relay sent a text message'));
      return;
    }
    const decoded = decodeRelayFrame(new Uint8Array(data));
    if (!decoded.ok) {
      this.hooks.problem(new PassbyError(decoded.code, `from the relay: ${decoded.message}`));
      return;
    }
    const frame = decoded.frame;
    if (this.#state.kind === 'open') return this.hooks.frame(frame);
    if (this.#state.kind !== 'authenticating') return;
    if (frame.t === 'challenge') {
      if (!SUPPORTED_VERSIONS.includes(frame.v)) {
        return this.#lost(
          false,
          undefined,
          new PassbyError('unsupported_version', `relay chose v${frame.v}`),
        );
      }
      this.version = frame.v;
      if (frame.relay !== this.o.relayId) {
        // A signature for another relay's ID could be replayed there: never sign it. Retrying
        // cannot help (the relay will name itself the same way again), so this ends in closed.
        const why = `the relay calls itself "${frame.relay}", not "${this.o.relayId}" (options.relayId)`;
        return this.#lost(false, undefined, new ClientError('wrong_relay', why));
      }
      this.#challenge = { relay: frame.relay, nonce: frame.nonce };
      if (frame.v >= 4) return this.#answerWithDevice(frame);
      const identity = this.credentials.identity();
      if (identity === undefined) {
        const why = `pairing a device needs protocol version 4; the relay chose v${frame.v}`;
        return this.#lost(false, undefined, new ClientError('not_supported', why));
      }
      const pk = toBase64url(identity.publicKey);
      const ts = this.#timestamp(frame);
      const sig = toBase64url(identity.sign(authMessage(frame.relay, frame.nonce, ts, pk)));
      this.#socket?.send(encodeFrame({ t: 'auth', pk, ts, sig }));
    } else if (frame.t === 'welcome') {
      const identity = this.credentials.identity();
      if (identity !== undefined && frame.id !== identity.id) {
        return this.#lost(false, undefined, new ClientError('protocol', 'the relay welcomed another ID'));
      }
      if (this.version >= 4 && frame.device !== undefined && frame.device !== this.#deviceId) {
        return this.#lost(false, undefined, new ClientError('protocol', 'the relay welcomed another device'));
      }
      const refused = this.hooks.welcome(frame);
      if (refused) return this.#lost(false, undefined, refused);
      this.dispatch({ type: 'welcome' });
    } else if (frame.t === 'error') {
      this.hooks.problem(new PassbyError(frame.code, frame.message));
    }
  }

  /**
   * Version 4: answers with the device key (loaded or made first, so the answer waits for storage),
   * adding the identity's certificate of it whenever this device holds the identity, so that an
   * identity's first device registers itself (the relay ignores them otherwise).
   */
  #answerWithDevice(frame: ChallengeFrame): void {
    const generation = this.#generation;
    this.credentials.device().then(
      (device) => {
        if (generation !== this.#generation || this.#state.kind !== 'authenticating') return;
        this.#deviceId = device.id;
        const dk = device.publicKeyText;
        const ts = this.#timestamp(frame);
        const sig = toBase64url(device.sign(deviceAuthMessage(frame.relay, frame.nonce, ts, dk)));
        const auth: DeviceAuthFrame = { t: 'auth', dk, ts, sig };
        const identity = this.credentials.identity();
        if (identity !== undefined) {
          auth.pk = toBase64url(identity.publicKey);
          auth.cert = toBase64url(identity.sign(deviceCertMessage(identity.id, dk)));
        }
        this.#socket?.send(encodeFrame(auth));
      },
      (err: unknown) => {
        if (generation !== this.#generation) return;
        const error =
          err instanceof ClientError
            ? err
            : new ClientError('storage', 'the device key could not be read or stored', { cause: err });
        this.#lost(false, undefined, error);
      },
    );
  }

  #timestamp(frame: ChallengeFrame): number {
    return this.#useRelayTime ? frame.time : Math.floor(this.o.clock.now());
  }

  #dropSocket(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.#generation++;
    if (!s) return;
    // No-ops rather than null: ws reports an error when a connecting socket is closed, and an
    // EventEmitter without an error listener would throw it.
    s.onopen = s.onmessage = s.onclose = s.onerror = noop;
    try {
      s.close(NORMAL_CLOSURE);
    } catch {
      // Closing a socket that never opened throws in some implementations; it is gone either way.
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : String(err);
}
