// Security wave 2, item 5 (issue 12; decided by issue 10 §4): one future-dated fix must not
// suppress alerts. Before: a fix dated now+290 s was accepted (limit 300 s) and evaluated at its
// own time, so every true fix after it counted as "late" and a proximity breach 0.4 m from the
// victim raised nothing. Now a fix further ahead of the service clock than INGEST_MAX_FUTURE_S
// (default 30 s) is refused, and one within the limit is recorded with its own ts but evaluated
// at the service clock: the next true fix is in order, and no event is dated ahead of the clock.
import { describe, expect, it } from 'vitest';
import { AlertRecords } from '../../src/alerts/alert-record.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import { move, type LatLon } from '../engine/scenario-helpers.js';
import { api, fix, startTestService, TOKENS, WsClient, type TestService } from '../support/server.js';

const V: LatLon = [51.49, -0.2]; // the victim's home
const FAR: LatLon = move(V, 2000);
const NEAR: LatLon = move(V, 0.24, 0.32); // 0.4 m from the victim

async function allEvents(t: TestService): Promise<AlertEvent[]> {
  const records = new AlertRecords(t.service.redis, t.service.keys);
  const out: AlertEvent[] = [];
  for (const id of await t.service.redis.zrange(t.service.keys.alertsAll, 0, -1)) {
    const a = await records.read(id);
    if (a !== null) out.push(...(a.events as AlertEvent[]));
  }
  return out;
}

async function setUp(over: { ingestMaxFutureS?: number }, clock: { ms: number }): Promise<{ t: TestService; ws: WsClient }> {
  const t = await startTestService(over, { now: () => clock.ms, tickMs: 20 });
  const op = (method: string, path: string, body?: unknown) => api(t.url, method, path, { token: TOKENS.operator, body });
  expect((await op('PUT', '/v1/subjects/S-P', {
    id: 'S-P', deviceId: 'TAG-P', team: 'iom-north', risk: 'high', timezone: 'Europe/London',
    conditions: [{ id: 'c3', type: 'proximity', victimDeviceId: 'VIC-P', distanceM: 500, warnM: 1000 }],
  })).status).toBe(200);
  return { t, ws: await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest) };
}

describe('a future-dated fix cannot suppress alerts', () => {
  it.each([
    ['refused past the default limit (30 s)', {}, 'refused'],
    ['evaluated at the service clock when within a raised limit (300 s)', { ingestMaxFutureS: 300 }, 'clamped'],
  ] as const)('%s: a proximity breach 0.4 m from the victim after a fix dated now+290 s raises its alert, not late', async (_name, over, mode) => {
    const clock = { ms: Date.parse('2026-11-23T10:00:00Z') };
    const { t, ws } = await setUp(over, clock);
    try {
      const now = clock.ms;
      expect(await ws.send(fix('VIC-P', 1, now - 60_000, V))).toEqual({ ack: [['VIC-P', 1]] });
      expect(await ws.send(fix('TAG-P', 1, now - 30_000, FAR))).toEqual({ ack: [['TAG-P', 1]] });
      // The attack (or a faulty tag clock): one fix dated 290 s ahead.
      const reply = await ws.send(fix('TAG-P', 2, now + 290_000, FAR));
      if (mode === 'refused') {
        expect(reply).toEqual({ ack: [], errors: [{ index: 0, deviceId: 'TAG-P', seq: 2, error: expect.stringMatching(/^ts is 290\.0 s ahead of the service clock; at most 30 s is accepted/) }] });
      } else {
        expect(reply).toEqual({ ack: [['TAG-P', 2]] });
      }
      // True fixes follow.
      clock.ms = now + 5_000;
      expect(await ws.send(fix('TAG-P', 3, now + 5_000, FAR))).toEqual({ ack: [['TAG-P', 3]] });
      clock.ms = now + 10_000;
      expect(await ws.send(fix('TAG-P', 4, now + 10_000, NEAR))).toEqual({ ack: [['TAG-P', 4]] });
      const events = await allEvents(t);
      const opened = events.filter((e) => e.type === 'proximity' && e.event === 'opened');
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ subjectId: 'S-P', late: false, at: '2026-11-23T10:00:10Z' });
      // No event is dated ahead of the service clock.
      for (const e of events) expect(Date.parse(e.at), `${e.type} ${e.event} ${e.at}`).toBeLessThanOrEqual(clock.ms);
      if (mode === 'clamped') {
        // The trail keeps the fix's own time (evidence of the faulty clock).
        const trail = await api(t.url, 'GET', `/v1/subjects/S-P/trail?from=${now - 3_600_000}&to=${now + 3_600_000}`, { token: TOKENS.operator });
        expect(trail.status).toBe(200);
        expect(JSON.stringify(trail.body)).toContain(new Date(now + 290_000).toISOString().slice(0, 19));
      }
    } finally {
      await ws.closeAndWait();
      await t.close();
    }
  });
});
