import sodium from 'libsodium-wrappers';
import WebSocket from 'ws';
import {
  authMessage,
  type ClientFrame,
  decodeRelayFrame,
  encodeFrame,
  type RelayFrame,
  toBase64url,
} from '../../protocol/index.js';
import type { Identity } from './raw-client.js';

/**
 * One connection of the live fuzzer: every frame the relay sends, decoded, in arrival order, and
 * a wait for the first one that fits that ends at a deadline or at the close, never hangs.
 */
export class FuzzClient {
  /** Relay frames not taken yet, in arrival order. */
  frames: RelayFrame[] = [];
  /** What failed to decode (the relay must only send valid frames). */
  readonly invalid: string[] = [];
  closed: { code: number; reason: string } | undefined;
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const decoded = isBinary ? decodeRelayFrame(new Uint8Array(data)) : undefined;
      if (decoded?.ok) this.frames.push(decoded.frame);
      else this.invalid.push(decoded ? decoded.message : 'a text message');
      this.wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake?.();
    });
    ws.on('error', () => {});
  }

  static async open(url: string, deadlineMs: number): Promise<FuzzClient> {
    const ws = new WebSocket(url, { maxPayload: 2 * 1024 * 1024 });
    const client = new FuzzClient(ws);
    await bounded(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      deadlineMs,
      'connecting',
    );
    return client;
  }

  send(frame: ClientFrame): void {
    this.ws.send(encodeFrame(frame));
  }

  sendRaw(data: Uint8Array | string, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  /**
   * Waits for the first frame that fits, and returns every frame up to and including it (taken
   * off `frames`); undefined when the socket closed first. Throws at the deadline.
   */
  async until(
    fits: (f: RelayFrame) => boolean,
    deadlineMs: number,
    what: string,
  ): Promise<RelayFrame[] | undefined> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const i = this.frames.findIndex(fits);
      if (i >= 0) return this.frames.splice(0, i + 1);
      if (this.closed) return undefined;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no answer in ${deadlineMs} ms while waiting for ${what}`);
      await bounded(new Promise<void>((resolve) => (this.wake = resolve)), left, what).catch(() => {});
    }
  }

  /** Hello (with `versions`), then waits for the challenge; returns its nonce. */
  async hello(versions: number[], deadlineMs: number): Promise<string> {
    this.send({ t: 'hello', versions });
    const got = await this.until((f) => f.t === 'challenge', deadlineMs, 'challenge');
    const challenge = got?.at(-1);
    if (challenge?.t !== 'challenge') throw new Error(`no challenge (closed ${this.closed?.code})`);
    return challenge.nonce;
  }

  /** Hello and auth as `identity` in protocol `version`, up to welcome. */
  async login(identity: Identity, version: number, deadlineMs: number): Promise<void> {
    const nonce = await this.hello([version], deadlineMs);
    const ts = Date.now();
    const sig = sodium.crypto_sign_detached(
      authMessage('passby', nonce, ts, identity.pk),
      identity.privateKey,
    );
    this.send({ t: 'auth', pk: identity.pk, ts, sig: toBase64url(sig) });
    const got = await this.until((f) => f.t === 'welcome', deadlineMs, 'welcome');
    if (got === undefined) throw new Error(`no welcome (closed ${this.closed?.code} ${this.closed?.reason})`);
  }

  async close(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.until(() => false, deadlineMs, 'the close');
  }
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
