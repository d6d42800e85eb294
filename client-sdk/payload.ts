import { ClientError } from './errors.js';
import { concat, utf8 } from './sodium.js';

/*
 * What an envelope carries, after decryption: one kind byte, then the kind's content.
 *   0x01 text (UTF-8)   0x02 bytes   0x03 file offer (UTF-8 JSON, see FileOffer)
 * File chunks are not in envelopes: they are secretstream messages (file-transfer.ts).
 */
const KIND_TEXT = 0x01;
const KIND_BYTES = 0x02;
const KIND_FILE = 0x03;

/** A file announced to its recipient: what it is and the secretstream key that opens its chunks. */
export interface FileOffer {
  /** 16 random bytes, base64url; also the prefix of every chunk's message ID. */
  fileId: string;
  name: string;
  type: string;
  size: number;
  chunks: number;
  chunkBytes: number;
  /** BLAKE2b-256 of the whole plaintext, base64url. */
  hash: string;
  /** secretstream key and header, base64url. */
  key: string;
  header: string;
}

export type Payload =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'file'; offer: FileOffer };

const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePayload(p: Payload): Uint8Array {
  switch (p.kind) {
    case 'text':
      return concat(Uint8Array.of(KIND_TEXT), utf8(p.text));
    case 'bytes':
      return concat(Uint8Array.of(KIND_BYTES), p.bytes);
    case 'file':
      return concat(Uint8Array.of(KIND_FILE), utf8(JSON.stringify(p.offer)));
  }
}

/** Decodes a payload that already passed authentication; a bad shape is still refused. */
export function decodePayload(bytes: Uint8Array): Payload {
  const rest = bytes.subarray(1);
  try {
    switch (bytes[0]) {
      case KIND_TEXT:
        return { kind: 'text', text: decoder.decode(rest) };
      case KIND_BYTES:
        return { kind: 'bytes', bytes: rest.slice() };
      case KIND_FILE:
        return { kind: 'file', offer: checkOffer(JSON.parse(decoder.decode(rest))) };
    }
  } catch (err) {
    throw new ClientError('protocol', 'a message payload could not be decoded', { cause: err });
  }
  throw new ClientError('protocol', `unknown payload kind ${bytes[0]}`);
}

function checkOffer(o: Record<string, unknown>): FileOffer {
  const str = (k: string) => typeof o[k] === 'string';
  const int = (k: string) => Number.isSafeInteger(o[k]) && (o[k] as number) >= 0;
  const ok =
    ['fileId', 'name', 'type', 'hash', 'key', 'header'].every(str) &&
    ['size', 'chunks', 'chunkBytes'].every(int) &&
    /^[A-Za-z0-9_-]{22}$/.test(o.fileId as string);
  if (!ok) throw new TypeError('malformed file offer');
  return o as unknown as FileOffer;
}
