// Timers in the live service run on the wall clock (contract section 3): device_offline opens at
// the deadline without any fix arriving, is queued like any event, and closes on the next fix; a
// timer that came due while the service was down is raised when it starts again.
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DELIVERY_QUEUE, deliveryJobId } from '../../src/alerts/queues.js';
import { Keys } from '../../src/server/keys.js';
import {
  api, exclusionSubject, FAR_X, fix, fmt, newRedis, sleep, startTestService, TOKENS, uniquePrefix, waitUntil, WsClient, zoneX,
} from '../support/server.js';

const engineSettingsJson = JSON.stringify({ offlineAfterS: 2, noFixAfterS: 86_400 });

describe('wall-clock timers (in-process service)', () => {
  it('opens device_offline at the deadline with no fix arriving, queues it, and closes it on the next fix', async () => {
    const t = await startTestService({ engineSettingsJson });
    const redis = newRedis();
    const queue = new Queue(DELIVERY_QUEUE, { connection: redis, prefix: t.service.keys.bull });
    // A webhook for the team (no workers run), so the event is queued as a delivery.
    await redis.hset(t.service.keys.teams, 'iom-north', JSON.stringify({ webhooks: [{ id: 'default', url: 'http://127.0.0.1:9/hook', secret: 'timers-test-secret-0001' }] }));
    const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    try {
      const op = (method: string, path: string, body?: unknown) => api(t.url, method, path, { token: TOKENS.operator, body });
      expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
      expect((await op('PUT', '/v1/subjects/S-W', exclusionSubject('S-W', 'TAG-W', 'iom-north', 'Z-X'))).status).toBe(200);
      const ts = Date.now() - 500;
      expect(await ws.send(fix('TAG-W', 1, ts, FAR_X))).toEqual({ ack: [['TAG-W', 1]] });
      // Silence is judged by arrival (the service clock, which ticks each second): the deadline
      // is offlineAfterS after the fix was heard, not after its own ts.
      const found = await waitUntil('device_offline', async () => {
        const list = (await op('GET', '/v1/alerts?state=all')).body.alerts as { episodeId: string; type: string; state: string }[];
        return list.find((x) => x.type === 'device_offline' && x.state === 'open');
      }, 5000, 100);
      const episodeId = found.episodeId;
      const opened = (await op('GET', `/v1/alerts/${encodeURIComponent(episodeId)}`)).body;
      expect(opened).toMatchObject({ type: 'device_offline', severity: 'high', confidence: 'confirmed', subjectId: 'S-W' });
      const openedAt = Date.parse(opened.openedAt);
      expect(openedAt).toBeGreaterThanOrEqual(ts + 2000);
      expect(openedAt).toBeLessThanOrEqual(ts + 2000 + 1600);
      expect(opened.conditionId).toBeUndefined();
      expect(opened.events[0].fix).toBeUndefined(); // a timer raised it
      const job = await waitUntil('the queued job', async () => queue.getJob(deliveryJobId(`${episodeId}:opened`, 'default')), 3000);
      expect(job.data.payload.at).toBe(opened.openedAt);
      // The next message closes it, at its ts.
      const back = Date.now();
      expect(await ws.send(fix('TAG-W', 2, back, FAR_X))).toEqual({ ack: [['TAG-W', 2]] });
      const closed = (await op('GET', `/v1/alerts/${encodeURIComponent(episodeId)}`)).body;
      expect(closed).toMatchObject({ state: 'closed', closedAt: fmt(back) });
    } finally {
      await ws.closeAndWait();
      await queue.close();
      redis.disconnect();
      await t.close();
    }
  });

  it('raises a device_offline that came due while the service was down, soon after start-up', async () => {
    const prefix = uniquePrefix('t-timer');
    let t = await startTestService({ keyPrefix: prefix, engineSettingsJson });
    try {
      const op = (method: string, path: string, body?: unknown) => api(t.url, method, path, { token: TOKENS.operator, body });
      expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
      expect((await op('PUT', '/v1/subjects/S-T', exclusionSubject('S-T', 'TAG-T', 'iom-north', 'Z-X'))).status).toBe(200);
      const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
      const ts = Date.now();
      expect(await ws.send(fix('TAG-T', 1, ts, FAR_X))).toEqual({ ack: [['TAG-T', 1]] });
      await ws.closeAndWait();
      await t.service.stop(); // well before ts + 2 s
      const r = newRedis();
      try {
        expect(await r.zcard(new Keys(prefix).alertsAll), 'precondition: the timer must not have fired before the stop').toBe(0);
      } finally {
        r.disconnect();
      }
      await sleep(Math.max(0, ts + 2500 - Date.now())); // down while the timer comes due
      t = await startTestService({ keyPrefix: prefix, engineSettingsJson });
      // Silence is judged by arrival: the deadline is offlineAfterS after the service heard the
      // fix (a few ms after its ts on a loaded machine), so the episode starts at that deadline.
      // The service's clock ticks every second: allow three, and as many again for start-up on a
      // loaded machine (loading the state, building list indexes).
      const found = await waitUntil('the device_offline episode', async () => {
        const a = await api(t.url, 'GET', `/v1/alerts?state=all`, { token: TOKENS.operator });
        return a.body.alerts.find((x: { subjectId: string; type: string }) => x.subjectId === 'S-T' && x.type === 'device_offline') ?? null;
      }, 6000, 100).catch(() => null);
      expect(found, 'device_offline not raised within 6 s of the restart (no other activity)').toMatchObject({ type: 'device_offline', state: 'open' });
      const openedAt = Date.parse(found.openedAt);
      expect(openedAt).toBeGreaterThanOrEqual(ts + 2000);
      expect(openedAt).toBeLessThan(ts + 2500); // heard before the stop, well before ts + 2.5 s
      expect(found.episodeId).toBe(`S-T:device_offline:${found.openedAt}`);
    } finally {
      await t.close();
    }
  });
});

