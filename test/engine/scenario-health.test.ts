// Device health, validity, suspension and severity (contract §2, §3; README "Device health",
// "Conditions: validity and status", "Severity").
import { describe, expect, it } from 'vitest';
import type { AlertEvent, AlertType } from '../../src/engine/alert.js';
import { compileConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix } from '../../src/engine/fix.js';
import {
  AWAY, checkEpisodeInvariants, config, day, HOME, homeZone, move, run, southOfX, subject, Tag, trace,
  ZX_CENTRE, zoneX, type FixIn,
} from './scenario-helpers.js';

const t = day('2026-11-23');

describe('tamper', () => {
  it('strap open or tampered opens it; more of the same adds nothing; strap ok closes it', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([])]), [
      tag.at(t('10:00'), HOME, { strap: 'ok' }),
      tag.at(t('10:05'), HOME, { strap: 'open' }),
      tag.at(t('10:06'), HOME, { strap: 'open' }),
      tag.at(t('10:07'), HOME, { strap: 'tampered' }),
      tag.at(t('10:08'), HOME), // says nothing about the strap
      tag.at(t('10:10'), HOME, { strap: 'ok' }),
      tag.beat(t('10:20'), { strap: 'tampered' }), // a heartbeat can open it too
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at} ${JSON.stringify(e.fix)}`)).toEqual([
      `opened S-1:tamper:2026-11-23T10:05:00Z 2026-11-23T10:05:00Z {"seq":2,"lat":${HOME[0]},"lon":${HOME[1]},"accuracy":5}`,
      `closed S-1:tamper:2026-11-23T10:05:00Z 2026-11-23T10:10:00Z {"seq":6,"lat":${HOME[0]},"lon":${HOME[1]},"accuracy":5}`,
      'opened S-1:tamper:2026-11-23T10:20:00Z 2026-11-23T10:20:00Z {"seq":7}',
    ]);
    for (const e of r.events) {
      expect(e.type).toBe('tamper');
      expect(e.conditionId).toBeUndefined();
      expect(e.zoneId).toBeUndefined();
      expect(e.severity).toBe('critical'); // risk high
    }
  });
});

describe('battery_low', () => {
  it('opens below batteryLowBelow, closes only at or above it plus batteryHysteresis', () => {
    const tag = new Tag('TAG-1');
    const levels = [0.5, 0.19, 0.21, 0.1, 0.24, 0.25, 0.22, 0.15, 0.3];
    const fixes = levels.map((b, i) => (i % 2 === 0 ? tag.at(t(`10:0${i}`), HOME, { battery: b }) : tag.beat(t(`10:0${i}`), { battery: b })));
    expect(trace(config([subject([])], [], { batteryLowBelow: 0.2, batteryHysteresis: 0.05, noFixAfterS: 1e6, offlineAfterS: 1e6 }), fixes)).toEqual([
      'opened battery_low 2026-11-23T10:01:00Z',
      'closed battery_low 2026-11-23T10:05:00Z',
      'opened battery_low 2026-11-23T10:07:00Z',
      'closed battery_low 2026-11-23T10:08:00Z',
    ]);
  });

  it('exactly at the threshold is not below it', () => {
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([])], [], { batteryLowBelow: 0.2, noFixAfterS: 1e6, offlineAfterS: 1e6 }), [
      tag.beat(t('10:00'), { battery: 0.2 }),
      tag.beat(t('10:01'), { battery: 0.2 }),
    ])).toEqual([]);
  });

  it('is always low severity, whatever the risk', () => {
    for (const risk of ['low', 'medium', 'high', 'very_high'] as const) {
      const tag = new Tag('TAG-1');
      const r = run(config([subject([], { risk, mappaLevel: 3 })]), [tag.beat(t('10:00'), { battery: 0.01 })]);
      expect(r.events.map((e) => [e.type, e.severity])).toEqual([['battery_low', 'low']]);
    }
  });
});

describe('no_fix', () => {
  const settings = { noFixAfterS: 900, offlineAfterS: 1e6 };

  it('heartbeats without a position for noFixAfterS: the first one at or past the deadline opens it (no timer); the next position closes it', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([])], [], settings), [
      tag.at(t('10:00'), HOME),
      tag.beat(t('10:05')),
      tag.beat(t('10:10')),
      tag.beat(t('10:20')),
      tag.beat(t('10:25')),
      tag.at(t('10:30'), HOME),
      tag.beat(t('10:35')),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at} ${e.fix?.seq ?? '-'}`)).toEqual([
      'opened S-1:no_fix:2026-11-23T10:20:00Z 2026-11-23T10:20:00Z 4',
      'closed S-1:no_fix:2026-11-23T10:20:00Z 2026-11-23T10:30:00Z 6',
    ]);
    expect(r.events[0]).toMatchObject({ type: 'no_fix', severity: 'high', confidence: 'confirmed', late: false });
    expect(r.events[0].conditionId).toBeUndefined();
  });

  it('a device that has only ever sent heartbeats counts from its first message', () => {
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([])], [], settings), [
      tag.beat(t('10:00')), tag.beat(t('10:10')), tag.beat(t('10:20')),
    ])).toEqual(['opened no_fix 2026-11-23T10:20:00Z']);
  });

  it('a heartbeat exactly noFixAfterS after the last position opens it; one just before does not', () => {
    const tag = new Tag('TAG-1');
    expect(trace(config([subject([])], [], settings), [
      tag.at(t('10:00'), HOME), tag.beat(t('10:14:59')), tag.beat(t('10:15')),
    ])).toEqual(['opened no_fix 2026-11-23T10:15:00Z']);
  });

  it('judged on the device\'s messages, never on a clock: no message without a position past the deadline, no no_fix', () => {
    // Replay: another device moves the clock far past the deadline; the live clock likewise.
    const tag = new Tag('TAG-1'), other = new Tag('TAG-2');
    const cfg2 = config([subject([]), subject([], { id: 'S-2', deviceId: 'TAG-2' })], [], settings);
    expect(trace(cfg2, [tag.at(t('10:00'), HOME), tag.beat(t('10:10')), other.at(t('11:00'), AWAY)], ['no_fix'])).toEqual([]);
    const engine = new Engine(compileConfig(config([subject([])], [], settings)), { clock: 'external' });
    const tag2 = new Tag('TAG-1');
    engine.advanceTo(Date.parse(t('10:00')));
    engine.ingest(parseFix(tag2.at(t('10:00'), HOME)));
    engine.ingest(parseFix(tag2.beat(t('10:10'))));
    engine.advanceTo(Date.parse(t('12:00')));
    expect(engine.drain()).toEqual([]);
    // A 20-minute backlog arriving in order after the clock has passed every deadline: positions
    // every minute, a heartbeat between each: nothing.
    for (let i = 0; i < 40; i++) {
      const ts = Date.parse(t('10:20')) + i * 30_000;
      engine.ingest(parseFix(i % 2 === 0 ? tag2.at(ts, HOME) : tag2.beat(ts)));
    }
    expect(engine.drain()).toEqual([]);
  });

  it('silence is not no_fix (that is device_offline)', () => {
    const tag = new Tag('TAG-1'), other = new Tag('TAG-2');
    const fixes: FixIn[] = [tag.at(t('10:00'), HOME)];
    for (let i = 1; i <= 6; i++) fixes.push(other.at(Date.parse(t('10:00')) + i * 600_000, AWAY));
    expect(trace(config([subject([]), subject([], { id: 'S-2', deviceId: 'TAG-2' })], [], settings), fixes)).toEqual([]);
  });
});

