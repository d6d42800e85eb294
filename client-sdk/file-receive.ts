import type { MessageFrame } from '../protocol/index.js';
import type { Emitter } from './emitter.js';
import { ClientError } from './errors.js';
import type { ClientEvents, IncomingFile } from './events.js';
import type { ChunkStore } from './file-store.js';
import { chunkMid, FileAssembler } from './file-transfer.js';
import type { SeenSet } from './inbox.js';
import type { Clock } from './options.js';
import type { FileOffer } from './payload.js';

interface Transfer {
  assembler: FileAssembler;
  from: string;
  offerId: string;
  mid: string;
  at: number;
  exp: number;
  timer: unknown;
  /** The entry of the final chunk once it arrived: acknowledged only after the app's handler. */
  finalId?: string;
}

export interface FileReceiverDeps {
  seen: SeenSet;
  /** Where chunks of incoming files wait, acknowledged, until the file was handled. */
  chunks: ChunkStore;
  events: Emitter<ClientEvents>;
  clock: Clock;
  fileTimeoutMs: number;
  maxFileBytes: number;
  /** Acknowledges an entry now or, when offline, on the next open. */
  ack(entryId: string): void;
  /** Acknowledges `f` and reports it as `rejected`. */
  reject(f: MessageFrame, err: unknown): void;
  /** Reports `f` as `rejected` (the caller acknowledged it). */
  rejectOnly(f: MessageFrame, err: unknown): void;
  /** Reports an `error` event. */
  report(err: unknown, mid?: string): void;
}

/**
 * Incoming files: an offer, then its chunks (file-transfer.ts). Nothing is lost when the app's
 * handler throws or the app stops before it returns:
 * - every chunk but the last is kept in the ChunkStore before it is acknowledged;
 * - the offer and the final chunk are acknowledged only once every `file` handler returned or
 *   resolved, so the relay delivers both again after the next reconnect (or to the next process
 *   with the same storage); the offer then replays the kept chunks and the final one completes
 *   the file again.
 * The relay's delivery window (unacknowledged entries it hands out) is never held by more than
 * these two entries per file, so a file of any size flows.
 */
export class FileReceiver {
  readonly #transfers = new Map<string, Transfer>();
  /** Files handed to the app or failed for good in this process: their stray chunks are dropped. */
  readonly #finished = new Set<string>();

  constructor(private readonly d: FileReceiverDeps) {}

