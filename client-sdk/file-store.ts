import { fromBase64url, toBase64url } from '../protocol/index.js';
import type { Storage } from './storage.js';

const FILE = 'file/';
const CHUNK = 'chunk/';

/**
 * The chunks of incoming files that are acknowledged but not yet handed to the app, kept in the
 * app's Storage: a chunk is acknowledged (and so deleted at the relay) only once it is here, so a
 * restart, or a `file` handler that throws, loses nothing. The offer stays at the relay until the
 * file is handled; when it comes again, the chunks kept here are replayed into a new assembler.
 *
 * Only ciphertext is kept (the stream key is in the sealed offer, which the relay holds), under
 *   file/<sender>/<fileId>            = the offer's expiry (ms), for prune()
 *   chunk/<sender>/<fileId>/<index>   = the secretstream ciphertext: its bytes in a Storage with
 *                                       setBytes (MemoryStorage), else base64url
 */
export class ChunkStore {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number,
  ) {}

  /** Notes a file whose chunks may be kept, until `exp` (the offer's expiry at the relay). */
  async begin(from: string, fileId: string, exp: number): Promise<void> {
    await this.storage.set(`${FILE}${from}/${fileId}`, String(exp));
  }

  /** Keeps one chunk's ciphertext. Durable when it resolves. */
  async save(from: string, fileId: string, index: number, ct: Uint8Array): Promise<void> {
    const key = `${CHUNK}${from}/${fileId}/${index}`;
    if (this.storage.setBytes !== undefined) await this.storage.setBytes(key, ct);
    else await this.storage.set(key, toBase64url(ct));
  }

  /** The kept chunks of a file, in index order, read one at a time. */
  async *load(from: string, fileId: string): AsyncGenerator<{ index: number; ct: Uint8Array }> {
    const prefix = `${CHUNK}${from}/${fileId}/`;
    const indexes = (await this.storage.keys(prefix))
      .map((key) => Number(key.slice(prefix.length)))
      .filter((index) => Number.isSafeInteger(index) && index >= 0)
      .sort((a, b) => a - b);
    for (const index of indexes) {
      const ct = await this.#read(prefix + index);
      if (ct !== null) yield { index, ct };
    }
  }

  async #read(key: string): Promise<Uint8Array | null> {
    if (this.storage.getBytes !== undefined) {
      const bytes = await this.storage.getBytes(key);
      if (bytes !== undefined) return bytes;
    }
    const text = await this.storage.get(key);
    return text === undefined ? null : fromBase64url(text);
  }

  /** Forgets a file's chunks: it was handed to the app, or it failed for good. */
  async drop(from: string, fileId: string): Promise<void> {
    for (const key of await this.storage.keys(`${CHUNK}${from}/${fileId}/`)) await this.storage.delete(key);
    await this.storage.delete(`${FILE}${from}/${fileId}`);
  }

  /** Forgets files whose offer the relay can no longer deliver. Returns how many. */
  async prune(): Promise<number> {
    const now = this.now();
    let pruned = 0;
    for (const key of await this.storage.keys(FILE)) {
      const value = await this.storage.get(key);
      if (value === undefined || !(Number(value) < now)) continue;
      const [from, fileId] = key.slice(FILE.length).split('/');
      if (from === undefined || fileId === undefined) continue;
      await this.drop(from, fileId);
      pruned++;
    }
    return pruned;
  }
}
