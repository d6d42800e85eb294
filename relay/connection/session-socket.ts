import type { RawData, WebSocket } from 'ws';
import type { Session } from './session.js';

/*
 * The socket events of every connection, routed to its Session by one set of shared handlers
 * (no closures held per connection).
 */

/** Listens to `socket`'s events on behalf of `session`. */
export function bindSocket(socket: WebSocket, session: Session): void {
  sessionOf.set(socket, session);
  socket.on('message', onSocketMessage);
  socket.on('pong', onSocketPong);
  socket.on('close', onSocketClose);
  socket.on('error', onSocketError);
}

/** The timer callback of Session.close: cuts the peer off if the closing handshake is not done. */
export function cutOffLater(session: Session): void {
  session.cutOff();
}

/** Each socket's session. */
const sessionOf = new WeakMap<WebSocket, Session>();

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  sessionOf.get(this)?.onMessage(data as Buffer, isBinary);
}

function onSocketPong(this: WebSocket): void {
  const session = sessionOf.get(this);
  if (session) session.alive = true;
}

function onSocketClose(this: WebSocket, code: number): void {
  sessionOf.get(this)?.onClose(code);
}

/**
 * ws reports a frame it refuses (over the 1 MiB limit, bad framing) here and closes the socket
 * (1009, 1002): the client's fault, so one line without a stack. Anything else is logged whole.
 */
function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  const session = sessionOf.get(this);
  if (session === undefined) return;
  if (err.code?.startsWith('WS_ERR_')) session.refusedByWs(err.code, err.message);
  else session.log.warn({ err }, 'socket error');
}
