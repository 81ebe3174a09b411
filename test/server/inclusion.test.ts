// An inclusion condition through the live service (issue 10): the subject is PUT through the API
// (the config schema validates it), a fix outside the zone raises an `inclusion` episode that is
// committed, stored as an alert and delivered on the team's live stream; coming back and staying
// (closeAfterS) closes it at the first fix back. A bad inclusion body is refused by name.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { AlertWorkers } from '../../workers/alert-workers.js';
import {
  api, fix, fmt, newRedis, rect, sleep, startTestService, TOKENS, WsClient, type TestService,
} from '../support/server.js';

describe('inclusion condition through the API, ingest and the live stream (real Redis)', () => {
  let t: TestService;
  let redis: Redis;
  let workerConnection: Redis;
  let workers: AlertWorkers;
  let ingest: WsClient;
  let stream: WsClient;
  const base = Math.floor((Date.now() - 900_000) / 1000) * 1000;
  const op = (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token: TOKENS.operator, body });
  const VENUE: [number, number] = [51.4505, -0.1505]; // inside Z-area
  const OUT: [number, number] = [51.47, -0.1505]; // ~2 km north of it

  beforeAll(async () => {
    t = await startTestService();
    redis = newRedis();
    workerConnection = newRedis();
    workers = new AlertWorkers(redis, t.service.keys, workerConnection, {});
    stream = await WsClient.connect(t.url, '/v1/alerts/stream', TOKENS.north);
    ingest = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    await sleep(300); // the stream's Redis SUBSCRIBE has no "ready" signal
  });

  afterAll(async () => {
    await Promise.all([ingest?.closeAndWait(), stream?.closeAndWait()]);
    await workers?.close();
    await t?.close();
    redis?.disconnect();
    workerConnection?.disconnect();
  });

  it('refuses an inclusion naming both a zone and a layer, or neither, by path', async () => {
    expect((await op('PUT', '/v1/zones/Z-area', rect('Z-area', -0.152, 51.449, -0.149, 51.452))).status).toBe(200);
    for (const cond of [{ zone: 'Z-area', layer: 'boroughs' }, {}]) {
      const r = await op('PUT', '/v1/subjects/S-bad', {
        id: 'S-bad', deviceId: 'TAG-bad', team: 'iom-north', conditions: [{ id: 'c1', type: 'inclusion', ...cond }],
      });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(/conditions\[0\]/);
    }
  });

  it('a subject PUT with an inclusion: leaving the area is delivered as an `inclusion` episode, coming back closes it', async () => {
    const subject = {
      id: 'S-I1', deviceId: 'TAG-I1', team: 'iom-north', risk: 'very_high',
      conditions: [{ id: 'c4', type: 'inclusion', zone: 'Z-area', closeAfterS: 60 }],
    };
    const put = await op('PUT', '/v1/subjects/S-I1', subject);
    expect(put.status).toBe(200);
    const got = await op('GET', '/v1/subjects/S-I1');
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.body)).toContain('"inclusion"');

    const reply = await ingest.send([
      fix('TAG-I1', 1, base, VENUE),
      fix('TAG-I1', 2, base + 60_000, OUT),
      fix('TAG-I1', 3, base + 120_000, VENUE),
      fix('TAG-I1', 4, base + 180_000, VENUE),
    ]);
    expect(reply).toEqual({ ack: [['TAG-I1', 1], ['TAG-I1', 2], ['TAG-I1', 3], ['TAG-I1', 4]] });
    const episode = `S-I1:c4:${fmt(base + 60_000)}`;
    const isEvent = (ev: string) => (m: unknown): boolean => (m as AlertEvent).episodeId === episode && (m as AlertEvent).event === ev;
    const opened = await stream.waitFor(isEvent('opened'), 10_000) as AlertEvent;
    const closed = await stream.waitFor(isEvent('closed'), 10_000) as AlertEvent;
    expect(opened).toMatchObject({
      type: 'inclusion', severity: 'critical', confidence: 'confirmed', subjectId: 'S-I1', conditionId: 'c4', zoneId: 'Z-area',
      team: 'iom-north', at: fmt(base + 60_000), late: false,
    });
    expect(closed).toMatchObject({ type: 'inclusion', at: fmt(base + 120_000), fix: { seq: 3 } });

    const alert = await op('GET', `/v1/alerts/${encodeURIComponent(episode)}`);
    expect(alert.status).toBe(200);
    expect((alert.body.events as AlertEvent[]).map((e) => `${e.event} ${e.type} ${e.at}`)).toEqual([
      `opened inclusion ${fmt(base + 60_000)}`,
      `closed inclusion ${fmt(base + 120_000)}`,
    ]);
  });
});
