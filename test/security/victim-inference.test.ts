// Security wave 2, item 1 (high): the victim must not be locatable from proximity alerts.
// Before: every proximity event carried the subject's exact fix and the distance to the victim to
// 1 m, and fourteen events of one walk-past located a still victim by least squares to 0.2 m.
// Now an event carries only the band (the condition's own threshold) and the subject's own
// position, so the best fit from an episode's events is no better than the bands allow.
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import {
  config, haversine, move, run, subject, Tag, victimLeaks, type FixIn, type LatLon,
} from '../engine/scenario-helpers.js';

const V: LatLon = [51.5, -0.1]; // the victim, still
const START = Date.parse('2026-11-23T10:00:00Z');
const DISTANCE_M = 500;
const WARN_M = 1000;

/** A subject walking east past the victim, `passM` north of it, one fix every 20 s at 1.4 m/s; the victim reports every minute. */
function walkPast(passM: number): { events: AlertEvent[]; raw: string; subject: FixIn[]; victim: FixIn[] } {
  const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
  const subjectFixes: FixIn[] = [];
  const victimFixes: FixIn[] = [];
  for (let s = 0; s <= 3000; s += 20) subjectFixes.push(tag.at(START + s * 1000, move(V, passM, -2100 + 1.4 * s), { accuracy: 5 }));
  for (let s = 10; s <= 3000; s += 60) victimFixes.push(vic.at(START + s * 1000, V, { accuracy: 5 }));
  const cfg = config([subject([{ id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: DISTANCE_M, warnM: WARN_M }])]);
  const all = [...subjectFixes, ...victimFixes].sort((a, b) => Number(a.ts) - Number(b.ts));
  const r = run(cfg, all);
  return { events: r.events, raw: r.raw, subject: subjectFixes, victim: victimFixes };
}

/**
 * The attacker's least-squares fit: the point x minimising Σ (|p_i − x| − d_i)² over the events,
 * where p_i is the position an event shows and d_i the distance it states (now: its band). A grid
 * search, 10 m steps over a 4 km square around the victim, then 1 m around the best cell.
 */
function fit(events: readonly AlertEvent[]): LatLon {
  const obs = events.filter((e) => e.fix?.lat !== undefined && e.withinM !== undefined)
    .map((e) => ({ p: [e.fix?.lat as number, e.fix?.lon as number] as LatLon, d: e.withinM as number }));
  const cost = (x: LatLon): number => obs.reduce((sum, o) => sum + (haversine(o.p[0], o.p[1], x[0], x[1]) - o.d) ** 2, 0);
  let best = V;
  let bestCost = Infinity;
  const search = (centre: LatLon, halfM: number, stepM: number): void => {
    for (let n = -halfM; n <= halfM; n += stepM) {
      for (let e = -halfM; e <= halfM; e += stepM) {
        const x = move(centre, n, e);
        const c = cost(x);
        if (c < bestCost) {
          bestCost = c;
          best = x;
        }
      }
    }
  };
  search(V, 2000, 10);
  search(best, 10, 1);
  return best;
}

describe('the victim cannot be located from proximity alerts', () => {
  it.each([150, 300, 450])('a walk-past %i m from a still victim: events carry bands, not metres; the best fit misses by far more than metres', (passM) => {
    const w = walkPast(passM);
    const prox = w.events.filter((e) => e.type === 'proximity' || e.type === 'proximity_warning');
    expect(prox.some((e) => e.type === 'proximity'), 'the walk-past must breach distanceM').toBe(true);
    for (const e of prox) {
      expect((e as unknown as Record<string, unknown>).distanceM).toBeUndefined();
      // Only the band the subject was in: within distanceM, or within warnM.
      if (e.event === 'closed') expect(e.withinM).toBeUndefined();
      else expect(e.withinM).toBe(e.type === 'proximity' ? DISTANCE_M : WARN_M);
      // Whoever's fix triggered it, the event shows the subject's own position only.
      if (e.fix?.lat !== undefined) expect(w.subject.some((f) => f.lat === e.fix?.lat && f.lon === e.fix?.lon)).toBe(true);
    }
    expect(victimLeaks(w.raw, w.events, w.victim, w.subject)).toEqual([]);
    // Before, the same fit from metre distances came within 0.2 m. With bands it can do no better
    // than the geometry of the bands: tens to hundreds of metres off.
    const x = fit(prox);
    expect(haversine(x[0], x[1], V[0], V[1])).toBeGreaterThan(50);
  });

  it('the fit was exact with metre distances (the attack this test guards against works on the old format)', () => {
    const w = walkPast(150);
    // Re-create what the old events said: the subject's shown fix and its distance to the victim, to 1 m.
    const old = w.events.filter((e) => e.fix?.lat !== undefined && (e.type === 'proximity' || e.type === 'proximity_warning'))
      .map((e) => ({ ...e, withinM: Math.round(haversine(e.fix?.lat as number, e.fix?.lon as number, V[0], V[1])) }));
    const x = fit(old);
    expect(haversine(x[0], x[1], V[0], V[1])).toBeLessThan(5);
  });
});
