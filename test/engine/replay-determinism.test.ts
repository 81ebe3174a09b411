// Replay (contract §4, README "Replay"): byte-identical output, bad input, unknown devices,
// input time formats, and the order-independence property across devices.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replay } from '../../src/cli/replay.js';
import {
  AWAY, checkEpisodeInvariants, circle, victimLeaks, config, day, HOME, homeZone, move, ndjson, rect, run, southOfX, subject, Tag,
  ZX_CENTRE, zoneX, type FixIn, type LatLon,
} from './scenario-helpers.js';

const t = day('2026-11-23');
const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const exampleConfig = JSON.parse(readFileSync(`${examples}scenario.json`, 'utf8')) as unknown;
const exampleFixes = readFileSync(`${examples}fixes.ndjson`, 'utf8');

/** A scenario with every kind of condition, used by several tests below. */
function busy(): { cfg: unknown; fixes: FixIn[] } {
  const cfg = config([
    subject([
      { id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 200 },
      { id: 'c2', type: 'curfew', zone: 'Z-home', graceS: 300, schedule: { windows: [{ days: ['mon', 'tue'], start: '19:00', end: '07:00' }] } },
      { id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500, warnM: 1000 },
    ]),
    subject([{ id: 'c1', type: 'exclusion', zone: 'Z-X' }], { id: 'S-2', deviceId: 'TAG-2', team: 'team-b', risk: 'low' }),
  ], [zoneX(), homeZone()], { noFixAfterS: 900, offlineAfterS: 1800 });
  const a = new Tag('TAG-1'), b = new Tag('TAG-2'), v = new Tag('VIC-1');
  const fixes = [
    a.at(t('18:00'), southOfX(300), { battery: 0.9, strap: 'ok' }),
    b.at(t('18:00'), ZX_CENTRE),
    v.at(t('18:01'), move(ZX_CENTRE, -1500, 300)),
    a.at(t('18:10'), southOfX(100)),
    a.at(t('18:20'), ZX_CENTRE),
    v.at(t('18:21'), move(ZX_CENTRE, -700, 300)),
    b.at(t('18:30'), southOfX(400)),
    a.at(t('18:40'), southOfX(100), { strap: 'open' }),
    v.at(t('18:41'), move(ZX_CENTRE, -100, 200)),
    a.at(t('18:50'), AWAY, { battery: 0.1 }),
    a.beat(t('19:00')), a.beat(t('19:10')),
    a.at(t('19:30'), HOME, { strap: 'ok', battery: 0.5 }),
    b.beat(t('19:40')),
    a.at(t('18:30'), ZX_CENTRE, { seq: 1000 }), // a late one
    a.at(t('21:00'), HOME),
  ];
  return { cfg, fixes };
}

describe('replay is deterministic', () => {
  it('the same input gives the same bytes, twice (example scenario and a busy one)', () => {
    const a = replay(exampleConfig, exampleFixes);
    const b = replay(exampleConfig, exampleFixes);
    expect(a.output).not.toBeNull();
    expect(a.output).not.toBe('');
    expect(b.output).toBe(a.output);
    const { cfg, fixes } = busy();
    const x = replay(cfg, ndjson(fixes)), y = replay(cfg, ndjson(fixes));
    expect(x.output).toBe(y.output);
    expect((x.output as string).endsWith('\n')).toBe(true);
    for (const out of [a.output as string, x.output as string]) {
      const events = out.trimEnd().split('\n').map((l) => JSON.parse(l));
      checkEpisodeInvariants(events);
      // one JSON object per line, keys in the contract's order
      const order = ['episodeId', 'event', 'type', 'severity', 'confidence', 'subjectId', 'deviceId', 'conditionId', 'zoneId', 'team', 'at', 'fix', 'withinM', 'late'];
      for (const e of events) {
        const keys = Object.keys(e);
        expect(keys).toEqual(order.filter((k) => keys.includes(k)));
        expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
      }
    }
  });

  it('the example\'s victim positions never appear in its output', () => {
    const out = replay(exampleConfig, exampleFixes).output as string;
    const all = exampleFixes.trim().split('\n').map((l) => JSON.parse(l) as FixIn);
    const victim = all.filter((f) => f.deviceId === 'VIC-0009');
    expect(victim.length).toBeGreaterThan(0);
    const events = out.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(victimLeaks(out, events, victim, all.filter((f) => f.deviceId !== 'VIC-0009'))).toEqual([]);
  });
});

