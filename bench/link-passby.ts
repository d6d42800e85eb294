import sodium from 'libsodium-wrappers';
import { WebSocket } from 'ws';
import { authMessage, encodeFrame, PROTOCOL_VERSION, splitFrame, toBase64url } from '../protocol/index.js';
import type { Link, LinkOptions } from './link.js';

/**
 * A passby client for load: real authentication (hello, challenge, Ed25519 signature, welcome),
 * then raw frames. Incoming frames are split (header JSON + body) but not fully validated: the
 * generator's own CPU is shared with the relay, and conformance is tested elsewhere.
 */
export function connectPassby(o: LinkOptions): Promise<Link> {
  const { identity, handlers } = o;
  if (!identity.pk || !identity.sk) throw new TypeError('a passby identity needs a key pair');
  const pk = identity.pk;
  const sk = identity.sk;
  const ws = new WebSocket(o.url, {
    perMessageDeflate: false,
    localAddress: o.localAddress,
    maxPayload: 1 << 20,
  });
  const link: Link = {
    id: identity.id,
    send(to, mid, body) {
      ws.send(encodeFrame({ t: 'send', to, mid, body }));
    },
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
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
      else handlers.onClose?.(code);
    });
    ws.on('message', (data: Buffer) => {
      const split = splitFrame(data);
      if ('ok' in split) return handlers.onError?.('malformed_frame');
      const h = split.header;
      switch (h.t) {
        case 'msg':
          ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
          handlers.onMessage(split.body);
          return;
        case 'stored':
          handlers.onStored?.(h.mid as string);
          return;
        case 'receipt':
          ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
          return;
        case 'drained':
          handlers.onDrained?.();
          return;
        case 'challenge': {
          const ts = Date.now();
          const message = authMessage(h.relay as string, h.nonce as string, ts, pk);
          const sig = toBase64url(sodium.crypto_sign_detached(message, sk));
          ws.send(encodeFrame({ t: 'auth', pk, ts, sig }));
          return;
        }
        case 'welcome':
          open = true;
          clearTimeout(timer);
          resolve(link);
          return;
        case 'error':
          if (!open) fail(new Error(`passby: ${String(h.code)}: ${String(h.message)}`));
          else handlers.onError?.(String(h.code), typeof h.ref === 'string' ? h.ref : undefined);
          return;
        default:
          return;
      }
    });
  });
}
