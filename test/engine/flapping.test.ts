// No flapping on GPS noise (contract §3, README "Closing: no flapping"): generated noisy tracks
// (seeded) of a subject lingering 30 minutes on an edge, then walking clearly away, for several
// noise levels and shapes. Lingering yields exactly one episode; walking away closes it within
// three minutes of leaving, with `at` = the first fix of the clearly-safe run that closed it.
import { describe, expect, it } from 'vitest';
import { mulberry32, type Rng } from '../../bench/common/prng.js';
import { compileZone, type PreparedZone } from '../../geo/index.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import { compileConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix } from '../../src/engine/fix.js';
import {
  checkEpisodeInvariants, circle, config, haversine, move, subject, Tag, type FixIn, type LatLon,
} from './scenario-helpers.js';

const START = Date.parse('2026-11-23T20:00:00Z'); // a Monday evening, GMT: inside the curfew window
const STEP_MS = 30_000; // a fix every 30 s: twice the usual rate, so more excursions
const LINGER_MS = 30 * 60_000;
const LEAVE_MS = 12 * 60_000;
const WALK_MPS = 1.4;
const H = 10; // default hysteresisM
const CLOSE_WITHIN_MS = 3 * 60_000;

/** Offset (north, east) in metres of a point `m` from `p` towards `dir` (a unit [north, east]). */
function along(p: LatLon, dir: readonly [number, number], m: number): LatLon {
  return move(p, dir[0] * m, dir[1] * m);
}

interface Sample {
  fix: FixIn;
  leaving: boolean;
  /** Metres on the breach side (negative: safe side), as the rule measures it. */
  depth: number;
  /** How far on the safe side counts as clearly safe for this fix. */
  clear: number;
}

/** A zone shape with a point on the edge the subject lingers at and the way out to the safe side. */
interface Shape {
  name: string;
  zone: object;
  cond: Record<string, unknown>;
  /** The alert type the lingering raises. */
  type: string;
  edge: LatLon;
  /** Unit [north, east] from the edge towards the safe side. */
  away: readonly [number, number];
  /** Farthest the walk goes (a curfew address: its centre). */
  walkMaxM: number;
  /** depth of a position for this shape, from the zone's signed distance (positive inside). */
  depth: (signedDistanceM: number) => number;
  /** Cap on the clearance (inside conditions: half the address's size). */
  clearCapM: number;
}

const O: LatLon = [51.5, -0.1];
const SHAPES: Shape[] = [
  {
    name: 'circle (exclusion, 200 m)',
    zone: circle('Z-C', O[1], O[0], 200),
    cond: { id: 'c1', type: 'exclusion', zone: 'Z-C' },
    type: 'exclusion', edge: move(O, 200), away: [1, 0], walkMaxM: 2000, depth: (d) => d, clearCapM: Infinity,
  },
  {
    // An L: the 400 m square minus its north-east quarter. The subject lingers at the inner
    // (concave) corner, where the noise crosses two edges, and leaves diagonally into the notch.
    name: 'concave polygon (exclusion, inner corner)',
    zone: lShape('Z-L'),
    cond: { id: 'c1', type: 'exclusion', zone: 'Z-L' },
    type: 'exclusion', edge: O, away: [Math.SQRT1_2, Math.SQRT1_2], walkMaxM: 2000, depth: (d) => d, clearCapM: Infinity,
  },
  {
    // Lingering on the outer edge of the warning band (100 m out from a 200 m circle).
    name: 'buffer band (exclusion_buffer, 100 m)',
    zone: circle('Z-C', O[1], O[0], 200),
    cond: { id: 'c1', type: 'exclusion', zone: 'Z-C', bufferM: 100 },
    type: 'exclusion_buffer', edge: move(O, 300), away: [1, 0], walkMaxM: 2000, depth: (d) => d + 100, clearCapM: Infinity,
  },
  {
    // A 60 m curfew address: lingering at its edge (in and out of the front garden), then home.
    name: 'curfew address (60 m)',
    zone: circle('Z-home', O[1], O[0], 60),
    cond: {
      id: 'c2', type: 'curfew', zone: 'Z-home', graceS: 300,
      schedule: { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '19:00', end: '07:00' }] },
    },
    type: 'curfew', edge: move(O, 60), away: [-1, 0], walkMaxM: 60, depth: (d) => -d, clearCapM: 30,
  },
];