describe('device_offline', () => {
  const settings = { noFixAfterS: 1e6, offlineAfterS: 1800 };

  it('no message for offlineAfterS: opens at the deadline (no fix); the next message closes it at its ts', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([])], [], settings), [
      tag.at(t('10:00'), HOME),
      tag.at(t('10:10'), HOME),
      tag.beat(t('11:00')),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.episodeId} ${e.at} ${JSON.stringify(e.fix ?? null)}`)).toEqual([
      'opened S-1:device_offline:2026-11-23T10:40:00Z 2026-11-23T10:40:00Z null',
      'closed S-1:device_offline:2026-11-23T10:40:00Z 2026-11-23T11:00:00Z {"seq":3}',
    ]);
    expect(r.events[0]).toMatchObject({ severity: 'high', confidence: 'confirmed', late: false });
  });

  it('in replay the clock is the latest fix of any device: another device keeps it moving; a deadline equal to the last fix time fires at the end', () => {
    const a = new Tag('TAG-1'), b = new Tag('TAG-2');
    const cfg = config([subject([]), subject([], { id: 'S-2', deviceId: 'TAG-2', team: 'team-b' })], [], settings);
    expect(run(cfg, [a.at(t('10:00'), HOME), b.at(t('10:20'), AWAY), b.at(t('10:30'), AWAY)]).events
      .map((e) => `${e.event} ${e.subjectId} ${e.type} ${e.at}`)).toEqual([
      'opened S-1 device_offline 2026-11-23T10:30:00Z',
    ]);
    const a2 = new Tag('TAG-1'), b2 = new Tag('TAG-2');
    expect(run(cfg, [a2.at(t('10:00'), HOME), b2.at(t('10:20'), AWAY), b2.at(t('10:29:59'), AWAY)]).events).toEqual([]);
  });

  it('the live clock (advanceTo) fires it with no further message', () => {
    const engine = new Engine(compileConfig(config([subject([])], [], settings)), { clock: 'external' });
    const tag = new Tag('TAG-1');
    engine.advanceTo(Date.parse(t('10:00')));
    expect(engine.ingest(parseFix(tag.at(t('10:00'), HOME)))).toBe('accepted');
    engine.advanceTo(Date.parse(t('10:30')));
    expect(engine.drain()).toEqual([]);
    engine.advanceTo(Date.parse(t('10:45')));
    expect(engine.drain().map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual(['opened device_offline 2026-11-23T10:30:00Z']);
  });
});

describe('validFrom / validTo', () => {
  const cfg = (settings?: Record<string, unknown>): unknown => config([subject(
    [{ id: 'c1', type: 'exclusion', zone: 'Z-X' }],
    { validFrom: '2026-11-01T00:00:00Z', validTo: '2026-11-02T00:00:00Z' },
  )], [zoneX()], settings);
  const o31 = day('2026-10-31'), n1 = day('2026-11-01'), n2 = day('2026-11-02');

  it('nothing is evaluated before validFrom or from validTo on; open episodes close at validTo (no fix)', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg(), [
      tag.at(o31('23:00'), ZX_CENTRE, { strap: 'open', battery: 0.05 }),
      tag.at(o31('23:50'), ZX_CENTRE, { strap: 'open', battery: 0.05 }),
      tag.at(n1('00:10'), ZX_CENTRE),
      tag.at(n1('23:00'), ZX_CENTRE, { strap: 'open' }),
      tag.at(n2('01:00'), southOfX(500), { strap: 'ok', battery: 0.01 }),
      tag.at(n2('02:00'), ZX_CENTRE, { strap: 'open' }),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.type} ${e.at} ${e.fix?.seq ?? '-'}`)).toEqual([
      'opened exclusion 2026-11-01T00:10:00Z 3',
      'opened tamper 2026-11-01T23:00:00Z 4',
      'closed exclusion 2026-11-02T00:00:00Z -',
      'closed tamper 2026-11-02T00:00:00Z -',
    ]);
    checkEpisodeInvariants(r.events);
  });

  it('validTo also closes device-health episodes, and no health timer fires after it', () => {
    const tag = new Tag('TAG-1');
    const r = run(cfg({ noFixAfterS: 900, offlineAfterS: 1800 }), [
      tag.at(n1('22:00'), southOfX(500)),
      tag.at(n2('03:00'), southOfX(500)),
      tag.beat(n2('04:00')),
    ]);
    expect(r.events.map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual([
      'opened device_offline 2026-11-01T22:30:00Z',
      'closed device_offline 2026-11-02T00:00:00Z',
    ]);
  });
});

