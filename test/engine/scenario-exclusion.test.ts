// Exclusion zones and their warning band, as the contract (§2, §3) and the README ("Engine
// semantics": Episodes, Conditions, Confidence and drift) describe them.
import { describe, expect, it } from 'vitest';
import { compileZone } from '../../geo/index.js';
import { compileConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix } from '../../src/engine/fix.js';
import {
  checkEpisodeInvariants, circle, config, day, move, rect, rectWithHole, run, southOfX, subject, Tag, trace,
  ZX, ZX_CENTRE, zoneX, type LatLon,
} from './scenario-helpers.js';

const t = day('2026-11-23'); // a Monday, GMT (London = UTC)
const excl = (extra: object = {}): object => ({ id: 'c1', type: 'exclusion', zone: 'Z-X', ...extra });
const FAR: LatLon = southOfX(500);

describe('exclusion: a single polygon zone', () => {
  it('opens on the first fix inside and closes on the first fix well outside: one episode, not one alert per fix', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([excl()])], [zoneX()]), [
      tag.at(t('10:00'), FAR),
      tag.at(t('10:05'), ZX_CENTRE),
      tag.at(t('10:06'), move(ZX_CENTRE, 30)),
      tag.at(t('10:07'), move(ZX_CENTRE, -30)),
      tag.at(t('10:15'), FAR),
      tag.at(t('10:20'), FAR),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual([
      'opened exclusion 2026-11-23T10:05:00Z',
      'closed exclusion 2026-11-23T10:15:00Z',
    ]);
    const [opened, closed] = r.events;
    expect(opened).toEqual({
      episodeId: 'S-1:c1:2026-11-23T10:05:00Z',
      event: 'opened', type: 'exclusion', severity: 'critical', confidence: 'confirmed',
      subjectId: 'S-1', deviceId: 'TAG-1', conditionId: 'c1', zoneId: 'Z-X', team: 'team-a',
      at: '2026-11-23T10:05:00Z', fix: { seq: 2, lat: ZX_CENTRE[0], lon: ZX_CENTRE[1], accuracy: 5 }, late: false,
    });
    // Keys in the contract's order (byte-stable output).
    expect(Object.keys(opened)).toEqual([
      'episodeId', 'event', 'type', 'severity', 'confidence', 'subjectId', 'deviceId', 'conditionId', 'zoneId',
      'team', 'at', 'fix', 'late',
    ]);
    expect(closed.episodeId).toBe(opened.episodeId);
    expect(closed.fix).toEqual({ seq: 5, lat: FAR[0], lon: FAR[1], accuracy: 5 });
    expect(closed.late).toBe(false);
  });

  it('counts the boundary as inside (a fix exactly on the edge opens an episode, possible)', () => {
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([excl()])], [zoneX()]), [
      tag.at(t('10:00'), FAR),
      tag.at(t('10:05'), [ZX.lat0, -0.125]),
    ], undefined, true)).toEqual(['opened exclusion@Z-X 2026-11-23T10:05:00Z possible']);
  });

  it('the same zone referenced by two subjects gives each subject its own episode', () => {
    const a = new Tag('TAG-1'), b = new Tag('TAG-2');
    const r = run(config([
      subject([excl()]),
      subject([excl({ id: 'k7' })], { id: 'S-2', deviceId: 'TAG-2', team: 'team-b' }),
    ], [zoneX()]), [
      a.at(t('10:00'), ZX_CENTRE),
      b.at(t('10:01'), ZX_CENTRE),
    ]);
    expect(r.events.map((e) => [e.episodeId, e.team])).toEqual([
      ['S-1:c1:2026-11-23T10:00:00Z', 'team-a'],
      ['S-2:k7:2026-11-23T10:01:00Z', 'team-b'],
    ]);
  });

  it('with dwellS the breach must persist; the episode id starts at the first breaching fix, `at` is the fix that completed the dwell', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([excl({ dwellS: 60 })])], [zoneX()]), [
      tag.at(t('10:00'), FAR),
      tag.at(t('10:01'), ZX_CENTRE), // starts a run
      tag.at(t('10:01:30'), FAR), // broken
      tag.at(t('10:02'), ZX_CENTRE), // starts again
      tag.at(t('10:02:30'), ZX_CENTRE),
      tag.at(t('10:03'), ZX_CENTRE), // 60 s in breach
    ]);
    expect(r.events.map((e) => [e.event, e.episodeId, e.at])).toEqual([
      ['opened', 'S-1:c1:2026-11-23T10:02:00Z', '2026-11-23T10:03:00Z'],
    ]);
  });
});

