// The pure parts of a pack: conditions in plain words, the replay's starting point, reporting
// gaps, and the map's scale.
import { describe, expect, it } from 'vitest';
import { SubjectSchema } from '../../src/engine/config.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import { reportingGaps } from '../../src/evidence/pack/alert-pack.js';
import { conditionsText } from '../../src/evidence/pack/conditions-text.js';
import { ukLocal } from '../../src/evidence/pack/format.js';
import { layoutMap } from '../../src/evidence/pack/map.js';
import { LEAD_MS, stateFreeStart } from '../../src/evidence/pack/reproduce.js';

const names: Record<string, string> = { 'Z-1': "victim's home", 'Z-venue': 'programme venue' };
const zoneName = (id: string): string => (names[id] === undefined ? `zone ${id}` : `zone ${id} (${names[id]})`);

describe('conditions in plain words', () => {
  it('says each condition type with its schedule, grace, exceptions and validity', () => {
    const s = SubjectSchema.parse({
      id: 'S-1', deviceId: 'T-1', team: 't', validTo: '2027-05-01T00:00:00Z',
      conditions: [
        { id: 'c1', type: 'exclusion', zone: 'Z-1', schedule: { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' }], except: [{ from: '2026-12-25T00:00:00Z', to: '2026-12-26T00:00:00Z' }] } },
        { id: 'c4', type: 'inclusion', layer: 'west-midlands' },
        { id: 'c5', type: 'inclusion', zone: 'Z-venue', graceS: 600, schedule: { windows: [{ days: ['tue'], start: '10:00', end: '12:00' }] } },
        { id: 'c6', type: 'curfew', zone: 'Z-home', graceS: 90, schedule: { windows: [{ days: ['sat', 'sun'], start: '21:00', end: '06:00' }] } },
      ],
    });
    expect(conditionsText(s, zoneName)).toEqual([
      "Condition c1 (exclusion): Must not enter zone Z-1 (victim's home) 08:00–18:00 Mondays to Fridays; suspended Fri 25/12/2026 00:00:00 GMT (2026-12-25 00:00:00Z) to Sat 26/12/2026 00:00:00 GMT (2026-12-26 00:00:00Z).",
      'Condition c4 (inclusion): Must stay within one of the zones of layer "west-midlands" at all times.',
      "Condition c5 (inclusion): Must stay within zone Z-venue (programme venue) 10:00–12:00 on Tue, 10 minutes' grace.",
      "Condition c6 (curfew): Must be at zone Z-home 21:00–06:00 Saturdays and Sundays (overnight, ending the next morning), 90 seconds' grace.",
      'Conditions apply until Sat 01/05/2027 01:00:00 BST (2027-05-01 00:00:00Z).',
      'Monitoring status: active.',
    ]);
  });

  it('shows summer times as BST', () => {
    expect(ukLocal(Date.parse('2026-07-01T18:00:00Z'))).toBe('Wed 01/07/2026 19:00:00 BST');
  });
});

describe('where the replay starts', () => {
  const open = Date.parse('2026-11-23T19:05:00Z');
  const ev = (episodeId: string, event: 'opened' | 'closed', at: string): AlertEvent =>
    ({ episodeId, event, at, type: 'battery_low', severity: 'low', confidence: 'confirmed', subjectId: 'S', deviceId: 'D', team: 't', late: false });

  it('an hour before the opening when nothing was open then', () => {
    expect(stateFreeStart([], 'E', open)).toEqual({ startMs: open - LEAD_MS, clean: true });
  });

  it('before an episode that was open (or settling) an hour before', () => {
    const h = [ev('B', 'opened', '2026-11-23T17:30:00Z'), ev('B', 'closed', '2026-11-23T18:00:00Z')];
    expect(stateFreeStart(h, 'E', open)).toEqual({ startMs: Date.parse('2026-11-23T17:30:00Z') - 1, clean: true });
  });

  it('24 hours back, not clean, when something was open all day', () => {
    const h = [ev('B', 'closed', '2026-11-23T19:00:00Z')];
    expect(stateFreeStart(h, 'E', open)).toEqual({ startMs: open - 24 * 3600_000, clean: false });
  });
});

describe('gaps and the map', () => {
  it('flags gaps longer than 5 minutes or three times the usual interval', () => {
    const ts = [0, 60, 120, 180, 600, 660, 720].map((s) => s * 1000);
    expect(reportingGaps(ts)).toEqual([{ from: 180_000, to: 600_000 }]);
    expect(reportingGaps([0, 1000, 2000, 3000, 40_000].map((x) => x * 60))).toEqual([{ from: 180_000, to: 2_400_000 }]);
  });

  it('draws a 1-2-5 scale bar true to the ground at the centre, north up', () => {
    const p = (no: number, lat: number, lon: number) => ({ no, deviceId: 'D', seq: no, ts: no, lat, lon, accuracyM: 10, accuracyAssumed: false, speedKmh: null, headingDeg: null, relation: '', highlight: false });
    // Two positions 1 km apart north-south at 53.8 N.
    const m = layoutMap({ map: { areas: [], caption: '' }, positions: [p(1, 53.8, -1.55), p(2, 53.8 + 1000 / 111_195, -1.55)] }, 500, 400);
    expect(['200 m', '500 m', '100 m']).toContain(m.scaleBar.label);
    const barM = Number.parseInt(m.scaleBar.label, 10);
    expect(m.scaleBar.lengthPx * m.metresPerUnit).toBeCloseTo(barM, 6);
    // 1 km on the ground between the two points, measured with the map's own scale (within 0.5%).
    const [a, b] = m.fixes;
    expect(Math.abs(a.y - b.y) * m.metresPerUnit).toBeGreaterThan(995);
    expect(Math.abs(a.y - b.y) * m.metresPerUnit).toBeLessThan(1005);
    expect(b.y).toBeLessThan(a.y); // north is up
  });
});
