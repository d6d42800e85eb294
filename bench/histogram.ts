/**
 * An HDR-style latency recorder: log-linear buckets (64 linear sub-buckets per power of two, so a
 * reported value is within 1.6% of the true one) over integer microseconds. Fixed memory, O(1)
 * record, mergeable across worker processes (counts travel as a plain sparse object).
 */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const MAGNITUDES = 40;

export interface HistogramData {
  /** bucket index -> count, only non-empty buckets */
  counts: Record<number, number>;
  count: number;
  max: number;
  sum: number;
}

export class Histogram {
  private readonly counts = new Float64Array(MAGNITUDES * SUB);
  count = 0;
  max = 0;
  sum = 0;

  /** Records one value in microseconds (negative values count as 0). */
  record(micros: number): void {
    const v = micros > 0 ? Math.round(micros) : 0;
    this.counts[bucketOf(v)]! += 1;
    this.count += 1;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  merge(other: HistogramData): void {
    for (const [k, n] of Object.entries(other.counts)) this.counts[Number(k)]! += n;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value at percentile p (0-100), in microseconds; 0 when empty. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, upperOf(i));
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  toData(): HistogramData {
    const counts: Record<number, number> = {};
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) counts[i] = this.counts[i]!;
    return { counts, count: this.count, max: this.max, sum: this.sum };
  }

  static from(data: HistogramData): Histogram {
    const h = new Histogram();
    h.merge(data);
    return h;
  }
}

/** Bucket index of a non-negative integer: values below SUB are exact. */
export function bucketOf(v: number): number {
  if (v < SUB) return v;
  const magnitude = Math.floor(Math.log2(v)) - SUB_BITS;
  const index = (magnitude + 1) * SUB + Math.floor(v / 2 ** magnitude) - SUB;
  return Math.min(index, MAGNITUDES * SUB - 1);
}

/** Highest value that falls into bucket i. */
export function upperOf(i: number): number {
  if (i < SUB) return i;
  const magnitude = Math.floor(i / SUB) - 1;
  const sub = (i % SUB) + SUB;
  return (sub + 1) * 2 ** magnitude - 1;
}
