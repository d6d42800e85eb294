import {
  LIMITS,
  MESSAGE_ID_PATTERN,
  PassbyError,
  type RelayLimits,
  type SendFrame,
  type ShareFrame,
  type StoredFrame,
  toBase64url,
  USER_ID_PATTERN,
} from '../protocol/index.js';
import { type AbortSignalLike, cancelled } from './abort.js';
import type { Emitter } from './emitter.js';
import { ENVELOPE_OVERHEAD, seal } from './envelope.js';
import { ClientError } from './errors.js';
import type { ClientEvents, Sent } from './events.js';
import { sendChunks } from './file-send.js';
import { CHUNK_OVERHEAD, FileSender, type OutgoingChunk } from './file-transfer.js';
import type { KeyDirectory } from './keys.js';
import type { ResolvedOptions } from './options.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { encodePayload, type FileOffer } from './payload.js';
import { SendPump } from './send-pump.js';
import { sodium } from './sodium.js';

export interface SendOptions {
  /** Your own message ID (1-64 of [A-Za-z0-9_-]); a retry with the same ID is stored once. */
  mid?: string | undefined;
  ttlSeconds?: number | undefined;
  /** Ask the relay for a receipt (delivered or expired), reported as a `receipt` event. */
  receipt?: boolean | undefined;
  /**
   * Cancels the send (a file: every chunk not yet stored) while it waits in the outbox: the
   * promise rejects with ClientError('cancelled'). What the relay already stored stays there.
   */
  signal?: AbortSignalLike | undefined;
}

/** One send in the outbox, as `client.outbox.list()` shows it. */
export interface OutboxItem {
  to: string;
  mid: string;
  /** `sending`: on the wire, waiting for `stored`; `queued`: waiting for the connection or a slot. */
  state: 'queued' | 'sending';
  /** Why it waits, when the relay refused it for now: `quota_exceeded`, `rate_limited` ... */
  refused?: string;
  /** For a file's chunk or a share's part: the file ID or the share's mid (cancel takes either). */
  group?: string;
}

/** `client.outbox`: the sends that wait for the relay's `stored`. */
export interface OutboxView {
  /** Sends queued or in flight (each file chunk and share part counts). */
  readonly size: number;
  /** Those sends: in flight first, then queued, in order. */
  list(): OutboxItem[];
  /**
   * Gives up a send (by its mid), or every send of a file (by its file ID) or of a share (by its
   * mid): they leave the outbox and storage, and their promises reject with
   * ClientError('cancelled'). What the relay already stored stays there until it expires.
   * Returns how many sends were given up.
   */
  cancel(id: string): number;
}

export interface FileMeta {
  name: string;
  /** A media type, e.g. image/jpeg. */
  type?: string;
}

export interface SenderDeps {
  o: ResolvedOptions;
  keys: KeyDirectory;
  events: Emitter<ClientEvents>;
  isOpen(): boolean;
  isClosed(): boolean;
  send(frame: SendFrame | ShareFrame): boolean;
  limits(): RelayLimits | undefined;
  problem(error: PassbyError | ClientError): void;
}

/** Protocol v2: marks a send as a held part of a share, or as the share frame itself. */
export interface ShareFields {
  offer?: string;
  parts?: number;
}

interface Pending {
  resolve(sent: Sent): void;
  reject(err: Error): void;
  /** The file or share this send belongs to: when one of them fails, the rest is given up. */
  group: string | undefined;
}

/**
 * The send side of a client: seals payloads, keeps them in the outbox until the relay has stored
 * them, and settles each send's promise. The SendPump moves the outbox onto the wire.
 */
export class Sender {
  readonly #outbox: Outbox;
  readonly #pump: SendPump;
  readonly #pending = new Map<string, Pending>();
  readonly #adding = new Set<Promise<void>>();
  /** Files and shares given up while they run: their later sends are refused with the error. */
  readonly #cancelled = new Map<string, Error>();

