// Timers judged in event time, live as in replay (issue 10 §3; README "Engine semantics",
// "Timers"). One timeline of representative scenarios of the engine suites (curfew deadline,
// grace and window end, a quiet device's deadline, a scheduled exclusion with a buffer band and
// its window end, proximity to a moving victim, device health with the 20-minute in-order
// backlog of positions and heartbeats one every 150 ms, a late burst, validTo) is streamed
// through the live service with an injected service clock running at several paces; each fix is
// sent when the service clock reaches its send time (its ts, or its upload time for a backlog)
// and acknowledged before the clock passes it. The alert records must hold exactly the episodes
// and events `replay` gives for the same input, with the same `at`s, except device_offline
// (by arrival in the live service; set far away here).
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { AlertRecords } from '../../src/alerts/alert-record.js';
import {
  AWAY, checkEpisodeInvariants, circle, config, day, HOME, homeZone, move, run, southOfX, subject, Tag, ZX_CENTRE, zoneX,
  type FixIn, type LatLon,
} from '../engine/scenario-helpers.js';
import { api, sleep, startTestService, TOKENS, WsClient } from '../support/server.js';

const t = day('2026-11-23');
const ms = (s: string): number => Date.parse(t(s));
const FAR: LatLon = southOfX(500);
const BAND: LatLon = southOfX(100);
const HOME2: LatLon = move(HOME, 0, 5000);
const AWAY2: LatLon = move(HOME2, 2000, 0);
const HOME3: LatLon = move(HOME, 0, -5000);
const P: LatLon = [51.49, -0.2];
const fromP = (d: number): LatLon => move(P, d * 0.6, d * 0.8);
/** timerWaitS (default 60 s): a quiet device's timer fires this long after it is due. */
const WAIT_MS = 60_000;

interface Send {
  fix: FixIn;
  /** Scenario time at which the device sends it (its ts, or later for a backlog). */
  sendAt: number;
}

