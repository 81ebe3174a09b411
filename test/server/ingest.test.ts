// WebSocket ingest → durable ack → episode: the alert lands in GET /v1/alerts, in the BullMQ
// deliveries queue (job id from episodeId + event + webhook) and on the team's live stream; the fixes land in the
// trail. Bad items are named, good ones beside them are acknowledged, duplicates change nothing.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_QUEUE, deliveryJobId } from '../../src/alerts/queues.js';
import {
  api, exclusionSubject, FAR_X, fix, fmt, INSIDE_X, newRedis, rect, sleep, startTestService, TOKENS,
  waitUntil, WsClient, zoneX, type FixIn, type TestService,
} from '../support/server.js';

const MAX_ITEMS = 50;
const MAX_BYTES = 64 * 1024;

describe('WebSocket ingest → ack → alert (real Redis)', () => {
  let t: TestService;
  let redis: Redis;
  let queue: Queue;
  let ingest: WsClient;
  let northStream: WsClient;
  let southStream: WsClient;
  // Whole seconds, ten minutes ago: the engine formats such times without milliseconds.
  const base = Math.floor((Date.now() - 600_000) / 1000) * 1000;
  const tsOf = (seq: number): number => base + seq * 1000;
  const N1 = (seq: number, pos: typeof INSIDE_X | null, extra: Partial<FixIn> = {}): FixIn => fix('TAG-N1', seq, tsOf(seq), pos, extra);
  /** Every good fix sent so far (for the resend and trail checks). */
  const sent: FixIn[] = [];
  const episode = `S-N1:c1:${fmt(tsOf(3))}`;
  const op = (method: string, path: string, body?: unknown) => api(t.url, method, path, { token: TOKENS.operator, body });
  const trailSeqs = async (): Promise<number[]> => {
    const r = await op('GET', '/v1/subjects/S-N1/trail');
    expect(r.status).toBe(200);
    return (r.body.features as { properties: { seq: number } }[]).map((f) => f.properties.seq);
  };
  const jobCount = async (): Promise<number> => {
    const c = await queue.getJobCounts();
    return Object.values(c).reduce((a, b) => a + b, 0);
  };

  beforeAll(async () => {
    t = await startTestService({ ingestMaxItems: MAX_ITEMS, ingestMaxMessageBytes: MAX_BYTES });
    redis = newRedis();
    queue = new Queue(DELIVERY_QUEUE, { connection: redis, prefix: t.service.keys.bull });
    // iom-north has one webhook (never called: no workers run here), so each of its events is
    // queued as one delivery; the service's outbox publishes to the live stream itself.
    await redis.hset(t.service.keys.teams, 'iom-north', JSON.stringify({ webhooks: [{ id: 'default', url: 'http://127.0.0.1:9/hook', secret: 'ingest-test-secret-0001' }] }));
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-LEEDS', rect('Z-LEEDS', -1.56, 53.79, -1.54, 53.80))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N1', exclusionSubject('S-N1', 'TAG-N1', 'iom-north', 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-S1', exclusionSubject('S-S1', 'TAG-S1', 'iom-south', 'Z-LEEDS'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N3', exclusionSubject('S-N3', 'TAG-N3', 'iom-north', 'Z-X'))).status).toBe(200);
    northStream = await WsClient.connect(t.url, '/v1/alerts/stream', TOKENS.north);
    southStream = await WsClient.connect(t.url, '/v1/alerts/stream', TOKENS.south);
    ingest = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    await sleep(300); // the stream's Redis SUBSCRIBE has no "ready" signal
  });

  afterAll(async () => {
    // Close clients first (and wait): see restart.test.ts for stop() with an open ingest client.
    await Promise.all([ingest?.closeAndWait(), northStream?.closeAndWait(), southStream?.closeAndWait()]);
    await queue?.close();
    await t?.close();
    redis?.disconnect();
  });

  it('refuses WebSocket upgrades without a valid token or with the wrong role', async () => {
    expect(await WsClient.upgradeStatus(t.url, '/v1/ingest', null)).toBe(401);
    expect(await WsClient.upgradeStatus(t.url, '/v1/ingest', 'not-a-token-at-all-xxxxxxxx')).toBe(401);
    expect(await WsClient.upgradeStatus(t.url, '/v1/ingest', TOKENS.north)).toBe(403);
    expect(await WsClient.upgradeStatus(t.url, '/v1/alerts/stream', TOKENS.ingest)).toBe(403);
    expect(await WsClient.upgradeStatus(t.url, '/v1/nope', TOKENS.operator)).toBe(404);
    // access_token in the query is accepted as well as the header.
    const q = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest, 'query');
    q.close();
  });

  it('acks a single fix object once recorded', async () => {
    const f = N1(1, FAR_X);
    const reply = await ingest.send(f);
    expect(reply).toEqual({ ack: [['TAG-N1', 1]] });
    sent.push(f);
    // "Durably recorded": the trail entry is in Redis when the ack arrives.
    expect(await redis.xlen(t.service.keys.trail('TAG-N1'))).toBe(1);
  });

  it('acks an array of fixes; entering the exclusion zone opens one episode', async () => {
    const fs = [N1(2, FAR_X), N1(3, INSIDE_X)];
    expect(await ingest.send(fs)).toEqual({ ack: [['TAG-N1', 2], ['TAG-N1', 3]] });
    sent.push(...fs);
  });

  it('acks exactly the good items of a mixed message and names every bad one', async () => {
    const now = Date.now();
    const items: unknown[] = [
      N1(4, INSIDE_X), //                                                              0 good
      { deviceId: 'TAG-N1', seq: 5, ts: tsOf(5), lat: 95, lon: 0 }, //                1 lat range
      fix('TAG-NOPE', 1, tsOf(5), INSIDE_X), //                                        2 unknown device
      { deviceId: 'bad id!', seq: 1, ts: tsOf(5) }, //                                 3 deviceId charset
      { deviceId: 'TAG-N1', seq: -1, ts: tsOf(5) }, //                                 4 seq negative
      fix('TAG-N1', 6, now + 3600_000, INSIDE_X), //                                   5 ts in the future
      { deviceId: 'TAG-N1', seq: 7, ts: 'yesterday' }, //                              6 ts not RFC 3339
      { deviceId: 'TAG-N1', seq: 8, ts: tsOf(8), lat: 51.5 }, //                       7 lat without lon
      'not an object', //                                                              8
      null, //                                                                         9
      { deviceId: 'TAG-N1', seq: 10, ts: tsOf(10), lat: 51.5, lon: 0, strap: 'cut' }, // 10 strap
      { deviceId: 'TAG-N1', seq: 11, ts: tsOf(11), battery: 1.5 }, //                  11 battery
      N1(9, INSIDE_X), //                                                              12 good
    ];
    const reply = await ingest.send(items);
    expect(reply.ack).toEqual([['TAG-N1', 4], ['TAG-N1', 9]]);
    sent.push(items[0] as FixIn, items[12] as FixIn);
    const errors = reply.errors ?? [];
    expect(errors.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const by = new Map(errors.map((e) => [e.index, e]));
    expect(by.get(1)).toMatchObject({ deviceId: 'TAG-N1', seq: 5, error: expect.stringMatching(/^lat /) });
    expect(by.get(2)).toMatchObject({ deviceId: 'TAG-NOPE', seq: 1, error: expect.stringMatching(/^deviceId .*not known/) });
    expect(by.get(3)?.error).toMatch(/^deviceId /);
    expect(by.get(4)?.error).toMatch(/^seq /);
    expect(by.get(5)).toMatchObject({ seq: 6, error: expect.stringMatching(/^ts is 3600\.\d s ahead of the service clock; at most 30 s is accepted/) });
    expect(by.get(6)).toMatchObject({ seq: 7, error: expect.stringMatching(/^ts /) });
    expect(by.get(7)?.error).toMatch(/^lat\/lon /);
    expect(by.get(8)?.error).toMatch(/^fix /);
    expect(by.get(9)?.error).toMatch(/^fix /);
    expect(by.get(10)?.error).toMatch(/^strap /);
    expect(by.get(11)?.error).toMatch(/^battery /);
    // None of the bad items reached the trail.
    expect(await trailSeqs()).toEqual([1, 2, 3, 4, 9]);
  });

  it('answers bad JSON and binary frames with {"error"} and keeps the connection usable', async () => {
    const bad = await ingest.send('{"deviceId":"TAG-N1","seq":');
    expect(Object.keys(bad)).toEqual(['error']);
    expect(bad.error).toMatch(/JSON/);
    const bin = await ingest.send(Buffer.from(JSON.stringify(N1(12, INSIDE_X))));
    expect(Object.keys(bin)).toEqual(['error']);
    const f = N1(12, INSIDE_X);
    expect(await ingest.send(f)).toEqual({ ack: [['TAG-N1', 12]] });
    sent.push(f);
  });

  it('refuses an array of more than ingestMaxItems fixes as a whole (nothing recorded)', async () => {
    const big = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => N1(20 + i, INSIDE_X));
    const reply = await ingest.send(big);
    expect(Object.keys(reply)).toEqual(['error']);
    expect(reply.error).toMatch(new RegExp(`at most ${MAX_ITEMS}`));
    expect(await trailSeqs()).toEqual([1, 2, 3, 4, 9, 12]);
    // Nothing of it was taken: seq 20 is new, not a duplicate.
    const f = N1(20, INSIDE_X);
    expect(await ingest.send(f)).toEqual({ ack: [['TAG-N1', 20]] });
    sent.push(f);
    expect(await trailSeqs()).toEqual([1, 2, 3, 4, 9, 12, 20]);
    // Exactly ingestMaxItems is fine.
    const atLimit = Array.from({ length: MAX_ITEMS }, (_, i) => N1(100 + i, INSIDE_X));
    const ok = await ingest.send(atLimit);
    expect(ok.ack).toHaveLength(MAX_ITEMS);
    sent.push(...atLimit);
  });

  it('closes a connection that sends a message larger than ingestMaxMessageBytes (1009)', async () => {
    const c = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    const pending = c.send('x'.repeat(MAX_BYTES + 10)).catch((e: Error) => e);
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
    expect(await pending).toBeInstanceOf(Error);
    // The shared ingest connection is unaffected.
    expect((await ingest.send([])).ack).toEqual([]);
  });

  it('refuses a fix for an unknown device', async () => {
    const reply = await ingest.send(fix('TAG-UNKNOWN', 1, tsOf(150), INSIDE_X));
    expect(reply.ack).toEqual([]);
    expect(reply.errors).toEqual([{ index: 0, deviceId: 'TAG-UNKNOWN', seq: 1, error: expect.stringMatching(/deviceId .*not known/) }]);
    expect(await redis.exists(t.service.keys.trail('TAG-UNKNOWN'))).toBe(0);
  });

  it('has the episode in GET /v1/alerts with the right type and state', async () => {
    const r = await op('GET', '/v1/alerts');
    expect(r.status).toBe(200);
    expect(r.body.alerts).toHaveLength(1);
    const a = r.body.alerts[0];
    expect(a).toMatchObject({
      episodeId: episode, type: 'exclusion', state: 'open', severity: 'critical', confidence: 'confirmed',
      subjectId: 'S-N1', deviceId: 'TAG-N1', conditionId: 'c1', zoneId: 'Z-X', team: 'iom-north',
      openedAt: fmt(tsOf(3)), late: false,
    });
    expect(a.events).toHaveLength(1);
    expect(a.events[0]).toMatchObject({ event: 'opened', at: fmt(tsOf(3)), fix: { seq: 3, accuracy: 5 } });
    // The single-episode resource agrees, and adds the decision history (none yet).
    const one = await op('GET', `/v1/alerts/${encodeURIComponent(episode)}`);
    expect(one.status).toBe(200);
    const { decisions, ...rest } = one.body as Record<string, unknown>;
    expect(decisions).toEqual([]);
    expect(rest).toEqual(a);
  });

  it('has the opened event in the deliveries queue under deliveryJobId("episodeId:opened", webhook)', async () => {
    const job = await waitUntil('the opened job', async () => queue.getJob(deliveryJobId(`${episode}:opened`, 'default')), 5000);
    expect(job.data).toMatchObject({ key: `${episode}:opened`, team: 'iom-north', channel: 'default', kind: 'alert', severity: 'critical' });
    expect(job.data.payload).toMatchObject({ episodeId: episode, event: 'opened', type: 'exclusion', subjectId: 'S-N1', team: 'iom-north' });
    expect(job.opts.priority).toBe(1); // critical first
    await waitUntil('the outbox to drain', async () => (await redis.llen(t.service.keys.outbox)) === 0);
    expect(await jobCount()).toBe(1);
  });

  it('serves the trail as GeoJSON, with from/to filtering', async () => {
    const r = await op('GET', '/v1/subjects/S-N1/trail');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ type: 'FeatureCollection', subjectId: 'S-N1', deviceId: 'TAG-N1' });
    const features = r.body.features as { type: string; geometry: { type: string; coordinates: number[] }; properties: { seq: number; ts: string; accuracy?: number } }[];
    expect(features.map((f) => f.properties.seq)).toEqual(sent.map((f) => f.seq).sort((a, b) => a - b));
    for (const f of features) {
      const s = sent.find((x) => x.seq === f.properties.seq) as FixIn;
      expect(f.type).toBe('Feature');
      expect(f.geometry.type).toBe('Point');
      expect(f.geometry.coordinates[0]).toBeCloseTo(s.lon as number, 6);
      expect(f.geometry.coordinates[1]).toBeCloseTo(s.lat as number, 6);
      expect(f.properties.ts).toBe(new Date(s.ts).toISOString());
      expect(f.properties.accuracy).toBe(5);
    }
    const win = await op('GET', `/v1/subjects/S-N1/trail?from=${new Date(tsOf(3)).toISOString()}&to=${tsOf(9)}`);
    expect(win.status).toBe(200);
    expect(win.body.features.map((f: { properties: { seq: number } }) => f.properties.seq)).toEqual([3, 4, 9]);
  });

  it('acks duplicates once recorded and lets them change nothing', async () => {
    const before = (await op('GET', '/v1/alerts?state=all')).body;
    const trailBefore = (await op('GET', '/v1/subjects/S-N1/trail')).body;
    // seq 3 again, but now far outside (would close the episode if it counted).
    const dup = N1(3, FAR_X);
    expect(await ingest.send(dup)).toEqual({ ack: [['TAG-N1', 3]] });
    // Twice in one message: the first counts, the second is a duplicate; both are acked.
    const twice = [N1(160, INSIDE_X), N1(160, FAR_X)];
    const reply = await ingest.send(twice);
    expect(reply.errors).toBeUndefined();
    expect(reply.ack).toContainEqual(['TAG-N1', 160]);
    sent.push(twice[0]);
    const trail = (await op('GET', '/v1/subjects/S-N1/trail')).body;
    expect(trail.features.length).toBe(trailBefore.features.length + 1);
    const f160 = trail.features.filter((f: { properties: { seq: number } }) => f.properties.seq === 160);
    expect(f160).toHaveLength(1);
    expect(f160[0].geometry.coordinates[1]).toBeCloseTo(INSIDE_X[0], 6);
    const f3 = trail.features.find((f: { properties: { seq: number } }) => f.properties.seq === 3);
    expect(f3.geometry.coordinates[1]).toBeCloseTo(INSIDE_X[0], 6);
    await sleep(100);
    expect((await op('GET', '/v1/alerts?state=all')).body).toEqual(before);
  });

  it('resending every fix already sent creates no second job, alert or trail entry', async () => {
    await waitUntil('the outbox to drain', async () => (await redis.llen(t.service.keys.outbox)) === 0);
    const alertsBefore = (await op('GET', '/v1/alerts?state=all')).body;
    const jobsBefore = await jobCount();
    const trailBefore = await trailSeqs();
    for (let i = 0; i < sent.length; i += MAX_ITEMS) {
      const chunk = sent.slice(i, i + MAX_ITEMS);
      const reply = await ingest.send(chunk);
      expect(reply).toEqual({ ack: chunk.map((f) => [f.deviceId, f.seq]) });
    }
    await sleep(150);
    expect(await redis.llen(t.service.keys.outbox)).toBe(0);
    expect(await jobCount()).toBe(jobsBefore);
    expect((await op('GET', '/v1/alerts?state=all')).body).toEqual(alertsBefore);
    expect(await trailSeqs()).toEqual(trailBefore);
  });

  it('closes the episode on leaving: closed event in the API and the queue; state filters agree', async () => {
    const f = N1(200, FAR_X);
    expect(await ingest.send(f)).toEqual({ ack: [['TAG-N1', 200]] });
    sent.push(f);
    const a = (await op('GET', `/v1/alerts/${encodeURIComponent(episode)}`)).body;
    expect(a).toMatchObject({ state: 'closed', closedAt: fmt(tsOf(200)), openedAt: fmt(tsOf(3)) });
    expect(a.events.map((e: { event: string }) => e.event)).toEqual(['opened', 'closed']);
    const job = await waitUntil('the closed job', async () => queue.getJob(deliveryJobId(`${episode}:closed`, 'default')), 5000);
    expect(job.data.payload).toMatchObject({ episodeId: episode, event: 'closed', at: fmt(tsOf(200)) });
    expect((await op('GET', '/v1/alerts')).body.alerts).toEqual([]);
    expect((await op('GET', '/v1/alerts?state=closed')).body.alerts.map((x: { episodeId: string }) => x.episodeId)).toEqual([episode]);
  });

  it('streams live alert events to the subject\'s team only', async () => {
    // iom-south's subject enters its zone.
    const s = fix('TAG-S1', 1, tsOf(300), [53.795, -1.55]);
    expect(await ingest.send(s)).toEqual({ ack: [['TAG-S1', 1]] });
    const southEp = `S-S1:c1:${fmt(tsOf(300))}`;
    const isEvent = (ep: string, ev: string) => (m: unknown): boolean => (m as { episodeId?: string; event?: string }).episodeId === ep && (m as { event?: string }).event === ev;
    await northStream.waitFor(isEvent(episode, 'opened'));
    await northStream.waitFor(isEvent(episode, 'closed'));
    await southStream.waitFor(isEvent(southEp, 'opened'));
    await sleep(100);
    expect(northStream.received.every((m) => (m as { team: string }).team === 'iom-north')).toBe(true);
    expect(southStream.received.every((m) => (m as { team: string }).team === 'iom-south')).toBe(true);
    // The live events are the webhook payloads (the event plus the delivery idempotency key).
    const live = northStream.received.find(isEvent(episode, 'opened'));
    expect(live).toEqual((await queue.getJob(deliveryJobId(`${episode}:opened`, 'default')))?.data.payload);
  });

  it('acks every message of a client that pipelines far more than ingestMaxInFlight, in order', async () => {
    const c = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    try {
      const n = t.settings.ingestMaxInFlight * 6;
      const replies = await Promise.all(Array.from({ length: n }, (_, i) => c.send([fix('TAG-N3', i + 1, tsOf(i), FAR_X)])));
      expect(replies).toEqual(Array.from({ length: n }, (_, i) => ({ ack: [['TAG-N3', i + 1]] })));
      expect(await redis.xlen(t.service.keys.trail('TAG-N3'))).toBe(n);
    } finally {
      await c.closeAndWait();
    }
  });

  it('counts ingest in /metrics', async () => {
    const r = await op('GET', '/metrics');
    expect(r.status).toBe(200);
    const value = (name: string): number => {
      const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(r.text);
      return m === null ? NaN : Number(m[1]);
    };
    expect(value('iom_fixes_received_total')).toBeGreaterThan(0);
    expect(value('iom_fixes_accepted_total')).toBeGreaterThan(0);
    expect(value('iom_fixes_rejected_total{reason="lat"}')).toBeGreaterThanOrEqual(1);
    expect(value('iom_fixes_rejected_total{reason="deviceId"}')).toBeGreaterThanOrEqual(3);
    expect(value('iom_alerts_total{type="exclusion",event="opened"}')).toBe(2);
    expect(value('iom_alerts_total{type="exclusion",event="closed"}')).toBe(1);
  });

  it('never replied with anything but ack/errors or error', () => {
    const shapes = new Set(ingest.received.map((m) => Object.keys(m as object).sort().join(',')));
    for (const s of shapes) expect(['ack', 'ack,errors', 'error']).toContain(s);
  });
});
