/** Percentiles by the nearest-rank method on an ascending-sorted array (p in [0, 100]). */
export function percentile(sortedAsc: ArrayLike<number>, p: number): number {
  const n = sortedAsc.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((p / 100) * n);
  return sortedAsc[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

/** The same percentile of samples in any order (sorts a copy). */
export function percentileOf(values: readonly number[], p: number): number {
  return percentile([...values].sort((a, b) => a - b), p);
}

/** Sorts a copy, leaving the samples in measurement order. */
export function sortedCopy(samples: Float64Array, count = samples.length): Float64Array {
  return samples.slice(0, count).sort();
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
