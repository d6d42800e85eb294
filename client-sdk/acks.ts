import { batches, type ClientFrame, LIMITS } from '../protocol/index.js';

export interface AcksDeps {
  /** Sends a frame on the open socket; false when there is none. */
  send(frame: ClientFrame): boolean;
  /** The protocol version of the current connection. */
  version(): number;
  /** Whether the receiver has more in hand behind the entry being handled. */
  busy(): boolean;
}

/**
 * The acks a client owes the relay. An ack leaves at once, or, with protocol 3, waits while the
 * receiver has more in hand (up to one frame's worth) to leave with the others as one ack {ids}.
 * Acks that find no open socket are kept and sent on the next open.
 */
export class Acks {
  /** Acks that found no socket: sent on the next open. */
  readonly #unsent = new Set<string>();
  /** Protocol 3: acks held while the receiver has more in hand. */
  #held: string[] = [];

  constructor(private readonly d: AcksDeps) {}

  /** Acknowledges an entry now, together with others, or on the next open when offline. */
  ack(id: string): void {
    this.#held.push(id);
    if (this.d.version() >= 3 && this.d.busy() && this.#held.length < LIMITS.maxAcksPerFrame) return;
    this.flush();
  }

  /** Sends every held ack now (the receiver has nothing more in hand, or the client closes). */
  flush(): void {
    const ids = this.#held;
    if (ids.length === 0) return;
    this.#held = [];
    // Before version 3, one ack per frame.
    const chunks = this.d.version() >= 3 ? batches(ids, LIMITS.maxAcksPerFrame) : ids.map((id) => [id]);
    for (const chunk of chunks) {
      const sent = this.d.send(chunk.length === 1 ? { t: 'ack', id: chunk[0]! } : { t: 'ack', ids: chunk });
      for (const id of chunk) {
        if (sent) this.#unsent.delete(id);
        else this.#unsent.add(id);
      }
    }
  }

  /** A connection opened: the acks kept while offline go now. */
  opened(): void {
    this.#held.push(...this.#unsent);
    this.#unsent.clear();
    this.flush();
  }
}