describe('exclusion: polygon with a hole, circle zone', () => {
  // The hole is the middle of Z-X; its centre is Z-X's centre.
  const holed = rectWithHole('Z-X', [ZX.lon0, ZX.lat0, ZX.lon1, ZX.lat1], [-0.127, 51.503, -0.123, 51.507]);
  const RING: LatLon = [51.5015, -0.125]; // between the outer south edge and the hole, ~167 m from each

  it.each<[string, LatLon[], string[]]>([
    ['in the hole is outside', [ZX_CENTRE, move(ZX_CENTRE, 50)], []],
    // Debounced closing: the close is emitted once the subject has stayed in the hole closeAfterS
    // (120 s, the fix at 10:04), at the first fix in the hole.
    ['ring then hole: opens in the ring, closes on entering the hole', [FAR, RING, ZX_CENTRE, ZX_CENTRE, ZX_CENTRE],
      ['opened exclusion@Z-X 2026-11-23T10:01:00Z', 'closed exclusion@Z-X 2026-11-23T10:02:00Z']],
    ['hole then ring', [ZX_CENTRE, RING], ['opened exclusion@Z-X 2026-11-23T10:01:00Z']],
  ])('%s', (_name, path, expected) => {
    const tag = new Tag('TAG-1');
    const fixes = path.map((p, i) => tag.at(t(`10:0${i}`), p));
    expect(trace(config([subject([excl()])], [holed]), fixes)).toEqual(expected);
  });

  it('a circle zone (Point + radiusM): opens inside, possible near the edge, updated when deeper, closes only beyond the hysteresis', () => {
    const C: LatLon = [51.52, -0.1];
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([excl({ zone: 'Z-C' })])], [circle('Z-C', C[1], C[0], 100)]), [
      tag.at(t('10:00'), move(C, 300)),
      tag.at(t('10:01'), move(C, 97)), // 3 m inside, accuracy 5: possible
      tag.at(t('10:02'), move(C, 0, 105)), // 5 m outside: not far enough to close
      tag.at(t('10:03'), move(C, -40)), // 60 m inside: confirmed
      tag.at(t('10:04'), move(C, 0, -150)), // 50 m outside: the breach ended here…
      tag.at(t('10:06'), move(C, 0, -150)), // …closed once it has lasted closeAfterS (120 s)
    ], undefined, true)).toEqual([
      'opened exclusion@Z-C 2026-11-23T10:01:00Z possible',
      'updated exclusion@Z-C 2026-11-23T10:03:00Z confirmed',
      'closed exclusion@Z-C 2026-11-23T10:04:00Z confirmed',
    ]);
  });
});

