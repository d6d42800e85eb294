import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { Link, LinkOptions } from './link.js';

/** A client of the bare ws forwarder (peer-bare.ts): [u8 n][recipient id][body] per message. */
export function connectBare(o: LinkOptions): Promise<Link> {
  const ws = new WebSocket(`${o.url}/?id=${o.identity.id}`, {
    perMessageDeflate: false,
    localAddress: o.localAddress,
    maxPayload: 1 << 20,
  });
  const link: Link = {
    id: o.identity.id,
    send(to, _mid, body) {
      const out = Buffer.allocUnsafe(1 + to.length + body.length);
      out[0] = to.length;
      out.write(to, 1, 'latin1');
      out.set(body, 1 + to.length);
      ws.send(out);
    },
    close() {
      ws.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    let open = false;
    ws.on('open', () => {
      open = true;
      resolve(link);
    });
    ws.on('error', (err) => {
      if (!open) reject(err);
    });
    ws.on('close', (code) => {
      if (open) o.handlers.onClose?.(code);
    });
    ws.on('message', (data: Buffer) => o.handlers.onMessage(data));
  });
}

interface MsgMeta {
  key: string;
  mid: string;
}

/** A client of the Socket.IO peer (peer-socketio.ts): emit with ack, ack each delivery by key. */
export function connectSocketio(o: LinkOptions): Promise<Link> {
  const socket = io(o.url, {
    transports: ['websocket'],
    auth: { id: o.identity.id },
    reconnection: false,
    forceNew: true,
    perMessageDeflate: false,
    localAddress: o.localAddress,
    timeout: o.timeoutMs ?? 30_000,
  } as unknown as Parameters<typeof io>[1]);
  const { handlers } = o;
  const link: Link = {
    id: o.identity.id,
    send(to, mid, body) {
      socket.emit('send', { to, mid }, body, (reply: { ok: boolean }) => {
        if (reply?.ok) handlers.onStored?.(mid);
        else handlers.onError?.('store_failed', mid);
      });
    },
    close() {
      socket.disconnect();
    },
  };
  socket.on('msg', (meta: MsgMeta, body: Buffer) => {
    socket.emit('ack', meta.key);
    handlers.onMessage(body);
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(link));
    socket.once('connect_error', (err) => reject(err));
    socket.on('disconnect', () => handlers.onClose?.(1000));
  });
}
