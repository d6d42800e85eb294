import type { MessageFrame, ReceiptFrame } from '../protocol/index.js';
import type { Emitter } from './emitter.js';
import { open } from './envelope.js';
import { ClientError } from './errors.js';
import type { ClientEvents } from './events.js';
import { chunkMid, FileAssembler, parseChunk } from './file-transfer.js';
import type { Identity } from './identity.js';
import type { SeenSet } from './inbox.js';
import type { KeyDirectory } from './keys.js';
import type { Clock } from './options.js';
import { decodePayload, type FileOffer } from './payload.js';

const RECEIPT_MEMORY_MS = 30 * 24 * 3600 * 1000;

interface Transfer {
  assembler: FileAssembler;
  from: string;
  offerId: string;
  mid: string;
  at: number;
  exp: number;
  timer: unknown;
}

export interface ReceiverDeps {
  identity: Identity;
  keys: KeyDirectory;
  seen: SeenSet;
  events: Emitter<ClientEvents>;
  clock: Clock;
  fileTimeoutMs: number;
  maxFileBytes: number;
  /** Acknowledges an entry now or, when offline, on the next open. */
  ack(entryId: string): void;
}

/**
 * The inbox: turns delivered frames into app events, one at a time and in delivery order.
 * Each message is checked against the seen set, verified and decrypted, handed to the app, then
 * remembered and only then acknowledged. Forgeries are acknowledged (so the relay drops them) and
 * reported as `rejected`, never handed to the app.
 */
export class Receiver {
  readonly #transfers = new Map<string, Transfer>();
  readonly #finished = new Set<string>();
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(private readonly d: ReceiverDeps) {}

  push(frame: MessageFrame | ReceiptFrame): void {
    this.#queue = this.#queue
      .then(() =>
        this.#closed ? undefined : frame.t === 'msg' ? this.#message(frame) : this.#receipt(frame),
      )
      .catch((err: unknown) => this.#report(err));
  }

  /** Runs `fn` once everything pushed so far has been handled (the backlog's `drained`). */
  after(fn: () => void): void {
    this.#queue = this.#queue.then(() => (this.#closed ? undefined : fn()));
  }

  /** Runs `task` after everything pushed so far, in delivery order (protocol v2 notices). */
  enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(() => (this.#closed ? undefined : task()))
      .catch((err: unknown) => this.#report(err));
  }

  /** Resolves when everything pushed so far has been handled. */
  idle(): Promise<void> {
    return this.#queue;
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#transfers.values()) this.d.clock.clearTimeout(t.timer);
    this.#transfers.clear();
  }

  async #receipt(f: ReceiptFrame): Promise<void> {
    if (!(await this.d.seen.has(f.id))) {
      this.d.events.emit('receipt', { to: f.to, mid: f.mid, status: f.status, at: f.at });
      await this.d.seen.remember(f.id, this.d.clock.now() + RECEIPT_MEMORY_MS);
    }
    this.d.ack(f.id);
  }

  async #message(f: MessageFrame): Promise<void> {
    if (await this.d.seen.has(f.id)) return this.d.ack(f.id);
    const chunk = parseChunk(f.body);
    if (chunk) return this.#chunk(f, chunk.fileId, chunk.index, chunk.ct);
    let plain: Uint8Array;
    try {
      const senderKey = await this.d.keys.get(f.from);
      plain = open(this.d.identity, senderKey, { from: f.from, to: this.d.identity.id, mid: f.mid }, f.body);
    } catch (err) {
      if (err instanceof ClientError && err.code === 'closed') throw err;
      return this.#reject(f, err);
    }
    let payload: ReturnType<typeof decodePayload>;
    try {
      payload = decodePayload(plain);
    } catch (err) {
      return this.#reject(f, err);
    }
    const base = { from: f.from, mid: f.mid, at: f.ts };
    if (payload.kind === 'file') return this.#offer(f, payload.offer);
    if (payload.kind === 'share') {
      return this.#reject(f, new ClientError('protocol', 'a share description outside an offer'));
    }
    if (this.d.events.listenerCount('message') === 0) {
      // Nobody to hand it to: keep it at the relay (no ack) rather than lose it.
      this.#report(
        new ClientError('handler_failed', 'no "message" handler; the message stays at the relay'),
        f.mid,
      );
      return;
    }
    try {
      await this.d.events.dispatch(
        'message',
        payload.kind === 'text'
          ? { ...base, kind: 'text', text: payload.text }
          : { ...base, kind: 'bytes', bytes: payload.bytes },
      );
    } catch (err) {
      // Not remembered, not acknowledged: the relay delivers it again after the next reconnect.
      this.#report(new ClientError('handler_failed', undefined, { cause: err }), f.mid);
      return;
    }
    await this.d.seen.remember(f.id, f.exp);
    this.d.ack(f.id);
  }