describe('a suspended subject', () => {
  it('raises no alerts at all, yet its fixes are still de-duplicated', () => {
    const s = subject([
      { id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 200 },
      { id: 'c2', type: 'curfew', zone: 'Z-home', graceS: 0, schedule: { windows: [{ days: ['mon'], start: '19:00', end: '07:00' }] } },
      { id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500 },
    ], { status: 'suspended' });
    const cfg = config([s], [zoneX(), homeZone()], { noFixAfterS: 900, offlineAfterS: 1800 });
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const fixes = [
      tag.at(t('18:00'), southOfX(100)),
      tag.at(t('18:10'), ZX_CENTRE, { strap: 'open', battery: 0.01 }),
      vic.at(t('18:11'), move(ZX_CENTRE, 50, 50)),
      tag.beat(t('18:30')), tag.beat(t('19:00')),
      tag.at(t('21:00'), AWAY),
      tag.at(t('23:00'), AWAY),
    ];
    expect(run(cfg, fixes).raw).toBe('');
    const engine = new Engine(compileConfig(cfg));
    expect(engine.ingest(parseFix(fixes[0]))).toBe('accepted');
    expect(engine.ingest(parseFix({ ...fixes[1], seq: 1 }))).toBe('duplicate');
    expect(engine.drain()).toEqual([]);
  });
});