  constructor(private readonly d: SenderDeps) {
    const { o } = d;
    this.#outbox = new Outbox(o.storage, o.outboxLimit);
    this.#pump = new SendPump({
      outbox: this.#outbox,
      maxInFlight: o.maxInFlight,
      clock: o.clock,
      random: o.random,
      isOpen: d.isOpen,
      send: d.send,
      seal: (entry) => this.#seal(entry),
      fail: (entry, error) => this.#fail(entry.mid, error),
      held: (entry, error) => {
        if (this.d.events.listenerCount('error') > 0) this.d.events.emit('error', { error, mid: entry.mid });
      },
    });
  }

  /** The app's view of the outbox (`client.outbox`). */
  view(): OutboxView {
    const sender = this;
    return {
      get size() {
        return sender.size;
      },
      list: () => sender.entries(),
      cancel: (id) => {
        if (typeof id !== 'string')
          throw new TypeError('outbox.cancel takes a mid, a file ID or a share mid');
        return sender.cancel(id, cancelled(`the send ${id}`));
      },
    };
  }

  /** How many sends wait for the relay's `stored`. */
  get size(): number {
    return this.#outbox.size;
  }

  /** The sends in flight, then those queued, for the app's outbox view. */
  entries(): OutboxItem[] {
    const item = (e: OutboxEntry, state: OutboxItem['state']): OutboxItem => {
      const group = this.#pending.get(e.mid)?.group;
      const out: OutboxItem = { to: e.to, mid: e.mid, state };
      if (group !== undefined && group !== e.mid) out.group = group;
      if (e.refused !== undefined) out.refused = e.refused;
      return out;
    };
    return [
      ...[...this.#outbox.inflight.values()].map((e) => item(e, 'sending')),
      ...this.#outbox.queued.map((e) => item(e, 'queued')),
    ];
  }

  /**
   * Gives up every send of a file or share (or the one send `id`): each leaves the outbox and its
   * promise rejects with `error`. What the relay already stored stays there until it expires.
   * Returns how many sends were given up.
   */
  cancel(id: string, error: Error): number {
    this.#cancelled.set(id, error);
    const mids = [...this.#pending].filter(([mid, p]) => p.group === id || mid === id).map(([mid]) => mid);
    const listed = this.#outbox.inflight.has(id) || this.#outbox.queued.some((e) => e.mid === id);
    if (mids.length === 0 && listed) mids.push(id); // a send resumed from storage has no promise
    for (const mid of mids) void this.#settle(mid, error);
    this.#pump.run();
    return mids.length;
  }

  /** The file or share `id` is over: forget that it was cancelled. */
  release(id: string): void {
    this.#cancelled.delete(id);
  }

  /**
   * Checks a share against the limits the relay announced (when it has): the recipient's mailbox
   * could never hold it, so it is refused before anything is sent.
   */
  checkShare(bytes: number, parts: number): void {
    const limits = this.d.limits();
    if (!limits) return;
    if (bytes > limits.mailboxMaxBytes || parts > limits.mailboxMaxMessages) {
      const why =
        `a share of ${bytes} bytes in ${parts} parts cannot fit in a mailbox at this relay ` +
        `(${limits.mailboxMaxBytes} bytes, ${limits.mailboxMaxMessages} messages)`;
      throw new PassbyError('payload_too_large', why);
    }
  }

  /** Loads what an earlier run left in the outbox. */
  async load(): Promise<void> {
    await this.#outbox.load();
  }

  /** Resolves once every send already made has reached the outbox (and so storage). */
  async settled(): Promise<void> {
    await Promise.all(this.#adding);
  }

  send(
    to: string,
    payload: Uint8Array,
    persist: boolean,
    options: SendOptions,
    share: ShareFields = {},
    group?: string,
  ): Promise<Sent> {
    const relayMax = this.d.limits()?.maxBodyBytes ?? LIMITS.maxBodyBytes;
    const max = Math.min(LIMITS.maxBodyBytes, relayMax);
    if (payload.length + ENVELOPE_OVERHEAD > max) {
      const why = `a message may hold ${max - ENVELOPE_OVERHEAD - 1} bytes; use sendFile`;
      return Promise.reject(new PassbyError('payload_too_large', why));
    }
    const fields = this.#fields(to, options);
    return this.#queue(fields.mid, group, async () => {
      // Sealed at once when the recipient's key is known, so storage never holds the plaintext.
      const boxKey = await this.d.keys.known(to);
      if (boxKey === undefined) return { to, payload, persist, ...fields, ...share };
      const body = seal(
        this.d.o.identity,
        boxKey,
        { from: this.d.o.identity.id, to, mid: fields.mid },
        payload,
      );
      return { to, body, persist, ...fields, ...share };
    });
  }

  /** Sends an already encrypted body (a file chunk) that stays in memory only. */
  sendSealed(
    to: string,
    mid: string,
    body: Uint8Array,
    options: SendOptions,
    share: ShareFields = {},
    group?: string,
  ) {
    const fields = this.#fields(to, { ...options, mid });
    return this.#queue(mid, group, async () => ({ to, body, persist: false, ...fields, ...share }));
  }

  /**
   * Sends a file: its offer, stored first, then its chunks. With `share.offer` every one of them is
   * a held part of that share; `onOffer` sees the file's offer before anything is sent (and may
   * throw to stop), `onChunk` each chunk as it is produced.
   */
  async sendFile(
    to: string,
    data: Uint8Array,
    meta: FileMeta,
    options: Omit<SendOptions, 'mid'>,
    share: {
      offer?: string;
      onOffer?(offer: FileOffer): void;
      onChunk?(chunk: OutgoingChunk): void;
      /** Called with the file's ID before anything is sent (to cancel it by that ID). */
      onStart?(fileId: string): void;
    } = {},
  ) {
    const { o } = this.d;
    const limits = this.d.limits();
    const chunkBytes = Math.min(o.fileChunkBytes, limits ? limits.maxBodyBytes - CHUNK_OVERHEAD : Infinity);
    const type = meta.type ?? 'application/octet-stream';
    const file = new FileSender(data, { name: meta.name, type }, chunkBytes);
    const { fileId, size } = file.offer;
    share.onOffer?.(file.offer);
    share.onStart?.(fileId);
    const held = share.offer === undefined ? {} : { offer: share.offer };
    const group = share.offer ?? fileId;
    try {
      await this.#sendFileParts(to, file, options, held, group, share.onChunk);
    } finally {
      if (share.offer === undefined) this.release(fileId);
    }
    return { fileId, size };
  }

  async #sendFileParts(
    to: string,
    file: FileSender,
    options: Omit<SendOptions, 'mid'>,
    held: ShareFields,
    group: string,
    onChunk: ((chunk: OutgoingChunk) => void) | undefined,
  ): Promise<void> {
    const { fileId, size } = file.offer;
    // The offer first, and stored, so the recipient knows the key before any chunk arrives.
    const offer = encodePayload({ kind: 'file', offer: file.offer });
    await this.send(to, offer, false, { ...options, mid: fileId }, held, group);
    // A receipt, when asked, is for the offer: it is acknowledged once the whole file arrived.
    const chunkOptions = { ttlSeconds: options.ttlSeconds };
    await sendChunks(file, {
      window: this.d.o.maxInFlight * 2,
      send: (chunk) => {
        onChunk?.(chunk);
        return this.sendSealed(to, chunk.mid, chunk.body, chunkOptions, held, group);
      },
      progress: (bytes) =>
        this.d.events.emit('progress', { direction: 'send', fileId, peer: to, bytes, total: size }),
    });
  }

  opened(): void {
    this.#pump.run();
  }

  lost(): void {
    this.#outbox.retryAll();
  }

  /** The client closed: sends not yet stored stay in storage and their promises reject. */
  closed(error: PassbyError | ClientError | undefined): void {
    this.#pump.stop();
    for (const mid of [...this.#pending.keys()])
      void this.#settle(mid, error ?? new ClientError('closed'), false);
  }

  stored(frame: StoredFrame): void {
    if (!this.#outbox.inflight.has(frame.mid)) return;
    this.#pump.stored();
    void this.#settle(frame.mid, { to: frame.to, mid: frame.mid, exp: frame.exp, dup: frame.dup });
  }

  /** The relay refused a frame; true when it was one of our sends. */
  refused(ref: string, error: PassbyError): boolean {
    return this.#pump.onError(ref, error);
  }

  #fields(to: string, options: SendOptions): { mid: string; ttl?: number; receipt?: boolean } {
    if (!USER_ID_PATTERN.test(to)) throw new TypeError('to must be a user ID');
    const mid = options.mid ?? toBase64url(sodium.randombytes_buf(16));
    if (!MESSAGE_ID_PATTERN.test(mid)) throw new TypeError('mid must be 1-64 characters of [A-Za-z0-9_-]');
    const ttl = options.ttlSeconds ?? this.d.o.ttlSeconds;
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > LIMITS.maxTtlSeconds)) {
      throw new TypeError(`ttlSeconds must be an integer from 1 to ${LIMITS.maxTtlSeconds}`);
    }
    return { mid, ...(ttl !== undefined && { ttl }), ...(options.receipt && { receipt: true }) };
  }

  /**
   * Registers the send at once (so a close() right after a send() still keeps it in storage),
   * then builds and stores the outbox entry and wakes the pump.
   */
  #queue(mid: string, group: string | undefined, build: () => Promise<Omit<OutboxEntry, 'seq'>>) {
    if (this.d.isClosed()) return Promise.reject(new ClientError('closed'));
    const cancelled = group === undefined ? undefined : this.#cancelled.get(group);
    if (cancelled) return Promise.reject(cancelled);
    if (this.#pending.has(mid) || this.#outbox.inflight.has(mid)) {
      return Promise.reject(new TypeError(`mid ${mid} is already being sent`));
    }
    const result = new Promise<Sent>((resolve, reject) => this.#pending.set(mid, { resolve, reject, group }));
    const adding = build()
      // A send cancelled while it was being built never reaches the outbox.
      .then((init) => (this.#pending.has(mid) ? this.#outbox.add(init) : undefined))
      .then(
        () => this.#pump.run(),
        (err: unknown) => {
          this.#pending.get(mid)?.reject(err as Error);
          this.#pending.delete(mid);
        },
      )
      .finally(() => this.#adding.delete(adding));
    this.#adding.add(adding);
    return result;
  }

  async #seal(entry: OutboxEntry): Promise<void> {
    const boxKey = await this.d.keys.get(entry.to);
    if (entry.body !== undefined || entry.payload === undefined) return;
    const addressing = { from: this.d.o.identity.id, to: entry.to, mid: entry.mid };
    entry.body = seal(this.d.o.identity, boxKey, addressing, entry.payload);
    delete entry.payload;
    await this.#outbox.save(entry);
  }

  /** A send refused for good: the rest of its file or share cannot complete, so it goes too. */
  #fail(mid: string, error: Error): void {
    const group = this.#pending.get(mid)?.group;
    void this.#settle(mid, error);
    // The group's own head (a share frame, a file's offer) fails to its caller, which decides.
    if (group !== undefined && group !== mid) this.cancel(group, error);
  }

  /** Ends a send: stored (resolve), refused for good (reject), or the client closed (keep it). */
  async #settle(mid: string, result: Sent | Error, remove = true): Promise<void> {
    const pending = this.#pending.get(mid);
    this.#pending.delete(mid);
    if (remove) {
      await this.#outbox.remove(mid).catch((err: unknown) => {
        this.d.problem(new ClientError('storage', 'an outbox write failed', { cause: err }));
      });
    }
    if (result instanceof Error) {
      // A send resumed from storage has no promise: the app hears of its fate through an event.
      if (remove && !pending)
        this.d.events.emit('error', { error: result as PassbyError | ClientError, mid });
      pending?.reject(result);
    } else {
      this.d.events.emit('sent', result);
      pending?.resolve(result);
      this.#pump.run();
    }
  }
}
