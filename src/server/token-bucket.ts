/**
 * Per-token allowance, shared by the HTTP API (requests) and ingest (messages): a token bucket
 * per principal that refills at `ratePerS` and holds at most `burstS` seconds' worth.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;

  constructor(readonly ratePerS: number, burstS = 2) {
    this.capacity = ratePerS * burstS;
  }

  /** What `id` may spend now (refilled to this moment); below 1 means "wait". */
  available(id: string, now = Date.now()): number {
    return this.refill(id, now).tokens;
  }

  /** Spends one, even into debt (a message already read must be counted). */
  take(id: string, now = Date.now()): void {
    this.refill(id, now).tokens -= 1;
  }

  /** Spends one if there is one; false when the allowance is used up. */
  tryTake(id: string, now = Date.now()): boolean {
    const b = this.refill(id, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private refill(id: string, now: number): { tokens: number; at: number } {
    let b = this.buckets.get(id);
    if (b === undefined) this.buckets.set(id, (b = { tokens: this.capacity, at: now }));
    b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
    b.at = now;
    return b;
  }
}
