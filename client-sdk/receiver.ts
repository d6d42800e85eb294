import type { MessageFrame, ReceiptFrame } from '../protocol/index.js';
import { open } from './envelope.js';
import { ClientError } from './errors.js';
import { FileReceiver, type FileReceiverDeps } from './file-receive.js';
import { parseChunk } from './file-transfer.js';
import type { Identity } from './identity.js';
import type { KeyDirectory } from './keys.js';
import { decodePayload } from './payload.js';

const RECEIPT_MEMORY_MS = 30 * 24 * 3600 * 1000;

/** What FileReceiver needs too (`ack`: now or, when offline, on the next open), plus the keys to open messages. */
export interface ReceiverDeps
  extends Pick<
    FileReceiverDeps,
    'seen' | 'chunks' | 'events' | 'clock' | 'fileTimeoutMs' | 'maxFileBytes' | 'ack'
  > {
  identity: Identity;
  keys: KeyDirectory;
  /** Nothing is left in hand: the last frame or task pushed so far has been handled. */
  idle?(): void;
}

/**
 * The inbox: turns delivered frames into app events, one at a time and in delivery order.
 * Each message is checked against the seen set, verified and decrypted, handed to the app, then
 * remembered and only then acknowledged. Forgeries are acknowledged (so the relay drops them) and
 * reported as `rejected`, never handed to the app. Files are FileReceiver's (file-receive.ts).
 */
export class Receiver {
  readonly #files: FileReceiver;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /** Frames and tasks pushed and not yet handled, the one being handled included. */
  #inHand = 0;

  constructor(private readonly d: ReceiverDeps) {
    this.#files = new FileReceiver({
      ...d,
      reject: (f, err) => this.#reject(f, err),
      rejectOnly: (f, err) => this.#rejectOnly(f, err),
      report: (err, mid) => this.#report(err, mid),
    });
  }

  push(frame: MessageFrame | ReceiptFrame): void {
    this.#chain(() => (frame.t === 'msg' ? this.#message(frame) : this.#receipt(frame)));
  }

  /** Runs `fn` once everything pushed so far has been handled (the backlog's `drained`). */
  after(fn: () => void): void {
    this.#chain(async () => fn());
  }

  /** Runs `task` after everything pushed so far, in delivery order (protocol v2 notices). */
  enqueue(task: () => Promise<void>): void {
    this.#chain(task);
  }

  /** Whether more is waiting behind what is being handled now (acks may wait to go together). */
  get busy(): boolean {
    return this.#inHand > 1;
  }

  #chain(task: () => Promise<void>): void {
    this.#inHand++;
    this.#queue = this.#queue
      .then(() => (this.#closed ? undefined : task()))
      .catch((err: unknown) => this.#report(err))
      .finally(() => {
        if (--this.#inHand === 0 && !this.#closed) this.d.idle?.();
      });
  }

  /** Resolves when everything pushed so far has been handled. */
  idle(): Promise<void> {
    return this.#queue;
  }

  /** Hands nothing more to the app: what is queued and not started yet stays at the relay. */
  stop(): void {
    this.#closed = true;
  }

  close(): void {
    this.#closed = true;
    this.#files.close();
  }

  /** Forgets kept chunks of files the relay can no longer deliver. */
  prune(): Promise<number> {
    return this.#files.prune();
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
    if (chunk) return this.#files.chunk(f, chunk.fileId, chunk.index, chunk.ct);
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
    if (payload.kind === 'file') return this.#files.offer(f, payload.offer);
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
