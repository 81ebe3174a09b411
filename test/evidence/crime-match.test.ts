// Crime-scene matching against a REAL PostgreSQL/PostGIS archive (issue 14 part 2): accuracy
// circles, interpolated lines, gaps, victim units never matched, and the whole matcher checked
// against a brute-force haversine over the same fixes on generated trails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Crime } from '../../src/evidence/crime/crime-input.js';
import { haversineM } from '../../src/evidence/crime/geodesy.js';
import { DEFAULT_PARAMS } from '../../src/evidence/crime/match-subject.js';
import { clusterDay } from '../../src/evidence/crime/compact-day.js';
import { matchCrimes } from '../../src/evidence/crime/matcher.js';
import { insertFixes, offset, SCENE, type ArchiveFix } from '../support/crime.js';
import { freshArchive, type TestArchive } from '../support/pg.js';
import { mulberry32 } from '../../bench/common/prng.js';

const T0 = Date.parse('2026-11-20T20:00:00Z');
const MIN = 60_000;

function crime(ref: string, over: Partial<Crime> = {}): Crime {
  return { row: 1, ref, type: 'Burglary', fromMs: T0, toMs: T0 + 60 * MIN, lat: SCENE.lat, lon: SCENE.lon, bng: null, radiusM: 50, notes: [], ...over };
}

function at(deviceId: string, subjectId: string | null, seq: number, ms: number, east: number, north: number, accuracyM: number | null = 10): ArchiveFix {
  return { deviceId, subjectId, seq, ms, ...offset(east, north), accuracyM };
}

