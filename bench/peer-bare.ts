import { WebSocket, WebSocketServer } from 'ws';

/*
 * Peer 1, the limit: a bare ws forwarder with no durability, no auth and no acks. A client
 * connects to /?id=<user>; each binary message is [u8 n][n bytes recipient id][body] and the
 * body is written as is to the recipient's socket, if it is connected. Whatever passby does on
 * top of moving bytes shows as the distance to this one.
 *
 * Run as its own process: BENCH_PORT=<port> node --import tsx bench/peer-bare.ts
 */
const port = Number(process.env.BENCH_PORT ?? 0);
const sockets = new Map<string, WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 1 << 20, perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id');
  if (!id) {
    ws.close(4000, 'id required');
    return;
  }
  sockets.set(id, ws);
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary || data.length < 1) return;
    const n = data[0]!;
    const to = sockets.get(data.toString('latin1', 1, 1 + n));
    if (to && to.readyState === WebSocket.OPEN) to.send(data.subarray(1 + n), { binary: true });
  });
  ws.on('close', () => {
    if (sockets.get(id) === ws) sockets.delete(id);
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  const address = wss.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'peer listening', port: actual })}\n`);
});

const shutdown = () => {
  for (const ws of sockets.values()) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