describe('bad input', () => {
  it('every bad line is named with its line number; output is null (nothing half-written)', () => {
    const good = JSON.stringify({ deviceId: 'TAG-1', seq: 1, ts: t('10:00'), lat: 51.5, lon: -0.1 });
    const text = [
      good, // 1
      '', // 2 (blank lines are skipped but counted)
      '{"deviceId":"TAG-1","seq":2,', // 3 not JSON
      JSON.stringify({ deviceId: 'TAG-1', seq: 3, ts: t('10:02'), lat: 51.5, lon: -0.1 }), // 4
      JSON.stringify({ deviceId: 'TAG-1', seq: -1, ts: t('10:03') }), // 5
      JSON.stringify({ deviceId: 'TAG-1', seq: 5, ts: t('10:04'), lat: 51.5 }), // 6 lat without lon
      JSON.stringify({ deviceId: 'TAG-1', seq: 6, ts: t('10:05'), strap: 'cut' }), // 7
      JSON.stringify({ deviceId: 'TAG-1', seq: 7, ts: '23/11/2026 10:06' }), // 8
      JSON.stringify({ deviceId: 'bad id!', seq: 8, ts: t('10:07') }), // 9
      '[1,2]', // 10 not an object
    ].join('\n');
    const r = replay(config([subject([])]), text, 'day.ndjson');
    expect(r.output).toBeNull();
    expect(r.errors.map((e) => e.split(':').slice(0, 2).join(':'))).toEqual([
      'day.ndjson:3', 'day.ndjson:5', 'day.ndjson:6', 'day.ndjson:7', 'day.ndjson:8', 'day.ndjson:9', 'day.ndjson:10',
    ]);
    expect(r.errors[1]).toMatch(/^day\.ndjson:5: seq /);
    expect(r.errors[2]).toMatch(/lat/);
    expect(r.errors[3]).toMatch(/strap/);
    expect(r.errors[4]).toMatch(/ts/);
    expect(r.errors[5]).toMatch(/deviceId/);
  });

  it('a single bad line anywhere (even the last) stops everything', () => {
    const { cfg, fixes } = busy();
    const lines = ndjson(fixes).trimEnd().split('\n');
    lines.push('{"deviceId":"TAG-1","seq":99999,"ts":"2026-11-23T25:00:00Z"}');
    const r = replay(cfg, lines.join('\n'));
    expect(r.output).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(new RegExp(`^fixes:${lines.length}: `));
  });

  it('a fix from an unknown device is a warning naming the line; it is skipped and the rest is processed as without it', () => {
    const { cfg, fixes } = busy();
    const clean = replay(cfg, ndjson(fixes));
    const ghost = { deviceId: 'GHOST-7', seq: 1, ts: t('18:25'), lat: ZX_CENTRE[0], lon: ZX_CENTRE[1] };
    const withGhost = [...fixes.slice(0, 4), ghost, ...fixes.slice(4), { ...ghost, seq: 2 }];
    const r = replay(cfg, ndjson(withGhost));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/^fixes:5: unknown device "GHOST-7"/);
    expect(r.warnings[1]).toMatch(new RegExp(`^fixes:${withGhost.length}: unknown device "GHOST-7"`));
    expect(r.output).toBe(clean.output);
  });
});