describe('exclusion: a layer condition', () => {
  const layer = { layer: 'schools' };
  const zones = [
    rect('L1', -0.13, 51.5, -0.12, 51.51, layer),
    rect('L3', -0.125, 51.5, -0.11, 51.51, layer), // overlaps L1's east half
    rect('L2', -0.1, 51.5, -0.09, 51.51, layer),
    rect('Z-other', -0.08, 51.5, -0.07, 51.51), // not in the layer
  ];
  const cond = { id: 'c9', type: 'exclusion', layer: 'schools' };

  it('covers every zone of the layer with one episode per zone; ids and alerts carry the zone', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([cond])], zones), [
      tag.at(t('10:00'), [51.49, -0.125]),
      tag.at(t('10:05'), [51.505, -0.128]), // L1 only
      tag.at(t('10:10'), [51.505, -0.1225]), // L1 and L3
      tag.at(t('10:15'), [51.505, -0.115]), // L3 only
      tag.at(t('10:20'), [51.49, -0.115]), // outside everything
      tag.at(t('10:25'), [51.505, -0.095]), // L2
      tag.at(t('10:30'), [51.505, -0.075]), // Z-other: not in the layer
      tag.at(t('10:35'), [51.505, -0.075]),
    ]);
    // Debounced closing: each zone's close is emitted on the next fix (closeAfterS later) with
    // `at` = the first fix clear of that zone, so a close can come after the next zone's open.
    expect(r.events.map((e) => [e.event, e.episodeId, e.zoneId, e.at])).toEqual([
      ['opened', 'S-1:c9:L1:2026-11-23T10:05:00Z', 'L1', '2026-11-23T10:05:00Z'],
      ['opened', 'S-1:c9:L3:2026-11-23T10:10:00Z', 'L3', '2026-11-23T10:10:00Z'],
      ['closed', 'S-1:c9:L1:2026-11-23T10:05:00Z', 'L1', '2026-11-23T10:15:00Z'],
      ['opened', 'S-1:c9:L2:2026-11-23T10:25:00Z', 'L2', '2026-11-23T10:25:00Z'],
      ['closed', 'S-1:c9:L3:2026-11-23T10:10:00Z', 'L3', '2026-11-23T10:20:00Z'],
      ['closed', 'S-1:c9:L2:2026-11-23T10:25:00Z', 'L2', '2026-11-23T10:30:00Z'],
    ]);
    for (const e of r.events) {
      expect(e.conditionId).toBe('c9');
      expect(e.type).toBe('exclusion');
    }
    checkEpisodeInvariants(r.events);
  });

  it('with bufferM, each zone has its own warning band; ids carry zone then type', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([{ ...cond, bufferM: 100 }])], zones), [
      tag.at(t('10:00'), [51.49, -0.128]),
      tag.at(t('10:05'), move([51.5, -0.128], -50)), // 50 m south of L1
      tag.at(t('10:10'), [51.505, -0.128]), // inside L1
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.zoneId}`)).toEqual([
      'opened S-1:c9:L1:exclusion_buffer:2026-11-23T10:05:00Z L1',
      'closed S-1:c9:L1:exclusion_buffer:2026-11-23T10:05:00Z L1',
      'opened S-1:c9:L1:2026-11-23T10:10:00Z L1',
    ]);
  });

  it('covers a zone added to the layer after the engine started', () => {
    const compiled = compileConfig(config([subject([cond])], zones));
    const engine = new Engine(compiled, { clock: 'fixes' });
    const tag = new Tag('TAG-1');
    engine.ingest(parseFix(tag.at(t('10:00'), [51.505, -0.055])));
    expect(engine.drain()).toEqual([]);
    compiled.layers.get('schools')?.set(compileZone(rect('L-new', -0.06, 51.5, -0.05, 51.51, layer)));
    engine.ingest(parseFix(tag.at(t('10:05'), [51.505, -0.055])));
    const events = engine.drain();
    expect(events.map((e) => [e.event, e.episodeId, e.zoneId])).toEqual([
      ['opened', 'S-1:c9:L-new:2026-11-23T10:05:00Z', 'L-new'],
    ]);
  });
});

describe('exclusion: with a schedule', () => {
  const sched = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '09:00', end: '17:00' }] };

  it('is not a breach outside the window; does not back-date to the window start; closes at the window end with no fix', () => {
    const tag = new Tag('TAG-1');
    const next = day('2026-11-24');
    const r = run(config([subject([excl({ schedule: sched })])], [zoneX()]), [
      tag.at(t('08:50'), ZX_CENTRE),
      tag.at(t('09:10'), ZX_CENTRE),
      tag.at(t('16:30'), ZX_CENTRE),
      tag.at(t('17:30'), ZX_CENTRE),
      tag.at(next('08:55'), ZX_CENTRE),
      tag.at(next('09:05'), ZX_CENTRE),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at}`)).toEqual([
      'opened S-1:c1:2026-11-23T09:10:00Z 2026-11-23T09:10:00Z',
      'closed S-1:c1:2026-11-23T09:10:00Z 2026-11-23T17:00:00Z',
      'opened S-1:c1:2026-11-24T09:05:00Z 2026-11-24T09:05:00Z',
    ]);
    expect(r.events[1].fix).toBeUndefined();
  });

  it('closes an open warning-band episode at the window end too', () => {
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([excl({ schedule: sched, bufferM: 200 })])], [zoneX()]), [
      tag.at(t('16:50'), southOfX(100)),
      tag.at(t('17:10'), southOfX(100)),
    ])).toEqual([
      'opened exclusion_buffer@Z-X 2026-11-23T16:50:00Z',
      'closed exclusion_buffer@Z-X 2026-11-23T17:00:00Z',
    ]);
  });
});

