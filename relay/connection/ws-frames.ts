/*
 * Server-to-client WebSocket data frames, written by the relay itself (RFC 6455, section 5.2):
 * FIN + binary opcode, no mask (a server never masks), the payload length in 7, 7+16 or 7+64
 * bits. A FrameWriter puts all of a tick's frames for one connection into one buffer and one
 * socket write, instead of ws's two writes per frame (header, payload) and a writev of them all;
 * a large body (a photo's 64 KiB) is not copied into that buffer but goes beside it in the same
 * writev, which spares the relay a copy and an allocation of it per delivery. Control frames
 * (ping, pong, close) stay with ws.
 */

import type { WebSocket } from 'ws';

const FIN_BINARY = 0x82;

/** Bytes of the frame header for a payload of `length` bytes. */
export function wsHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/**
 * A payload in two parts, sent as they are: the head (a relay frame's length prefix and header)
 * and a large body, which is never copied into the write's buffer (FrameWriter.writeParts).
 */
export type PayloadParts = readonly [head: Uint8Array, body: Uint8Array];
export type Payload = Uint8Array | PayloadParts;

/** Bytes of a payload, both parts together. */
export function payloadLength(p: Payload): number {
  return p instanceof Uint8Array ? p.length : p[0].length + p[1].length;
}

/**
 * A binary WebSocket frame for each payload, in order, as the buffers of one write (`total`: the
 * bytes of all of them): one buffer holding every frame header and every payload, except that
 * the body of a payload in parts is a buffer of its own, not copied (a writev then). Just one
 * buffer when no payload is in parts.
 */
export function wsFrames(payloads: readonly Payload[], total: number): Uint8Array[] {
  let joined = total;
  for (const p of payloads) if (!(p instanceof Uint8Array)) joined -= p[1].length;
  const out = Buffer.allocUnsafe(joined);
  const chunks: Uint8Array[] = [];
  let at = 0;
  let from = 0;
  for (const payload of payloads) {
    at = writeHeader(out, at, payloadLength(payload));
    if (payload instanceof Uint8Array) {
      out.set(payload, at);
      at += payload.length;
      continue;
    }
    const [head, body] = payload;
    out.set(head, at);
    at += head.length;
    chunks.push(out.subarray(from, at), body);
    from = at;
  }
  if (at !== joined) throw new RangeError(`frames took ${at} bytes, not ${joined}`);
  if (from < at || chunks.length === 0) chunks.push(out.subarray(from, at));
  return chunks;
}

/** FIN, binary, and the payload length in 7, 7+16 or 7+64 bits, at `at`; returns the end. */
function writeHeader(out: Buffer, at: number, length: number): number {
  out[at] = FIN_BINARY;
  if (length < 126) {
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 65_536) {
    out[at + 1] = 126;
    out.writeUInt16BE(length, at + 2);
    return at + 4;
  }
  out[at + 1] = 127;
  out.writeUInt32BE(Math.floor(length / 2 ** 32), at + 2);
  out.writeUInt32BE(length >>> 0, at + 6);
  return at + 10;
}

/**
 * One connection's outgoing frames of the current tick, written as one buffer in one socket
 * write at its end (or at once, before a close frame): replies resolved together (a batch of
 * store answers) leave in one system call, without ws's two writes per frame.
 */
export class FrameWriter {
  private queued: Payload[] | undefined;
  private queuedBytes = 0;

  constructor(private readonly socket: WebSocket) {}

  /**
   * Runs at the start of every flush: a subclass writes here what it collected during the tick
   * (relay/connection/replies.ts: a version 3 session's `stored` batch), so it leaves in the same system call.
   */
  protected gather(): void {}

  /** Bytes not yet sent: held by the socket, plus queued this tick. The buffer limit counts both. */
  get buffered(): number {
    return this.socket.bufferedAmount + this.queuedBytes;
  }

  write(payload: Uint8Array): void {
    this.schedule();
    this.queued!.push(payload);
    this.queuedBytes += wsHeaderLength(payload.length) + payload.length;
  }

  /** One payload, `head` then `body`, with the body written as it is (for large bodies). */
  writeParts(head: Uint8Array, body: Uint8Array): void {
    this.schedule();
    this.queued!.push([head, body]);
    const length = head.length + body.length;
    this.queuedBytes += wsHeaderLength(length) + length;
  }

  /** Makes sure a flush runs at the end of this tick (for `gather`), even with nothing queued yet. */
  schedule(): void {
    if (this.queued !== undefined) return;
    this.queued = [];
    process.nextTick(flushWriter, this);
  }

  flush(): void {
    this.gather();
    const frames = this.queued;
    const total = this.queuedBytes;
    this.queued = undefined;
    this.queuedBytes = 0;
    if (frames === undefined || frames.length === 0 || this.socket.readyState !== this.socket.OPEN) return;
    const raw = (this.socket as unknown as { _socket?: RawSocket })._socket;
    if (raw === undefined) {
      // A ws without the socket at hand (never on a server socket today): its own framing then.
      for (const p of frames)
        this.socket.send(p instanceof Uint8Array ? p : Buffer.concat(p), { binary: true });
      return;
    }
    const chunks = wsFrames(frames, total);
    if (chunks.length === 1) {
      raw.write(chunks[0]!);
      return;
    }
    // Corked, the chunks leave in one writev.
    raw.cork();
    for (const chunk of chunks) raw.write(chunk);
    raw.uncork();
  }
}

/** The net.Socket under a ws WebSocket. */
interface RawSocket {
  write(b: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
}

function flushWriter(writer: FrameWriter): void {
  writer.flush();
}
