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
const newBytes = (size: number): Uint8Array => new Uint8Array(size);

/**
 * Where a header is encoded before its exact size is known; grows to the largest header seen
 * (at most about three times the largest header, which the u16 prefix caps at 64 KiB).
 */
let scratch = new Uint8Array(1024);

/**
 * Encodes a frame. The `body` field, if any, becomes the binary body; the rest is the header.
 * `allocate` makes the frame's bytes, exactly as many as it holds (the relay passes a pooled
 * Buffer allocator); by default a new Uint8Array.
 */
export function encodeFrame(
  frame: ClientFrame | RelayFrame,
  allocate: (size: number) => Uint8Array = newBytes,
): Uint8Array {
  const body = 'body' in frame ? frame.body : EMPTY;
  const written = encodeHeader(frame);
  const out = allocate(2 + written + body.length);
  writeHead(out, written);
  out.set(body, 2 + written);
  return out;
}

/**
 * A frame's bytes before its body (the length prefix and the header): `head` followed by the
 * frame's `body` is what encodeFrame makes. A writer that sends the two as they are (relay/
 * connection/ws-frames.ts, for large bodies) spares the copy of the body into one buffer.
 */
export function encodeFrameHead(
  frame: ClientFrame | RelayFrame,
  allocate: (size: number) => Uint8Array = newBytes,
): Uint8Array {
  const written = encodeHeader(frame);
  const head = allocate(2 + written);
  writeHead(head, written);
  return head;
}

/** Encodes the frame's header into `scratch`; returns its byte length. */
function encodeHeader(frame: ClientFrame | RelayFrame): number {
  const header = headerJson(frame);
  // Worst case three UTF-8 bytes per UTF-16 unit.
  if (header.length * 3 > scratch.length) scratch = new Uint8Array(header.length * 3);
  const { written } = encoder.encodeInto(header, scratch);
  if (written > 0xffff) throw new RangeError('frame header too large');
  return written;
}

/** The length prefix and the header just encoded into `scratch`, at the start of `out`. */
function writeHead(out: Uint8Array, written: number): void {
  out[0] = written >> 8;
  out[1] = written & 0xff;
  out.set(scratch.subarray(0, written), 2);
}

const str = JSON.stringify;

/**
 * The header JSON: every field but `body`. The frames of the message path (a send, its stored
 * answer, the msg and its ack, and their version 3 batches) are spelled out field by field (a
 * field added to one of these types must be added here too); the others go through
 * JSON.stringify of the object.
 *
 * On the message path the string fields are IDs (user IDs, mids, entry IDs) whose alphabet,
 * [A-Za-z0-9_:-], needs no escaping, and every caller passes them validated (they come from
 * validated frames or from the relay's own store), so they go between quotes as they are: the
 * JSON.stringify of each field was most of this function's time at 1-2 us per frame.
 */
function headerJson(frame: ClientFrame | RelayFrame): string {
  switch (frame.t) {
    case 'msg':
      return `{"t":"msg","id":"${frame.id}","from":"${frame.from}","mid":"${frame.mid}","ts":${frame.ts},"exp":${frame.exp}}`;
    case 'stored': {
      if (!('items' in frame))
        return `{"t":"stored","to":"${frame.to}","mid":"${frame.mid}","exp":${frame.exp},"dup":${frame.dup}}`;
      let json = '{"t":"stored","items":[';
      for (let i = 0; i < frame.items.length; i++) {
        const it = frame.items[i]!;
        json += `${i === 0 ? '' : ','}{"to":"${it.to}","mid":"${it.mid}","exp":${it.exp},"dup":${it.dup}}`;
      }
      return `${json}]}`;
    }
    case 'ack':
      return 'ids' in frame
        ? `{"t":"ack","ids":["${frame.ids.join('","')}"]}`
        : `{"t":"ack","id":"${frame.id}"}`;
    case 'send': {
      let json = `{"t":"send","to":"${frame.to}","mid":"${frame.mid}"`;
      if (frame.ttl !== undefined) json += `,"ttl":${frame.ttl}`;
      if (frame.receipt !== undefined) json += `,"receipt":${frame.receipt}`;
      if (frame.offer !== undefined) json += `,"offer":"${frame.offer}"`;
      return `${json}}`;
    }
    default: {
      if (!('body' in frame)) return str(frame);
      const { body: _, ...header } = frame;
      return str(header);
    }
  }
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
