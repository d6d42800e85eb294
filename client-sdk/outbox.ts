import { fromBase64url, toBase64url } from '../protocol/index.js';
import { ClientError } from './errors.js';
import type { Storage } from './storage.js';

/** One send waiting for the relay's `stored`. */
export interface OutboxEntry {
  /** Order of creation; a retry keeps its place. */
  readonly seq: number;
  readonly to: string;
  /** Chosen once; every retry reuses it, so the relay stores the message once. */
  readonly mid: string;
  /** The encoded payload, until it is sealed (the recipient's key may not be known offline). */
  payload?: Uint8Array;
  /** The sealed body: what goes on the wire. */
  body?: Uint8Array;
  readonly ttl?: number;
  readonly receipt?: boolean;
  /** Protocol v2: the share this send is a held part of (`send.offer`). */
  readonly offer?: string;
  /** Protocol v2: this entry is the share itself (a `share` frame), announcing this many parts. */
  readonly parts?: number;
  /** Kept in storage (messages) or only in memory (file offers and chunks). */
  readonly persist: boolean;
  /** The relay's latest retryable refusal of it (quota_exceeded ...), in memory only. */
  refused?: string;
}

interface Saved {
  to: string;
  mid: string;
  payload?: string;
  body?: string;
  ttl?: number;
  receipt?: boolean;
}

const PREFIX = 'outbox/';

/**
 * The queue of sends, bounded, in creation order, mirrored in storage so that a restart resumes
 * them. Entries move from `queued` to `inflight` when sent and back to the front of `queued` when
 * the connection drops or the relay asks to retry.
 */
export class Outbox {
  readonly queued: OutboxEntry[] = [];
  readonly inflight = new Map<string, OutboxEntry>();
  #seq = 0;

  constructor(
    private readonly storage: Storage,
    private readonly limit: number,
  ) {}

  get size(): number {
    return this.queued.length + this.inflight.size;
  }

  /** Loads what an earlier run left in storage. Call once, before adding. */
  async load(): Promise<OutboxEntry[]> {
    const keys = (await this.storage.keys(PREFIX)).sort();
    const loaded: OutboxEntry[] = [];
    for (const key of keys) {
      const text = await this.storage.get(key);
      if (text === undefined) continue;
      const s = JSON.parse(text) as Saved;
      const entry: OutboxEntry = {
        seq: Number(key.slice(PREFIX.length, PREFIX.length + 12)),
        to: s.to,
        mid: s.mid,
        persist: true,
        ...(s.ttl !== undefined && { ttl: s.ttl }),
        ...(s.receipt !== undefined && { receipt: s.receipt }),
      };
      const bytes = fromBase64url(s.body ?? s.payload ?? '');
      if (bytes !== null && bytes.length > 0) {
        if (s.body !== undefined) entry.body = bytes;
        else entry.payload = bytes;
      }
      if (entry.body === undefined && entry.payload === undefined) continue;
      this.#seq = Math.max(this.#seq, entry.seq + 1);
      this.queued.push(entry);
      loaded.push(entry);
    }
    return loaded;
  }

  /** Queues a send (and saves it first when it persists). Throws ClientError when full. */
  async add(init: Omit<OutboxEntry, 'seq'>): Promise<OutboxEntry> {
    if (this.size >= this.limit) throw new ClientError('outbox_full');
    const entry: OutboxEntry = { ...init, seq: this.#seq++ };
    if (entry.persist) await this.save(entry);
    this.queued.push(entry);
    return entry;
  }

  /** Writes the entry again (after sealing, to keep the ciphertext rather than the plaintext). */
  async save(entry: OutboxEntry): Promise<void> {
    if (!entry.persist) return;
    const saved: Saved = {
      to: entry.to,
      mid: entry.mid,
      ...(entry.ttl !== undefined && { ttl: entry.ttl }),
      ...(entry.receipt !== undefined && { receipt: entry.receipt }),
    };
    if (entry.body) saved.body = toBase64url(entry.body);
    else if (entry.payload) saved.payload = toBase64url(entry.payload);
    await this.storage.set(keyOf(entry), JSON.stringify(saved));
  }

  /** Moves the first queued entry in flight. */
  take(entry: OutboxEntry): void {
    const i = this.queued.indexOf(entry);
    if (i >= 0) this.queued.splice(i, 1);
    this.inflight.set(entry.mid, entry);
  }

  /** Puts an in-flight entry back in the queue, at its place by creation order. */
  retry(mid: string): OutboxEntry | undefined {
    const entry = this.inflight.get(mid);
    if (!entry) return undefined;
    this.inflight.delete(mid);
    let i = 0;
    while (i < this.queued.length && this.queued[i]!.seq < entry.seq) i++;
    this.queued.splice(i, 0, entry);
    return entry;
  }

  /** The connection dropped: everything in flight is sent again, in order, once open. */
  retryAll(): void {
    for (const mid of [...this.inflight.keys()]) this.retry(mid);
  }

  /** Removes an entry for good (stored, or refused for a reason a retry cannot fix). */
  async remove(mid: string): Promise<OutboxEntry | undefined> {
    let entry = this.inflight.get(mid);
    if (entry) this.inflight.delete(mid);
    else {
      const i = this.queued.findIndex((e) => e.mid === mid);
      if (i >= 0) entry = this.queued.splice(i, 1)[0];
    }
    if (entry?.persist) await this.storage.delete(keyOf(entry));
    return entry;
  }
}

function keyOf(entry: OutboxEntry): string {
  return `${PREFIX}${String(entry.seq).padStart(12, '0')}/${entry.mid}`;
}
