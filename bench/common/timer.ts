import { percentile } from './stats.js';

/** Monotonic nanoseconds as a bigint (the clock behind every latency figure). */
export const nowNs = process.hrtime.bigint;

/**
 * Median cost of one back-to-back pair of timer reads, in ns. Latency samples taken around a
 * single call subtract it, so what remains is the call. Its p99 is returned too: a latency p99
 * close to it is mostly timer noise.
 */
export function timerOverheadNs(samples = 200_000): { medianNs: number; p99Ns: number } {
  const d = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = nowNs();
    const t1 = nowNs();
    d[i] = Number(t1 - t0);
  }
  d.sort();
  return { medianNs: percentile(d, 50), p99Ns: percentile(d, 99) };
}

export function msSince(t0: bigint): number {
  return Number(nowNs() - t0) / 1e6;
}
