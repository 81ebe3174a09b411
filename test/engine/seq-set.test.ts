// SeqSet (src/engine/seq-set.ts): a device's seen sequence numbers as ranges, the newest range
// held apart for the in-order fast path. Checked against a plain Set on random streams: in
// order, with gaps, retries, back-filled gaps; and through toJSON/load (snapshots).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeqSet } from '../../src/engine/seq-set.js';

describe('SeqSet', () => {
  it('says "duplicate" exactly when a Set would, for any stream of sequence numbers', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(1), fc.constant(0), fc.integer({ min: -40, max: 40 })), { maxLength: 300 }), fc.integer({ min: 0, max: 1000 }),
        (moves, start) => {
          // A walk: mostly the next number, sometimes a repeat or a jump back or ahead.
          const s = new SeqSet();
          const seen = new Set<number>();
          let seq = start;
          for (const m of moves) {
            seq = Math.max(0, seq + m);
            expect(s.add(seq)).toBe(!seen.has(seq));
            seen.add(seq);
          }
          for (let q = 0; q <= seq + 50; q++) expect(s.has(q)).toBe(seen.has(q));
          const copy = new SeqSet();
          copy.load(s.toJSON());
          expect(copy.toJSON()).toEqual(s.toJSON());
          for (let q = 0; q <= seq + 50; q++) expect(copy.has(q)).toBe(seen.has(q));
        }),
      { numRuns: 200, seed: 0x5e95 },
    );
  });

  it('keeps ranges sorted and merged: a filled gap joins its neighbours', () => {
    const s = new SeqSet();
    for (const q of [1, 2, 3, 7, 8, 5, 4, 6, 10]) s.add(q);
    expect(s.toJSON()).toEqual([1, 8, 10, 10]);
    expect(s.add(9)).toBe(true);
    expect(s.toJSON()).toEqual([1, 10]);
    expect(s.add(10)).toBe(false);
  });

  it('forgets the oldest ranges past maxRanges', () => {
    const keep = SeqSet.maxRanges;
    SeqSet.maxRanges = 3;
    try {
      const s = new SeqSet();
      for (const q of [10, 20, 30, 40]) s.add(q);
      expect(s.toJSON()).toEqual([20, 20, 30, 30, 40, 40]);
      expect(s.add(10)).toBe(true); // forgotten, so no longer a duplicate
      expect(s.toJSON()).toEqual([20, 20, 30, 30, 40, 40]);
    } finally {
      SeqSet.maxRanges = keep;
    }
  });
});
