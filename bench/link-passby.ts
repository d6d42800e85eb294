import { WebSocket } from 'ws';
import { encodeFrame } from '../protocol/index.js';
import type { Link, LinkOptions } from './link.js';
import { openPassbySocket } from './passby-socket.js';

/** A passby client for load: real authentication (passby-socket.ts), then raw frames. */
export async function connectPassby(o: LinkOptions): Promise<Link> {
  const { handlers } = o;
  const ws = await openPassbySocket({
    url: o.url,
    identity: o.identity,
    localAddress: o.localAddress,
    timeoutMs: o.timeoutMs,
    onMalformed: () => handlers.onError?.('malformed_frame'),
    onClose: (code) => handlers.onClose?.(code),
    onFrame(h, body, ws) {
      switch (h.t) {
        case 'msg':
          ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
          handlers.onMessage(body);
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
        case 'error':
          handlers.onError?.(String(h.code), typeof h.ref === 'string' ? h.ref : undefined);
          return;
        default:
          return;
      }
    },
  });
  return {
    id: o.identity.id,
    send(to, mid, body) {
      ws.send(encodeFrame({ t: 'send', to, mid, body }));
    },
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
}