function scenario(): { cfg: Record<string, unknown>; sends: Send[] } {
  const evening = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '19:00', end: '23:00' }] };
  const subjects = [
    // A quiet device at its curfew deadline: fired by the service clock (deadline + timerWaitS).
    subject([{ id: 'c1', type: 'curfew', zone: 'Z-home', graceS: 300, schedule: evening }], { id: 'S-CUR1', deviceId: 'TAG-C1' }),
    // A chatty one: its own fixes pass the deadline (grace 10 min) and the window's end.
    subject([{ id: 'c1', type: 'curfew', zone: 'Z-home2', graceS: 600, schedule: evening }], { id: 'S-CUR2', deviceId: 'TAG-C2' }),
    // Fixes uploaded with a delay shorter than timerWaitS: the one taken before the deadline
    // arrives after it, and still decides it (home: no breach).
    subject([{ id: 'c1', type: 'curfew', zone: 'Z-home3', graceS: 300, schedule: evening }], { id: 'S-CUR3', deviceId: 'TAG-C3' }),
    // A scheduled exclusion with a buffer band; quiet at the window's end.
    subject([{ id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 200, schedule: { windows: [{ days: ['mon'], start: '20:00', end: '22:00' }] } }],
      { id: 'S-EXS', deviceId: 'TAG-E1' }),
    subject([{ id: 'c3', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500, warnM: 1000 }], { id: 'S-PRX', deviceId: 'TAG-P1' }),
    subject([], { id: 'S-HB', deviceId: 'TAG-H1' }),
    subject([{ id: 'c1', type: 'exclusion', zone: 'Z-X' }], { id: 'S-LATE', deviceId: 'TAG-L1' }),
    subject([{ id: 'c1', type: 'exclusion', zone: 'Z-X' }], { id: 'S-VT', deviceId: 'TAG-V1', validTo: t('22:00') }),
  ];
  const zones = [zoneX(), homeZone(), circle('Z-home2', HOME2[1], HOME2[0], 60), circle('Z-home3', HOME3[1], HOME3[0], 60)];
  const cfg = config(subjects, zones, { noFixAfterS: 900, offlineAfterS: 30 * 86400 });

  const sends: Send[] = [];
  const live = (f: FixIn): void => {
    sends.push({ fix: f, sendAt: typeof f.ts === 'number' ? f.ts : Date.parse(f.ts) });
  };
  const c1 = new Tag('TAG-C1');
  live(c1.at(t('18:50'), AWAY));
  live(c1.at(t('19:30'), AWAY));
  live(c1.at(t('19:45'), HOME));
  live(c1.at(t('22:50'), AWAY)); // out again before the end: closed at 23:00 by the window's end
  live(c1.at(t('23:20'), AWAY));
  const c2 = new Tag('TAG-C2');
  for (let m = 56; m < 60; m += 2) live(c2.at(t(`18:${m}`), AWAY2));
  for (let m = 0; m <= 20; m += 2) live(c2.at(t(`19:${String(m).padStart(2, '0')}`), m < 16 ? AWAY2 : HOME2));
  live(c2.at(t('22:58'), AWAY2));
  live(c2.at(t('23:02'), AWAY2));
  const c3 = new Tag('TAG-C3');
  live(c3.at(t('18:40'), move(HOME3, 3000)));
  [['19:04:40', HOME3, '19:05:20'], ['19:06:40', HOME3, '19:07:10'], ['22:59:30', move(HOME3, 3000), '23:00:40'], ['23:10', HOME3, '23:10']]
    .forEach(([ts, pos, at]) => sends.push({ fix: c3.at(t(ts as string), pos as LatLon), sendAt: ms(at as string) }));
  const e1 = new Tag('TAG-E1');
  live(e1.at(t('19:50'), ZX_CENTRE)); // before the window: nothing
  live(e1.at(t('20:05'), BAND));
  live(e1.at(t('20:10'), ZX_CENTRE));
  live(e1.at(t('21:00'), ZX_CENTRE)); // then quiet past 22:00
  live(e1.at(t('22:30'), FAR));
  const p1 = new Tag('TAG-P1'), vic = new Tag('VIC-1');
  live(p1.at(t('20:00'), P));
  live(vic.at(t('20:01'), fromP(2000)));
  live(vic.at(t('20:02'), fromP(800)));
  live(vic.at(t('20:03'), fromP(300)));
  live(p1.at(t('20:03:30'), move(P, 100)));
  live(vic.at(t('20:04'), fromP(450)));
  live(vic.at(t('20:05'), fromP(800)));
  live(p1.at(t('20:06'), move(P, -1500)));
  // Device health: a position, then 20 minutes out of coverage; the backlog (positions on the
  // minute, heartbeats between) is uploaded in order, one message every 150 ms, after it.
  const h1 = new Tag('TAG-H1');
  live(h1.at(t('20:00'), AWAY, { battery: 0.9, strap: 'ok' }));
  const upload = ms('20:21');
  for (let i = 1; i <= 40; i++) {
    const ts = ms('20:00') + i * 30_000;
    const f = i % 2 === 0 ? h1.at(ts, AWAY) : h1.beat(ts, i === 13 ? { strap: 'open' } : i === 21 ? { strap: 'ok', battery: 0.1 } : {});
    sends.push({ fix: f, sendAt: upload + i * 150 });
  }
  // Heartbeats only for noFixAfterS: no_fix opens on the first one at or past the deadline.
  live(h1.at(t('21:00'), AWAY, { battery: 0.8 }));
  for (const m of ['05', '10', '14', '16', '18']) live(h1.beat(t(`21:${m}`)));
  live(h1.at(t('21:20'), AWAY));
  // A late burst: the live fix first, then the backlog behind it, then the next live fix.
  const l1 = new Tag('TAG-L1');
  live(l1.at(t('21:00'), FAR, { seq: 10 }));
  [['20:10', FAR], ['20:20', ZX_CENTRE], ['20:30', ZX_CENTRE], ['20:40', FAR]].forEach(([ts, pos], i) => {
    sends.push({ fix: l1.at(t(ts as string), pos as LatLon, { seq: i + 1 }), sendAt: ms('21:01') + i * 150 });
  });
  live(l1.at(t('21:10'), FAR, { seq: 11 }));
  const v1 = new Tag('TAG-V1');
  live(v1.at(t('21:30'), ZX_CENTRE)); // then quiet: validTo closes it at 22:00
  // Keeps the replay clock going to the end.
  live(v1.at(t('23:30'), FAR));
  sends.sort((a, b) => a.sendAt - b.sendAt); // stable: each device keeps its order
  return { cfg, sends };
}

/**
 * The service clock of the test: scenario time running at `pace` (scenario ms per real ms),
 * never past `gate` (the next send, until it is acknowledged). A stretch with nothing to send
 * longer than maxGapRealMs of real time is skipped (the clock jumps), so a day fits in seconds.
 */
class PacedClock {
  private base: number;
  private realBase = performance.now();
  private gate: number;

  constructor(start: number, private readonly pace: number, private readonly maxGapRealMs: number) {
    this.base = start;
    this.gate = start;
  }

  readonly now = (): number => Math.min(this.gate, Math.floor(this.base + (performance.now() - this.realBase) * this.pace));

  /** Runs the clock up to `target` (then holds it there). */
  async reach(target: number): Promise<void> {
    const cur = this.now();
    this.base = Math.max(cur, target - this.maxGapRealMs * this.pace);
    this.realBase = performance.now();
    this.gate = Math.max(target, cur);
    while (this.now() < target) await sleep(1);
  }
}

type Episodes = Map<string, Record<string, AlertEvent>>;

