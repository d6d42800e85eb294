import { fromBase64url, LIMITS, toBase64url } from '../protocol/index.js';
import { ClientError } from './errors.js';
import type { FileOffer } from './payload.js';
import { concat, sodium } from './sodium.js';

/*
 * Large content as a libsodium secretstream (XChaCha20-Poly1305). The sender announces the file in
 * an end-to-end envelope (a FileOffer with a fresh stream key), then sends each chunk as its own
 * relay message:
 *
 *   body = 0x02 || fileId (16) || index (u32 BE) || secretstream(chunk, ad = fileId || index)
 *   mid  = fileId + '-' + index (base 36)
 *
 * The stream's state advances with every chunk and the last one carries TAG_FINAL, so a missing,
 * reordered or truncated chunk fails to decrypt or never completes; the offer also holds the size
 * and a BLAKE2b-256 hash of the whole file, checked at the end. A chunk that comes again is a
 * `duplicate` when its ciphertext is the one already accepted for its index (the relay delivers at
 * least once) and `replayed` when it is not (something other than the sender made it).
 */
export const CHUNK_VERSION = 0x02;
const FILE_ID_BYTES = 16;
const PREFIX_BYTES = 1 + FILE_ID_BYTES + 4;
/** Bytes a chunk adds to its plaintext. */
export const CHUNK_OVERHEAD = PREFIX_BYTES + 17;
/** Plaintext bytes per chunk, so that a chunk fills but never exceeds the relay's body limit. */
export const DEFAULT_CHUNK_BYTES = LIMITS.maxBodyBytes - 64;
const HASH_BYTES = 32;

export function chunkMid(fileId: string, index: number): string {
  return `${fileId}-${index.toString(36)}`;
}

function chunkAd(fileIdBytes: Uint8Array, index: number): Uint8Array {
  const ad = new Uint8Array(FILE_ID_BYTES + 4);
  ad.set(fileIdBytes);
  new DataView(ad.buffer).setUint32(FILE_ID_BYTES, index);
  return ad;
}

export interface OutgoingChunk {
  index: number;
  mid: string;
  body: Uint8Array;
}

/** Prepares a file for sending: the offer to seal for the recipient, then its chunks in order. */
export class FileSender {
  readonly offer: FileOffer;
  readonly #data: Uint8Array;
  readonly #fileIdBytes: Uint8Array;
  readonly #state: ReturnType<typeof sodium.crypto_secretstream_xchacha20poly1305_init_push>['state'];
  #next = 0;

