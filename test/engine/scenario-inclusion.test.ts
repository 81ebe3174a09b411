// Inclusion zones (contract §2, §3; README "Conditions": inclusion): stay inside a zone, or inside
// at least one zone of a layer, always or on a schedule with grace (an appointment). The same
// episode, timer, DST, except, validity, late-fix and suspension rules as curfews.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileConfig, ConfigError } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix } from '../../src/engine/fix.js';
import {
  checkEpisodeInvariants, circle, config, day, move, rect, run, subject, Tag, trace, type LatLon,
} from './scenario-helpers.js';

const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const VENUE: LatLon = [51.45, -0.15];
const venueZone = (): object => circle('Z-venue', VENUE[1], VENUE[0], 80);
const OUT: LatLon = move(VENUE, 1500);
const INCL = ['inclusion'];

const t = day('2026-11-23'); // Monday, GMT
const tue = day('2026-11-24'); // Tuesday

describe('inclusion: always inside one zone', () => {
  const cfg = (extra: Record<string, unknown> = {}, subjectExtra: Record<string, unknown> = {}): unknown =>
    config([subject([{ id: 'c4', type: 'inclusion', zone: 'Z-venue', ...extra }], subjectExtra)], [venueZone()]);

  it('inside raises nothing; the first fix outside opens (at its ts); back clearly inside closes after closeAfterS, at the first fix back', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg(), [
      tag.at(t('10:00'), VENUE),
      tag.at(t('10:05'), move(VENUE, 40)),
      tag.at(t('10:10'), OUT),
      tag.at(t('10:20'), OUT),
      tag.at(t('10:30'), VENUE),
      tag.at(t('10:31'), VENUE),
      tag.at(t('10:32'), VENUE),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at} seq=${e.fix?.seq}`)).toEqual([
      'opened S-1:c4:2026-11-23T10:10:00Z 2026-11-23T10:10:00Z seq=3',
      'closed S-1:c4:2026-11-23T10:10:00Z 2026-11-23T10:30:00Z seq=5',
    ]);
    expect(r.events[0]).toMatchObject({
      type: 'inclusion', conditionId: 'c4', zoneId: 'Z-venue', severity: 'high', confidence: 'confirmed', late: false,
    });
    checkEpisodeInvariants(r.events);
  });

  it('the edge counts as inside; just outside is possible', () => {
    const box = rect('Z-box', -0.151, 51.449, -0.149, 51.451);
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([{ id: 'c4', type: 'inclusion', zone: 'Z-box' }])], [box]), [tag.at(t('10:00'), [51.451, -0.15], { accuracy: 0 })], INCL))
      .toEqual([]);
    const tag2 = new Tag('TAG-1');
    expect(trace(cfg(), [tag2.at(t('10:00'), move(VENUE, 85), { accuracy: 10 })], INCL, true))
      .toEqual(['opened inclusion@Z-venue 2026-11-23T10:00:00Z possible']);
  });

  it('severity follows risk as for curfews (low medium, medium medium, high high, very_high critical)', () => {
    for (const [risk, sev] of [['low', 'medium'], ['medium', 'medium'], ['high', 'high'], ['very_high', 'critical']]) {
      const tag = new Tag('TAG-1');
      expect(run(cfg({}, { risk }), [tag.at(t('10:00'), OUT)]).events.map((e) => e.severity)).toEqual([sev]);
    }
  });

  it('confirmFixes (opt-in): two consecutive fixes outside before it opens; the id starts at the first', () => {
    const tag = new Tag('TAG-1');
    expect(run(cfg({ confirmFixes: 2 }), [
      tag.at(t('10:00'), VENUE),
      tag.at(t('10:05'), OUT), // one: not yet
      tag.at(t('10:06'), VENUE), // broken
      tag.at(t('10:10'), OUT),
      tag.at(t('10:11'), OUT), // two in a row
    ]).events.map((e) => [e.event, e.episodeId, e.at])).toEqual([
      ['opened', 'S-1:c4:2026-11-23T10:10:00Z', '2026-11-23T10:11:00Z'],
    ]);
  });

  it('a suspended subject raises nothing', () => {
    const tag = new Tag('TAG-1');
    expect(trace(cfg({}, { status: 'suspended' }), [tag.at(t('10:00'), OUT), tag.at(t('11:00'), OUT)])).toEqual([]);
  });

  it('validity: nothing before validFrom; an open episode closes at validTo (no fix)', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg({}, { validFrom: '2026-11-23T10:30:00Z', validTo: '2026-11-23T12:00:00Z' }), [
      tag.at(t('10:00'), OUT),
      tag.at(t('10:40'), OUT),
      tag.at(t('13:00'), OUT),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.at} ${e.fix === undefined ? '-' : e.fix.seq}`)).toEqual([
      'opened 2026-11-23T10:40:00Z 2',
      'closed 2026-11-23T12:00:00Z -',
    ]);
  });

  it('validTo with a safe run pending: the episode ended when the subject came back', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg({}, { validTo: '2026-11-23T12:00:00Z' }), [
      tag.at(t('11:00'), OUT),
      tag.at(t('11:59'), VENUE), // back, but not yet for closeAfterS
      tag.at(t('12:30'), VENUE),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.at} ${e.fix === undefined ? '-' : e.fix.seq}`)).toEqual([
      'opened 2026-11-23T11:00:00Z 1',
      'closed 2026-11-23T11:59:00Z 2',
    ]);
  });

  it('late fixes: a late fix outside raises a late episode nothing covered; a late fix inside never closes a live one', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg(), [
      tag.at(t('10:00'), VENUE, { seq: 1 }),
      tag.at(t('11:00'), VENUE, { seq: 10 }),
      tag.at(t('10:20'), OUT, { seq: 3 }), // late: outside
      tag.at(t('10:30'), VENUE, { seq: 4 }), // late: back
      tag.at(t('12:00'), OUT, { seq: 20 }), // live episode
      tag.at(t('11:30'), VENUE, { seq: 15 }), // late, inside: changes nothing
      tag.at(t('12:10'), OUT, { seq: 21 }),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.at}${e.late ? ' late' : ''}`)).toEqual([
      'opened 2026-11-23T10:20:00Z late',
      'closed 2026-11-23T10:30:00Z late',
      'opened 2026-11-23T12:00:00Z',
    ]);
    checkEpisodeInvariants(r.events);
  });

  it('names exactly one of zone or layer; an unknown zone is refused', () => {
    const bad = (cond: object): unknown => config([subject([{ id: 'c4', type: 'inclusion', ...cond }])], [venueZone()]);
    expect(() => compileConfig(bad({}))).toThrow(ConfigError);
    expect(() => compileConfig(bad({ zone: 'Z-venue', layer: 'L' }))).toThrow(/exactly one of "zone" or "layer"/);
    expect(() => compileConfig(bad({ zone: 'Z-nowhere' }))).toThrow(expect.objectContaining({ code: 'CONFIG_UNKNOWN_ZONE' }));
  });
});

