/*
 * Server-to-client WebSocket data frames, written by the relay itself (RFC 6455, section 5.2):
 * FIN + binary opcode, no mask (a server never masks), the payload length in 7, 7+16 or 7+64
 * bits. The session puts all of a tick's frames for one connection into one buffer and one
 * socket write, instead of ws's two writes per frame (header, payload) and a writev of them all.
 * Control frames (ping, pong, close) stay with ws.
 */

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
