// The per-token allowance shared by the HTTP API (requests) and ingest (messages).
import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/server/token-bucket.js';

describe('TokenBuckets', () => {
  it('starts full at 2 s worth, refills at the rate, and caps at the burst', () => {
    const b = new TokenBuckets(10);
    expect(b.available('a', 0)).toBe(20);
    for (let i = 0; i < 20; i++) expect(b.tryTake('a', 0)).toBe(true);
    expect(b.tryTake('a', 0)).toBe(false);
    expect(b.available('a', 100)).toBeCloseTo(1);
    expect(b.available('a', 60_000)).toBe(20);
  });

  it('take() goes into debt (ingest counts a message already read); tryTake() never does', () => {
    const b = new TokenBuckets(1);
    b.take('a', 0);
    b.take('a', 0);
    b.take('a', 0);
    expect(b.available('a', 0)).toBe(-1);
    expect(b.tryTake('a', 0)).toBe(false);
    expect(b.available('a', 2000)).toBe(1);
  });

  it('keeps one bucket per token', () => {
    const b = new TokenBuckets(1);
    expect(b.tryTake('a', 0) && b.tryTake('a', 0)).toBe(true);
    expect(b.tryTake('a', 0)).toBe(false);
    expect(b.tryTake('b', 0)).toBe(true);
  });
});
