// Three monitored people in Leeds on Monday 23 November 2026 (GMT): a curfew breach, an
// exclusion-zone entry and a proximity breach, one fix a minute (seeded, deterministic).
import type { FixInput } from '../../src/engine/fix.js';
import { offset, type Scenario } from './archive-fixture.js';

export const DAY = Date.parse('2026-11-23T00:00:00Z');
const at = (hh: number, mm: number, ss = 0): number => DAY + ((hh * 60 + mm) * 60 + ss) * 1000;
export const CONFIG_AT = Date.parse('2026-11-20T09:00:00Z');

export const HOME = { lat: 53.8, lon: -1.55 };
export const VICTIM_HOME_ZONE = { lat: 53.81, lon: -1.54 };
/** Where the protected person (proximity scenario) stays: must never appear in a pack. */
export const VICTIM = { lat: 53.7931, lon: -1.5617 };

function walk(deviceId: string, from: number, to: number, where: (t: number, i: number) => { lat: number; lon: number }, extra: (t: number, i: number) => Partial<FixInput> = () => ({})): FixInput[] {
  const out: FixInput[] = [];
  let seq = 1000;
  for (let t = from, i = 0; t <= to; t += 60_000, i++) {
    const p = where(t, i);
    out.push({ deviceId, seq: seq++, ts: new Date(t).toISOString(), lat: p.lat, lon: p.lon, accuracy: 6 + (i % 4) * 2, ...extra(t, i) });
  }
  return out;
}

/** Curfew 19:00-07:00, 5 min grace; out until 19:38, home after; a 20-minute reporting gap from 19:45. */
export function curfewScenario(): Scenario {
  const fixes = walk('TAG-C', at(14, 0), at(21, 0), (t) => {
    if (t < at(18, 30)) return offset(HOME.lat, HOME.lon, 600 + ((t / 60_000) % 7) * 10, 200);
    if (t < at(18, 56)) return offset(HOME.lat, HOME.lon, 5, 5);
    if (t < at(19, 38)) return offset(HOME.lat, HOME.lon, 300 + ((t - at(18, 56)) / 60_000) * 4, -150);
    return offset(HOME.lat, HOME.lon, -4, 6);
  }, (t, i) => ({ battery: +(0.9 - i * 0.001).toFixed(3), strap: 'ok' }))
    .filter((f) => { const t = Date.parse(f.ts as string); return t < at(19, 45) || t >= at(20, 5); });
  return {
    zones: [{ type: 'Feature', id: 'Z-home-C', geometry: { type: 'Point', coordinates: [HOME.lon, HOME.lat] }, properties: { radiusM: 60, name: 'Curfew address' } }],
    subjects: [{
      id: 'S-CUR', deviceId: 'TAG-C', team: 'iom-north', risk: 'high', name: 'J. Bloggs',
      conditions: [{ id: 'c2', type: 'curfew', zone: 'Z-home-C', graceS: 300, schedule: { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '19:00', end: '07:00' }] } }],
    }],
    configAt: CONFIG_AT,
    fixes,
  };
}

const square = (c: { lat: number; lon: number }, halfM: number): number[][][] => {
  const a = offset(c.lat, c.lon, -halfM, -halfM), b = offset(c.lat, c.lon, halfM, halfM);
  return [[[a.lon, a.lat], [b.lon, a.lat], [b.lon, b.lat], [a.lon, b.lat], [a.lon, a.lat]]];
};

/** Exclusion zone (victim's home), always; enters at 11:00 for a quarter of an hour. */
export function exclusionScenario(): Scenario {
  const fixes = walk('TAG-E', at(8, 0), at(12, 0), (t) => {
    if (t < at(10, 40)) return offset(VICTIM_HOME_ZONE.lat, VICTIM_HOME_ZONE.lon, -900, -400);
    if (t < at(11, 0)) return offset(VICTIM_HOME_ZONE.lat, VICTIM_HOME_ZONE.lon, -900 + ((t - at(10, 40)) / 60_000) * 45, -400 + ((t - at(10, 40)) / 60_000) * 20);
    if (t < at(11, 15)) return offset(VICTIM_HOME_ZONE.lat, VICTIM_HOME_ZONE.lon, ((t / 60_000) % 3) * 8 - 8, 10);
    return offset(VICTIM_HOME_ZONE.lat, VICTIM_HOME_ZONE.lon, ((t - at(11, 15)) / 60_000) * 50, 400);
  }, (_t, i) => ({ battery: 0.6, strap: i === 200 ? 'open' : 'ok' }));
  return {
    zones: [{ type: 'Feature', id: 'Z-victim', geometry: { type: 'Polygon', coordinates: square(VICTIM_HOME_ZONE, 80) }, properties: { name: "victim's home" } }],
    subjects: [{ id: 'S-EXC', deviceId: 'TAG-E', team: 'iom-north', risk: 'very_high', conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-victim', bufferM: 100 }] }],
    configAt: CONFIG_AT,
    fixes,
  };
}

/** Proximity: the protected person stays at VICTIM; the subject passes within 300 m at 16:00. */
export function proximityScenario(): Scenario {
  const subject = walk('TAG-P', at(13, 0), at(17, 0), (t) => {
    const minutes = (t - at(16, 0)) / 60_000;
    return offset(VICTIM.lat, VICTIM.lon, minutes * 60 + 170, 300);
  });
  const victim = walk('VIC-9', at(12, 58), at(17, 0), () => VICTIM).filter((_f, i) => i % 2 === 0);
  return {
    zones: [],
    subjects: [{ id: 'S-PRX', deviceId: 'TAG-P', team: 'iom-south', risk: 'medium', domesticAbuse: true, conditions: [{ id: 'c3', type: 'proximity', victimDeviceId: 'VIC-9', distanceM: 500, warnM: 1000 }] }],
    configAt: CONFIG_AT,
    fixes: [...subject, ...victim],
  };
}