function lShape(id: string): object {
  // Corners in metres from O: (-200,-200) .. (200,200) minus the quarter north-east of O.
  const p = (n: number, e: number): [number, number] => {
    const q = move(O, n, e);
    return [q[1], q[0]];
  };
  const ring = [p(-200, -200), p(-200, 200), p(0, 200), p(0, 0), p(200, 0), p(200, -200), p(-200, -200)];
  return { type: 'Feature', id, geometry: { type: 'Polygon', coordinates: [ring] }, properties: { name: id } };
}

/** A uniform offset in ±noise metres on each axis. */
function jitter(rng: Rng, p: LatLon, noise: number): LatLon {
  return move(p, (rng() * 2 - 1) * noise, (rng() * 2 - 1) * noise);
}

/** The lingering then leaving track of one subject, with the rule's own measurements. */
function track(shape: Shape, prepared: PreparedZone, noise: number, seed: number): Sample[] {
  const rng = mulberry32(seed);
  const tag = new Tag('TAG-1');
  const out: Sample[] = [];
  for (let ts = START; ts < START + LINGER_MS + LEAVE_MS; ts += STEP_MS) {
    const leaving = ts >= START + LINGER_MS;
    const walked = leaving ? Math.min(WALK_MPS * (ts - START - LINGER_MS) / 1000, shape.walkMaxM) : 0;
    const p = jitter(rng, along(shape.edge, shape.away, walked), noise);
    const accuracy = Math.round(10 + rng() * 5);
    const depth = shape.depth(prepared.signedDistanceM(p[1], p[0], 1e6));
    out.push({ fix: tag.at(ts, p, { accuracy }), leaving, depth, clear: Math.min(H + accuracy, shape.clearCapM) });
  }
  return out;
}

function tsOf(f: FixIn): number {
  return typeof f.ts === 'number' ? f.ts : Date.parse(f.ts);
}

/** Opened and closed events as `event type` (a confidence rising to confirmed is no new episode). */
function episodeEvents(list: readonly Emitted[]): string[] {
  return list.filter((e) => e.event.event !== 'updated').map((e) => `${e.event.event} ${e.event.type}`);
}

interface Emitted { event: AlertEvent; emittedAt: number }

/** Runs the fixes one by one, recording the fix time at which each event came out. */
function runTimed(cfg: unknown, fixes: readonly FixIn[]): Emitted[] {
  const engine = new Engine(compileConfig(cfg));
  const out: Emitted[] = [];
  for (const f of fixes) {
    engine.ingest(parseFix(f));
    for (const event of engine.drain()) out.push({ event, emittedAt: tsOf(f) });
  }
  return out;
}

const NOISE = [5, 8, 15];
const SEEDS = [1, 2, 3, 4, 5, 6];

describe.each(SHAPES)('lingering on the edge: $name', (shape) => {
  const prepared = compileZone(shape.zone);
  const cfg = config([subject([shape.cond])], [shape.zone]);

  it.each(NOISE.flatMap((n) => SEEDS.map((s) => [n, s] as const)))('±%i m noise, seed %i: one episode, closed within 3 minutes of leaving', (noise, seed) => {
    const samples = track(shape, prepared, noise, seed * 1000 + noise);
    const lingering = samples.filter((s) => !s.leaving);
    // The noise really does cross the boundary, over and over.
    expect(lingering.filter((s) => s.depth >= 0).length).toBeGreaterThanOrEqual(3);
    expect(lingering.filter((s) => s.depth < 0).length).toBeGreaterThanOrEqual(3);

    const emitted = runTimed(cfg, samples.map((s) => s.fix));
    checkEpisodeInvariants(emitted.map((e) => e.event));
    const leaveAt = START + LINGER_MS;
    // 30 minutes lingering: exactly one episode, nothing else, never closed meanwhile.
    const during = episodeEvents(emitted.filter((e) => e.emittedAt < leaveAt));
    expect(during).toEqual([`opened ${shape.type}`]);
    // Walking away: it closes, once, within three minutes of leaving.
    const after = emitted.filter((e) => e.emittedAt >= leaveAt && e.event.event !== 'updated');
    expect(episodeEvents(after)).toEqual([`closed ${shape.type}`]);
    const closed = after[0];
    expect(closed.emittedAt - leaveAt).toBeLessThanOrEqual(CLOSE_WITHIN_MS);
    // closed.at = the first fix of the clearly-safe run that closed it.
    const upTo = samples.filter((s) => tsOf(s.fix) <= closed.emittedAt);
    let first = upTo.length - 1;
    while (first > 0 && upTo[first - 1].depth <= -upTo[first - 1].clear) first--;
    expect(upTo[upTo.length - 1].depth).toBeLessThanOrEqual(-upTo[upTo.length - 1].clear);
    expect(Date.parse(closed.event.at)).toBe(tsOf(upTo[first].fix));
    expect(closed.event.fix?.seq).toBe(upTo[first].fix.seq);
    expect(Date.parse(closed.event.at)).toBeGreaterThanOrEqual(leaveAt);
  });
});

