/*
 * Server-to-client WebSocket data frames, written by the relay itself (RFC 6455, section 5.2):
 * FIN + binary opcode, no mask (a server never masks), the payload length in 7, 7+16 or 7+64
 * bits. A FrameWriter puts all of a tick's frames for one connection into one buffer and one
 * socket write, instead of ws's two writes per frame (header, payload) and a writev of them all.
 * Control frames (ping, pong, close) stay with ws.
 */

import type { WebSocket } from 'ws';

const FIN_BINARY = 0x82;

/** Bytes of the frame header for a payload of `length` bytes. */
export function wsHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** One buffer holding a binary WebSocket frame for each payload, in order; `total` is its size. */
export function wsFrames(payloads: readonly Uint8Array[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const payload of payloads) {
    const length = payload.length;
    out[at] = FIN_BINARY;
    if (length < 126) {
      out[at + 1] = length;
      at += 2;
    } else if (length < 65_536) {
      out[at + 1] = 126;
      out.writeUInt16BE(length, at + 2);
      at += 4;
    } else {
      out[at + 1] = 127;
      out.writeUInt32BE(Math.floor(length / 2 ** 32), at + 2);
      out.writeUInt32BE(length >>> 0, at + 6);
      at += 10;
    }
    out.set(payload, at);
    at += length;
  }
  if (at !== total) throw new RangeError(`frames took ${at} bytes, not ${total}`);
  return out;
}

/**
 * One connection's outgoing frames of the current tick, written as one buffer in one socket
 * write at its end (or at once, before a close frame): replies resolved together (a batch of
 * store answers) leave in one system call, without ws's two writes per frame.
 */
export class FrameWriter {
  private queued: Uint8Array[] | undefined;
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
    const raw = (this.socket as unknown as { _socket?: { write(b: Buffer): boolean } })._socket;
    if (raw !== undefined) raw.write(wsFrames(frames, total));
    // A ws without the socket at hand (never on a server socket today): its own framing then.
    else for (const payload of frames) this.socket.send(payload, { binary: true });
  }
}

function flushWriter(writer: FrameWriter): void {
  writer.flush();
}
