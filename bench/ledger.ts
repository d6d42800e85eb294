/**
 * Per-message bookkeeping for correctness: every payload carries [u32 stream][u32 seq][f64 time]
 * at its start, so a receiver can tell a first delivery from a duplicate and the end of a run can
 * count what never arrived. A stream is one sender-to-receiver pair (or one mailbox).
 */
export const BODY_HEADER_BYTES = 16;

/** A payload of `size` bytes (at least 16) with the stream, sequence number and a time in ms. */
export function makeBody(
  filler: Uint8Array,
  size: number,
  stream: number,
  seq: number,
  time: number,
): Uint8Array {
  const body = new Uint8Array(Math.max(size, BODY_HEADER_BYTES));
  body.set(filler.subarray(0, body.length - BODY_HEADER_BYTES), BODY_HEADER_BYTES);
  const view = new DataView(body.buffer);
  view.setUint32(0, stream);
  view.setUint32(4, seq);
  view.setFloat64(8, time);
  return body;
}

export interface BodyStamp {
  stream: number;
  seq: number;
  time: number;
}

export function readBody(body: Uint8Array): BodyStamp | undefined {
  if (body.length < BODY_HEADER_BYTES) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, BODY_HEADER_BYTES);
  return { stream: view.getUint32(0), seq: view.getUint32(4), time: view.getFloat64(8) };
}

export interface LedgerCounts {
  sent: number;
  /** Sends the server refused (error frame or failed ack); not expected to arrive. */
  refused: number;
  delivered: number;
  duplicated: number;
  /** Deliveries of a stream or sequence number that was never sent. */
  unexpected: number;
}

/** Sent and seen sequence numbers per stream; a bitmap per stream that grows as needed. */
export class Ledger {
  private readonly seen: Uint8Array[] = [];
  private readonly next: number[] = [];
  private readonly pending: number[] = [];
  readonly counts: LedgerCounts = { sent: 0, refused: 0, delivered: 0, duplicated: 0, unexpected: 0 };

  constructor(readonly streams: number) {
    for (let i = 0; i < streams; i++) {
      this.seen.push(new Uint8Array(64));
      this.next.push(0);
      this.pending.push(0);
    }
  }

  /** Allocates the next sequence number of a stream. */
  nextSeq(stream: number): number {
    this.counts.sent += 1;
    this.pending[stream]! += 1;
    return this.next[stream]!++;
  }

  refused(stream: number): void {
    this.counts.refused += 1;
    this.pending[stream]! -= 1;
  }

  /** Records a delivery; false when it is a duplicate (or unexpected). */
  deliver(stream: number, seq: number): boolean {
    if (stream >= this.streams || seq >= this.next[stream]!) {
      this.counts.unexpected += 1;
      return false;
    }
    let bits = this.seen[stream]!;
    if (seq >> 3 >= bits.length) {
      const grown = new Uint8Array(Math.max(bits.length * 2, (seq >> 3) + 1));
      grown.set(bits);
      this.seen[stream] = grown;
      bits = grown;
    }
    const mask = 1 << (seq & 7);
    if (bits[seq >> 3]! & mask) {
      this.counts.duplicated += 1;
      return false;
    }
    bits[seq >> 3]! |= mask;
    this.counts.delivered += 1;
    this.pending[stream]! -= 1;
    return true;
  }

  /** Sent, not refused and not yet delivered, on one stream. */
  outstanding(stream: number): number {
    return this.pending[stream]!;
  }

  /** Sent, not refused and not yet delivered, over all streams: lost if the run is over. */
  missing(): number {
    return this.counts.sent - this.counts.refused - this.counts.delivered;
  }
}
