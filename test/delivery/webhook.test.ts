// Webhook delivery end to end: WebSocket ingest → engine → outbox (routed) → `deliveries` → a
// delivery worker → a real HTTP receiver on 127.0.0.1, which checks the HMAC-SHA256 signature with the
// team's secret. Also: live-stream fan-out to every API process, retries with exponential backoff
// and jitter until the receiver comes back, the per-request timeout, and dead letters (API + metrics).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/alerts/signature.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import {
  api, baseSecond, enc, exclusionSubject, FAR_X, fix, fmt, freePort, ingestOk, INSIDE_X, newRedis, Receiver, SECRET_N, SECRET_S,
  sleep, spawnWorker, startTestService, startWorkers, TEAM_N, TEAM_S, teamBody, TOKENS, uniquePrefix, verifyReceipt, waitUntil,
  WsClient, zoneX, type InProcessWorkers, type TestService, type WorkerChild,
} from '../support/delivery.js';

const SECOND_SECRET = 'second-channel-secret-0123456789';
/** Contract §3 alert fields (plus idempotencyKey); optional ones may be absent. */
const CONTRACT_FIELDS = ['episodeId', 'event', 'type', 'severity', 'confidence', 'subjectId', 'deviceId', 'conditionId', 'zoneId', 'team', 'at', 'fix', 'distanceM', 'late', 'idempotencyKey'];