  close(): void {
    for (const t of this.#transfers.values()) this.d.clock.clearTimeout(t.timer);
    this.#transfers.clear();
  }

  async offer(f: MessageFrame, offer: FileOffer): Promise<void> {
    // The offer stays unacknowledged until the file was handled; a redelivery of it is ignored.
    if (this.#transfers.has(offer.fileId)) return;
    if (this.#finished.has(offer.fileId)) return this.d.ack(f.id);
    if (offer.fileId !== f.mid)
      return this.d.reject(f, new ClientError('tampered', 'offer under a foreign ID'));
    if (offer.size > this.d.maxFileBytes) {
      const why = `a file of ${offer.size} bytes exceeds maxFileBytes (${this.d.maxFileBytes})`;
      return this.d.reject(f, new ClientError('file_corrupt', why));
    }
    let assembler: FileAssembler;
    try {
      assembler = new FileAssembler(offer);
    } catch (err) {
      return this.d.reject(f, err);
    }
    const t: Transfer = {
      assembler,
      from: f.from,
      offerId: f.id,
      mid: f.mid,
      at: f.ts,
      exp: f.exp,
      timer: undefined,
    };
    this.#transfers.set(offer.fileId, t);
    this.#arm(t);
    try {
      await this.d.chunks.begin(t.from, offer.fileId, t.exp);
      // Chunks an earlier delivery (or process) already acknowledged: replay them from storage.
      for await (const { index, ct } of this.d.chunks.load(t.from, offer.fileId)) {
        const result = assembler.accept(index, ct);
        if (result.status === 'failed') return this.#fail(t, result.error);
      }
    } catch (err) {
      // Unacknowledged, the offer comes again after the next reconnect and this starts over.
      this.#end(t);
      throw err;
    }
    this.#progress(t);
  }

  async chunk(f: MessageFrame, fileId: string, index: number, ct: Uint8Array): Promise<void> {
    const t = this.#transfers.get(fileId);
    if (!t) {
      this.d.ack(f.id);
      const done = this.#finished.has(fileId) || (await this.d.seen.has(`m:${f.from}:${fileId}`));
      if (!done)
        this.d.rejectOnly(f, new ClientError('file_incomplete', `a chunk of unknown file ${fileId}`));
      return;
    }
    if (f.from !== t.from || f.mid !== chunkMid(fileId, index)) {
      this.d.ack(f.id);
      return this.d.rejectOnly(f, new ClientError('tampered', `chunk ${index} of ${fileId} was relabelled`));
    }
    const result = t.assembler.accept(index, ct);
    if (result.status === 'failed') {
      this.d.ack(f.id);
      return this.#fail(t, result.error);
    }
    if (result.status === 'replayed') {
      this.d.ack(f.id);
      const why = `chunk ${index} of ${fileId} came again with other content; the first one was kept`;
      return this.d.rejectOnly(f, new ClientError('tampered', why));
    }
    if (index === t.assembler.offer.chunks - 1) {
      t.finalId = f.id;
    } else {
      // Kept before it is acknowledged (again, for a duplicate: an earlier write may have failed).
      await this.d.chunks.save(t.from, fileId, index, ct);
      this.d.ack(f.id);
    }
    if (result.status === 'accepted') {
      this.#arm(t);
      this.#progress(t);
    }
    if (t.assembler.complete && this.#transfers.get(fileId) === t) await this.#deliver(t);
  }

  /** Prunes kept chunks of files whose offer has expired at the relay. */
  prune(): Promise<number> {
    return this.d.chunks.prune();
  }

  async #deliver(t: Transfer): Promise<void> {
    this.#end(t);
    const { offer, bytes } = t.assembler;
    const file: IncomingFile = {
      from: t.from,
      mid: t.mid,
      at: t.at,
      fileId: offer.fileId,
      name: offer.name,
      type: offer.type,
      size: offer.size,
      bytes,
    };
    if (this.d.events.listenerCount('file') === 0) {
      const why = 'no "file" handler; the file stays at the relay and comes again after a reconnect';
      return this.d.report(new ClientError('handler_failed', why), t.mid);
    }
    try {
      await this.d.events.dispatch('file', file);
    } catch (err) {
      // Neither the offer nor the final chunk is acknowledged: both come again, and the chunks
      // before them are in the ChunkStore, so the file is complete again after the next reconnect.
      const why = 'a file handler threw; the file comes again after the next reconnect';
      return this.d.report(new ClientError('handler_failed', why, { cause: err }), t.mid);
    }
    await this.d.seen.remember(t.offerId, t.exp);
    this.#finished.add(offer.fileId);
    this.d.ack(t.offerId);
    if (t.finalId !== undefined) this.d.ack(t.finalId);
    await this.#forget(t);
  }

  #arm(t: Transfer): void {
    this.d.clock.clearTimeout(t.timer);
    t.timer = this.d.clock.setTimeout(() => {
      if (this.#transfers.get(t.assembler.offer.fileId) === t) this.#fail(t, t.assembler.abandon());
    }, this.d.fileTimeoutMs);
  }

  #end(t: Transfer): void {
    this.d.clock.clearTimeout(t.timer);
    this.#transfers.delete(t.assembler.offer.fileId);
  }

  /** The file cannot be completed: acknowledge all of it, report it, forget its chunks. */
  #fail(t: Transfer, error: ClientError): void {
    this.#end(t);
    this.#finished.add(t.assembler.offer.fileId);
    this.d.ack(t.offerId);
    if (t.finalId !== undefined) this.d.ack(t.finalId);
    this.d.events.emit('rejected', { from: t.from, mid: t.mid, error });
    void this.#forget(t);
  }

  async #forget(t: Transfer): Promise<void> {
    try {
      await this.d.chunks.drop(t.from, t.assembler.offer.fileId);
    } catch (err) {
      // Harmless: prune() removes them once the offer has expired.
      this.d.report(new ClientError('storage', 'kept chunks of a file could not be deleted', { cause: err }));
    }
  }

  #progress(t: Transfer): void {
    const { offer, received } = t.assembler;
    this.d.events.emit('progress', {
      direction: 'receive',
      fileId: offer.fileId,
      peer: t.from,
      bytes: received,
      total: offer.size,
    });
  }
}