describe('input time formats', () => {
  const shifted = (iso: string, hours: number, suffix: string): string => {
    const d = new Date(Date.parse(iso) + hours * 3_600_000).toISOString();
    return `${d.slice(0, 19)}${suffix}`;
  };

  it('epoch milliseconds give the same output as RFC 3339 strings', () => {
    const { cfg, fixes } = busy();
    const clean = replay(cfg, ndjson(fixes));
    const epoch = fixes.map((f) => ({ ...f, ts: Date.parse(f.ts as string) }));
    expect(typeof epoch[0].ts).toBe('number');
    expect(replay(cfg, ndjson(epoch)).output).toBe(clean.output);
  });

  it('timestamps with an offset (+01:00, -05:00) mean the same instants; output is UTC (Z)', () => {
    const { cfg, fixes } = busy();
    const clean = replay(cfg, ndjson(fixes));
    const plus1 = fixes.map((f) => ({ ...f, ts: shifted(f.ts as string, 1, '+01:00') }));
    expect(plus1[0].ts).toBe('2026-11-23T19:00:00+01:00');
    expect(replay(cfg, ndjson(plus1)).output).toBe(clean.output);
    const minus5 = fixes.map((f, i) => ({ ...f, ts: i % 2 === 0 ? shifted(f.ts as string, -5, '-05:00') : f.ts }));
    expect(replay(cfg, ndjson(minus5)).output).toBe(clean.output);
  });

  it('an exclusion breach reported at 20:02:11+01:00 is at 19:02:11Z', () => {
    const tag = new Tag('TAG-1');
    const r = run(config([subject([{ id: 'c1', type: 'exclusion', zone: 'Z-X' }])], [zoneX()]), [
      { ...tag.at(0, ZX_CENTRE), ts: '2026-11-23T20:02:11+01:00' },
    ]);
    expect(r.events.map((e) => [e.episodeId, e.at])).toEqual([['S-1:c1:2026-11-23T19:02:11Z', '2026-11-23T19:02:11Z']]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any interleaving of the file that keeps each device's own order gives the same bytes.

const SETTINGS = { noFixAfterS: 900, offlineAfterS: 1800, batteryLowBelow: 0.2, victimStaleS: 600 };
const PROP_ZONES = [
  zoneX(),
  circle('Z-home', -0.125, 51.4975, 100),
  rect('L1', -0.121, 51.503, -0.118, 51.506, { layer: 'schools' }),
  rect('L2', -0.128, 51.4985, -0.124, 51.5005, { layer: 'schools' }),
];
const EVERY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const PROP_CONFIG = config([
  subject([
    { id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 150 },
    { id: 'c2', type: 'curfew', zone: 'Z-home', graceS: 300, schedule: { windows: [{ days: EVERY, start: '19:00', end: '07:00' }] } },
    { id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 300, warnM: 600 },
  ]),
  subject([
    { id: 'k1', type: 'exclusion', layer: 'schools', bufferM: 50 },
    { id: 'k2', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 200 },
    { id: 'k3', type: 'inclusion', layer: 'schools', confirmFixes: 2 },
  ], { id: 'S-2', deviceId: 'TAG-2', team: 'team-b', risk: 'low' }),
  subject([
    { id: 'x1', type: 'exclusion', zone: 'Z-X', schedule: { windows: [{ days: EVERY, start: '18:45', end: '19:30' }] } },
    { id: 'x2', type: 'curfew', zone: 'Z-home', graceS: 0, schedule: { windows: [{ days: EVERY, start: '19:15', end: '20:00' }] } },
    { id: 'x3', type: 'inclusion', zone: 'Z-X', graceS: 120, schedule: { windows: [{ days: EVERY, start: '18:40', end: '19:40' }] } },
    { id: 'x4', type: 'inclusion', zone: 'Z-home', closeAfterS: 300 },
  ], { id: 'S-3', deviceId: 'TAG-3', team: 'team-a', risk: 'very_high' }),
], PROP_ZONES, SETTINGS);
const DEVICES = ['TAG-1', 'TAG-2', 'TAG-3', 'VIC-1'] as const;
const START = Date.parse('2026-11-23T18:30:00Z');

interface Step { dtMin: number; dn: number; de: number; beat: boolean; acc: number; strap: number; battery: number }
const stepArb: fc.Arbitrary<Step> = fc.record({
  dtMin: fc.integer({ min: 0, max: 20 }),
  dn: fc.integer({ min: -250, max: 250 }),
  de: fc.integer({ min: -250, max: 250 }),
  beat: fc.boolean(),
  acc: fc.integer({ min: 2, max: 40 }),
  strap: fc.integer({ min: 0, max: 9 }), // 0: open, 1: tampered, 2..4: ok, else none
  battery: fc.integer({ min: 0, max: 10 }), // /10, 10: none
});
const deviceArb = fc.record({
  startMin: fc.integer({ min: 0, max: 40 }),
  start: fc.tuple(fc.integer({ min: -900, max: 300 }), fc.integer({ min: -400, max: 400 })),
  steps: fc.array(stepArb, { minLength: 3, maxLength: 22 }),
  /** Upload a stretch of fixes late: [from, len) moved to after `after` more fixes. */
  holdBack: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 })), { nil: undefined }),
  /** Repeats: [index of the original, altered content?] appended at a later point. */
  dups: fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 3 }),
});
const caseArb = fc.record({
  devices: fc.tuple(deviceArb, deviceArb, deviceArb, deviceArb),
  shuffles: fc.array(fc.integer(), { minLength: 2, maxLength: 3 }),
});

