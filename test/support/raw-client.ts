import sodium from 'libsodium-wrappers';
import WebSocket from 'ws';
import {
  authMessage,
  type ClientFrame,
  decodeRelayFrame,
  encodeFrame,
  type RelayFrame,
  type StoredBatchFrame,
  SUPPORTED_VERSIONS,
  toBase64url,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
  userIdInput,
} from '../../protocol/index.js';

/**
 * A test client that speaks raw protocol frames: no SDK, no retries, every frame the relay sends
 * kept in order so a test can wait for the one it expects. Used by the relay and conformance tests.
 */
export interface Identity {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  pk: string;
  id: string;
}

export async function newIdentity(): Promise<Identity> {
  await sodium.ready;
  const { publicKey, privateKey } = sodium.crypto_sign_keypair();
  return {
    publicKey,
    privateKey,
    pk: toBase64url(publicKey),
    id: userIdFromDigest(sodium.crypto_generichash(USER_ID_HASH_BYTES, userIdInput(publicKey), null)),
  };
}

/**
 * A relay frame as a RawClient keeps it: a version 3 `stored` batch is split into one `stored`
 * per confirmation (kept whole in `batches`), so tests wait for a confirmation the same way in
 * every version.
 */
export type TestFrame = Exclude<RelayFrame, StoredBatchFrame>;

export class RawClient {
  readonly frames: TestFrame[] = [];
  /** Version 3 `stored` frames as they came, before being split into `frames`. */
  readonly batches: StoredBatchFrame[] = [];
  /** Every message the relay sent on this connection, as raw bytes, for checks of what the wire carries. */
  static readonly wire: Uint8Array[] = [];
  /** Frames that failed validation (should stay empty: the relay only sends valid frames). */
  readonly invalid: string[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      const decoded = decodeRelayFrame(new Uint8Array(data));
      RawClient.wire.push(new Uint8Array(data));
      if (!decoded.ok) this.invalid.push(decoded.message);
      else if (decoded.frame.t === 'stored' && 'items' in decoded.frame) {
        this.batches.push(decoded.frame);
        for (const item of decoded.frame.items) this.frames.push({ t: 'stored', ...item });
      } else this.frames.push(decoded.frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {});
  }

  /** Connects without saying anything; `options` go to the ws client (e.g. `autoPong: false`). */
  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Connects, says hello, authenticates as `identity` and waits for welcome. */
  static async login(url: string, identity: Identity, relayId = 'passby'): Promise<RawClient> {
    const client = await RawClient.connect(url);
    await client.authenticate(identity, relayId);
    return client;
  }

  async authenticate(
    identity: Identity,
    relayId = 'passby',
    ts = Date.now(),
    versions: number[] = [...SUPPORTED_VERSIONS],
  ): Promise<void> {
    this.send({ t: 'hello', versions });
    const challenge = await this.next('challenge');
    const sig = sodium.crypto_sign_detached(
      authMessage(relayId, challenge.nonce, ts, identity.pk),
      identity.privateKey,
    );
    this.send({ t: 'auth', pk: identity.pk, ts, sig: toBase64url(sig) });
    await this.next('welcome');
  }

  send(frame: ClientFrame): void {
    this.ws.send(encodeFrame(frame));
  }

  sendRaw(data: Uint8Array | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  /** Waits for the first not-yet-taken frame of type `t` (optionally matching), and takes it. */
  async next<T extends TestFrame['t']>(
    t: T,
    match: (f: Extract<TestFrame, { t: T }>) => boolean = () => true,
  ): Promise<Extract<TestFrame, { t: T }>> {
    for (;;) {
      const i = this.frames.findIndex((f) => f.t === t && match(f as Extract<TestFrame, { t: T }>));
      if (i >= 0) return this.frames.splice(i, 1)[0] as Extract<TestFrame, { t: T }>;
      if (this.closed)
        throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting for ${t}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits for the first not-yet-taken frame of any of the types, and takes it. */
  async nextOf<T extends TestFrame['t']>(...types: T[]): Promise<Extract<TestFrame, { t: T }>> {
    for (;;) {
      const i = this.frames.findIndex((f) => (types as string[]).includes(f.t));
      if (i >= 0) return this.frames.splice(i, 1)[0] as Extract<TestFrame, { t: T }>;
      if (this.closed)
        throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting for ${types}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits until the relay closes the socket. */
  async closedWith(): Promise<{ code: number; reason: string }> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.closed;
  }

  /** Sends `frame` and waits for its answer: `stored` or an `error` naming the same mid. */
  async sendAndWait(frame: Extract<ClientFrame, { t: 'send' }>): Promise<TestFrame> {
    this.send(frame);
    const answered = (f: TestFrame) =>
      (f.t === 'stored' && f.mid === frame.mid && f.to === frame.to) ||
      (f.t === 'error' && f.ref === frame.mid);
    for (;;) {
      const i = this.frames.findIndex(answered);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed)
        throw new Error(`closed (${this.closed.code}) while waiting for the answer to ${frame.mid}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ws.close();
    return this.closedWith().then(() => undefined);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