  #offer(f: MessageFrame, offer: FileOffer): void {
    // The offer stays unacknowledged until the file is complete; a redelivery of it is ignored.
    if (this.#transfers.has(offer.fileId)) return;
    if (offer.fileId !== f.mid)
      return this.#reject(f, new ClientError('tampered', 'offer under a foreign ID'));
    if (offer.size > this.d.maxFileBytes) {
      const why = `a file of ${offer.size} bytes exceeds maxFileBytes (${this.d.maxFileBytes})`;
      return this.#reject(f, new ClientError('file_corrupt', why));
    }
    let assembler: FileAssembler;
    try {
      assembler = new FileAssembler(offer);
    } catch (err) {
      return this.#reject(f, err);
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
    this.#progress(t);
  }

  async #chunk(f: MessageFrame, fileId: string, index: number, ct: Uint8Array): Promise<void> {
    const t = this.#transfers.get(fileId);
    if (!t) {
      this.d.ack(f.id);
      const done = this.#finished.has(fileId) || (await this.d.seen.has(`m:${f.from}:${fileId}`));
      if (!done) this.#rejectOnly(f, new ClientError('file_incomplete', `a chunk of unknown file ${fileId}`));
      return;
    }
    if (f.from !== t.from || f.mid !== chunkMid(fileId, index)) {
      this.d.ack(f.id);
      return this.#rejectOnly(f, new ClientError('tampered', `chunk ${index} of ${fileId} was relabelled`));
    }
    const result = t.assembler.accept(index, ct);
    this.d.ack(f.id);
    if (result.status === 'repeated') return;
    if (result.status === 'failed') return this.#failTransfer(t, result.error);
    this.#arm(t);
    this.#progress(t);
    if (!result.complete) return;
    this.#end(t);
    const { offer, bytes } = t.assembler;
    const file = {
      from: t.from,
      mid: t.mid,
      at: t.at,
      fileId,
      name: offer.name,
      type: offer.type,
      size: offer.size,
      bytes,
    };
    try {
      await this.d.events.dispatch('file', file);
    } catch (err) {
      // The chunks are acknowledged and gone, so the file cannot come again: report and move on.
      this.#report(
        new ClientError('handler_failed', 'a file handler threw; the file is lost', { cause: err }),
        t.mid,
      );
    }
    await this.d.seen.remember(t.offerId, t.exp);
    this.d.ack(t.offerId);
  }

  #arm(t: Transfer): void {
    this.d.clock.clearTimeout(t.timer);
    t.timer = this.d.clock.setTimeout(() => {
      if (this.#transfers.get(t.assembler.offer.fileId) === t) this.#failTransfer(t, t.assembler.abandon());
    }, this.d.fileTimeoutMs);
  }

  #end(t: Transfer): void {
    this.d.clock.clearTimeout(t.timer);
    this.#transfers.delete(t.assembler.offer.fileId);
    this.#finished.add(t.assembler.offer.fileId);
  }

  #failTransfer(t: Transfer, error: ClientError): void {
    this.#end(t);
    this.d.ack(t.offerId);
    this.d.events.emit('rejected', { from: t.from, mid: t.mid, error });
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

  #reject(f: MessageFrame, err: unknown): void {
    this.d.ack(f.id);
    this.#rejectOnly(f, err);
  }

  #rejectOnly(f: MessageFrame, err: unknown): void {
    const error = err instanceof ClientError ? err : new ClientError('tampered', undefined, { cause: err });
    this.d.events.emit('rejected', { from: f.from, mid: f.mid, error });
  }

  #report(err: unknown, mid?: string): void {
    const error =
      err instanceof ClientError
        ? err
        : new ClientError('storage', 'the inbox could not handle a message; it comes again later', {
            cause: err,
          });
    if (error.code === 'closed') return;
    this.d.events.emit('error', mid === undefined ? { error } : { error, mid });
  }
}