type DeviceCase = typeof deviceArb extends fc.Arbitrary<infer T> ? T : never;

function deviceFixes(id: string, d: DeviceCase): FixIn[] {
  const out: FixIn[] = [];
  let p: LatLon = move(southOfX(0), d.start[0], d.start[1]);
  let ts = START + d.startMin * 60_000;
  d.steps.forEach((s, i) => {
    ts += s.dtMin * 60_000;
    p = move(p, s.dn, s.de);
    const f: FixIn = { deviceId: id, seq: i + 1, ts: new Date(ts).toISOString().replace('.000Z', 'Z') };
    if (!(s.beat && i % 3 === 2)) {
      f.lat = p[0];
      f.lon = p[1];
      f.accuracy = s.acc;
    }
    if (id !== 'VIC-1' || i % 4 === 0) {
      if (s.strap === 0) f.strap = 'open';
      else if (s.strap === 1) f.strap = 'tampered';
      else if (s.strap <= 4) f.strap = 'ok';
      if (s.battery < 10) f.battery = s.battery / 10;
    }
    out.push(f);
  });
  if (d.holdBack !== undefined) {
    const [from0, len, after] = d.holdBack;
    const from = from0 % out.length;
    const held = out.splice(from, Math.min(len, out.length - from));
    const at = Math.min(out.length, from + after);
    out.splice(at, 0, ...held);
  }
  for (const [k, altered] of d.dups) {
    const orig = out[k % out.length];
    const pos = Math.min(out.length, (k % out.length) + 1 + (k % 3));
    const copy: FixIn = altered ? { ...orig, lat: ZX_CENTRE[0], lon: ZX_CENTRE[1], accuracy: 1, strap: 'tampered', battery: 0.01 } : { ...orig };
    out.splice(pos, 0, copy);
  }
  return out;
}

/** A random interleaving that keeps each device's own order. */
function interleave(perDevice: FixIn[][], seed: number): FixIn[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const pos = perDevice.map(() => 0);
  const out: FixIn[] = [];
  for (;;) {
    const live = perDevice.map((q, i) => i).filter((i) => pos[i] < perDevice[i].length);
    if (live.length === 0) return out;
    const i = live[Math.floor(rnd() * live.length)];
    out.push(perDevice[i][pos[i]++]);
  }
}

