// The sliced snapshot (committer.ts stringifySliced) must be the same bytes as JSON.stringify of
// the same snapshot: restore parses it, and an optimisation must not change what is stored.
import { describe, expect, it } from 'vitest';
import { stringifySliced } from '../../src/server/committer.js';
import type { EngineSnapshot } from '../../src/engine/engine.js';

function snapshotOf(devices: number, subjects: number): EngineSnapshot {
  return {
    v: 1, clockMs: 1_795_400_000_123, started: true,
    devices: Array.from({ length: devices }, (_, i) => ({
      id: `TAG-${i}`, seen: [1, i + 1], newestMs: 1_795_400_000_000 + i, firstMessageMs: null, lastMessageMs: 1_795_400_000_000, lastHeardMs: null,
      lastPositionMs: 1_795_400_000_000, lastFix: [i, 1_795_400_000_000, 53.8 + i / 1e6, -1.55, i % 3 === 0 ? null : 4.5], recent: [1, null, 3.25], recentN: 2, lastLateMs: null,
    })),
    subjects: Array.from({ length: subjects }, (_, i) => ({
      id: `S-${i}`, health: [null, { open: [`ep-${i}`, 'tamper', 5, 'high', false], late: null, lateLastMs: 0, hist: [], histN: 0, safe: null }],
      conditions: [{ id: 'c1', type: 'exclusion', track: null, layer: i % 2 === 0 ? null : [['Z "quoted" é', { pendingSinceMs: null, breach: null, warn: null }]], endTimerMs: null }],
    })) as EngineSnapshot['subjects'],
    timers: [{ due: 5, order: 1, kind: 2, subjectId: 'S-1', cond: 0, endMs: null }],
  };
}

describe('sliced snapshot', () => {
  for (const [d, s] of [[0, 0], [1, 0], [0, 3], [1999, 2000], [2000, 2001], [4500, 4100]]) {
    it(`is byte for byte JSON.stringify (${d} devices, ${s} subjects)`, async () => {
      const snap = snapshotOf(d, s);
      const sliced = await stringifySliced(snap, () => true);
      expect(sliced?.toString('utf8')).toBe(JSON.stringify(snap));
    });
  }

  it('stops when it is no longer wanted (a newer snapshot, a failed write)', async () => {
    let turns = 0;
    const sliced = await stringifySliced(snapshotOf(9000, 0), () => ++turns < 2);
    expect(sliced).toBeNull();
    expect(turns).toBe(2);
  });
});
