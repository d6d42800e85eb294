import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';

/*
 * Peer 2, what a user would pick instead: Socket.IO with @socket.io/redis-adapter (so rooms work
 * across nodes), doing the same durable path as passby: the payload is SET in Redis with an
 * expiry before it is forwarded, the sender gets an acknowledgement once it is stored, and the
 * recipient's own ack round trip DELs it. Users join a room named by their ID (handshake auth;
 * no signatures: this peer is credited with free authentication).
 *
 *   client -> emit('send', {to, mid}, body, ack)   server: SET, then to(room).emit('msg'), ack()
 *   server -> emit('msg', {key, mid}, body)        client: emit('ack', key)   server: DEL
 *
 * Run as its own process: BENCH_PORT=<port> BENCH_REDIS_URL=redis://... node --import tsx bench/peer-socketio.ts
 */
const port = Number(process.env.BENCH_PORT ?? 0);
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const TTL_SECONDS = 30 * 24 * 60 * 60;

const store = new Redis(redisUrl);
const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, {
  adapter: createAdapter(pub, sub),
  maxHttpBufferSize: 1 << 20,
  perMessageDeflate: false,
  transports: ['websocket'],
});

interface SendMeta {
  to: string;
  mid: string;
}

io.on('connection', (socket: Socket) => {
  const id = (socket.handshake.auth as { id?: unknown }).id;
  if (typeof id !== 'string' || id.length === 0) {
    socket.disconnect(true);
    return;
  }
  void socket.join(id);
  socket.on('send', (meta: SendMeta, body: Buffer, ack?: (reply: { ok: boolean }) => void) => {
    const key = `sio:${meta.to}:${id}:${meta.mid}`;
    store.set(key, body, 'EX', TTL_SECONDS).then(
      () => {
        io.to(meta.to).emit('msg', { key, mid: meta.mid }, body);
        ack?.({ ok: true });
      },
      () => ack?.({ ok: false }),
    );
  });
  socket.on('ack', (key: unknown) => {
    if (typeof key === 'string' && key.startsWith(`sio:${id}:`)) void store.del(key);
  });
});

http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'peer listening', port: actual })}\n`);
});

const shutdown = () => {
  io.close();
  store.disconnect();
  pub.disconnect();
  sub.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
