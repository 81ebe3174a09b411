// Crime batches as forces send them (issue 14 part 2): British National Grid conversion against
// Ordnance Survey's published points, CSV with grid and lat/lon rows and bad rows kept apart,
// the 12-hour window, UK local times across the clock changes. Pure: no database.
import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';
import { BNG_PROJ4, bngToWgs84, wgs84ToBng } from '../../src/evidence/crime/bng.js';
import { parseCrimesCsv, parseCrimesJson, BatchError, MAX_CRIMES } from '../../src/evidence/crime/crime-input.js';
import { haversineM } from '../../src/evidence/crime/geodesy.js';
import { parseCrimeTime } from '../../src/evidence/crime/local-time.js';

describe('British National Grid (proj4, 7-parameter Helmert)', () => {
  it('projects the OS guide\'s worked example (Annex C, OSGB36 52°39′27.2531″N 1°43′4.5177″E) to the millimetre', () => {
    // The projection alone, on the Airy ellipsoid: the transverse Mercator of the grid.
    const tm = BNG_PROJ4.replace(/\+towgs84=\S+ /, '');
    const [e, n] = proj4('+proj=longlat +ellps=airy +no_defs', tm).forward([1 + 43 / 60 + 4.5177 / 3600, 52 + 39 / 60 + 27.2531 / 3600]);
    expect(e).toBeCloseTo(651409.903, 2);
    expect(n).toBeCloseTo(313177.270, 2);
  });

  it('converts ETRS89/WGS84 to the grid within a few metres of OSTN (Caister water tower, the OS paper\'s example)', () => {
    // OS: ETRS89 52.658007833N 1.716073973E is OSGB36 651409.792 E, 313177.448 N (via OSTN02).
    const g = wgs84ToBng(52.658007833, 1.716073973);
    expect(Math.hypot(g.easting - 651409.792, g.northing - 313177.448)).toBeLessThan(5);
  });

  it('converts a grid reference to WGS84 within a few metres (TR 143 599: 51.297880N 1.072628E by OSTN)', () => {
    const p = bngToWgs84(614300, 159900);
    expect(haversineM(p.lat, p.lon, 51.29788, 1.072628)).toBeLessThan(5);
  });

  it('goes there and back to the centimetre', () => {
    for (const [e, n] of [[530_000, 180_000], [326_000, 673_000], [100_000, 20_000]] as const) {
      const p = bngToWgs84(e, n);
      const g = wgs84ToBng(p.lat, p.lon);
      expect(Math.hypot(g.easting - e, g.northing - n)).toBeLessThan(0.01);
    }
  });
});