  constructor(data: Uint8Array, meta: { name: string; type: string }, chunkBytes = DEFAULT_CHUNK_BYTES) {
    if (
      !Number.isSafeInteger(chunkBytes) ||
      chunkBytes < 1 ||
      chunkBytes + CHUNK_OVERHEAD > LIMITS.maxBodyBytes
    ) {
      throw new TypeError(`chunkBytes must be 1..${LIMITS.maxBodyBytes - CHUNK_OVERHEAD}`);
    }
    this.#data = data;
    this.#fileIdBytes = sodium.randombytes_buf(FILE_ID_BYTES);
    const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    this.#state = state;
    this.offer = {
      fileId: toBase64url(this.#fileIdBytes),
      name: meta.name,
      type: meta.type,
      size: data.length,
      chunks: Math.max(1, Math.ceil(data.length / chunkBytes)),
      chunkBytes,
      hash: toBase64url(sodium.crypto_generichash(HASH_BYTES, data, null)),
      key: toBase64url(key),
      header: toBase64url(header),
    };
  }

  get done(): boolean {
    return this.#next >= this.offer.chunks;
  }

  /** Encrypts the next chunk. Chunks must be produced in order; each is produced once. */
  next(): OutgoingChunk {
    const index = this.#next++;
    const { chunks, chunkBytes } = this.offer;
    if (index >= chunks) throw new RangeError('no chunk left');
    const plain = this.#data.subarray(index * chunkBytes, (index + 1) * chunkBytes);
    const tag =
      index === chunks - 1
        ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const ad = chunkAd(this.#fileIdBytes, index);
    const ct = sodium.crypto_secretstream_xchacha20poly1305_push(this.#state, plain, ad, tag);
    return {
      index,
      mid: chunkMid(this.offer.fileId, index),
      body: concat(Uint8Array.of(CHUNK_VERSION), ad, ct),
    };
  }
}

/** Reads the file ID and index of a chunk body, or null when it is not a chunk. */
export function parseChunk(body: Uint8Array): { fileId: string; index: number; ct: Uint8Array } | null {
  if (body.length < CHUNK_OVERHEAD || body[0] !== CHUNK_VERSION) return null;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return {
    fileId: toBase64url(body.subarray(1, 1 + FILE_ID_BYTES)),
    index: view.getUint32(1 + FILE_ID_BYTES),
    ct: body.subarray(PREFIX_BYTES),
  };
}

export type ChunkResult =
  | { status: 'accepted'; received: number; complete: boolean }
  /** The very ciphertext already accepted for this index: a redelivery, to drop silently. */
  | { status: 'duplicate' }
  /** Other ciphertext for an index already accepted: dropped, never touching the file; report it. */
  | { status: 'replayed' }
  | { status: 'failed'; error: ClientError };

/**
 * Bytes of a secretstream ciphertext's Poly1305 tag, its last: what tells a redelivery of an
 * index's ciphertext from other ciphertext under it, without hashing every byte again (CRYPTO.md,
 * "Files"). Two different ciphertexts under one index with the same tag and length are a forgery
 * only a holder of the stream key (the sender or the recipient itself) can make.
 */
const MAC_BYTES = 16;

/** The identity of an accepted ciphertext: its length and its tag. */
interface Seen {
  length: number;
  mac: Uint8Array;
}

const seenOf = (ct: Uint8Array): Seen => ({ length: ct.length, mac: ct.slice(ct.length - MAC_BYTES) });

function sameAs(seen: Seen, ct: Uint8Array): boolean {
  if (ct.length !== seen.length) return false;
  const at = ct.length - MAC_BYTES;
  for (let i = 0; i < MAC_BYTES; i++) if (ct[at + i] !== seen.mac[i]) return false;
  return true;
}

/**
 * Reassembles one incoming file. Chunks may arrive out of order (a sender's retry after a
 * reconnect can overtake); they wait, up to `maxPending`, until their predecessors arrive and are
 * then decrypted strictly in order. Once it failed, it stays failed.
 */
export class FileAssembler {
  readonly offer: FileOffer;
  readonly bytes: Uint8Array;
  readonly #fileIdBytes: Uint8Array;
  readonly #state: ReturnType<typeof sodium.crypto_secretstream_xchacha20poly1305_init_pull>;
  readonly #hash: ReturnType<typeof sodium.crypto_generichash_init>;
  readonly #pending = new Map<number, Uint8Array>();
  /** The length and tag of the ciphertext accepted for each index, to tell a redelivery from a replay. */
  readonly #seen = new Map<number, Seen>();
  readonly #maxPending: number;
  #next = 0;
  #received = 0;
  #error: ClientError | undefined;

  constructor(offer: FileOffer, maxPending = 128) {
    this.offer = offer;
    this.#maxPending = maxPending;
    const key = fromBase64url(offer.key);
    const header = fromBase64url(offer.header);
    const id = fromBase64url(offer.fileId);
    const expected = Math.max(1, Math.ceil(offer.size / Math.max(1, offer.chunkBytes)));
    if (key === null || header === null || id === null || offer.chunks !== expected) {
      throw new ClientError('file_corrupt', `file ${offer.fileId}: the offer is inconsistent`);
    }
    this.#fileIdBytes = id;
    this.bytes = new Uint8Array(offer.size);
    this.#state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
    this.#hash = sodium.crypto_generichash_init(null, HASH_BYTES);
  }

  get complete(): boolean {
    return this.#error === undefined && this.#next === this.offer.chunks;
  }

  get received(): number {
    return this.#received;
  }

  get error(): ClientError | undefined {
    return this.#error;
  }

  /** The chunk the assembler waits for: everything before it has been decrypted. */
  get nextIndex(): number {
    return this.#next;
  }

  accept(index: number, ct: Uint8Array): ChunkResult {
    if (this.#error) return { status: 'failed', error: this.#error };
    if (index >= this.offer.chunks) {
      return this.#fail('file_corrupt', `chunk ${index} is beyond the announced ${this.offer.chunks}`);
    }
    const known = this.#seen.get(index);
    if (known !== undefined) return { status: sameAs(known, ct) ? 'duplicate' : 'replayed' };
    this.#seen.set(index, seenOf(ct));
    this.#pending.set(index, ct);
    if (this.#pending.size > this.#maxPending) {
      return this.#fail(
        'file_incomplete',
        `chunk ${this.#next} is missing (${this.#pending.size} waiting behind it)`,
      );
    }
    for (let c = this.#pending.get(this.#next); c !== undefined; c = this.#pending.get(this.#next)) {
      this.#pending.delete(this.#next);
      const failure = this.#pull(this.#next, c);
      if (failure) return failure;
      this.#next++;
    }
    return { status: 'accepted', received: this.#received, complete: this.#next === this.offer.chunks };
  }

  /** Declares the transfer dead (no progress in time, or the sender gave up). */
  abandon(): ClientError {
    this.#fail(
      'file_incomplete',
      `file ${this.offer.fileId} stopped at chunk ${this.#next} of ${this.offer.chunks}`,
    );
    return this.#error!;
  }

  #pull(index: number, ct: Uint8Array): ChunkResult | null {
    let out: { message: Uint8Array; tag: number } | false;
    try {
      out = sodium.crypto_secretstream_xchacha20poly1305_pull(
        this.#state,
        ct,
        chunkAd(this.#fileIdBytes, index),
      );
    } catch {
      out = false;
    }
    if (!out) return this.#fail('file_corrupt', `chunk ${index} failed authentication`);
    const last = index === this.offer.chunks - 1;
    const final = out.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (final !== last) {
      return this.#fail(
        final ? 'file_incomplete' : 'file_corrupt',
        final ? `the stream ended at chunk ${index}` : `the last chunk ${index} is not marked final`,
      );
    }
    const offset = index * this.offer.chunkBytes;
    if (
      offset + out.message.length > this.offer.size ||
      (!last && out.message.length !== this.offer.chunkBytes)
    ) {
      return this.#fail('file_corrupt', `chunk ${index} has the wrong length`);
    }
    this.bytes.set(out.message, offset);
    sodium.crypto_generichash_update(this.#hash, out.message);
    this.#received += out.message.length;
    if (last) {
      const hash = toBase64url(sodium.crypto_generichash_final(this.#hash, HASH_BYTES));
      if (this.#received !== this.offer.size)
        return this.#fail('file_incomplete', 'the file is shorter than announced');
      if (hash !== this.offer.hash) return this.#fail('file_corrupt', 'the file does not match its hash');
    }
    return null;
  }

  #fail(code: 'file_corrupt' | 'file_incomplete', message: string): ChunkResult {
    this.#error ??= new ClientError(code, `file ${this.offer.fileId}: ${message}`);
    this.#pending.clear();
    return { status: 'failed', error: this.#error };
  }
}
