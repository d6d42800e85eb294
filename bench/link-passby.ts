import { WebSocket } from 'ws';
import { batches, encodeFrame, LIMITS } from '../protocol/index.js';
import type { Link, LinkOptions } from './link.js';
import { openPassbySocket } from './passby-socket.js';

/**
 * A passby client for load: real authentication (passby-socket.ts), then raw frames. It speaks
 * protocol version 3: the acks of one tick leave as one `ack {ids}` frame (at the end of the tick,
 * after every message of the read was handed over), and `stored` confirmations come in batches.
 * A `msg` whose header starts as the relay writes it is read by its bytes (the entry ID is the
 * first field) rather than through JSON.parse, and `stored` is skipped unread when nobody
 * listens: the generator shares two cores with the relay. Anything else is parsed in full.
 */
export async function connectPassby(o: LinkOptions): Promise<Link> {
  const { handlers } = o;
  let acks: string[] | undefined;
  const flushAcks = (ws: WebSocket) => {
    const ids = acks!;
    acks = undefined;
    if (ws.readyState !== WebSocket.OPEN) return;
    for (const chunk of batches(ids, LIMITS.maxAcksPerFrame)) ws.send(encodeFrame({ t: 'ack', ids: chunk }));
  };
  const ack = (id: string, ws: WebSocket) => {
    if (acks === undefined) {
      acks = [];
      process.nextTick(flushAcks, ws);
    }
    acks.push(id);
  };
  const onRaw = (data: Buffer, ws: WebSocket): boolean => {
    const length = (data[0]! << 8) | data[1]!;
    if (handlers.onStored === undefined && startsWith(data, STORED_HEAD)) return true;
    if (!startsWith(data, MSG_HEAD)) return false;
    const from = 2 + MSG_HEAD.length;
    const end = data.indexOf(QUOTE, from);
    if (end < 0 || end >= 2 + length) return false;
    ack(data.toString('latin1', from, end), ws);
    handlers.onMessage(data.subarray(2 + length));
    return true;
  };
  const ws = await openPassbySocket({
    onRaw,
    url: o.url,
    identity: o.identity,
    localAddress: o.localAddress,
    timeoutMs: o.timeoutMs,
    onMalformed: () => handlers.onError?.('malformed_frame'),
    onClose: (code) => handlers.onClose?.(code),
    onFrame(h, body, ws) {
      switch (h.t) {
        case 'msg':
          ack(h.id as string, ws);
          handlers.onMessage(body);
          return;
        case 'stored':
          if (handlers.onStored === undefined) return;
          if (Array.isArray(h.items)) for (const item of h.items) handlers.onStored(item.mid as string);
          else handlers.onStored(h.mid as string);
          return;
        case 'receipt':
          ack(h.id as string, ws);
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

const MSG_HEAD = Buffer.from('{"t":"msg","id":"', 'latin1');
const STORED_HEAD = Buffer.from('{"t":"stored",', 'latin1');
const QUOTE = 0x22;

/** Whether the frame's header (after its u16 length) begins with `head`. */
function startsWith(data: Buffer, head: Buffer): boolean {
  return data.length >= 2 + head.length && data.compare(head, 0, head.length, 2, 2 + head.length) === 0;
}
