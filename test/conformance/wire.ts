import sodium from 'libsodium-wrappers';
import WebSocket from 'ws';

/*
 * A client written from protocol/PROTOCOL.md alone, for the conformance suite: it imports
 * nothing from protocol/, relay/ or client-sdk/, so a relay that passes these tests speaks what
 * the document says, not merely what the project's own codec does.
 */

export type Header = Record<string, unknown> & { t: string };
export interface Frame {
  header: Header;
  body: Uint8Array;
}

/** "Encoding": [N: u16 big-endian][N bytes of UTF-8 JSON header][body]. */
export function encode(header: Record<string, unknown>, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(2 + json.length + body.length);
  out[0] = json.length >> 8;
  out[1] = json.length & 0xff;
  out.set(json, 2);
  out.set(body, 2 + json.length);
  return out;
}

export function decode(bytes: Uint8Array): Frame {
  const n = (bytes[0]! << 8) | bytes[1]!;
  const header = JSON.parse(Buffer.from(bytes.subarray(2, 2 + n)).toString('utf8')) as Header;
  return { header, body: bytes.subarray(2 + n) };
}

/** "base64url": RFC 4648 section 5, no padding. */
export const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

export interface Keys {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  pk: string;
  /** "user ID": base64url(BLAKE2b-128("passby-id-v1" || public key)). */
  id: string;
}

export async function makeKeys(): Promise<Keys> {
  await sodium.ready;
  const { publicKey, privateKey } = sodium.crypto_sign_keypair();
  const input = new Uint8Array([...Buffer.from('passby-id-v1', 'utf8'), ...publicKey]);
  const id = b64url(sodium.crypto_generichash(16, input, null));
  return { publicKey, privateKey, pk: b64url(publicKey), id };
}

/** "Connect and authenticate": the five lines the client signs. */
export function authSignature(keys: Keys, relay: string, nonce: string, ts: number): string {
  const message = ['passby-auth-v1', relay, nonce, String(ts), keys.pk].join('\n');
  return b64url(sodium.crypto_sign_detached(Buffer.from(message, 'utf8'), keys.privateKey));
}

/** One WebSocket with every frame kept in arrival order, and waits on the next one that fits. */
export class WireClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      this.frames.push(decode(new Uint8Array(data)));
      this.#wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
  }

  static async open(url: string): Promise<WireClient> {
    const ws = new WebSocket(url);
    const client = new WireClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Opens a connection, says hello with `versions` and returns it with the challenge's nonce. */
  static async challenged(
    url: string,
    versions: number[] = [1],
  ): Promise<{ client: WireClient; nonce: string }> {
    const client = await WireClient.open(url);
    client.send({ t: 'hello', versions });
    return { client, nonce: String((await client.next('challenge')).header.nonce) };
  }

  /**
   * Opens a connection and authenticates as `keys`, offering `versions`; returns it, its welcome
   * and the version the relay chose.
   */
  static async login(
    url: string,
    keys: Keys,
    versions: number[] = [1],
  ): Promise<{ client: WireClient; welcome: Header; version: number }> {
    const client = await WireClient.open(url);
    client.send({ t: 'hello', versions });
    const challenge = await client.next('challenge');
    const ts = Date.now();
    const sig = authSignature(keys, String(challenge.header.relay), String(challenge.header.nonce), ts);
    client.send({ t: 'auth', pk: keys.pk, ts, sig });
    const welcome = await client.next('welcome');
    return { client, welcome: welcome.header, version: Number(challenge.header.v) };
  }

  send(header: Record<string, unknown>, body?: Uint8Array): void {
    this.ws.send(encode(header, body));
  }

  /** The next frame not yet read whose type is `t` (and that `match` accepts). */
  next(t: string, match: (f: Frame) => boolean = () => true): Promise<Frame> {
    return this.nextWhere((f) => f.header.t === t && match(f));
  }

  /** The next frame not yet read that `match` accepts, taken out of `frames`. */
  async nextWhere(match: (f: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`closed ${this.closed.code} while waiting for a frame`);
      await this.#changed();
    }
  }

  async closedWith(): Promise<{ code: number; reason: string }> {
    while (!this.closed) await this.#changed();
    return this.closed;
  }

  /** Resolves at the next frame or close. */
  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ws.close();
    return this.closedWith().then(() => undefined);
  }
}

let nextRid = 1_000_000;

/**
 * "Version 2": sends a request with a fresh `rid` and returns its answer: `ok`, the named reply
 * (`friends`, `lookup`), or `error` with `ref` = the rid.
 */
export async function request(client: WireClient, header: Record<string, unknown>): Promise<Header> {
  const rid = nextRid++;
  client.send({ ...header, rid });
  const answer = await client.nextWhere(
    ({ header: h }) =>
      (['ok', 'friends', 'lookup'].includes(h.t) && h.rid === rid) ||
      (h.t === 'error' && h.ref === String(rid)),
  );
  return answer.header;
}
