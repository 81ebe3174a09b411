// The engine's fast path (src/engine/condition-slots.ts) skips a condition when its row says the
// rules would change nothing: far from an exclusion zone, deep inside a curfew address, far from
// a victim, with nothing open or pending; or outside its schedule or inside a curfew's grace.
// These tests walk subjects at random around every kind of condition, often right at the edges
// and bands, and check the events are exactly those of the engine judging every condition in full.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { useConditionRows } from '../../src/engine/condition-slots.js';
import { replay } from '../../src/cli/replay.js';
import { circle, config, day, homeZone, HOME, move, ndjson, rect, Tag, ZX_CENTRE, zoneX, subject, type FixIn, type LatLon } from './scenario-helpers.js';

const t0 = Date.parse('2026-11-23T18:40:00Z');
const t = day('2026-11-23');

function both(cfg: unknown, fixes: FixIn[]): { fast: string; full: string } {
  useConditionRows(true);
  const fast = replay(cfg, ndjson(fixes));
  useConditionRows(false);
  const full = replay(cfg, ndjson(fixes));
  useConditionRows(true);
  expect(fast.errors).toEqual([]);
  return { fast: fast.output as string, full: full.output as string };
}

afterEach(() => useConditionRows(true));

const POLY: LatLon = [51.48, -0.16];
function world(): unknown {
  return config([
    subject([
      { id: 'x', type: 'exclusion', zone: 'Z-X', bufferM: 200 },
      { id: 'c', type: 'curfew', zone: 'Z-home', graceS: 300, schedule: { windows: [{ days: ['mon'], start: '19:00', end: '07:00' }] } },
      { id: 'p', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 300, warnM: 600 },
    ]),
    subject([
      { id: 'r', type: 'exclusion', zone: 'Z-round', bufferM: 50, schedule: { windows: [{ days: ['mon'], start: '18:50', end: '19:10' }] } },
      { id: 'q', type: 'exclusion', zone: 'Z-poly' },
    ], { id: 'S-2', deviceId: 'TAG-2', risk: 'low' }),
    subject([
      { id: 'c', type: 'curfew', zone: 'Z-home', graceS: 120, schedule: { windows: [{ days: ['mon'], start: '18:45', end: '07:00' }] } },
    ], { id: 'S-3', deviceId: 'TAG-3' }),
  ], [zoneX(), homeZone(), circle('Z-round', HOME[1], HOME[0], 400), rect('Z-poly', POLY[1], POLY[0], POLY[1] + 0.004, POLY[0] + 0.003)],
  { noFixAfterS: 900, offlineAfterS: 1800 });
}

/** Anchors the walks jump between: inside, on and around each zone's edge and band, and far away. */
const ANCHORS: LatLon[] = [ZX_CENTRE, move(ZX_CENTRE, -560), move(ZX_CENTRE, -700), move(ZX_CENTRE, -760), HOME, move(HOME, 40), move(HOME, 57), move(HOME, 63),
  move(HOME, 380), move(HOME, 430), move(HOME, 470), POLY, move(POLY, -5), move(HOME, 5000, 3000)];

const step = fc.record({
  anchor: fc.integer({ min: 0, max: ANCHORS.length - 1 }),
  north: fc.integer({ min: -120, max: 120 }),
  east: fc.integer({ min: -120, max: 120 }),
  accuracy: fc.integer({ min: 2, max: 150 }),
  heartbeat: fc.integer({ min: 0, max: 9 }),
  gapS: fc.integer({ min: 10, max: 200 }),
  /** Metres per unit of north/east: 1, or 0.05 to linger within a few metres of an anchor (an edge). */
  fine: fc.boolean(),
});

/** Around the curfew address only (S-3 stays near home, so its track is often idle). */
const HOME_ANCHORS = [4, 5, 6, 7];

function walk(tag: Tag, steps: { anchor: number; north: number; east: number; accuracy: number; heartbeat: number; gapS: number; fine: boolean }[], only?: number[]): FixIn[] {
  let ts = t0;
  return steps.map((s) => {
    ts += s.gapS * 1000;
    if (s.heartbeat === 0) return tag.beat(ts);
    const k = s.fine ? 0.05 : 1;
    const anchor = only === undefined ? ANCHORS[s.anchor] : ANCHORS[only[s.anchor % only.length]];
    return tag.at(ts, move(anchor, s.north * k, s.east * k), { accuracy: s.accuracy });
  });
}

function merge(...lists: FixIn[][]): FixIn[] {
  return lists.flat().sort((a, b) => (a.ts as number) - (b.ts as number));
}

describe('the fast path gives the same events as judging every condition in full', () => {
  it('random walks around exclusion zones (circle, polygon, buffers, schedule), a curfew and a moving victim', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 60 }), fc.array(step, { minLength: 5, maxLength: 60 }), fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(step, { minLength: 5, maxLength: 60 }),
        (a, b, v, h) => {
          const fixes = merge(walk(new Tag('TAG-1'), a), walk(new Tag('TAG-2'), b), walk(new Tag('VIC-1'), v), walk(new Tag('TAG-3'), h, HOME_ANCHORS));
          const { fast, full } = both(world(), fixes);
          expect(fast).toBe(full);
        }),
      { numRuns: 150, seed: 0x5107 },
    );
  });

  it('a subject home and idle at the curfew deadline raises nothing, one out raises the curfew (fast and full agree)', () => {
    const a = new Tag('TAG-1');
    const fixes = [a.at(t('18:55'), HOME), a.at(t('19:04'), HOME), a.at(t('19:06'), HOME), a.at(t('19:20'), move(HOME, 900))];
    const { fast, full } = both(world(), fixes);
    expect(fast).toBe(full);
    const events = fast.trim().split('\n').map((l) => JSON.parse(l) as { type: string; event: string; at: string });
    expect(events.filter((e) => e.type === 'curfew').map((e) => `${e.event} ${e.at}`)).toEqual(['opened 2026-11-23T19:20:00Z']);
  });
});