describe('crime matching (real PostGIS)', () => {
  let a: TestArchive;
  beforeAll(async () => { a = await freshArchive(); });
  afterAll(async () => { await a?.drop(); });

  it('counts a fix whose accuracy circle reaches the radius, and says it rests on the circle alone', async () => {
    await insertFixes(a.db, [
      at('T-A', 'S-A', 1, T0 + 30 * MIN, 60, 0, 20), // 60 m, ±20 m: reaches 50 m
      at('T-B', 'S-B', 1, T0 + 30 * MIN, 80, 0, 20), // 80 m, ±20 m: does not
      at('T-C', 'S-C', 1, T0 + 30 * MIN, 0, 30, 5), // 30 m: inside
      at('T-D', 'S-D', 1, T0 - 20 * MIN, 0, 10, 5), // inside, but before the window
    ]);
    const { results } = await matchCrimes(a.db, [crime('ACC')], { params: DEFAULT_PARAMS, excludeDevices: [] });
    const c = results[0].candidates;
    expect(c.map((k) => [k.subjectId, k.basis])).toEqual([['S-C', 'fix'], ['S-A', 'accuracy']]);
    const sa = c.find((k) => k.subjectId === 'S-A')!;
    expect(sa.fixes).toHaveLength(1);
    expect(sa.fixes[0]).toMatchObject({ accuracyM: 20, onlyByAccuracy: true, deviceId: 'T-A' });
    expect(sa.fixes[0].distanceM).toBeCloseTo(60, 0);
    expect(sa.closest).toMatchObject({ kind: 'fix', at: new Date(T0 + 30 * MIN).toISOString() });
  });

  it('flags a straight line between two fixes that passes through the circle as an interpolated passage, with speed and direction', async () => {
    // 600 m west to east in one minute (36 km/h), right across the scene.
    await insertFixes(a.db, [
      at('T-E', 'S-E', 1, T0 + 9 * MIN, -900, 5), at('T-E', 'S-E', 2, T0 + 10 * MIN, -300, 5),
      at('T-E', 'S-E', 3, T0 + 11 * MIN, 300, 5), at('T-E', 'S-E', 4, T0 + 12 * MIN, 900, 5),
    ]);
    const { results } = await matchCrimes(a.db, [crime('INT', { lat: offset(0, 0).lat + 1 / 111, lon: SCENE.lon + 1 / 60 })], { params: DEFAULT_PARAMS, excludeDevices: [] });
    expect(results[0].candidates).toEqual([]); // far from everyone
    const r = await matchCrimes(a.db, [crime('INT2', { lat: offset(0, 0).lat, lon: offset(0, 0).lon })], { params: DEFAULT_PARAMS, excludeDevices: [] });
    const e = r.results[0].candidates.find((k) => k.subjectId === 'S-E')!;
    expect(e.basis).toBe('interpolated');
    expect(e.fixes).toEqual([]);
    expect(e.passages).toHaveLength(1);
    expect(e.passages[0].closestM).toBeCloseTo(5, 0);
    expect(e.passages[0].closestAt).toBe(new Date(T0 + 10.5 * MIN).toISOString());
    expect(e.closest).toMatchObject({ kind: 'interpolated' });
  });

  it('flags a gap in reporting: a possible passage when the line crosses the circle, "near the scene" when both sides are close', async () => {
    await insertFixes(a.db, [
      // S-F: 300 m north at 20:10, silent, 300 m south at 20:50 (one sequence step: the tag sent nothing).
      at('T-F', 'S-F', 1, T0 + 10 * MIN, 10, 300), at('T-F', 'S-F', 2, T0 + 50 * MIN, 10, -300),
      // S-G: 200 m north-east, silent 30 min, 200 m north-west: the line stays 200 m away.
      at('T-G', 'S-G', 1, T0 + 20 * MIN, 100, 200), at('T-G', 'S-G', 2, T0 + 50 * MIN, -100, 200),
      // S-H: supporting fixes, then a 20-minute gap far away (still reported as a gap).
      at('T-H', 'S-H', 1, T0 + 5 * MIN, 0, 20), at('T-H', 'S-H', 2, T0 + 6 * MIN, 0, 100), at('T-H', 'S-H', 3, T0 + 26 * MIN, 0, 150),
    ]);
    const { results } = await matchCrimes(a.db, [crime('GAP', { lat: offset(0, 0).lat, lon: offset(0, 0).lon })], { params: DEFAULT_PARAMS, excludeDevices: [] });
    const by = new Map(results[0].candidates.map((k) => [k.subjectId, k]));
    const f = by.get('S-F')!;
    expect(f.basis).toBe('gap');
    expect(f.gaps).toEqual([expect.objectContaining({ durationS: 2400, possiblePassage: true })]);
    expect(f.gaps[0].closestM).toBeLessThan(11);
    const g = by.get('S-G')!;
    expect(g.basis).toBe('gap');
    expect(g.gaps).toEqual([expect.objectContaining({ durationS: 1800, possiblePassage: false, nearScene: true })]);
    const h = by.get('S-H')!;
    expect(h.basis).toBe('fix');
    expect(h.fixes[0].speedMps).toBeCloseTo(80 / 60, 1); // to the next fix, a minute on
    expect(h.fixes[0].headingDeg).toBe(0); // due north
    expect(h.gaps).toEqual([expect.objectContaining({ durationS: 1200 })]);
  });

  it('answers the same once the day is clustered by subject and time (closed-day compaction)', async () => {
    const crimes = [crime('CL1', { lat: offset(0, 0).lat, lon: offset(0, 0).lon }), crime('CL2', { radiusM: 200 })];
    const before = await matchCrimes(a.db, crimes, { params: DEFAULT_PARAMS, excludeDevices: [] });
    expect(await clusterDay(a.db, T0)).toBe(true);
    const after = await matchCrimes(a.db, crimes, { params: DEFAULT_PARAMS, excludeDevices: [] });
    expect(after.results).toEqual(before.results);
    expect(before.results[1].candidates.length).toBeGreaterThan(3);
    expect(await clusterDay(a.db, Date.parse('2030-01-01T00:00:00Z'))).toBe(false);
  });

  it('never matches a victim unit, whatever its row says', async () => {
    await insertFixes(a.db, [
      at('VIC-1', 'S-V1', 1, T0 + 30 * MIN, 0, 1), // a register victim unit (passed by the service)
      at('VIC-2', 'S-V2', 1, T0 + 30 * MIN, 0, 2), // recorded as a victim unit in the archive's history
      at('VIC-3', 'S-V3', 1, T0 + 30 * MIN, 0, 3), // a victim's device the live engine knows
      at('VIC-4', null, 1, T0 + 30 * MIN, 0, 4), // nobody's
      at('T-W', 'S-W', 1, T0 + 30 * MIN, 0, 5),
    ]);
    await a.db.query(`INSERT INTO config_changes (kind, item_id, at, body) VALUES ('device', 'VIC-2', now(), '{"id":"VIC-2","kind":"victim_unit","status":"fitted"}')`);
    const { results } = await matchCrimes(a.db, [crime('VIC', { fromMs: T0 + 29 * MIN, toMs: T0 + 31 * MIN, radiusM: 20 })], {
      params: DEFAULT_PARAMS, excludeDevices: ['VIC-1'], isExcludedDevice: (id) => id === 'VIC-3',
    });
    const subjects = results[0].candidates.map((k) => k.subjectId);
    expect(subjects).toContain('S-W');
    expect(subjects.filter((s) => s.startsWith('S-V'))).toEqual([]);
    expect(JSON.stringify(results)).not.toMatch(/VIC-/);
  });

  it('finds what a brute-force haversine over the same fixes finds, on generated trails', async () => {
    const b = await freshArchive();
    try {
      const rnd = mulberry32(20261206);
      const base = Date.parse('2026-11-21T00:00:00Z');
      const fixes: ArchiveFix[] = [];
      const trails = new Map<string, ArchiveFix[]>();
      for (let s = 0; s < 40; s++) {
        let x = (rnd() - 0.5) * 3000, y = (rnd() - 0.5) * 3000;
        const trail: ArchiveFix[] = [];
        let seq = 0;
        for (let m = 0; m < 360; m++) {
          const speed = rnd() < 0.2 ? 250 : 60; // metres a minute: walking, sometimes driving
          x += (rnd() - 0.5) * 2 * speed; y += (rnd() - 0.5) * 2 * speed;
          x = Math.max(-1500, Math.min(1500, x)); y = Math.max(-1500, Math.min(1500, y));
          seq++;
          if (rnd() < 0.15 && m % 40 < 15) continue; // dropouts: gaps in reporting
          const acc = rnd() < 0.1 ? 60 + rnd() * 400 : 3 + rnd() * 25;
          const f = at(`T-${s}`, `S-${s}`, seq, base + m * MIN + Math.floor(rnd() * 20_000), x, y, rnd() < 0.05 ? null : Math.round(acc));
          trail.push(f);
          fixes.push(f);
        }
        trails.set(`S-${s}`, trail);
      }
      await insertFixes(b.db, fixes);
      const crimes: Crime[] = [];
      for (let i = 0; i < 40; i++) {
        const from = base + Math.floor(rnd() * 300) * MIN;
        const p = offset((rnd() - 0.5) * 2600, (rnd() - 0.5) * 2600);
        crimes.push(crime(`G${i}`, { ...p, fromMs: from, toMs: from + (5 + Math.floor(rnd() * 120)) * MIN, radiusM: 20 + Math.round(rnd() * 280) }));
      }
      const P = DEFAULT_PARAMS;
      const { results } = await matchCrimes(b.db, crimes, { params: P, excludeDevices: [] });

      // Brute force: every fix and every line of every trail, by haversine; lines sampled every metre.
      const sampleMin = (c: Crime, a0: ArchiveFix, b0: ArchiveFix): number => {
        const t0 = Math.max(a0.ms, c.fromMs), t1 = Math.min(b0.ms, c.toMs);
        const len = haversineM(a0.lat, a0.lon, b0.lat, b0.lon);
        const steps = Math.max(1, Math.ceil(len));
        let best = Infinity;
        for (let k = 0; k <= steps; k++) {
          const t = t0 + ((t1 - t0) * k) / steps;
          const f = (t - a0.ms) / (b0.ms - a0.ms);
          best = Math.min(best, haversineM(c.lat, c.lon, a0.lat + f * (b0.lat - a0.lat), a0.lon + f * (b0.lon - a0.lon)));
        }
        return best;
      };
      let checked = 0, lines = 0;
      for (let i = 0; i < crimes.length; i++) {
        const c = crimes[i];
        const got = new Map(results[i].candidates.map((k) => [k.subjectId, k]));
        for (const [subjectId, trail] of trails) {
          const cand = got.get(subjectId);
          // Supporting fixes: exactly the fixes inside the window with distance − accuracy ≤ radius.
          const want = trail.filter((f) => f.ms >= c.fromMs && f.ms <= c.toMs && haversineM(c.lat, c.lon, f.lat, f.lon) - Math.min(f.accuracyM ?? 10, P.accuracyCapM) <= c.radiusM);
          expect((cand?.fixes ?? []).map((f) => f.at), `${c.ref} ${subjectId}`).toEqual(want.map((f) => new Date(f.ms).toISOString()));
          if (want.length > 0) {
            const nearest = Math.min(...want.map((f) => haversineM(c.lat, c.lon, f.lat, f.lon)));
            expect(cand!.closest.distanceM).toBeCloseTo(nearest, 0);
            checked++;
          }
          // Lines: a line clearly through the circle (≥ 1 m inside) between fixes neither of which is
          // inside, short enough to be searched (≤ 2 × ringM), is reported; one clearly outside is not.
          for (let k = 0; k + 1 < trail.length; k++) {
            const f0 = trail[k], f1 = trail[k + 1];
            if (f1.ms <= c.fromMs || f0.ms >= c.toMs) continue;
            const d0 = haversineM(c.lat, c.lon, f0.lat, f0.lon), d1 = haversineM(c.lat, c.lon, f1.lat, f1.lon);
            if (d0 <= c.radiusM + 1 || d1 <= c.radiusM + 1) continue;
            const isGap = f1.ms - f0.ms > P.gapS * 1000;
            const min = sampleMin(c, f0, f1);
            const reported = [...(cand?.passages ?? []), ...(cand?.gaps ?? [])].some((p) => p.from.at === new Date(f0.ms).toISOString() && p.closestM <= c.radiusM);
            if (min < c.radiusM - 1 && haversineM(f0.lat, f0.lon, f1.lat, f1.lon) <= 2 * P.ringM) {
              expect(reported, `${c.ref} ${subjectId} ${isGap ? 'gap' : 'line'} from ${new Date(f0.ms).toISOString()} passes ${min.toFixed(1)} m`).toBe(true);
              lines++;
            }
            if (min > c.radiusM + 1) expect(reported).toBe(false);
          }
        }
      }
      expect(checked).toBeGreaterThan(20);
      expect(lines).toBeGreaterThan(5);
    } finally {
      await b.drop();
    }
  });
});
