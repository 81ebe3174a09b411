// Proximity to a victim's device (contract §2, §3, §5 on victim positions; README "Conditions",
// "Confidence and drift", "Device health").
import { describe, expect, it } from 'vitest';
import {
  checkEpisodeInvariants, config, day, haversine, move, run, subject, Tag, victimLeaks, type FixIn, type LatLon,
} from './scenario-helpers.js';

const t = day('2026-11-23');
const P: LatLon = [51.5, -0.1]; // where the subject stays
/** A point `d` metres from P, on a bearing that moves both latitude and longitude. */
const fromP = (d: number): LatLon => move(P, d * 0.6, d * 0.8);
const prox = (extra: Record<string, unknown> = {}): object => ({
  id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500, warnM: 1000, ...extra,
});

describe('proximity', () => {
  it('the victim approaching a still subject: warning, then proximity, then back out, evaluated when the victim reports', () => {
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const victim = [
      vic.at(t('10:01'), fromP(2000)),
      vic.at(t('10:02'), fromP(800)),
      vic.at(t('10:03'), fromP(300)),
      vic.at(t('10:04'), fromP(450)),
      vic.at(t('10:05'), fromP(800)),
      vic.at(t('10:07'), fromP(800)),
      vic.at(t('10:08'), fromP(2000)),
      vic.at(t('10:10'), fromP(2000)),
    ];
    const r = run(config([subject([prox()])]), [tag.at(t('10:00'), P), ...victim]);
    // Debounced closing (closeAfterS 120 s): proximity ends at 10:05 (the first clearly safe
    // reading), known at 10:07, where the warning opens (the victim still within warnM); the
    // warning ends at 10:08, known at 10:10.
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at}`)).toEqual([
      'opened S-1:c3:proximity_warning:2026-11-23T10:02:00Z 2026-11-23T10:02:00Z',
      'closed S-1:c3:proximity_warning:2026-11-23T10:02:00Z 2026-11-23T10:03:00Z',
      'opened S-1:c3:2026-11-23T10:03:00Z 2026-11-23T10:03:00Z',
      'closed S-1:c3:2026-11-23T10:03:00Z 2026-11-23T10:05:00Z',
      'opened S-1:c3:proximity_warning:2026-11-23T10:07:00Z 2026-11-23T10:07:00Z',
      'closed S-1:c3:proximity_warning:2026-11-23T10:07:00Z 2026-11-23T10:08:00Z',
    ]);
    r.events.forEach((e) => {
      expect(e.conditionId).toBe('c3');
      expect(e.zoneId).toBeUndefined();
      expect(e.deviceId).toBe('TAG-1');
      // The subject's own fix is shown, never the victim's.
      expect(e.fix).toEqual({ seq: 1, lat: P[0], lon: P[1], accuracy: 5 });
      // Only the band, never metres (a walk-past would locate the victim): within distanceM for
      // proximity, within warnM for the warning; a closing event says only that the band was left.
      expect(e.withinM).toBe(e.event === 'closed' ? undefined : e.type === 'proximity' ? 500 : 1000);
    });
    expect(r.events.find((e) => e.type === 'proximity')?.severity).toBe('critical');
    expect(r.events.find((e) => e.type === 'proximity_warning')?.severity).toBe('high');
    expect(victimLeaks(r.raw, r.events, victim)).toEqual([]);
    checkEpisodeInvariants(r.events);
  });

  it('the subject walking towards a still victim is evaluated on the subject\'s fixes', () => {
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const V = fromP(0);
    const victim = [vic.at(t('10:00'), move(V, 0.3, 0.4))];
    const r = run(config([subject([prox()])]), [
      ...victim,
      tag.at(t('10:01'), move(V, -3000)),
      tag.at(t('10:02'), move(V, -700)),
      tag.at(t('10:03'), move(V, -200)),
      tag.at(t('10:04'), move(V, -3000)),
      tag.at(t('10:06'), move(V, -3000)), // closeAfterS later: closed at 10:04
    ]);
    expect(r.events.map((e) => `${e.event} ${e.type} ${e.at} seq=${e.fix?.seq} w=${e.withinM}`)).toEqual([
      'opened proximity_warning 2026-11-23T10:02:00Z seq=2 w=1000',
      'closed proximity_warning 2026-11-23T10:03:00Z seq=3 w=undefined',
      'opened proximity 2026-11-23T10:03:00Z seq=3 w=500',
      'closed proximity 2026-11-23T10:04:00Z seq=4 w=undefined',
    ]);
    expect(victimLeaks(r.raw, r.events, victim)).toEqual([]);
  });

  it('jumping straight from far to within distanceM opens only proximity; straight back out closes it with no warning', () => {
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    expect(run(config([subject([prox()])]), [
      tag.at(t('10:00'), P), vic.at(t('10:01'), fromP(3000)), vic.at(t('10:02'), fromP(100)), vic.at(t('10:03'), fromP(3000)), vic.at(t('10:05'), fromP(3000)),
    ]).events.map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual([
      'opened proximity 2026-11-23T10:02:00Z',
      'closed proximity 2026-11-23T10:03:00Z',
    ]);
  });

  it('no victim position known yet: nothing, until the victim reports', () => {
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    expect(run(config([subject([prox()])]), [tag.at(t('10:00'), P), tag.at(t('10:01'), P), vic.beat(t('10:02'))]).events).toEqual([]);
  });

  it('is never below high severity (risk low: proximity high, warning high)', () => {
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const r = run(config([subject([prox()], { risk: 'low' })]), [
      tag.at(t('10:00'), P), vic.at(t('10:01'), fromP(800)), vic.at(t('10:02'), fromP(100)),
    ]);
    expect(r.events.filter((e) => e.event === 'opened').map((e) => [e.type, e.severity])).toEqual([
      ['proximity_warning', 'high'],
      ['proximity', 'high'],
    ]);
  });

  it('confidence: the two accuracies add up; a stale victim position (> victimStaleS apart) is never confirmed', () => {
    // 480 m apart, distanceM 500: 20 m deep. Accuracies 5 + 10 = 15 ≤ 20: confirmed; 5 + 30 = 35 > 20: possible.
    const a = new Tag('TAG-1'), va = new Tag('VIC-1');
    expect(run(config([subject([prox()])]), [a.at(t('10:00'), P), va.at(t('10:01'), fromP(480), { accuracy: 10 })]).events
      .map((e) => [e.type, e.confidence])).toEqual([['proximity', 'confirmed']]);
    const b = new Tag('TAG-1'), vb = new Tag('VIC-1');
    expect(run(config([subject([prox()])]), [b.at(t('10:00'), P), vb.at(t('10:01'), fromP(480), { accuracy: 30 })]).events
      .map((e) => [e.type, e.confidence])).toEqual([['proximity', 'possible']]);

    // The victim reported at 10:00 only; the subject comes close at 10:20 and 10:25 (20+ min later).
    const c = new Tag('TAG-1'), vc = new Tag('VIC-1');
    const V = fromP(0);
    const r = run(config([subject([prox()])]), [
      vc.at(t('10:00'), V),
      c.at(t('10:00'), move(V, -3000)),
      c.at(t('10:20'), move(V, -100)),
      c.at(t('10:25'), move(V, -50)),
      vc.at(t('10:26'), V), // fresh again: confirmed
    ]);
    expect(r.events.map((e) => `${e.event} ${e.type} ${e.confidence} ${e.at}`)).toEqual([
      'opened proximity possible 2026-11-23T10:20:00Z',
      'updated proximity confirmed 2026-11-23T10:26:00Z',
    ]);
  });

  it('one victim device watched by two subjects: each gets its own episodes; the victim device raises no health alerts', () => {
    const a = new Tag('TAG-1'), b = new Tag('TAG-2'), vic = new Tag('VIC-1');
    const settings = { noFixAfterS: 900, offlineAfterS: 1800, batteryLowBelow: 0.2 };
    const fixes: FixIn[] = [];
    for (let i = 0; i <= 12; i++) {
      const ts = Date.parse(t('10:00')) + i * 600_000;
      fixes.push(a.at(ts, P), b.at(ts, move(P, 0, 5000)));
    }
    const victim = [
      vic.at(t('10:05'), fromP(200), { strap: 'tampered', battery: 0.01 }),
      vic.beat(t('10:10'), { strap: 'open', battery: 0.01 }),
      vic.beat(t('10:30')), vic.beat(t('10:40')), vic.beat(t('10:50')), // no position for a long time
      // …and then silence for over an hour
    ];
    const r = run(config([
      subject([prox()]),
      subject([prox({ id: 'p2', distanceM: 300, warnM: undefined })], { id: 'S-2', deviceId: 'TAG-2', team: 'team-b' }),
    ], [], settings), [...fixes, ...victim]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId}`)).toEqual([
      'opened S-1:c3:2026-11-23T10:05:00Z',
    ]);
    expect(r.events.every((e) => e.deviceId !== 'VIC-1')).toBe(true);
    expect(victimLeaks(r.raw, r.events, victim)).toEqual([]);
  });
});

