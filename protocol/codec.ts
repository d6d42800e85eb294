import { validateClientFrame } from './client-frames.js';
import { type Decoded, type DecodeFailure, fail } from './fields.js';
import type { ClientFrame, RelayFrame } from './frames.js';
import { LIMITS } from './limits.js';
import { validateRelayFrame } from './relay-frames.js';

/*
 * Wire encoding (PROTOCOL.md, "Encoding"): every frame is one binary WebSocket message
 *
 *   [u16 big-endian header length N][N bytes of UTF-8 JSON header][body bytes]
 *
 * The header is a JSON object whose `t` names the frame type. Only `send` and `msg` carry a body;
 * it is the ciphertext as raw bytes, never base64.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY: Uint8Array = new Uint8Array(0);
/** Encodes a frame. The `body` field, if any, becomes the binary body; the rest is the header. */
export function encodeFrame(frame: ClientFrame | RelayFrame): Uint8Array {
  let body = EMPTY;
  let header: string;
  if ('body' in frame) {
    const { body: b, ...rest } = frame;
    body = b;
    header = JSON.stringify(rest);
  } else {
    header = JSON.stringify(frame);
  }
  // Worst case three UTF-8 bytes per UTF-16 unit; encodeInto writes straight into the frame.
  const out = new Uint8Array(2 + header.length * 3 + body.length);
  const { written } = encoder.encodeInto(header, out.subarray(2));
  if (written > 0xffff) throw new RangeError('frame header too large');
  out[0] = written >> 8;
  out[1] = written & 0xff;
  out.set(body, 2 + written);
  return out.subarray(0, 2 + written + body.length);
}

/** Splits a frame into its parsed header object and body, or says why it cannot. */
export function splitFrame(
  bytes: Uint8Array,
  maxHeader: number = LIMITS.maxHeaderBytes,
): { header: Record<string, unknown>; body: Uint8Array } | DecodeFailure {
  if (bytes.length < 2) return fail('malformed_frame', 'frame shorter than its length prefix');
  const length = (bytes[0]! << 8) | bytes[1]!;
  if (length > maxHeader) return fail('malformed_frame', `header longer than ${maxHeader} bytes`);
  if (2 + length > bytes.length) return fail('malformed_frame', 'header length prefix exceeds the frame');
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(2, 2 + length)));
  } catch {
    return fail('malformed_frame', 'header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return fail('malformed_frame', 'header is not a JSON object');
  }
  return { header: header as Record<string, unknown>, body: bytes.subarray(2 + length) };
}

/** Decodes and validates a frame sent by a client. Nothing reaches a relay handler unvalidated. */
export function decodeClientFrame(bytes: Uint8Array): Decoded<ClientFrame> {
  const split = splitFrame(bytes);
  if ('ok' in split) return split;
  if (typeof split.header.t !== 'string') return fail('malformed_frame', 'header has no string field "t"');
  return validateClientFrame(split.header, split.body);
}

/** Decodes and validates a frame sent by the relay (used by clients). */
export function decodeRelayFrame(bytes: Uint8Array): Decoded<RelayFrame> {
  const split = splitFrame(bytes, LIMITS.maxRelayHeaderBytes);
  if ('ok' in split) return split;
  if (typeof split.header.t !== 'string') return fail('malformed_frame', 'header has no string field "t"');
  return validateRelayFrame(split.header, split.body);
}