describe('lingering at distanceM from a moving victim', () => {
  const cfg = config([subject([{ id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500 }])]);

  it.each(NOISE.flatMap((n) => SEEDS.map((s) => [n, s] as const)))('±%i m noise, seed %i: one proximity episode, closed within 3 minutes of leaving', (noise, seed) => {
    const rng = mulberry32(seed * 7919 + noise);
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const victimAt = (ts: number): LatLon => move(O, 0, (ts - START) / 1000); // walks east at 1 m/s
    const fixes: FixIn[] = [];
    const leaveAt = START + LINGER_MS;
    let crossing = 0;
    for (let ts = START; ts < leaveAt + LEAVE_MS; ts += STEP_MS) {
      // The victim reports 15 s after the subject: every reading of either counts.
      const walked = ts >= leaveAt ? WALK_MPS * (ts - leaveAt) / 1000 : 0;
      const s = jitter(rng, move(victimAt(ts), 500 + walked), noise);
      const v = jitter(rng, victimAt(ts + 15_000), noise);
      fixes.push(tag.at(ts, s, { accuracy: Math.round(10 + rng() * 5) }));
      fixes.push(vic.at(ts + 15_000, v, { accuracy: Math.round(10 + rng() * 5) }));
      if (ts < leaveAt && haversine(s[0], s[1], v[0], v[1]) <= 500) crossing++;
    }
    expect(crossing).toBeGreaterThanOrEqual(3);
    const emitted = runTimed(cfg, fixes);
    checkEpisodeInvariants(emitted.map((e) => e.event));
    expect(episodeEvents(emitted.filter((e) => e.emittedAt < leaveAt))).toEqual(['opened proximity']);
    const after = emitted.filter((e) => e.emittedAt >= leaveAt && e.event.event !== 'updated');
    expect(episodeEvents(after)).toEqual(['closed proximity']);
    expect(after[0].emittedAt - leaveAt).toBeLessThanOrEqual(CLOSE_WITHIN_MS);
    const at = Date.parse(after[0].event.at);
    expect(at).toBeGreaterThanOrEqual(leaveAt);
    expect(at).toBeLessThanOrEqual(after[0].emittedAt - 120_000);
    // Clearly safe: beyond distanceM + hysteresisM + both accuracies (at least 10 each).
    // (Events carry no metres to the victim: measured here from the shown fix and the victim's
    // latest position at that time.)
    const shown = after[0].event.fix as { lat: number; lon: number };
    const v = fixes.filter((f) => f.deviceId === 'VIC-1' && (typeof f.ts === 'number' ? f.ts : Date.parse(f.ts)) <= at).at(-1) as FixIn;
    expect(haversine(shown.lat, shown.lon, v.lat as number, v.lon as number)).toBeGreaterThanOrEqual(500 + H + 20);
    expect(after[0].event.withinM).toBeUndefined();
  });
});

describe('what lingering produced before (the debounce off)', () => {
  it('with closeAfterS 0 the same ±15 m circle track flaps: several episodes, which the default setting folds into one', () => {
    const shape = SHAPES[0];
    const samples = track(shape, compileZone(shape.zone), 15, 42);
    const fixes = samples.filter((s) => !s.leaving).map((s) => s.fix);
    const opened = (settings: Record<string, unknown>): number =>
      runTimed(config([subject([shape.cond])], [shape.zone], { noFixAfterS: 1e6, offlineAfterS: 1e6, ...settings }), fixes)
        .filter((e) => e.event.event === 'opened').length;
    expect(opened({ closeAfterS: 0, hysteresisM: 0 })).toBeGreaterThan(1);
    expect(opened({})).toBe(1);
  });
});