describe('victim positions never leave the engine', () => {
  it('over a long mixed scenario, no victim coordinate appears anywhere in the NDJSON', () => {
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const fixes: FixIn[] = [];
    const victim: FixIn[] = [];
    // The victim circles the subject at 100..1500 m; the subject drifts.
    for (let i = 0; i < 120; i++) {
      const ts = Date.parse(t('09:00')) + i * 60_000;
      const ang = i * 0.3;
      const d = 100 + ((i * 137) % 1400);
      const sp = move(P, (i % 7) * 3, (i % 5) * 4);
      fixes.push(tag.at(ts, sp, { accuracy: 4 + (i % 9) }));
      const vp = move(sp, d * Math.cos(ang) + 0.37, d * Math.sin(ang) + 0.41);
      const vf = vic.at(ts + 30_000, vp, { accuracy: 3 + (i % 11) });
      victim.push(vf);
    }
    const r = run(config([subject([prox()])]), [...fixes, ...victim]);
    expect(r.events.length).toBeGreaterThan(10);
    for (const e of r.events) {
      if (e.fix?.lat !== undefined) {
        // Every position shown is one of the subject's own.
        expect(fixes.some((f) => f.lat === e.fix?.lat && f.lon === e.fix?.lon)).toBe(true);
      }
      // No metres at all, whoever's fix triggered the event: only the condition's thresholds.
      expect(e.withinM === undefined || e.withinM === 500 || e.withinM === 1000).toBe(true);
    }
    expect(victimLeaks(r.raw, r.events, victim, fixes)).toEqual([]);
    checkEpisodeInvariants(r.events);
  });
});
