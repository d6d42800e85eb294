// base64url without padding (RFC 4648 section 5), with no dependency on Buffer or atob, so that it
// runs the same in Node, browsers and React Native.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** Inputs from this many bytes on are encoded into a byte array first (toBase64urlLong). */
const LONG_INPUT = 1024;
/** Characters per String.fromCharCode call (its arguments go on the stack). */
const PIECE = 8192;
const CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) CODES[i] = ALPHABET.charCodeAt(i);

export function toBase64url(bytes: Uint8Array): string {
  if (bytes.length >= LONG_INPUT) return toBase64urlLong(bytes);
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * The same for a long input (a file chunk kept in storage): a string built by += of four
 * characters at a time is a rope of one node per step, 22k heap objects for a 64 KiB chunk that
 * the garbage collector walks for as long as the string lives. Here the characters go into a byte
 * array and become one flat string per PIECE, joined once.
 */
function toBase64urlLong(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Uint8Array(Math.ceil((length * 4) / 3));
  let o = 0;
  let i = 0;
  for (; i + 2 < length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = CODES[n >> 18]!;
    out[o + 1] = CODES[(n >> 12) & 63]!;
    out[o + 2] = CODES[(n >> 6) & 63]!;
    out[o + 3] = CODES[n & 63]!;
    o += 4;
  }
  const rest = length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = CODES[n >> 18]!;
    out[o++] = CODES[(n >> 12) & 63]!;
    if (rest === 2) out[o++] = CODES[(n >> 6) & 63]!;
  }
  const pieces: string[] = [];
  for (let at = 0; at < o; at += PIECE) {
    const piece = out.subarray(at, Math.min(o, at + PIECE));
    pieces.push(String.fromCharCode.apply(null, piece as unknown as number[]));
  }
  return pieces.join('');
}

/** Decodes base64url without padding; returns null for any character or length that is not valid. */
export function fromBase64url(text: string): Uint8Array | null {
  if (text.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? LOOKUP[c]! : -1;
    if (d < 0) return null;
    value = (value << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  // Non-canonical encodings (stray low bits) are refused so each byte string has one spelling.
  if ((value & ((1 << bits) - 1)) !== 0) return null;
  return out;
}
