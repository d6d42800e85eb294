/** Small pure helpers for turning rounds of measurements into reported figures. */

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** a / b, or NaN when b is not a positive number. */
export function ratio(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? a / b : Number.NaN;
}

/** Median of the per-round ratios a[i] / b[i]. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  const rs: number[] = [];
  for (let i = 0; i < n; i++) rs.push(ratio(a[i]!, b[i]!));
  return median(rs);
}

/** Rounds for JSON: keeps 3 significant digits, turns NaN into null. */
export function round3(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0) return 0;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(digits, 6)));
}

/** A number for the human table: 12.3k, 4.56M, 0.42, "-" for NaN. */
export function human(x: number | null | undefined, unit = ''): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  let s: string;
  if (Number.isInteger(x) && a < 1e4) s = String(x);
  else if (a >= 1e9) s = `${(x / 1e9).toFixed(2)}G`;
  else if (a >= 1e6) s = `${(x / 1e6).toFixed(2)}M`;
  else if (a >= 1e4) s = `${(x / 1e3).toFixed(1)}k`;
  else if (a >= 100) s = x.toFixed(0);
  else if (a >= 1) s = x.toFixed(2);
  else s = x.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

/** Microseconds as a readable duration. */
export function micros(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us)) return '-';
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(us >= 1e4 ? 0 : 1)} ms`;
  return `${Math.round(us)} us`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (a >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (a >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}
