import sodium from 'libsodium-wrappers';
import type { SocketLike } from '../../client-sdk/index.js';
import {
  authMessage,
  type ClientFrame,
  decodeClientFrame,
  encodeFrame,
  fromBase64url,
  type RelayFrame,
} from '../../protocol/index.js';

/**
 * An in-memory stand-in for the platform's WebSocket, for the SDK's unit tests (connection, client,
 * shares, social): the test plays the relay by hand (accept, receive a frame, drop with a close
 * code) to reach exact situations, including a hostile relay. Everything that involves the relay
 * itself runs against the real relay, Redis and ws in the with-relay tests.
 */
export class FakeSocket implements SocketLike {
  static created: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: ClientFrame[] = [];
  closedWith: number | undefined;

  constructor(readonly url: string) {
    FakeSocket.created.push(this);
  }

  static latest(): FakeSocket {
    const s = FakeSocket.created.at(-1);
    if (!s) throw new Error('no socket was created');
    return s;
  }

  readonly #waiters: { match: (f: ClientFrame) => boolean; resolve: (f: ClientFrame) => void }[] = [];

  send(data: Uint8Array): void {
    const decoded = decodeClientFrame(data);
    if (!decoded.ok) throw new Error(`the client sent a bad frame: ${decoded.message}`);
    this.sent.push(decoded.frame);
    for (const w of [...this.#waiters]) {
      if (w.match(decoded.frame)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(decoded.frame);
      }
    }
  }

  /** The next `n` frames of type `t` the client sends, in the order sent. */
  nextN<T extends ClientFrame['t']>(t: T, n: number): Promise<Extract<ClientFrame, { t: T }>[]> {
    const got: Extract<ClientFrame, { t: T }>[] = [];
    return new Promise((resolve) => {
      this.#waiters.push({
        match: (f) => f.t === t && got.push(f as Extract<ClientFrame, { t: T }>) === n,
        resolve: () => resolve(got),
      });
    });
  }

  /** The next frame of type `t` the client sends from now on (and `match` accepts). */
  next<T extends ClientFrame['t']>(t: T, match: (f: Extract<ClientFrame, { t: T }>) => boolean = () => true) {
    const test = (f: ClientFrame) => f.t === t && match(f as Extract<ClientFrame, { t: T }>);
    return new Promise<Extract<ClientFrame, { t: T }>>((resolve) => {
      this.#waiters.push({ match: test, resolve: resolve as (f: ClientFrame) => void });
    });
  }

  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: RelayFrame): void {
    const bytes = encodeFrame(frame);
    this.onmessage?.({ data: bytes.slice().buffer });
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Plays a relay's side of the handshake and checks the client's signature on the way. */
  handshake(id: string, relay = 'passby', version = 1): void {
    this.accept();
    const nonce = 'n'.repeat(43);
    this.receive({ t: 'challenge', v: version, nonce, relay, time: 1_700_000_000_000 });
    const auth = this.sent.find((f) => f.t === 'auth');
    if (auth?.t !== 'auth' || !('pk' in auth) || auth.pk === undefined)
      throw new Error('the client did not answer the challenge with an identity key');
    const ok = sodium.crypto_sign_verify_detached(
      fromBase64url(auth.sig)!,
      authMessage(relay, nonce, auth.ts, auth.pk),
      fromBase64url(auth.pk)!,
    );
    if (!ok) throw new Error('the client signed the challenge wrongly');
    this.receive({
      t: 'welcome',
      id,
      limits: {
        maxBodyBytes: 65536,
        maxTtlSeconds: 2592000,
        mailboxMaxMessages: 10000,
        mailboxMaxBytes: 1 << 26,
        sendsPerSecond: 200,
      },
    });
  }
}