function byEpisode(events: readonly AlertEvent[]): Episodes {
  const out: Episodes = new Map();
  for (const e of events) {
    if (e.type === 'device_offline') continue;
    const ep = out.get(e.episodeId) ?? {};
    ep[e.event] = e;
    out.set(e.episodeId, ep);
  }
  return out;
}

function sorted(m: Episodes): [string, Record<string, AlertEvent>][] {
  return [...m].sort((a, b) => a[0].localeCompare(b[0]));
}

async function liveEpisodes(records: AlertRecords, redis: { zrange(k: string, a: number, b: number): Promise<string[]> }, key: string): Promise<Episodes> {
  const out: Episodes = new Map();
  for (const id of await redis.zrange(key, 0, -1)) {
    const a = await records.read(id);
    if (a === null || a.type === 'device_offline') continue;
    const ep: Record<string, AlertEvent> = {};
    for (const e of a.events as AlertEvent[]) ep[e.event] = e;
    out.set(id, ep);
  }
  return out;
}

describe('live service vs replay: the same episodes, events and `at`s', () => {
  const { cfg, sends } = scenario();
  const replayed = run(cfg, sends.map((s) => s.fix));
  checkEpisodeInvariants(replayed.events);
  const expected = byEpisode(replayed.events);

  it('the scenarios raise what they are meant to (replay)', () => {
    const seen = replayed.events.map((e) => `${e.event} ${e.subjectId} ${e.type} ${e.at}${e.late ? ' late' : ''}`);
    expect(seen).toEqual(expect.arrayContaining([
      'opened S-CUR1 curfew 2026-11-23T19:05:00Z', // judged at the deadline on the 18:50 position
      'closed S-CUR1 curfew 2026-11-23T23:00:00Z', // the window's end
      'opened S-CUR2 curfew 2026-11-23T19:10:00Z',
      'closed S-EXS exclusion 2026-11-23T22:00:00Z',
      'opened S-PRX proximity 2026-11-23T20:03:00Z',
      'opened S-HB tamper 2026-11-23T20:06:30Z',
      'opened S-HB battery_low 2026-11-23T20:10:30Z',
      'opened S-HB no_fix 2026-11-23T21:16:00Z',
      'closed S-HB no_fix 2026-11-23T21:20:00Z',
      'opened S-LATE exclusion 2026-11-23T20:20:00Z late',
      'closed S-VT exclusion 2026-11-23T22:00:00Z',
      'opened S-CUR3 curfew 2026-11-23T22:59:30Z', // out again at 22:59:30 (uploaded after the end)
      'closed S-CUR3 curfew 2026-11-23T23:00:00Z',
    ]));
    // The fix taken before the deadline and uploaded after it decided the deadline: home.
    expect(seen.filter((e) => e.includes('S-CUR3 curfew 2026-11-23T19:'))).toEqual([]);
    // The in-order backlog raises no no_fix: a position every minute.
    expect(seen.filter((e) => e.includes('no_fix'))).toHaveLength(2);
  });

  it.each([60, 600, 3600])('at %ix', async (pace) => {
    const first = sends[0].sendAt;
    const last = Math.max(...sends.map((s) => s.sendAt));
    const clock = new PacedClock(first - 60_000, pace, 25);
    const svc = await startTestService(
      { engineSettingsJson: JSON.stringify((cfg as { settings: object }).settings) },
      { now: clock.now, tickMs: 5 },
    );
    const ws = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    try {
      const op = (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
      for (const z of (cfg as { zones: { id: string }[] }).zones) expect((await op('PUT', `/v1/zones/${z.id}`, z)).status).toBe(200);
      for (const s of (cfg as { subjects: { id: string }[] }).subjects) expect((await op('PUT', `/v1/subjects/${s.id}`, s)).status).toBe(200);
      let maxAt = -Infinity;
      for (const s of sends) {
        await clock.reach(s.sendAt);
        expect(await ws.send(s.fix)).toEqual({ ack: [[s.fix.deviceId, s.fix.seq]] });
      }
      // Every timer due up to the last fix has fired once the clock is past it by timerWaitS.
      await clock.reach(last + WAIT_MS + 1);
      const records = new AlertRecords(svc.service.redis, svc.service.keys);
      let got: Episodes = new Map();
      for (let i = 0; i < 200; i++) {
        got = await liveEpisodes(records, svc.service.redis, svc.service.keys.alertsAll);
        if (JSON.stringify(sorted(got)) === JSON.stringify(sorted(expected))) break;
        await sleep(20);
      }
      expect(sorted(got)).toEqual(sorted(expected));
      for (const ep of got.values()) for (const e of Object.values(ep)) maxAt = Math.max(maxAt, Date.parse(e.at));
      expect(maxAt).toBeLessThanOrEqual(clock.now());
    } finally {
      await ws.closeAndWait();
      await svc.close();
    }
  });
});
