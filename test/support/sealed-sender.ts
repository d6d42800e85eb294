import { ENVELOPE_OVERHEAD, seal } from '../../client-sdk/envelope.js';
import type { Identity } from '../../client-sdk/index.js';
import { encodePayload } from '../../client-sdk/payload.js';
import { authMessage, LIMITS, SUPPORTED_VERSIONS, toBase64url } from '../../protocol/index.js';
import { pause } from './poll.js';
import { RawClient } from './raw-client.js';

/** Plaintext bytes that make a sealed `bytes` payload exactly the largest body a send may carry. */
export const LARGEST_PLAINTEXT = LIMITS.maxBodyBytes - ENVELOPE_OVERHEAD - 1;

/** A body the SDK of `to` opens as a `bytes` message from `from` with this mid. */
export function sealBytes(from: Identity, to: Identity, mid: string, plaintext: Uint8Array): Uint8Array {
  const addressing = { from: from.id, to: to.id, mid };
  return seal(from, to.boxPublicKey, addressing, encodePayload({ kind: 'bytes', bytes: plaintext }));
}

/**
 * A sender on raw frames whose bodies a real SDK opens: sealed for the recipient exactly as the
 * SDK seals them, but sent without the SDK's flow control, so the relay meets the load itself
 * (no retries, no in-flight cap). Every answer is kept by mid: `stored` or the error's code.
 */
export class SealedSender {
  /** mid -> 'stored' or the error code the relay answered with. */
  readonly answers = new Map<string, string>();
  readonly sent: string[] = [];
  /** Sends skipped because the socket already held `maxBufferedBytes` unsent (TCP backpressure). */
  skipped = 0;

  private constructor(
    readonly client: RawClient,
    readonly identity: Identity,
  ) {
    client.ws.on('message', () => this.#collect());
  }

  static async login(url: string, identity: Identity): Promise<SealedSender> {
    const client = await RawClient.connect(url);
    client.send({ t: 'hello', versions: [...SUPPORTED_VERSIONS] });
    const challenge = await client.next('challenge');
    const pk = toBase64url(identity.publicKey);
    const ts = Date.now();
    const sig = toBase64url(identity.sign(authMessage('passby', challenge.nonce, ts, pk)));
    client.send({ t: 'auth', pk, ts, sig });
    await client.next('welcome');
    return new SealedSender(client, identity);
  }

  /** Seals `plaintext` as a `bytes` message to `to` and sends it, not waiting for the answer. */
  send(to: Identity, mid: string, plaintext: Uint8Array): void {
    this.client.send({ t: 'send', to: to.id, mid, body: sealBytes(this.identity, to, mid, plaintext) });
    this.sent.push(mid);
  }

  /**
   * Sends `perSecond` messages a second (in 20 ms ticks) until `count` were sent or `stop()`
   * returns true, skipping a tick's sends while the socket holds more than `maxBufferedBytes`.
   */
  async stream(options: {
    to: Identity;
    prefix: string;
    count: number;
    perSecond: number;
    plaintext: Uint8Array;
    maxBufferedBytes?: number;
    stop?: () => boolean;
  }): Promise<void> {
    const { to, prefix, count, perSecond, plaintext, maxBufferedBytes = 8 * 1024 * 1024, stop } = options;
    const started = Date.now();
    let due = 0;
    let n = 0;
    while (n < count && !stop?.() && !this.client.closed) {
      due = Math.min(count, Math.floor(((Date.now() - started) * perSecond) / 1000) + 1);
      while (n < due) {
        if (this.client.ws.bufferedAmount > maxBufferedBytes) {
          this.skipped += due - n;
          n = due;
          break;
        }
        this.send(to, `${prefix}${n}`, plaintext);
        n++;
      }
      await pause(20);
    }
  }

  /** The mids the relay confirmed. */
  stored(): string[] {
    return [...this.answers].filter(([, a]) => a === 'stored').map(([mid]) => mid);
  }

  /** Sent mids the relay has not answered yet. */
  unanswered(): string[] {
    return this.sent.filter((mid) => !this.answers.has(mid));
  }

  close(): Promise<void> {
    return this.client.close();
  }

  #collect(): void {
    // RawClient keeps frames for next(); take the answers out so the list stays short.
    const frames = this.client.frames;
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i]!;
      if (f.t === 'stored') this.answers.set(f.mid, 'stored');
      else if (f.t === 'error' && f.ref !== undefined) this.answers.set(f.ref, f.code);
      else continue;
      frames.splice(i, 1);
    }
  }
}