describe('inclusion: a layer of two adjacent boroughs', () => {
  const layer = { layer: 'boroughs' };
  const zones = [
    rect('B-west', -0.2, 51.4, -0.1, 51.5, layer),
    rect('B-east', -0.1, 51.4, 0.0, 51.5, layer),
    rect('Z-other', 0.0, 51.4, 0.1, 51.5), // adjacent, but not in the layer
  ];
  const cfg = config([subject([{ id: 'c5', type: 'inclusion', layer: 'boroughs' }])], zones);

  it('crossing the shared edge is no breach, even lingering on it with noise', () => {
    const tag = new Tag('TAG-1');
    const fixes = [];
    for (let i = 0; i < 40; i++) {
      // ±15 m either side of the shared edge at lon -0.1, reported accuracy 15 m.
      const east = ((i * 7919) % 31) - 15;
      fixes.push(tag.at(Date.parse(t('10:00')) + i * 30_000, move([51.45, -0.1], 0, east), { accuracy: 15 }));
    }
    expect(trace(cfg, fixes)).toEqual([]);
  });

  it('leaving the layer opens one episode (no zone id: outside all of them); back into either borough closes it', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg, [
      tag.at(t('10:00'), [51.45, -0.15]), // west
      tag.at(t('10:10'), [51.45, -0.05]), // east
      tag.at(t('10:20'), [51.45, 0.05]), // Z-other: outside the layer
      tag.at(t('10:30'), [51.55, -0.15]), // north of both
      tag.at(t('10:40'), [51.45, -0.15]), // back west
      tag.at(t('10:45'), [51.45, -0.15]),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at}`)).toEqual([
      'opened S-1:c5:2026-11-23T10:20:00Z 2026-11-23T10:20:00Z',
      'closed S-1:c5:2026-11-23T10:20:00Z 2026-11-23T10:40:00Z',
    ]);
    expect(r.events[0].zoneId).toBeUndefined();
    expect(r.events[0]).toMatchObject({ type: 'inclusion', conditionId: 'c5', confidence: 'confirmed' });
  });

  it('a late fix outside the layer raises a late episode; inside either borough it is clear', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg, [
      tag.at(t('10:00'), [51.45, -0.15], { seq: 1 }),
      tag.at(t('11:00'), [51.45, -0.05], { seq: 10 }),
      tag.at(t('10:20'), [51.45, 0.05], { seq: 3 }), // late, outside
      tag.at(t('10:30'), [51.45, -0.1], { seq: 4 }), // late, on the shared edge: inside
    ]);
    expect(r.events.map((e) => `${e.event} ${e.at}${e.late ? ' late' : ''}`)).toEqual([
      'opened 2026-11-23T10:20:00Z late',
      'closed 2026-11-23T10:30:00Z late',
    ]);
  });
});

describe('inclusion on a schedule: an appointment (Tuesdays 10:00–12:00 at the venue, 10 minutes\' grace)', () => {
  const appt = (extra: Record<string, unknown> = {}): object => ({
    id: 'c6', type: 'inclusion', zone: 'Z-venue', graceS: 600,
    schedule: { windows: [{ days: ['tue'], start: '10:00', end: '12:00' }] }, ...extra,
  });
  const cfg = (extra: Record<string, unknown> = {}): unknown => config([subject([appt(extra)])], [venueZone()]);

  it('outside the window nothing; not there by 10:10: opens at the deadline on the latest position; arriving closes', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg(), [
      tag.at(t('10:30'), OUT), // Monday: no appointment
      tag.at(tue('09:50'), OUT),
      tag.at(tue('10:05'), OUT), // in the grace period
      tag.at(tue('10:20'), OUT),
      tag.at(tue('10:30'), VENUE),
      tag.at(tue('10:35'), VENUE),
      tag.at(tue('12:30'), OUT), // after the window
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at} ${e.fix === undefined ? '-' : e.fix.seq}`)).toEqual([
      'opened S-1:c6:2026-11-24T10:10:00Z 2026-11-24T10:10:00Z 3',
      'closed S-1:c6:2026-11-24T10:10:00Z 2026-11-24T10:30:00Z 5',
    ]);
  });

  it('arriving within the grace period raises nothing; leaving early opens at that fix, the window end closes it', () => {
    const tag = new Tag('TAG-1');
    expect(trace(cfg(), [
      tag.at(tue('09:50'), OUT),
      tag.at(tue('10:08'), VENUE),
      tag.at(tue('11:00'), VENUE),
      tag.at(tue('11:30'), OUT),
      tag.at(tue('13:00'), OUT),
    ])).toEqual([
      'opened inclusion@Z-venue 2026-11-24T11:30:00Z',
      'closed inclusion@Z-venue 2026-11-24T12:00:00Z',
    ]);
  });

  it('the live clock: the deadline fires once the clock is past it and timerWaitS (60 s) more, the window end closes', () => {
    const engine = new Engine(compileConfig(cfg()), { clock: 'external' });
    const tag = new Tag('TAG-1');
    engine.advanceTo(Date.parse(tue('09:49')));
    engine.ingest(parseFix(tag.at(tue('09:50'), OUT)));
    engine.advanceTo(Date.parse(tue('10:10')));
    expect(engine.drain()).toEqual([]);
    // A quiet device: fixes still in flight get timerWaitS to arrive before the deadline is judged.
    engine.advanceTo(Date.parse(tue('10:11:00')));
    expect(engine.drain()).toEqual([]);
    engine.advanceTo(Date.parse(tue('10:11:01')));
    expect(engine.drain().map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual(['opened inclusion 2026-11-24T10:10:00Z']);
    engine.advanceTo(Date.parse(tue('12:00:01')));
    expect(engine.drain()).toEqual([]);
    engine.advanceTo(Date.parse(tue('12:01:01')));
    expect(engine.drain().map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual(['closed inclusion 2026-11-24T12:00:00Z']);
  });

  it('daylight saving: on Tuesday 31 March 2026 (BST) the appointment is 09:00–11:00Z, deadline 09:10Z', () => {
    const m31 = day('2026-03-31');
    const tag = new Tag('TAG-1');
    expect(trace(cfg(), [
      tag.at(m31('08:55'), OUT),
      tag.at(m31('09:20'), OUT),
      tag.at(m31('11:30'), OUT),
    ])).toEqual([
      'opened inclusion@Z-venue 2026-03-31T09:10:00Z',
      'closed inclusion@Z-venue 2026-03-31T11:00:00Z',
    ]);
    // …and on 27 October (GMT again) 10:00–12:00Z, deadline 10:10Z.
    const o27 = day('2026-10-27');
    const tag2 = new Tag('TAG-1');
    expect(trace(cfg(), [tag2.at(o27('09:55'), OUT), tag2.at(o27('10:20'), OUT)])).toEqual(['opened inclusion@Z-venue 2026-10-27T10:10:00Z']);
  });

  it('except: no appointment on 1 December; an open episode closes where the except begins', () => {
    const dec1 = day('2026-12-01'), dec8 = day('2026-12-08');
    const sched = {
      windows: [{ days: ['tue'], start: '10:00', end: '12:00' }],
      except: [{ from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' }, { from: '2026-12-08T11:00:00Z', to: '2026-12-08T12:00:00Z' }],
    };
    const tag = new Tag('TAG-1');
    expect(trace(cfg({ schedule: sched }), [
      tag.at(dec1('09:50'), OUT),
      tag.at(dec1('10:30'), OUT),
      tag.at(dec8('09:50'), OUT),
      tag.at(dec8('10:30'), OUT),
      tag.at(dec8('11:30'), OUT),
    ])).toEqual([
      'opened inclusion@Z-venue 2026-12-08T10:10:00Z',
      'closed inclusion@Z-venue 2026-12-08T11:00:00Z',
    ]);
  });

  it('a late fix in the grace period or outside the window raises nothing; one after the deadline does', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg(), [
      tag.at(tue('09:00'), VENUE, { seq: 1 }),
      tag.at(tue('13:00'), VENUE, { seq: 10 }),
      tag.at(tue('10:05'), OUT, { seq: 2 }), // late, grace
      tag.at(tue('12:30'), OUT, { seq: 3 }), // late, after the window
      tag.at(tue('11:00'), OUT, { seq: 4 }), // late, in the window
    ]);
    expect(r.events.map((e) => `${e.event} ${e.at}${e.late ? ' late' : ''}`)).toEqual([
      'opened 2026-11-24T11:00:00Z late',
      'closed 2026-11-24T12:00:00Z late',
    ]);
  });
});