describe('signed webhook delivery, live stream on every API process, retries (in-process workers)', () => {
  const prefix = uniquePrefix('dlv-hook');
  let a: TestService;
  let b: TestService;
  let receiver: Receiver;
  let workers: InProcessWorkers;
  let ingest: WsClient;
  let streamA: WsClient;
  let streamB: WsClient;
  let streamSouth: WsClient;
  const t0 = baseSecond(300);
  const epN1 = `S-N1:c1:${fmt(t0 + 2000)}`;
  const op = (method: string, path: string, body?: unknown) => api(a.url, method, path, { token: TOKENS.operator, body });

  beforeAll(async () => {
    receiver = await Receiver.start();
    a = await startTestService(prefix);
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N1', exclusionSubject('S-N1', 'TAG-N1', TEAM_N, 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-S1', exclusionSubject('S-S1', 'TAG-S1', TEAM_S, 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-T1', exclusionSubject('S-T1', 'TAG-T1', 'iom-timeout', 'Z-X'))).status).toBe(200);
    const north = teamBody(receiver.url('/hook'), SECRET_N);
    (north.webhooks as object[]).push({ id: 'second', url: receiver.url('/hook2'), secret: SECOND_SECRET });
    expect((await op('PUT', `/v1/teams/${TEAM_N}`, north)).status).toBe(200);
    // A second API process on the same Redis: it only serves the live stream here.
    b = await startTestService(prefix, { snapshotIntervalMs: 3_600_000 });
    streamA = await WsClient.connect(a.url, '/v1/alerts/stream', TOKENS.north);
    streamB = await WsClient.connect(b.url, '/v1/alerts/stream', TOKENS.north);
    streamSouth = await WsClient.connect(b.url, '/v1/alerts/stream', TOKENS.south);
    ingest = await WsClient.connect(a.url, '/v1/ingest', TOKENS.ingest);
    workers = startWorkers(prefix, { backoffMs: 50 });
    await sleep(300); // SUBSCRIBE has no ready signal
  });

  afterAll(async () => {
    await ingest?.close();
    await streamA?.close();
    await streamB?.close();
    await streamSouth?.close();
    await workers?.close();
    await b?.close({ keepKeys: true });
    await a?.close();
    await receiver?.close();
  });

  it('delivers each episode event, signed with the team secret, with the §3 payload + idempotency key', async () => {
    await ingestOk(ingest, [fix('TAG-N1', 1, t0 + 1000, FAR_X)]);
    await ingestOk(ingest, [fix('TAG-N1', 2, t0 + 2000, INSIDE_X)]);
    await ingestOk(ingest, [fix('TAG-N1', 3, t0 + 3000, FAR_X)]);
    const keys = [`${epN1}:opened`, `${epN1}:closed`];
    await receiver.waitFor('both events on both channels', () => keys.every((k) => receiver.okCounts('/hook').has(k) && receiver.okCounts('/hook2').has(k)), 10_000);

    const alert = await op('GET', `/v1/alerts/${enc(epN1)}`);
    expect(alert.status).toBe(200);
    const events = alert.body.events as AlertEvent[];
    expect(events.map((e) => e.event)).toEqual(['opened', 'closed']);
    expect(events[0].severity).toBe('critical');

    for (const r of receiver.on('/hook').filter((x) => x.key.startsWith(epN1))) {
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers[IDEMPOTENCY_HEADER]).toBe(r.key);
      expect(r.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(r.headers[TIMESTAMP_HEADER]).toMatch(/^\d+$/);
      expect(Math.abs(Number(r.headers[TIMESTAMP_HEADER]) - r.at / 1000)).toBeLessThan(5);
      // The receiver's check: HMAC-SHA256 over `${timestamp}.${body}` with the team secret.
      expect(verifyReceipt(r, SECRET_N)).toBe(true);
      expect(verifyReceipt(r, SECRET_S), 'another team\'s secret must not verify').toBe(false);
      expect(verifyReceipt(r, SECOND_SECRET), 'the other channel\'s secret must not verify').toBe(false);
      expect(verifyReceipt({ ...r, body: r.body.replace('"critical"', '"low"') }, SECRET_N), 'tampered body').toBe(false);
      expect(verifyReceipt({ ...r, body: `${r.body} ` }, SECRET_N), 'one byte added').toBe(false);
      const ts = Number(r.headers[TIMESTAMP_HEADER]);
      expect(verifyReceipt({ ...r, headers: { ...r.headers, [TIMESTAMP_HEADER]: String(ts + 1) } }, SECRET_N), 'timestamp changed').toBe(false);
      expect(verifyReceipt(r, SECRET_N, ts + 301), 'replayed after 5 minutes').toBe(false);
      // Payload: the contract §3 event exactly as the API stores it, plus idempotencyKey.
      expect(r.json.idempotencyKey).toBe(r.key);
      expect(r.key).toBe(`${r.json.episodeId}:${r.json.event}`);
      const { idempotencyKey: _k, ...event } = r.json as AlertEvent & { idempotencyKey: string };
      expect(event).toEqual(events.find((e) => e.event === r.json.event));
      for (const field of Object.keys(r.json)) expect(CONTRACT_FIELDS).toContain(field);
      expect(r.json).toMatchObject({ subjectId: 'S-N1', deviceId: 'TAG-N1', conditionId: 'c1', team: TEAM_N, type: 'exclusion', late: false });
    }
    const opened = receiver.on('/hook').find((r) => r.key === `${epN1}:opened`);
    expect(opened?.json.fix).toEqual({ seq: 2, lat: INSIDE_X[0], lon: INSIDE_X[1], accuracy: 5 });
    expect(opened?.json.at).toBe(fmt(t0 + 2000));
    // Second channel: its own secret only.
    for (const r of receiver.on('/hook2').filter((x) => x.key.startsWith(epN1))) {
      expect(verifyReceipt(r, SECOND_SECRET)).toBe(true);
      expect(verifyReceipt(r, SECRET_N)).toBe(false);
    }
    // Exactly one 2xx per key and channel; the alert resource shows both channels delivered.
    for (const k of keys) {
      expect(receiver.okCounts('/hook').get(k)).toBe(1);
      expect(receiver.okCounts('/hook2').get(k)).toBe(1);
    }
    const after = await op('GET', `/v1/alerts/${enc(epN1)}`);
    expect(Object.keys(after.body.delivery).sort()).toEqual(['delivered:default', 'delivered:second']);
    expect(Number.isNaN(Date.parse(after.body.delivery['delivered:default']))).toBe(false);
  });

  it('fans the live stream out to every API process (Redis pub/sub), once per key, own team only', async () => {
    const keys = [`${epN1}:opened`, `${epN1}:closed`];
    for (const s of [streamA, streamB]) {
      for (const k of keys) await s.waitFor((m) => (m as { idempotencyKey?: string }).idempotencyKey === k, 5000);
    }
    await sleep(200);
    for (const s of [streamA, streamB]) {
      const got = (s.received as { idempotencyKey?: string }[]).map((m) => m.idempotencyKey).filter((k) => k?.startsWith(epN1));
      expect(got).toEqual(keys);
      const live = s.received.find((m) => (m as { idempotencyKey?: string }).idempotencyKey === keys[0]) as Record<string, unknown>;
      const hook = receiver.on('/hook').find((r) => r.key === keys[0]);
      expect(live).toEqual(hook?.json);
    }
    expect(streamSouth.received.filter((m) => (m as { team?: string }).team !== TEAM_S)).toEqual([]);
  });

  it('retries with exponential backoff while the receiver refuses connections or answers 500, then delivers exactly once', async () => {
    const port = await freePort(); // nothing listens here yet: connections are refused
    expect((await op('PUT', `/v1/teams/${TEAM_S}`, teamBody(`http://127.0.0.1:${port}/hook`, SECRET_S))).status).toBe(200);
    const ep = `S-S1:c1:${fmt(t0 + 2000)}`;
    const key = `${ep}:opened`;
    await ingestOk(ingest, [fix('TAG-S1', 1, t0 + 1000, FAR_X), fix('TAG-S1', 2, t0 + 2000, INSIDE_X)]);
    await sleep(400);
    let served = 0;
    const late = await Receiver.start(port, () => (served++ < 2 ? { status: 500 } : { status: 200 }));
    try {
      await late.waitFor('a 2xx for the event', () => late.okCounts().get(key), 15_000);
      await sleep(800); // no attempt after the 2xx
      const mine = late.receipts.filter((r) => r.key === key);
      expect(mine.map((r) => r.status)).toEqual([500, 500, 200]);
      expect(mine.every((r) => verifyReceipt(r, SECRET_S))).toBe(true);
      expect(late.okCounts().get(key)).toBe(1);
      // BullMQ's attempt count: the refused connections came first.
      const q = new Queue('deliveries', { connection: newRedis(), prefix: a.keys.bull });
      const job = await q.getJob(`${key.replace(/%/g, '%25').replace(/:/g, '%3A')}|default`);
      const refused = (job?.attemptsMade ?? 0) - mine.length;
      await q.close();
      expect(refused, 'attempts made while nothing listened').toBeGreaterThanOrEqual(1);
      const alert = await op('GET', `/v1/alerts/${enc(ep)}`);
      expect(alert.body.delivery['delivered:default']).toBeDefined();
      expect(alert.body.delivery['dead:default']).toBeUndefined();
    } finally {
      await late.close();
    }
  });

  it('gives up on a receiver that does not answer within timeoutMs, and retries', async () => {
    expect((await op('PUT', '/v1/teams/iom-timeout', { webhooks: [{ id: 'default', url: receiver.url('/slow'), secret: SECRET_S, timeoutMs: 200 }] })).status).toBe(200);
    let n = 0;
    receiver.behaviour = (r) => (r.path === '/slow' && n++ === 0 ? { status: 200, delayMs: 1500 } : { status: 200 });
    const ep = `S-T1:c1:${fmt(t0 + 2000)}`;
    await ingestOk(ingest, [fix('TAG-T1', 1, t0 + 1000, FAR_X), fix('TAG-T1', 2, t0 + 2000, INSIDE_X)]);
    await receiver.waitFor('the retried delivery', () => receiver.okCounts('/slow').get(`${ep}:opened`), 10_000);
    const mine = receiver.on('/slow');
    expect(mine.length).toBe(2);
    expect(mine[0].abandoned, 'the sender gave up on the slow request').toBe(true);
    expect(mine[1].at - mine[0].at).toBeLessThan(1500);
    expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(200);
    receiver.behaviour = () => ({ status: 200 });
  });
});

describe('dead letters: a receiver that always fails (worker process, DELIVERY_ATTEMPTS=4)', () => {
  const prefix = uniquePrefix('dlv-dead');
  let svc: TestService;
  let receiver: Receiver;
  let worker: WorkerChild;
  let redis: Redis;
  let ingest: WsClient;
  const t0 = baseSecond(300);
  const eps = [`S-D1:c1:${fmt(t0 + 2000)}`, `S-D2:c1:${fmt(t0 + 2000)}`];
  const op = (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
  const BACKOFF = 200;

  beforeAll(async () => {
    receiver = await Receiver.start(0, () => ({ status: 500 }));
    svc = await startTestService(prefix);
    redis = newRedis();
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-D1', exclusionSubject('S-D1', 'TAG-D1', 'iom-dead', 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-D2', exclusionSubject('S-D2', 'TAG-D2', 'iom-dead', 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/teams/iom-dead', teamBody(receiver.url('/dead'), SECRET_S))).status).toBe(200);
    worker = spawnWorker(prefix, { DELIVERY_ATTEMPTS: '4', DELIVERY_BACKOFF_MS: String(BACKOFF) });
    ingest = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
  });

  afterAll(async () => {
    await ingest?.close();
    await worker?.stop();
    redis?.disconnect();
    await svc?.close();
    await receiver?.close();
  });

  it('dead-letters the job after DELIVERY_ATTEMPTS, visible in GET /v1/deliveries/dead and on the alert', async () => {
    await ingestOk(ingest, [
      fix('TAG-D1', 1, t0 + 1000, FAR_X), fix('TAG-D2', 1, t0 + 1000, FAR_X),
      fix('TAG-D1', 2, t0 + 2000, INSIDE_X), fix('TAG-D2', 2, t0 + 2000, INSIDE_X),
    ]);
    const keys = eps.map((e) => `${e}:opened`);
    const dead = await waitUntil('both jobs in GET /v1/deliveries/dead', async () => {
      const r = await op('GET', '/v1/deliveries/dead');
      const rows = (r.body.deadLetters as { key: string }[]).filter((d) => keys.includes(d.key));
      return rows.length === 2 ? r.body : null;
    }, 15_000, 100);
    await sleep(1000); // nothing more after the last attempt
    expect(dead.total).toBe(2);
    for (const k of keys) {
      const mine = receiver.receipts.filter((r) => r.key === k);
      expect(mine.length, `attempts for ${k}`).toBe(4);
      expect(mine.every((r) => verifyReceipt(r, SECRET_S))).toBe(true);
      const row = (dead.deadLetters as Record<string, unknown>[]).find((d) => d.key === k);
      expect(row).toMatchObject({ key: k, team: 'iom-dead', channel: 'default', kind: 'alert', attempts: 4 });
      // The status class only (security wave 2: no internal status details in dead letters).
      expect(String(row?.error)).toMatch(/5xx/);
      expect(String(row?.error)).not.toMatch(/500/);
      expect(Number.isNaN(Date.parse(String(row?.at)))).toBe(false);
      // Retry gaps: backoff * 2^(k-1) * [0.5, 1.5) (full jitter around the exponential).
      const gaps = mine.slice(1).map((r, i) => r.at - mine[i].at);
      gaps.forEach((g, i) => {
        const base = BACKOFF * 2 ** i;
        expect(g, `gap ${i + 1} of ${k}: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(0.5 * base - 10);
        expect(g, `gap ${i + 1} of ${k}: ${gaps.join(', ')} ms`).toBeLessThanOrEqual(1.5 * base + 400);
      });
    }
    // Jitter: the two jobs' normalised gaps are not all the same.
    const norm = keys.flatMap((k) => {
      const mine = receiver.receipts.filter((r) => r.key === k);
      return mine.slice(1).map((r, i) => (r.at - mine[i].at) / (BACKOFF * 2 ** i));
    });
    expect(Math.max(...norm) - Math.min(...norm), `normalised gaps ${norm.map((x) => x.toFixed(2)).join(', ')}`).toBeGreaterThan(0.05);
    const alert = await op('GET', `/v1/alerts/${enc(eps[0])}`);
    expect(alert.body.delivery['dead:default']).toMatchObject({ key: keys[0], attempts: 4 });
    expect(alert.body.delivery['delivered:default']).toBeUndefined();
    // A team token may not read the dead-letter list.
    expect((await api(svc.url, 'GET', '/v1/deliveries/dead', { token: TOKENS.north })).status).toBe(403);
  });

  it('counts dead letters in GET /metrics (issue: "a dead-letter queue that is visible in the API and in metrics")', async () => {
    await waitUntil('dead letters recorded', async () => (await redis.zcard(svc.keys.deadLetters)) >= 2, 15_000, 100);
    const m = await op('GET', '/metrics');
    expect(m.status).toBe(200);
    const lines = m.text.split('\n').filter((l) => !l.startsWith('#') && /dead/i.test(l));
    expect(lines, 'a Prometheus series for dead-lettered deliveries').not.toEqual([]);
    expect(Math.max(...lines.map((l) => Number(l.trim().split(/\s+/).pop())))).toBeGreaterThanOrEqual(2);
  });
});