describe('exclusion_buffer: the warning band', () => {
  const cfg = config([subject([excl({ bufferM: 200 })])], [zoneX()]);

  it('band opens; entering the zone closes the band and opens exclusion at the same fix; leaving does the reverse; leaving the band closes', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg, [
      tag.at(t('10:00'), southOfX(400)),
      tag.at(t('10:05'), southOfX(100)),
      tag.at(t('10:10'), southOfX(-100)),
      tag.at(t('10:15'), southOfX(100)),
      tag.at(t('10:17'), southOfX(100)),
      tag.at(t('10:20'), southOfX(400)),
      tag.at(t('10:25'), southOfX(400)),
    ]);
    // Debounced closing (closeAfterS 120 s): the exclusion closes at the first fix back in the
    // band (10:15), emitted at 10:17, where the band episode opens; the band closes at 10:20,
    // emitted at 10:25.
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at} seq=${e.fix?.seq}`)).toEqual([
      'opened S-1:c1:exclusion_buffer:2026-11-23T10:05:00Z 2026-11-23T10:05:00Z seq=2',
      'closed S-1:c1:exclusion_buffer:2026-11-23T10:05:00Z 2026-11-23T10:10:00Z seq=3',
      'opened S-1:c1:2026-11-23T10:10:00Z 2026-11-23T10:10:00Z seq=3',
      'closed S-1:c1:2026-11-23T10:10:00Z 2026-11-23T10:15:00Z seq=4',
      'opened S-1:c1:exclusion_buffer:2026-11-23T10:17:00Z 2026-11-23T10:17:00Z seq=5',
      'closed S-1:c1:exclusion_buffer:2026-11-23T10:17:00Z 2026-11-23T10:20:00Z seq=6',
    ]);
    for (const e of r.events) {
      expect(e.zoneId).toBe('Z-X');
      expect(e.conditionId).toBe('c1');
      expect(e.severity).toBe(e.type === 'exclusion' ? 'critical' : 'high'); // risk high
    }
    checkEpisodeInvariants(r.events);
  });

  it('going straight from far outside into the zone opens only exclusion', () => {
    const tag = new Tag('TAG-1');
    expect(trace(cfg, [tag.at(t('10:00'), southOfX(400)), tag.at(t('10:05'), ZX_CENTRE)]))
      .toEqual(['opened exclusion@Z-X 2026-11-23T10:05:00Z']);
  });

  it('leaving the band needs the hysteresis margin too (closes at ≥ bufferM + hysteresisM + accuracy)', () => {
    const tag = new Tag('TAG-1');
    expect(trace(cfg, [
      tag.at(t('10:00'), southOfX(150)),
      tag.at(t('10:01'), southOfX(205)),
      tag.at(t('10:02'), southOfX(195)),
      tag.at(t('10:03'), southOfX(220)),
      tag.at(t('10:05'), southOfX(220)), // closeAfterS later: closed at 10:03
    ])).toEqual([
      'opened exclusion_buffer@Z-X 2026-11-23T10:00:00Z',
      'closed exclusion_buffer@Z-X 2026-11-23T10:03:00Z',
    ]);
  });
});

describe('confidence', () => {
  it.each<[string, number, number | undefined, Record<string, unknown>, string]>([
    ['5 m inside, accuracy 10 m', 5, 10, {}, 'possible'],
    ['50 m inside, accuracy 10 m', 50, 10, {}, 'confirmed'],
    ['5 m inside, accuracy 3 m', 5, 3, {}, 'confirmed'],
    ['on the edge, accuracy 0', 0, 0, {}, 'confirmed'],
    ['20 m inside, no accuracy, defaultAccuracyM 30', 20, undefined, { defaultAccuracyM: 30 }, 'possible'],
    ['40 m inside, no accuracy, defaultAccuracyM 30', 40, undefined, { defaultAccuracyM: 30 }, 'confirmed'],
  ])('%s: %s', (_name, depth, accuracy, settings, expected) => {
    const tag = new Tag('TAG-1');
    const p = southOfX(-depth);
    const f = accuracy === undefined ? tag.atNoAcc(t('10:00'), p) : tag.at(t('10:00'), p, { accuracy });
    const r = run(config([subject([excl()])], [zoneX()], { ...settings, noFixAfterS: 1e6, offlineAfterS: 1e6 }), [f]);
    expect(r.events.map((e) => [e.event, e.confidence])).toEqual([['opened', expected]]);
    // The fix shows the accuracy that was applied.
    expect(r.events[0].fix?.accuracy).toBe(accuracy ?? 30);
  });

  it('rises once: one `updated` when a possible episode is confirmed, never a second, never back down', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([excl()])], [zoneX()]), [
      tag.at(t('10:00'), FAR),
      tag.at(t('10:01'), southOfX(-3), { accuracy: 10 }), // possible
      tag.at(t('10:02'), southOfX(-6), { accuracy: 10 }), // still possible: nothing
      tag.at(t('10:03'), ZX_CENTRE, { accuracy: 10 }), // confirmed: updated
      tag.at(t('10:04'), southOfX(-3), { accuracy: 10 }), // possible again: nothing
      tag.at(t('10:05'), move(ZX_CENTRE, 20), { accuracy: 10 }), // confirmed again: nothing
      tag.at(t('10:06'), FAR),
      tag.at(t('10:08'), FAR), // closeAfterS later: closed at 10:06, showing that fix
    ]);
    expect(r.events.map((e) => `${e.event} ${e.confidence} ${e.at} seq=${e.fix?.seq}`)).toEqual([
      'opened possible 2026-11-23T10:01:00Z seq=2',
      'updated confirmed 2026-11-23T10:03:00Z seq=4',
      'closed confirmed 2026-11-23T10:06:00Z seq=7',
    ]);
    expect(new Set(r.events.map((e) => e.episodeId)).size).toBe(1);
  });
});

describe('boundary drift', () => {
  it.each([5, 8])('a subject zig-zagging ±%i m across the edge for 50 fixes yields exactly one possible episode', (m) => {
    const tag = new Tag('TAG-1');
    const fixes = [tag.at(t('10:00'), FAR)];
    for (let i = 0; i < 50; i++) {
      const ts = Date.parse(t('10:01')) + i * 30_000;
      fixes.push(tag.at(ts, southOfX(i % 2 === 0 ? -m : m), { accuracy: 10 }));
    }
    const r = run(config([subject([excl()])], [zoneX()]), fixes);
    expect(r.events.map((e) => `${e.event} ${e.confidence} ${e.at}`)).toEqual([
      'opened possible 2026-11-23T10:01:00Z',
    ]);
    // …and it closes once the subject is clearly away.
    const r2 = run(config([subject([excl()])], [zoneX()]), [...fixes, tag.at(t('10:40'), southOfX(50)), tag.at(t('10:42'), southOfX(50))]);
    expect(r2.events.map((e) => `${e.event} ${e.at}`)).toEqual([
      'opened 2026-11-23T10:01:00Z',
      'closed 2026-11-23T10:40:00Z',
    ]);
  });

  it('hysteresisM and closeAfterS are per condition: with 0 (and exact fixes), the same zig-zag opens and closes on every crossing', () => {
    // Clearly safe = accuracy circle clear of the edge by hysteresisM: with accuracy 0 and
    // hysteresisM 0 any fix outside is; with closeAfterS 0 it closes at once.
    const tag = new Tag('TAG-1');
    const fixes = [];
    for (let i = 0; i < 6; i++) fixes.push(tag.at(Date.parse(t('10:00')) + i * 60_000, southOfX(i % 2 === 0 ? -5 : 5), { accuracy: 0 }));
    expect(trace(config([subject([excl({ hysteresisM: 0 })])], [zoneX()]), fixes).map((s) => s.split(' ')[0])).toEqual(['opened']);
    expect(trace(config([subject([excl({ hysteresisM: 0, closeAfterS: 0 })])], [zoneX()]), fixes).map((s) => s.split(' ')[0])).toEqual([
      'opened', 'closed', 'opened', 'closed', 'opened', 'closed',
    ]);
  });

  it('with a warning band, drift along the outer band edge gives one buffer episode', () => {
    const tag = new Tag('TAG-1');
    const fixes = [];
    for (let i = 0; i < 50; i++) fixes.push(tag.at(Date.parse(t('10:00')) + i * 30_000, southOfX(i % 2 === 0 ? 195 : 205), { accuracy: 10 }));
    expect(trace(config([subject([excl({ bufferM: 200 })])], [zoneX()]), fixes, undefined, true))
      .toEqual(['opened exclusion_buffer@Z-X 2026-11-23T10:00:00Z possible']);
  });
});