describe('severity follows the type and the subject\'s risk', () => {
  // README table, rows = type, columns = low, medium, high, very_high.
  const TABLE: Record<AlertType, [string, string, string, string]> = {
    exclusion: ['medium', 'high', 'critical', 'critical'],
    exclusion_buffer: ['low', 'medium', 'high', 'high'],
    curfew: ['medium', 'medium', 'high', 'critical'],
    inclusion: ['medium', 'medium', 'high', 'critical'],
    proximity: ['high', 'critical', 'critical', 'critical'],
    proximity_warning: ['high', 'high', 'high', 'critical'],
    tamper: ['high', 'high', 'critical', 'critical'],
    battery_low: ['low', 'low', 'low', 'low'],
    no_fix: ['low', 'medium', 'high', 'high'],
    device_offline: ['medium', 'medium', 'high', 'high'],
  };
  const RISKS = ['low', 'medium', 'high', 'very_high'] as const;

  /** One subject that trips every alert type once. */
  function everything(extra: Record<string, unknown>): AlertEvent[] {
    const s = subject([
      { id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 200 },
      { id: 'c2', type: 'curfew', zone: 'Z-home', graceS: 300, schedule: { windows: [{ days: ['mon'], start: '19:00', end: '07:00' }] } },
      { id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500, warnM: 1000 },
      { id: 'c4', type: 'inclusion', zone: 'Z-X' },
    ], extra);
    const tag = new Tag('TAG-1'), vic = new Tag('VIC-1');
    const r = run(config([s], [zoneX(), homeZone()], { noFixAfterS: 900, offlineAfterS: 1800 }), [
      tag.at(t('10:00'), southOfX(100), { battery: 0.9, strap: 'ok' }),
      tag.at(t('10:05'), ZX_CENTRE),
      vic.at(t('10:06'), move(ZX_CENTRE, 800)),
      vic.at(t('10:07'), move(ZX_CENTRE, 300)),
      tag.at(t('10:10'), ZX_CENTRE, { strap: 'open', battery: 0.1 }),
      tag.beat(t('10:15')), tag.beat(t('10:20')), tag.beat(t('10:30')),
      tag.at(t('18:50'), AWAY),
      tag.at(t('19:10'), AWAY),
    ]);
    checkEpisodeInvariants(r.events);
    return r.events;
  }

  it.each(RISKS.map((risk, i) => [risk, i] as const))('risk %s', (risk, col) => {
    const events = everything({ risk });
    const seen = new Map<string, string>();
    for (const e of events) if (e.event === 'opened' && !seen.has(e.type)) seen.set(e.type, e.severity);
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(Object.entries(TABLE).map(([type, row]) => [type, row[col]])));
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['MAPPA level 3 counts as at least high', { risk: 'low', mappaLevel: 3 }, 'high'],
    ['a WISDOM case counts as at least high', { risk: 'medium', wisdom: true }, 'high'],
    ['MAPPA level 2 does not raise it', { risk: 'low', mappaLevel: 2 }, 'low'],
    ['very_high stays very_high with MAPPA 3', { risk: 'very_high', mappaLevel: 3 }, 'very_high'],
  ])('%s', (_name, extra, asRisk) => {
    const col = RISKS.indexOf(asRisk as (typeof RISKS)[number]);
    const events = everything(extra);
    for (const e of events) expect(e.severity, e.type).toBe(TABLE[e.type][col]);
  });
});

describe('health types in replay carry no conditionId and one episode at a time', () => {
  it('a flapping strap makes one episode per open/ok cycle, never one per fix', () => {
    const tag = new Tag('TAG-1');
    const fixes: FixIn[] = [];
    for (let i = 0; i < 40; i++) fixes.push(tag.beat(Date.parse(t('10:00')) + i * 60_000, { strap: i % 10 < 5 ? 'open' : 'ok' }));
    const r = run(config([subject([])]), fixes);
    expect(r.events.filter((e) => e.event === 'opened')).toHaveLength(4);
    expect(r.events.filter((e) => e.event === 'closed')).toHaveLength(4);
    expect(r.events.map((e) => `${e.event} ${e.at}`).slice(0, 3)).toEqual([
      'opened 2026-11-23T10:00:00Z', 'closed 2026-11-23T10:05:00Z', 'opened 2026-11-23T10:10:00Z',
    ]);
    checkEpisodeInvariants(r.events);
  });
});