describe('property: interleaving between devices does not matter', () => {
  it('any per-device-order-preserving interleaving gives byte-identical output (fixed seed)', () => {
    let nonEmpty = 0;
    fc.assert(
      fc.property(caseArb, ({ devices, shuffles }) => {
        const perDevice = DEVICES.map((id, i) => deviceFixes(id, devices[i]));
        const canonical = replay(PROP_CONFIG, ndjson(perDevice.flat()));
        expect(canonical.errors).toEqual([]);
        const out = canonical.output as string;
        if (out !== '') nonEmpty++;
        for (const seed of shuffles) {
          expect(replay(PROP_CONFIG, ndjson(interleave(perDevice, seed))).output).toBe(out);
        }
        // Reversed device blocks, too.
        expect(replay(PROP_CONFIG, ndjson([...perDevice].reverse().flat())).output).toBe(out);
        const events = out === '' ? [] : out.trimEnd().split('\n').map((l) => JSON.parse(l));
        checkEpisodeInvariants(events);
        const victimOriginals = perDevice[3].filter((f) => f.lat !== ZX_CENTRE[0]);
        expect(victimLeaks(out, events, victimOriginals, perDevice.slice(0, 3).flat())).toEqual([]);
      }),
      { seed: 20261025, numRuns: 60, endOnFailure: true },
    );
    // The generator must actually exercise the engine.
    expect(nonEmpty).toBeGreaterThan(40);
  });
});

describe('property: noisy tracks lingering on edges, any interleaving', () => {
  it('seeded GPS noise at the edges of every kind of condition gives byte-identical output for every interleaving', () => {
    const cfg = config([
      subject([
        { id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 100 },
        { id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 300, warnM: 600 },
      ]),
      subject([{ id: 'k1', type: 'exclusion', layer: 'schools' }, { id: 'k3', type: 'inclusion', layer: 'schools' }],
        { id: 'S-2', deviceId: 'TAG-2', team: 'team-b' }),
      subject([
        { id: 'x2', type: 'curfew', zone: 'Z-home', graceS: 300, schedule: { windows: [{ days: EVERY, start: '19:00', end: '07:00' }] } },
        { id: 'x3', type: 'inclusion', zone: 'Z-X', graceS: 600, schedule: { windows: [{ days: EVERY, start: '18:40', end: '19:40' }] } },
      ], { id: 'S-3', deviceId: 'TAG-3', team: 'team-a' }),
    ], PROP_ZONES, SETTINGS);
    // Where each device lingers: Z-X's south edge, L1's west edge, Z-home's edge, and the victim
    // 300 m from TAG-1's spot.
    const spots: Record<string, LatLon> = {
      'TAG-1': southOfX(0), 'TAG-2': [51.5045, -0.121], 'TAG-3': move([51.4975, -0.125], 100), 'VIC-1': move(southOfX(0), -300),
    };
    for (const noise of [5, 8, 15]) {
      let s = noise * 7919;
      const rnd = (): number => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return s / 2147483648;
      };
      const perDevice = DEVICES.map((id) => {
        const out: FixIn[] = [];
        for (let i = 0; i < 90; i++) {
          const leaving = i >= 60 ? (i - 60) * 40 : 0; // 30 min lingering, then 15 min walking away south
          const p = move(spots[id], (rnd() * 2 - 1) * noise - leaving, (rnd() * 2 - 1) * noise);
          const ts = START + i * 30_000 + (id === 'VIC-1' ? 15_000 : 0);
          out.push({ deviceId: id, seq: i + 1, ts: new Date(ts).toISOString(), lat: p[0], lon: p[1], accuracy: 10 + Math.floor(rnd() * 6) });
        }
        return out;
      });
      const canonical = replay(cfg, ndjson(perDevice.flat()));
      expect(canonical.errors).toEqual([]);
      const out = canonical.output as string;
      expect(out).not.toBe('');
      for (const seed of [1, 2, 3, 4]) expect(replay(cfg, ndjson(interleave(perDevice, seed * noise))).output).toBe(out);
      expect(replay(cfg, ndjson([...perDevice].reverse().flat())).output).toBe(out);
      const events = out.trimEnd().split('\n').map((l) => JSON.parse(l));
      checkEpisodeInvariants(events);
      // No flapping: at most one episode per condition (and zone) while lingering.
      const opened = new Map<string, number>();
      for (const e of events) {
        if (e.event !== 'opened') continue;
        const key = `${e.subjectId}:${e.conditionId}:${e.type}:${e.zoneId ?? ''}`;
        opened.set(key, (opened.get(key) ?? 0) + 1);
      }
      for (const [key, n] of opened) expect(n, key).toBe(1);
    }
  });
});