describe('UK local times', () => {
  it('reads winter times as GMT and summer times as BST', () => {
    expect(new Date(parseCrimeTime('15/01/2026 22:30', 'from')!.ms).toISOString()).toBe('2026-01-15T22:30:00.000Z');
    expect(new Date(parseCrimeTime('15/07/2026 22:30', 'from')!.ms).toISOString()).toBe('2026-07-15T21:30:00.000Z');
    expect(new Date(parseCrimeTime('2026-07-15 22:30:15', 'to')!.ms).toISOString()).toBe('2026-07-15T21:30:15.000Z');
    expect(new Date(parseCrimeTime('2026-07-15T22:30:00+01:00', 'to')!.ms).toISOString()).toBe('2026-07-15T21:30:00.000Z');
    expect(parseCrimeTime('2026-07-15T22:30:00Z', 'to')!.note).toBeUndefined();
  });

  it('widens the window at the clock changes: the repeated hour (October) and the missing one (March)', () => {
    // 25 Oct 2026: 01:30 happens at 00:30Z (BST) and again at 01:30Z (GMT).
    const from = parseCrimeTime('25/10/2026 01:30', 'from')!;
    const to = parseCrimeTime('25/10/2026 01:30', 'to')!;
    expect(new Date(from.ms).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(new Date(to.ms).toISOString()).toBe('2026-10-25T01:30:00.000Z');
    expect(from.note).toMatch(/happened twice/);
    // 29 Mar 2026: 01:30 does not exist (01:00 GMT became 02:00 BST).
    const gapFrom = parseCrimeTime('29/03/2026 01:30', 'from')!;
    const gapTo = parseCrimeTime('29/03/2026 01:30', 'to')!;
    expect(gapFrom.ms).toBeLessThan(gapTo.ms);
    expect(gapTo.note).toMatch(/did not exist/);
  });

  it('refuses what is not a time or not a date', () => {
    expect(parseCrimeTime('31/02/2026 10:00', 'from')).toBeNull();
    expect(parseCrimeTime('yesterday', 'from')).toBeNull();
    expect(parseCrimeTime('2026-01-01 25:00', 'from')).toBeNull();
  });
});

describe('crime batches', () => {
  const header = 'Crime Reference,Crime Type,From,To,Latitude,Longitude,Easting,Northing,Radius (m)';

  it('reads grid and lat/lon rows side by side, and reports a bad row by row and field', () => {
    const csv = [
      header,
      'CR/1,Burglary dwelling,15/01/2026 22:00,16/01/2026 06:30,,,530000,180000,200',
      'CR/2,Theft of vehicle,2026-07-15 21:00,2026-07-15 23:00,51.5074,-0.1278,,,150',
      'CR/3,Burglary,2026-07-15 21:00,2026-07-15 23:00,51.5074,-0.1278,,,5000',
      'CR/4,Robbery,2026-07-15 21:00,2026-07-15 20:00,51.5,-0.12,,,100',
    ].join('\n');
    const b = parseCrimesCsv(csv);
    expect(b.crimes.map((c) => c.ref)).toEqual(['CR/1', 'CR/2']);
    expect(b.crimes[0].bng).toEqual({ easting: 530000, northing: 180000 });
    expect(b.crimes[0].fromMs).toBe(Date.parse('2026-01-15T22:00:00Z'));
    expect(b.crimes[1].fromMs).toBe(Date.parse('2026-07-15T20:00:00Z')); // BST
    const back = wgs84ToBng(b.crimes[0].lat, b.crimes[0].lon);
    expect(Math.hypot(back.easting - 530000, back.northing - 180000)).toBeLessThan(0.01);
    expect(b.rejected).toEqual([
      { row: 3, field: 'Radius (m)', message: expect.stringMatching(/1\.\.2000 metres/) },
      { row: 4, field: 'To', message: expect.stringMatching(/end after it starts/) },
    ]);
  });

  it('refuses a window longer than 12 hours, naming the field', () => {
    const b = parseCrimesCsv(`${header}\nCR/9,Burglary,15/01/2026 18:00,16/01/2026 08:00,,,530000,180000,200`);
    expect(b.crimes).toEqual([]);
    expect(b.rejected[0]).toMatchObject({ row: 1, field: 'To', message: expect.stringMatching(/14\.00 h; at most 12 h/) });
  });

  it('refuses grid references off the grid and coordinates out of range', () => {
    const b = parseCrimesCsv([header,
      'A,x,2026-07-15 21:00,2026-07-15 22:00,,,800000,180000,100',
      'B,x,2026-07-15 21:00,2026-07-15 22:00,95,0,,,100',
      'C,x,2026-07-15 21:00,2026-07-15 22:00,51.5,-0.12,530000,180000,100', // both, 10+ km apart
      'A,x,2026-07-15 21:00,2026-07-15 22:00,51.5,-0.12,,,100', // repeats A? A was refused, so this one stands
    ].join('\n'));
    expect(b.rejected.map((r) => [r.row, r.field])).toEqual([[1, 'Easting'], [2, 'Latitude'], [3, 'Easting']]);
    expect(b.crimes.map((c) => c.row)).toEqual([4]);
  });

  it('refuses the batch as a whole for an unknown column or an unreadable file', () => {
    expect(() => parseCrimesCsv('ref,type,from,to,lat,lon,radius,colour\n')).toThrow(/colour/);
    expect(() => parseCrimesCsv('ref,type,from,to,radius\n')).toThrow(/lat and lon/);
    expect(() => parseCrimesCsv(`${header}\n"CR/1,unterminated`)).toThrow(BatchError);
    expect(() => parseCrimesJson(Array.from({ length: MAX_CRIMES + 1 }, () => ({})))).toThrow(/at most 5000/);
  });

  it('reads the JSON form and names an unknown field', () => {
    const b = parseCrimesJson([
      { ref: 'J1', type: 'Burglary', from: '2026-07-15T20:00:00Z', to: '2026-07-15T22:00:00Z', lat: 51.5, lon: -0.12, radiusM: 100 },
      { ref: 'J2', type: 'Burglary', from: '2026-07-15T20:00:00Z', to: '2026-07-15T22:00:00Z', easting: 530000, northing: 180000, radiusM: 100, colour: 'red' },
      { ref: 'J1', type: 'Burglary', from: '2026-07-15T20:00:00Z', to: '2026-07-15T22:00:00Z', lat: 51.5, lon: -0.12, radiusM: 100 },
    ]);
    expect(b.crimes.map((c) => c.ref)).toEqual(['J1']);
    expect(b.rejected).toEqual([
      { row: 2, field: 'colour', message: expect.stringMatching(/unknown field/) },
      { row: 3, field: 'ref', message: expect.stringMatching(/repeats row 1/) },
    ]);
  });
});
