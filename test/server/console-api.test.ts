// What the monitoring console reads (issue 13), against a real Redis: every tag's latest
// position (roles, victim units never listed, stale flag, open-alert marking), the operations
// summary per role, device health with the victim rule, and the WebSocket bearer subprotocol a
// browser authenticates with (no token in the URL, never echoed).
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { unlinkPrefix } from '../../bench/common/redis-keys.js';
import { Keys } from '../../src/server/keys.js';
import {
  api, exclusionSubject, FAR_X, fix, INSIDE_X, newRedis, rect, sleep, startTestService, TOKENS, waitUntil, WsClient, ZX, zoneX,
  type LatLon, type TestService,
} from '../support/server.js';

type Row = Record<string, unknown>;

/** Far from the exclusion square and from the subjects (a victim at home in Leeds). */
const VICTIM_AT: LatLon = [53.801234, -1.548765];
const SPARE_AT: LatLon = [51.45, -0.2];
const REG_VICTIM_AT: LatLon = [52.487654, -1.890123];

/** A WebSocket upgrade with the subprotocols ['bearer', token] (what a browser sends). */
function connectWithProtocol(url: string, path: string, protocols: string[]): Promise<{ ws: WebSocket; headers: IncomingMessage['headers'] } | { status: number; body: string; headers: IncomingMessage['headers'] }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + path, protocols);
  return new Promise((done, fail) => {
    ws.once('upgrade', (res) => {
      ws.once('open', () => done({ ws, headers: res.headers }));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => done({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    ws.once('error', (e) => fail(e));
  });
}

// PARTITIONS=4 (plain Redis, one instance: it owns every partition): the engine view reads
// across partitions (each device once; a victim's unit watched from another partition merged).
describe.each([1, 4])('console API: positions, operations summary, device health, bearer subprotocol (real Redis, PARTITIONS=%i)', (partitions) => {
  let t: TestService;
  let redis: Redis;
  let keys: Keys;
  let ingest: WsClient;
  const now = (): number => Date.now();
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = as(TOKENS.operator);
  const north = as(TOKENS.north);
  const south = as(TOKENS.south);
  const ingestRole = as(TOKENS.ingest);
  let exclusionSeverity = '';

  beforeAll(async () => {
    t = await startTestService({ rateLimitPerS: 100_000, positionStaleS: 900, partitions });
    redis = newRedis();
    keys = new Keys(t.prefix);
    // Both teams have a webhook (never called: no workers run here), so their events wait in the
    // deliveries queue: the summary's delivery backlog.
    for (const team of ['iom-north', 'iom-south']) {
      await redis.hset(keys.teams, team, JSON.stringify({ webhooks: [{ id: 'default', url: 'http://127.0.0.1:9/hook', secret: 'console-test-secret-0001' }] }));
    }
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-LEEDS', rect('Z-LEEDS', -1.56, 53.79, -1.54, 53.80))).status).toBe(200);
    const northSubject = exclusionSubject('S-N1', 'TAG-N1', 'iom-north', 'Z-X', {
      conditions: [
        { id: 'c1', type: 'exclusion', zone: 'Z-X', bufferM: 100 },
        { id: 'c2', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 200, warnM: 400 },
      ],
    });
    expect((await op('PUT', '/v1/subjects/S-N1', northSubject)).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-S1', exclusionSubject('S-S1', 'TAG-S1', 'iom-south', 'Z-LEEDS'))).status).toBe(200);
    // A subject whose tag the register calls a victim unit (a data-entry slip): never on the map,
    // and its team never sees where it is.
    expect((await op('PUT', '/v1/subjects/S-N2', exclusionSubject('S-N2', 'VU-WORN', 'iom-north', 'Z-LEEDS'))).status).toBe(200);
    expect((await op('PUT', '/v1/devices/VU-WORN', { kind: 'victim_unit', status: 'fitted' })).status).toBe(200);
    expect((await op('PUT', '/v1/devices/VIC-1', { kind: 'victim_unit', status: 'fitted' })).status).toBe(200);
    expect((await op('PUT', '/v1/devices/TAG-SPARE', { kind: 'tag', status: 'in_stock' })).status).toBe(200);
    expect((await op('PUT', '/v1/devices/VU-REG', { kind: 'victim_unit', status: 'in_stock' })).status).toBe(200);
    ingest = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    const n = now();
    const reply = await ingest.send([
      fix('TAG-N1', 1, n - 120_000, FAR_X, { battery: 0.8, strap: 'ok' }),
      fix('TAG-N1', 2, n - 60_000, INSIDE_X, { battery: 0.8, strap: 'ok' }),
      fix('TAG-S1', 1, n - 3_600_000, [53.70, -1.60], { battery: 0.55 }),
      fix('VU-WORN', 1, n - 30_000, [53.71, -1.61]),
      fix('VIC-1', 1, n - 30_000, VICTIM_AT),
      fix('TAG-SPARE', 1, n - 30_000, SPARE_AT, { battery: 0.9, strap: 'ok' }),
      fix('TAG-SPARE', 2, n - 20_000, null, { battery: 0.42, strap: 'open' }),
      fix('VU-REG', 1, n - 30_000, REG_VICTIM_AT),
    ]);
    expect(reply.errors, JSON.stringify(reply)).toBeUndefined();
    const open = await op('GET', '/v1/alerts?state=open');
    const ex = (open.body.alerts as Row[]).find((a) => a.subjectId === 'S-N1' && a.type === 'exclusion');
    expect(ex, JSON.stringify(open.body)).toBeDefined();
    exclusionSeverity = String(ex?.severity);
  });

  afterAll(async () => {
    await ingest?.closeAndWait();
    await t?.close();
    // Partition keys live under `{<prefix>:p<n>}` (a hash tag), outside `<prefix>:`.
    if (partitions > 1 && t !== undefined) await unlinkPrefix(redis, `{${t.prefix}`);
    redis?.disconnect();
  });

  const byDevice = (body: { positions: Row[] }): Map<string, Row> => new Map(body.positions.map((p) => [String(p.deviceId), p]));

  describe('GET /v1/positions', () => {
    it('gives the operator every tag\'s latest position, marks stale ones and open alerts, and never a victim unit', async () => {
      const r = await op('GET', '/v1/positions');
      expect(r.status, r.text).toBe(200);
      expect(Date.parse(r.body.at)).toBeGreaterThan(now() - 10_000);
      const m = byDevice(r.body);
      expect([...m.keys()].sort()).toEqual(['TAG-N1', 'TAG-S1', 'TAG-SPARE']);
      expect(m.get('TAG-N1')).toMatchObject({
        subjectId: 'S-N1', team: 'iom-north', lat: INSIDE_X[0], lon: INSIDE_X[1], accuracy: 5, battery: 0.8, strap: 'ok',
        stale: false, openAlerts: 1, maxSeverity: exclusionSeverity,
      });
      expect(m.get('TAG-S1')).toMatchObject({ subjectId: 'S-S1', team: 'iom-south', stale: true, openAlerts: 0, maxSeverity: null, strap: null, battery: 0.55 });
      // A registered tag nobody wears; its heartbeat's battery and strap are the latest, its position the last fix's.
      expect(m.get('TAG-SPARE')).toMatchObject({ subjectId: null, team: null, lat: SPARE_AT[0], lon: SPARE_AT[1], battery: 0.42, strap: 'open', openAlerts: 0 });
      // No victim position anywhere in the answer, worn, watched or registered.
      for (const [lat, lon] of [VICTIM_AT, REG_VICTIM_AT, [53.71, -1.61]]) {
        expect(r.text).not.toContain(String(lat));
        expect(r.text).not.toContain(String(lon));
      }
    });

    it('a team sees only its own subjects\' tags; asking for another team\'s is refused as for the lists; so is ingest', async () => {
      const n = await north('GET', '/v1/positions');
      expect([...byDevice(n.body).keys()]).toEqual(['TAG-N1']);
      const s = await south('GET', '/v1/positions');
      expect([...byDevice(s.body).keys()]).toEqual(['TAG-S1']);
      expect((await north('GET', '/v1/positions?team=iom-south')).status).toBe(403);
      expect([...byDevice((await north('GET', '/v1/positions?team=iom-north')).body).keys()]).toEqual(['TAG-N1']);
      expect((await op('GET', '/v1/positions?team=iom-south')).body.positions.map((p: Row) => p.deviceId)).toEqual(['TAG-S1']);
      const refused = await ingestRole('GET', '/v1/positions');
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('FORBIDDEN');
      expect((await api(t.service.app, 'GET', '/v1/positions', {})).status).toBe(401);
    });

    it('filters by bounding box and names a bad one', async () => {
      const box = `${ZX.lon0},${ZX.lat0 - 0.05},${ZX.lon1},${ZX.lat1}`;
      expect((await op('GET', `/v1/positions?bbox=${box}`)).body.positions.map((p: Row) => p.deviceId)).toEqual(['TAG-N1']);
      for (const bad of ['1,2,3', '-0.13,51.5,-0.14,51.51', 'a,b,c,d', '-200,0,0,1']) {
        const r = await op('GET', `/v1/positions?bbox=${encodeURIComponent(bad)}`);
        expect(r.status, bad).toBe(400);
        expect(r.body).toMatchObject({ code: 'VALIDATION', details: { path: 'query.bbox' } });
      }
      const r = await op('GET', '/v1/positions?tean=iom-north');
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/tean/);
    });

    it('clears the open-alert mark when the episode closes', async () => {
      expect(await ingest.send(fix('TAG-N1', 3, now() - 10_000, FAR_X))).toEqual({ ack: [['TAG-N1', 3]] });
      const m = byDevice((await op('GET', '/v1/positions')).body);
      expect(m.get('TAG-N1')).toMatchObject({ openAlerts: 0, maxSeverity: null, lat: FAR_X[0] });
      // Back in for the tests below.
      expect(await ingest.send(fix('TAG-N1', 4, now() - 5_000, INSIDE_X))).toEqual({ ack: [['TAG-N1', 4]] });
      expect(byDevice((await op('GET', '/v1/positions')).body).get('TAG-N1')).toMatchObject({ openAlerts: 1, maxSeverity: exclusionSeverity });
    });

    it('is documented in the OpenAPI document', async () => {
      const doc = (await op('GET', '/docs/json')).body as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/positions', '/v1/ops/summary', '/v1/devices/{id}']));
    });
  });

  describe('GET /v1/ops/summary', () => {
    it('gives the operator the service\'s figures: fixes/s, connected tags, open alerts by severity, backlog, dead letters', async () => {
      await redis.zadd(keys.deadLetters, Date.now(), JSON.stringify({ key: 'S-X:c1:2026-01-01T00:00:00Z|opened', channel: 'test' }));
      const r = await op('GET', '/v1/ops/summary');
      expect(r.status, r.text).toBe(200);
      expect(Object.keys(r.body).sort()).toEqual(['at', 'connectedTags', 'deadLetters', 'deliveryBacklog', 'fixesPerSec', 'openAlerts']);
      const open = (await op('GET', '/v1/alerts?state=open')).body.alerts as Row[];
      const want = { low: 0, medium: 0, high: 0, critical: 0 } as Record<string, number>;
      for (const a of open) want[String(a.severity)]++;
      expect(r.body.openAlerts).toEqual(want);
      expect(open.length).toBeGreaterThan(0);
      // TAG-N1, TAG-S1, TAG-SPARE and the worn VU-WORN? No: a registered victim unit is never a tag.
      expect(r.body.connectedTags).toBe(3);
      expect(r.body.deadLetters).toBe(1);
      // No delivery workers run here: the opened events wait in the deliveries queue.
      expect(r.body.deliveryBacklog).toBeGreaterThanOrEqual(1);
      expect(r.body.fixesPerSec).toBeGreaterThan(0);
    });

    it('a team sees its own counts; ingest is refused', async () => {
      const n = (await north('GET', '/v1/ops/summary')).body;
      expect(n.openAlerts).toEqual({ low: 0, medium: 0, high: 0, critical: 0, [exclusionSeverity]: 1 });
      expect(n.connectedTags).toBe(1);
      const s = (await south('GET', '/v1/ops/summary')).body;
      expect(s.openAlerts).toEqual({ low: 0, medium: 0, high: 0, critical: 0 });
      expect(s.connectedTags).toBe(1);
      const all = (await op('GET', '/v1/ops/summary')).body;
      expect(all.fixesPerSec).toBeGreaterThanOrEqual(n.fixesPerSec);
      const refused = await ingestRole('GET', '/v1/ops/summary');
      expect(refused.status).toBe(403);
    });

    it('fixesPerSec is the last 10 s: a burst of 50 fixes shows as 5 per second', async () => {
      const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.operator);
      try {
        await sleep(10_100); // let the earlier fixes leave the window
        const n = now();
        const batch = Array.from({ length: 50 }, (_, i) => fix('TAG-S1', 10 + i, n - 50_000 + i * 1000, [53.70, -1.60]));
        expect((await ws.send(batch)).ack).toHaveLength(50);
        expect((await south('GET', '/v1/ops/summary')).body.fixesPerSec).toBe(5);
        expect((await north('GET', '/v1/ops/summary')).body.fixesPerSec).toBe(0);
        expect((await op('GET', '/v1/ops/summary')).body.fixesPerSec).toBe(5);
      } finally {
        await ws.closeAndWait();
      }
    }, 20_000);
  });

  describe('device health', () => {
    it('shows last seen, battery, strap and the latest fix', async () => {
      const r = await op('GET', '/v1/devices/TAG-SPARE');
      expect(r.status).toBe(200);
      expect(r.body.health).toMatchObject({ battery: 0.42, strap: 'open', lastFix: { lat: SPARE_AT[0], lon: SPARE_AT[1], accuracy: 5 } });
      expect(Date.parse(r.body.health.lastSeen)).toBeGreaterThan(now() - 120_000);
      const list = await op('GET', '/v1/devices?kind=tag');
      const spare = (list.body.devices as Row[]).find((d) => d.id === 'TAG-SPARE');
      expect(spare?.health).toEqual(r.body.health);
    });

    it('never shows a team where a victim unit is; the operator sees it', async () => {
      const team = await north('GET', '/v1/devices/VU-WORN');
      expect(team.status).toBe(200);
      expect(team.body.health.lastFix).toBeNull();
      expect(team.body.health.lastSeen).not.toBeNull();
      const listed = (await north('GET', '/v1/devices')).body.devices as Row[];
      expect(listed.map((d) => d.id)).toEqual(['VU-WORN']);
      expect((listed[0]?.health as Row).lastFix).toBeNull();
      expect((await op('GET', '/v1/devices/VU-WORN')).body.health.lastFix).toMatchObject({ lat: 53.71, lon: -1.61 });
      // Watched victim units: another team's resource for a team (missing); the operator sees them.
      expect((await north('GET', '/v1/devices/VIC-1')).status).toBe(404);
      expect((await op('GET', '/v1/devices/VIC-1')).body.health.lastFix).toMatchObject({ lat: VICTIM_AT[0], lon: VICTIM_AT[1] });
    });
  });

  describe('WebSocket bearer subprotocol (what a browser sends)', () => {
    it('accepts ["bearer", token] on the alert stream, selects "bearer" and never echoes the token', async () => {
      const c = await connectWithProtocol(t.url, '/v1/alerts/stream', ['bearer', TOKENS.north]);
      if (!('ws' in c)) throw new Error(`refused: ${c.status} ${c.body}`);
      try {
        expect(c.ws.protocol).toBe('bearer');
        expect(c.headers['sec-websocket-protocol']).toBe('bearer');
        expect(JSON.stringify(c.headers)).not.toContain(TOKENS.north);
        const got: unknown[] = [];
        c.ws.on('message', (d) => got.push(JSON.parse(d.toString())));
        await sleep(300); // the stream's SUBSCRIBE has no ready signal
        await redis.publish(keys.live, JSON.stringify({ team: 'iom-south', episodeId: 'x-south', idempotencyKey: 'k-south' }));
        await redis.publish(keys.live, JSON.stringify({ team: 'iom-north', episodeId: 'x-north', idempotencyKey: 'k-north' }));
        await waitUntil('the north event', () => got.length > 0);
        await sleep(100);
        expect(got).toEqual([{ team: 'iom-north', episodeId: 'x-north', idempotencyKey: 'k-north' }]);
      } finally {
        c.ws.close();
      }
    });

    it('accepts it on ingest too (fixes acknowledged)', async () => {
      const c = await connectWithProtocol(t.url, '/v1/ingest', ['bearer', TOKENS.ingest]);
      if (!('ws' in c)) throw new Error(`refused: ${c.status} ${c.body}`);
      try {
        expect(c.ws.protocol).toBe('bearer');
        const reply = new Promise<unknown>((done) => c.ws.once('message', (d) => done(JSON.parse(d.toString()))));
        c.ws.send(JSON.stringify(fix('TAG-SPARE', 3, now() - 1000, null)));
        expect(await reply).toEqual({ ack: [['TAG-SPARE', 3]] });
      } finally {
        c.ws.close();
      }
    });

    it('refuses a wrong token with the usual 401 AUTH_INVALID, a role that may not with 403, a malformed offer with 400', async () => {
      const wrong = 'not-a-token-0123456789abcdef';
      const r = await connectWithProtocol(t.url, '/v1/alerts/stream', ['bearer', wrong]);
      if ('ws' in r) throw new Error('a wrong token was accepted');
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toEqual({ code: 'AUTH_INVALID', message: 'the bearer token is not valid' });
      expect(r.body + JSON.stringify(r.headers)).not.toContain(wrong);
      const forbidden = await connectWithProtocol(t.url, '/v1/ingest', ['bearer', TOKENS.north]);
      expect('status' in forbidden && forbidden.status).toBe(403);
      const bare = await connectWithProtocol(t.url, '/v1/alerts/stream', ['bearer']);
      expect('status' in bare && bare.status).toBe(400);
      expect('status' in bare && JSON.parse(bare.body).code).toBe('VALIDATION');
    });

    it('keeps the Authorization header and ?access_token= working', async () => {
      const h = await WsClient.connect(t.url, '/v1/alerts/stream', TOKENS.north);
      const q = await WsClient.connect(t.url, '/v1/alerts/stream', TOKENS.north, 'query');
      expect(h.ws.protocol).toBe('');
      await h.closeAndWait();
      await q.closeAndWait();
    });
  });
});