describe('snapshot and restore mid safe run', () => {
  it('a restored engine closes the episode exactly as one that never stopped', () => {
    const cfg = compileConfig(config([subject([{ id: 'c4', type: 'inclusion', zone: 'Z-venue' }])], [venueZone()]));
    const tag = new Tag('TAG-1');
    const fixes = [tag.at(t('10:00'), OUT), tag.at(t('10:10'), VENUE), tag.at(t('10:11'), VENUE), tag.at(t('10:13'), VENUE)];
    const whole = new Engine(cfg);
    for (const f of fixes) whole.ingest(parseFix(f));
    const expected = whole.drain();
    const a = new Engine(cfg);
    a.ingest(parseFix(fixes[0]));
    a.ingest(parseFix(fixes[1]));
    const first = a.drain();
    const b = new Engine(cfg);
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    b.ingest(parseFix(fixes[2]));
    b.ingest(parseFix(fixes[3]));
    expect([...first, ...b.drain()]).toEqual(expected);
    expect(expected.map((e) => `${e.event} ${e.at} ${e.fix?.seq}`)).toEqual(['opened 2026-11-23T10:00:00Z 1', 'closed 2026-11-23T10:10:00Z 2']);
  });
});

describe('the replay example (examples/inclusion.json)', () => {
  it('a layer of two boroughs and a Tuesday appointment: the shared edge raises nothing; leaving, the missed start and arriving late do', () => {
    const dir = fileURLToPath(new URL('../../examples/', import.meta.url));
    const cfg = JSON.parse(readFileSync(`${dir}inclusion.json`, 'utf8')) as unknown;
    const r = run(cfg, readFileSync(`${dir}inclusion-fixes.ndjson`, 'utf8'));
    expect(r.events.map((e) => `${e.event} ${e.type} ${e.conditionId} ${e.at} ${e.fix?.seq ?? '-'}`)).toEqual([
      'opened inclusion c4 2026-11-24T09:00:00Z 4', // left both boroughs
      'closed inclusion c4 2026-11-24T09:40:00Z 5', // back: known at 09:42 (closeAfterS 120)
      'opened inclusion c5 2026-11-24T10:10:00Z 6', // not at the venue by 10:00 + 10 minutes
      'closed inclusion c5 2026-11-24T10:25:00Z 8', // arrived
    ]);
  });
});
