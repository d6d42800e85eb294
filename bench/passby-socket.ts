import sodium from 'libsodium-wrappers';
import { WebSocket } from 'ws';
import { authMessage, encodeFrame, PROTOCOL_VERSION, splitFrame, toBase64url } from '../protocol/index.js';
import type { Identity } from './link.js';

export interface PassbySocketOptions {
  url: string;
  identity: Identity;
  localAddress?: string;
  timeoutMs?: number;
  /**
   * After `welcome`: each frame the relay sends, split (header JSON + body) but not validated.
   * It may come before the returned promise settles (frames behind `welcome` in one read).
   */
  onFrame(header: Record<string, unknown>, body: Uint8Array, ws: WebSocket): void;
  /**
   * After `welcome`, before a frame is split: true when it took the frame whole (a reader of the
   * frames it sees most, by their bytes); otherwise the frame goes on to onFrame.
   */
  onRaw?(data: Buffer, ws: WebSocket): boolean;
  /** After `welcome`: a frame that did not split. */
  onMalformed?(): void;
  /** After `welcome`: the connection closed. */
  onClose?(code: number): void;
}

/**
 * A load-generator connection to a passby relay with real authentication (hello, challenge,
 * Ed25519 signature, welcome); resolves with the socket once `welcome` arrived. Frames are split,
 * not fully validated: the generator shares the CPU with the relay, and conformance is tested
 * elsewhere.
 */
export function openPassbySocket(o: PassbySocketOptions): Promise<WebSocket> {
  const { pk, sk } = o.identity;
  if (!pk || !sk) throw new TypeError('a passby identity needs a key pair');
  const ws = new WebSocket(o.url, {
    perMessageDeflate: false,
    localAddress: o.localAddress,
    maxPayload: 1 << 20,
  });
  return new Promise((resolve, reject) => {
    let open = false;
    const timer = setTimeout(
      () => fail(new Error('passby: authentication timed out')),
      o.timeoutMs ?? 30_000,
    );
    const fail = (err: Error) => {
      if (open) return;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    ws.on('open', () => ws.send(encodeFrame({ t: 'hello', versions: [PROTOCOL_VERSION] })));
    ws.on('error', (err) => fail(err));
    ws.on('close', (code) => {
      if (!open) fail(new Error(`passby: closed ${code} before welcome`));
      else o.onClose?.(code);
    });
    ws.on('message', (data: Buffer) => {
      if (open && o.onRaw?.(data, ws)) return;
      const split = splitFrame(data);
      if (open) {
        if ('ok' in split) o.onMalformed?.();
        else o.onFrame(split.header, split.body, ws);
        return;
      }
      if ('ok' in split) return fail(new Error('passby: malformed frame before welcome'));
      const h = split.header;
      if (h.t === 'challenge') {
        const ts = Date.now();
        const message = authMessage(h.relay as string, h.nonce as string, ts, pk);
        const sig = toBase64url(sodium.crypto_sign_detached(message, sk));
        ws.send(encodeFrame({ t: 'auth', pk, ts, sig }));
      } else if (h.t === 'welcome') {
        open = true;
        clearTimeout(timer);
        resolve(ws);
      } else if (h.t === 'error') {
        fail(new Error(`passby: ${String(h.code)}: ${String(h.message)}`));
      }
    });
  });
}
