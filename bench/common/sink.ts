/**
 * A sink for benchmark results. Loops fold what they compute into a local number and hand it
 * here once; the total is printed at the end, so no query result is provably unused and the JIT
 * cannot drop the work that produced it.
 */
let total = 0;

export function sink(value: number): void {
  total = (total + (value | 0)) | 0;
}

export function sinkValue(): number {
  return total;
}
