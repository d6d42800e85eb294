import { ClientError } from './errors.js';
import { concat, utf8 } from './sodium.js';

/*
 * What an envelope carries, after decryption: one kind byte, then the kind's content.
 *   0x01 text (UTF-8)   0x02 bytes   0x03 file offer (UTF-8 JSON, see FileOffer)
 *   0x04 share description, the body of an `offer` (protocol v2):
 *        u16 BE length || UTF-8 JSON {content, text?} || the preview's bytes (when no `text`)
 * File chunks are not in envelopes: they are secretstream messages (file-transfer.ts).
 */
const KIND_TEXT = 0x01;
const KIND_BYTES = 0x02;
const KIND_FILE = 0x03;
const KIND_SHARE = 0x04;

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

/**
 * What an accepted share will deliver, as its sender described it (authenticated with the preview):
 * a message under `mid`, or a file whose `file` event will carry `fileId`.
 */
export type SharedContent =
  | { kind: 'text' | 'bytes'; mid: string }
  | { kind: 'file'; fileId: string; name: string; type: string; size: number };

/** The sealed body of an offer: the preview the sender chose and what the share holds. */
export interface ShareDescription {
  content: SharedContent;
  preview: string | Uint8Array;
}

export type Payload =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'file'; offer: FileOffer }
  | { kind: 'share'; share: ShareDescription };

const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePayload(p: Payload): Uint8Array {
  switch (p.kind) {
    case 'text':
      return concat(Uint8Array.of(KIND_TEXT), utf8(p.text));
    case 'bytes':
      return concat(Uint8Array.of(KIND_BYTES), p.bytes);
    case 'file':
      return concat(Uint8Array.of(KIND_FILE), utf8(JSON.stringify(p.offer)));
    case 'share': {
      const { content, preview } = p.share;
      const text = typeof preview === 'string';
      const json = utf8(JSON.stringify(text ? { content, text: preview } : { content }));
      if (json.length > 0xffff) throw new TypeError('the share description is too long');
      const length = Uint8Array.of(json.length >> 8, json.length & 0xff);
      return concat(Uint8Array.of(KIND_SHARE), length, json, text ? new Uint8Array(0) : preview);
    }
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
      case KIND_SHARE:
        return { kind: 'share', share: decodeShare(rest) };
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

function decodeShare(rest: Uint8Array): ShareDescription {
  if (rest.length < 2) throw new TypeError('truncated share description');
  const length = (rest[0]! << 8) | rest[1]!;
  if (rest.length < 2 + length) throw new TypeError('truncated share description');
  const o = JSON.parse(decoder.decode(rest.subarray(2, 2 + length))) as Record<string, unknown>;
  const after = rest.slice(2 + length);
  const c = o.content as Record<string, unknown> | null;
  const mid = (v: unknown) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);
  let content: SharedContent;
  if (typeof c !== 'object' || c === null) throw new TypeError('share description without content');
  if ((c.kind === 'text' || c.kind === 'bytes') && mid(c.mid)) {
    content = { kind: c.kind, mid: c.mid as string };
  } else if (
    c.kind === 'file' &&
    mid(c.fileId) &&
    typeof c.name === 'string' &&
    typeof c.type === 'string' &&
    Number.isSafeInteger(c.size) &&
    (c.size as number) >= 0
  ) {
    content = {
      kind: 'file',
      fileId: c.fileId as string,
      name: c.name,
      type: c.type,
      size: c.size as number,
    };
  } else {
    throw new TypeError('malformed share content');
  }
  if (o.text !== undefined) {
    if (typeof o.text !== 'string' || after.length > 0) throw new TypeError('malformed share preview');
    return { content, preview: o.text };
  }
  return { content, preview: after };
}
