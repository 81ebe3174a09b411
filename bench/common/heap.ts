/**
 * Heap measurement. Needs `node --expose-gc`; without it the figures are NaN rather than the
 * noise that un-collected garbage would give.
 */
export function fullGc(): boolean {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return false;
  // Twice: the first pass can leave objects that only become garbage once finalizers have run.
  gc();
  gc();
  return true;
}

/** process.memoryUsage().heapUsed after a full collection, or NaN without --expose-gc. */
export function heapUsedAfterGc(): number {
  return fullGc() ? process.memoryUsage().heapUsed : NaN;
}
