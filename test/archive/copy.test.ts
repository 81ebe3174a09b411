// The archive (issue 14 part 1) against a REAL PostgreSQL/PostGIS and a REAL Redis: every fix,
// alert event, decision and configuration change copied once; the ingest log kept for the
// archive (and bounded); the trail across the Redis/archive boundary with a stated purpose,
// audited, team-isolated; retention dropping a partition with an audit entry.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePartitions, partitionName } from '../../src/archive/db.js';
import { ArchiveCopier } from '../../src/archive/copier.js';
import { purgeAndAudit, partitionsOf } from '../../src/archive/retention.js';
import { AuditLog } from '../../src/server/audit.js';
import { enc } from '../support/delivery.js';
import {
  api, cleanupPrefix, exclusionSubject, fix, fmt, INSIDE_X, newRedis, spawnService, startTestService, TOKEN_SPEC, TOKENS, uniquePrefix, WsClient, zoneX, type TestService,
} from '../support/server.js';
import { freshArchive, type TestArchive } from '../support/pg.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const OUTSIDE: [number, number] = [51.49, -0.125];

interface Env { t: TestService; arch: TestArchive; redis: Redis; copier: ArchiveCopier }

async function setUp(over: Parameters<typeof startTestService>[0] = {}): Promise<Env> {
  const arch = await freshArchive();
  const t = await startTestService({ databaseUrl: arch.url, archiveSchema: arch.schema, snapshotIntervalMs: 100, ...over });
  const redis = newRedis();
  const copier = new ArchiveCopier(redis, t.service.keys, arch.db);
  return { t, arch, redis, copier };
}

async function tearDown(e: Env | undefined): Promise<void> {
  if (e === undefined) return;
  await e.copier.close();
  await e.t.close();
  e.redis.disconnect();
  await e.arch.drop();
}

describe('archive copy: fixes, alert events, decisions, configuration changes (real PostgreSQL + Redis)', () => {
  let e: Env;
  const base = Math.floor((Date.now() - 600_000) / 1000) * 1000;
  const ep = `S-N:c1:${fmt(base + 2000)}`;
  const op = (method: string, path: string, body?: unknown) => api(e.t.service.app, method, path, { token: TOKENS.operator, body });
  /** A fix dated 10 s ahead of the service clock (a device clock running fast, within INGEST_MAX_FUTURE_S). */
  let aheadTs = 0;

  beforeAll(async () => {
    e = await setUp();
    expect((await op('PUT', '/v1/zones/Z-1', zoneX('Z-1'))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-gone', zoneX('Z-gone'))).status).toBe(200);
    expect((await op('DELETE', '/v1/zones/Z-gone')).status).toBe(204);
    expect((await op('PUT', '/v1/devices/TAG-N', { kind: 'tag', status: 'fitted' })).status).toBe(200);
    expect((await op('PUT', '/v1/devices/TAG-X', { kind: 'tag', status: 'in_stock' })).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N', exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-1'))).status).toBe(200);
    expect((await op('PUT', '/v1/teams/iom-north', { webhooks: [{ url: 'https://cms.example/hook', secret: 's3cret-value-long-enough' }] })).status).toBe(200);
    await e.copier.start();
    const ws = await WsClient.connect(e.t.url, '/v1/ingest', TOKENS.ingest);
    const reply = await ws.send([
      fix('TAG-N', 1, base + 1000, OUTSIDE, { battery: 0.8, strap: 'ok' }),
      fix('TAG-N', 2, base + 2000, INSIDE_X, { accuracy: 12.3 }),
      fix('TAG-N', 3, base + 3000, OUTSIDE),
      fix('TAG-X', 1, base + 1500, null, { battery: 0.5 }), // registered nowhere: nobody's, a heartbeat
    ]);
    expect(reply.ack).toHaveLength(4);
    // A late fix: seq 4 taken before seq 3 arrived.
    expect((await ws.send([fix('TAG-N', 4, base + 2500, OUTSIDE)])).ack).toHaveLength(1);
    // Evaluated at the service clock, archived (like the trail) with its own ts.
    aheadTs = Date.now() + 10_000;
    expect((await ws.send([fix('TAG-X', 2, aheadTs, null, { battery: 0.4 })])).ack).toHaveLength(1);
    await ws.closeAndWait();
    expect((await op('POST', `/v1/alerts/${enc(ep)}/ack`, { by: 'PC Jones', outcome: 'warning', note: 'Phoned.' })).status).toBe(200);
    expect((await op('POST', `/v1/alerts/${enc(ep)}/ack`, { by: 'DS Smith', outcome: 'arrest' })).status).toBe(200);
    await e.copier.drain();
  });
  afterAll(async () => {
    await tearDown(e);
  });

  it('copies every acknowledged fix once, with who wore the device, late, accuracy and position', async () => {
    const rows = (await e.arch.db.query(`SELECT device_id, seq, ts, subject_id, lat, lon, accuracy_m::numeric::float8 AS acc, battery::numeric::float8 AS battery, strap, late,
      ST_X(geom) AS gx, ST_Y(geom) AS gy FROM fixes ORDER BY device_id, seq`)).rows;
    expect(rows.map((r) => [r.device_id, Number(r.seq), r.subject_id, r.late])).toEqual([
      ['TAG-N', 1, 'S-N', false], ['TAG-N', 2, 'S-N', false], ['TAG-N', 3, 'S-N', false], ['TAG-N', 4, 'S-N', true], ['TAG-X', 1, null, false], ['TAG-X', 2, null, false],
    ]);
    expect(new Date(rows[5].ts).getTime()).toBe(aheadTs);
    expect(new Date(rows[1].ts).getTime()).toBe(base + 2000);
    expect(rows[1].acc).toBe(12.3);
    expect(rows[1].gx).toBeCloseTo(INSIDE_X[1], 7);
    expect(rows[1].gy).toBeCloseTo(INSIDE_X[0], 7);
    expect(rows[0]).toMatchObject({ battery: 0.8, strap: 'ok' });
    expect(rows[4]).toMatchObject({ lat: null, lon: null, gx: null, battery: 0.5 });
  });

  it('copies the alert events and every decision in order', async () => {
    const events = (await e.arch.db.query('SELECT event_id, episode_id, event, type, team, body FROM alert_events ORDER BY at, event')).rows;
    expect(events.map((r) => [r.episode_id, r.event, r.type, r.team])).toEqual([[ep, 'opened', 'exclusion', 'iom-north'], [ep, 'closed', 'exclusion', 'iom-north']]);
    expect(events[0].body).toMatchObject({ episodeId: ep, event: 'opened', subjectId: 'S-N', fix: { seq: 2 } });
    const decisions = (await e.arch.db.query('SELECT episode_id, idx, body FROM decisions ORDER BY idx')).rows;
    expect(decisions.map((r) => [r.episode_id, r.idx, r.body.by, r.body.outcome])).toEqual([[ep, 0, 'PC Jones', 'warning'], [ep, 1, 'DS Smith', 'arrest']]);
    expect(decisions[0].body).toMatchObject({ note: 'Phoned.', role: 'operator' });
  });

  it('copies configuration changes as stored, null on delete, team routing without its secret', async () => {
    const rows = (await e.arch.db.query('SELECT kind, item_id, body FROM config_changes ORDER BY version')).rows;
    expect(rows.map((r) => [r.kind, r.item_id, r.body === null])).toEqual([
      ['zone', 'Z-1', false], ['zone', 'Z-gone', false], ['zone', 'Z-gone', true], ['device', 'TAG-N', false], ['device', 'TAG-X', false], ['subject', 'S-N', false], ['team', 'iom-north', false],
    ]);
    expect(rows[0].body).toMatchObject({ type: 'Feature', id: 'Z-1', geometry: { type: 'Polygon' } });
    expect(rows[5].body).toMatchObject({ id: 'S-N', deviceId: 'TAG-N', team: 'iom-north', conditions: [{ id: 'c1', type: 'exclusion' }] });
    expect(JSON.stringify(rows[6].body)).not.toContain('s3cret');
  });

  it('copies nothing twice: a copier started over from no checkpoint adds no row', async () => {
    const count = async (): Promise<number[]> => Promise.all(['fixes', 'alert_events', 'decisions', 'config_changes'].map(async (t) => Number((await e.arch.db.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n)));
    const before = await count();
    await e.copier.close();
    await e.arch.db.query('DELETE FROM archive_checkpoints');
    e.copier = new ArchiveCopier(e.redis, e.t.service.keys, e.arch.db);
    await e.copier.start();
    await e.copier.drain();
    // It did read the fixes again (the log still holds them), and wrote none twice.
    expect(e.copier.copied.fixes).toBeGreaterThanOrEqual(6);
    expect(await count()).toEqual(before);
    // The feed was trimmed as it was copied: nothing of it is left in Redis.
    expect(await e.redis.xlen(e.t.service.keys.archiveFeed)).toBe(0);
  });
});

describe('the ingest log is kept for the archive, and bounded (real Redis)', () => {
  let e: Env;
  afterAll(async () => {
    await tearDown(e);
  });

  it('keeps log entries the archive has not copied across snapshots, trims them once copied, and drops beyond ARCHIVE_LOG_MAX_ENTRIES with a metric', async () => {
    e = await setUp({ archiveLogMaxEntries: 100 });
    const keys = e.t.service.keys;
    expect((await api(e.t.service.app, 'PUT', '/v1/devices/TAG-L', { token: TOKENS.operator, body: { kind: 'tag', status: 'in_stock' } })).status).toBe(200);
    const ws = await WsClient.connect(e.t.url, '/v1/ingest', TOKENS.ingest);
    const base = Date.now() - 3_600_000;
    // 60 group commits, snapshots every 100 ms in between: without the archive the log would be
    // trimmed to a handful of entries.
    for (let i = 1; i <= 60; i++) {
      expect((await ws.send([fix('TAG-L', i, base + i * 1000, OUTSIDE)])).ack).toHaveLength(1);
      if (i % 20 === 0) await sleep(150);
    }
    await e.t.service.app.inject({ method: 'GET', url: '/healthz' });
    expect(await e.redis.get(keys.snapshot)).not.toBeNull();
    expect(await e.redis.xlen(keys.log)).toBeGreaterThanOrEqual(60);
    await e.copier.start();
    await e.copier.drain();
    expect(Number((await e.arch.db.query('SELECT count(*) AS n FROM fixes')).rows[0].n)).toBe(60);
    // The next snapshot trims what was copied.
    await sleep(150);
    expect((await ws.send([fix('TAG-L', 61, base + 61_000, OUTSIDE)])).ack).toHaveLength(1);
    await sleep(150);
    expect((await ws.send([fix('TAG-L', 62, base + 62_000, OUTSIDE)])).ack).toHaveLength(1);
    expect(await e.redis.xlen(keys.log)).toBeLessThan(10);

    // The copier stops (a worker down): past the bound the oldest entries go, counted and logged.
    await e.copier.close();
    for (let i = 63; i <= 220; i++) {
      expect((await ws.send([fix('TAG-L', i, base + i * 1000, OUTSIDE)])).ack).toHaveLength(1);
      if (i % 40 === 0) await sleep(150);
    }
    await sleep(150);
    expect((await ws.send([fix('TAG-L', 221, base + 221_000, OUTSIDE)])).ack).toHaveLength(1);
    await ws.closeAndWait();
    expect(await e.redis.xlen(keys.log)).toBeLessThanOrEqual(100);
    const metrics = (await e.t.service.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKENS.operator}` } })).payload;
    const dropped = Number(/iom_archive_log_dropped_total (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(dropped).toBeGreaterThan(0);
    // A copier started again says the loss out loud, then copies what is left.
    const said: string[] = [];
    e.copier = new ArchiveCopier(e.redis, keys, e.arch.db, { log: (level, _o, msg) => said.push(`${level}: ${msg}`) });
    await e.copier.start();
    await e.copier.drain();
    expect(said.some((s) => s.startsWith('error: archive: ingest-log entries after the archive'))).toBe(true);
    const n = Number((await e.arch.db.query('SELECT count(*) AS n FROM fixes')).rows[0].n);
    expect(n).toBe(221 - dropped);
  });
});

describe('trail across the Redis/archive boundary: purpose, audit, team isolation (real PostgreSQL + Redis)', () => {
  let e: Env;
  const N = 405; // eight batches of 50, then 5 more: the recent period asked for without a purpose
  /** Each fix's ts by seq (index seq - 1). */
  const ts: number[] = [];
  const as = (token: string) => (path: string) => api(e.t.service.app, 'GET', path, { token });
  const op = as(TOKENS.operator);

  beforeAll(async () => {
    // Redis keeps only the latest fixes of each device (TRAIL_MAX_PER_DEVICE, trimmed by whole
    // stream nodes of 100): the older part of this trail is in the archive only. Fixes are dated
    // just before they are sent, and no device clock may run ahead (INGEST_MAX_FUTURE_S 0), so
    // what Redis trimmed (by arrival) is plainly older than the recent period asked for below.
    e = await setUp({ trailMaxPerDevice: 10, ingestMaxFutureS: 0 });
    const put = (path: string, body: unknown) => api(e.t.service.app, 'PUT', path, { token: TOKENS.operator, body });
    expect((await put('/v1/zones/Z-1', zoneX('Z-1'))).status).toBe(200);
    expect((await put('/v1/subjects/S-N', exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-1'))).status).toBe(200);
    await e.copier.start();
    const ws = await WsClient.connect(e.t.url, '/v1/ingest', TOKENS.ingest);
    for (let i = 0; i < N; i += 50) {
      await sleep(100);
      const start = Date.now() - 60;
      const batch = [];
      for (let k = i + 1; k <= Math.min(N, i + 50); k++) {
        ts.push(start + (k - i));
        batch.push(fix('TAG-N', k, start + (k - i), [51.49 - k * 1e-5, -0.125], { accuracy: 7.5, battery: 0.9, strap: 'ok' }));
      }
      expect((await ws.send(batch)).ack).toHaveLength(batch.length);
    }
    await ws.closeAndWait();
    await e.copier.drain();
  });
  afterAll(async () => {
    await tearDown(e);
  });

  it('holds the older part of the trail in the archive only', async () => {
    const inRedis = await e.redis.xlen(e.t.service.keys.trail('TAG-N'));
    expect(inRedis).toBeLessThan(N);
    expect(Number((await e.arch.db.query('SELECT count(*) AS n FROM fixes')).rows[0].n)).toBe(N);
  });

  it('refuses a period reaching into the archive without a purpose (400 naming query.purpose)', async () => {
    const r = await op(`/v1/subjects/S-N/trail?from=${ts[0]}`);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION');
    expect(r.body.details.path).toBe('query.purpose');
    expect(r.body.message).toContain('purpose');
    const long = await op(`/v1/subjects/S-N/trail?from=${ts[0]}&purpose=${'x'.repeat(501)}`);
    expect(long.status).toBe(400);
    expect(JSON.stringify(long.body)).toContain('purpose');
  });

  it('serves the whole period as one answer: every fix once, in order, none missing at the boundary', async () => {
    const purpose = 'Recall hearing 12/2026: curfew compliance, CPS ref 42';
    const r = await op(`/v1/subjects/S-N/trail?from=${ts[0]}&to=${ts[N - 1]}&purpose=${encodeURIComponent(purpose)}`);
    expect(r.status).toBe(200);
    const seqs = r.body.features.map((f: { properties: { seq: number } }) => f.properties.seq);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // Archive-served and Redis-served fixes look alike.
    const first = r.body.features[0];
    const last = r.body.features[N - 1];
    for (const f of [first, last]) {
      expect(f.properties).toMatchObject({ accuracy: 7.5, battery: 0.9, strap: 'ok' });
      expect(f.geometry.type).toBe('Point');
    }
    expect(first.properties.ts).toBe(new Date(ts[0]).toISOString());
    expect(first.geometry.coordinates[1]).toBe(Math.round((51.49 - 1e-5) * 1e7) / 1e7);
    // The recent part alone is served by Redis, without a purpose, and matches the whole answer's tail.
    const recentFrom = ts[N - 5];
    const recent = await op(`/v1/subjects/S-N/trail?from=${recentFrom}`);
    expect(recent.status).toBe(200);
    expect(recent.body.features).toEqual(r.body.features.slice(N - 5));
    // Audited: who, when, why, what period, how many fixes.
    const audit = (await api(e.t.service.app, 'GET', '/v1/audit?limit=100', { token: TOKENS.admin })).body.entries as Record<string, unknown>[];
    const entry = audit.find((a) => a.action === 'trail.archive.read');
    expect(entry).toMatchObject({ target: 'S-N', role: 'operator', purpose, from: new Date(ts[0]).toISOString(), to: new Date(ts[N - 1]).toISOString(), fixes: N });
    expect(Number(entry?.fromArchive)).toBeGreaterThan(0);
    expect(Date.parse(String(entry?.at))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keeps another team out of the archive as out of the trail (404), its own team in', async () => {
    const q = `/v1/subjects/S-N/trail?from=${ts[0]}&purpose=checking`;
    const south = await as(TOKENS.south)(q);
    expect(south.status).toBe(404);
    expect(south.body.code).toBe('NOT_FOUND');
    const north = await as(TOKENS.north)(q);
    expect(north.status).toBe(200);
    expect(north.body.features).toHaveLength(N);
    const audit = (await api(e.t.service.app, 'GET', '/v1/audit?limit=100', { token: TOKENS.admin })).body.entries as Record<string, unknown>[];
    expect(audit.filter((a) => a.action === 'trail.archive.read' && a.role === 'team:iom-south')).toEqual([]);
    expect(audit.some((a) => a.action === 'trail.archive.read' && a.role === 'team:iom-north' && a.purpose === 'checking')).toBe(true);
  });
});

describe('retention drops whole partitions, each purge audited (real PostgreSQL + Redis)', () => {
  let e: Env;
  afterAll(async () => {
    await tearDown(e);
  });

  it('drops the fixes partition of a day past ARCHIVE_RETAIN_FIXES_DAYS and audits it; keeps newer days and alerts', async () => {
    e = await setUp();
    const DAY = 86_400_000;
    const now = Date.UTC(2026, 11, 6, 12);
    const old = now - 40 * DAY;
    const kept = now - 10 * DAY;
    await ensurePartitions(e.arch.db, 'fixes', old, old);
    await ensurePartitions(e.arch.db, 'fixes', kept, kept);
    await ensurePartitions(e.arch.db, 'alert_events', old, old);
    for (const [seq, ts] of [[1, old], [2, old + 1000], [3, kept]]) {
      await e.arch.db.query('INSERT INTO fixes (device_id, seq, ts, received_at) VALUES ($1, $2, $3, $3)', ['TAG-R', seq, new Date(ts).toISOString()]);
    }
    const audit = new AuditLog(e.redis, e.t.service.keys, 86_400);
    const purges = await purgeAndAudit(e.arch.db, { fixesDays: 30, alertsDays: 365 }, audit, e.arch.schema, now);
    const oldName = partitionName('fixes', Math.floor(old / DAY) * DAY);
    expect(purges).toEqual([{ table: 'fixes', what: oldName, before: new Date(Math.floor(old / DAY) * DAY).toISOString().slice(0, 10), rows: 2 }]);
    const left = (await partitionsOf(e.arch.db, 'fixes')).map((p) => p.name);
    expect(left).not.toContain(oldName);
    expect(left).toContain(partitionName('fixes', Math.floor(kept / DAY) * DAY));
    expect((await partitionsOf(e.arch.db, 'alert_events')).length).toBe(1);
    expect(Number((await e.arch.db.query('SELECT count(*) AS n FROM fixes')).rows[0].n)).toBe(1);
    const entries = (await api(e.t.service.app, 'GET', '/v1/audit?limit=100', { token: TOKENS.admin })).body.entries as Record<string, unknown>[];
    expect(entries.find((a) => a.action === 'archive.purge')).toMatchObject({ target: oldName, table: 'fixes', rows: 2, schema: e.arch.schema });
  });
});

describe('archive off: the service as before (real Redis)', () => {
  let t: TestService;
  let redis: Redis;
  afterAll(async () => {
    await t?.close();
    redis?.disconnect();
  });

  it('logs fixes as before, trims the log at each snapshot, writes no archive key and asks no purpose', async () => {
    t = await startTestService({ snapshotIntervalMs: 100 });
    redis = newRedis();
    const keys = t.service.keys;
    expect((await api(t.service.app, 'PUT', '/v1/devices/TAG-O', { token: TOKENS.operator, body: { kind: 'tag', status: 'in_stock' } })).status).toBe(200);
    const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    const base = Date.now() - 3_600_000;
    const before = await redis.xrange(keys.log, '-', '+');
    for (let i = 1; i <= 30; i++) {
      expect((await ws.send([fix('TAG-O', i, base + i * 1000, OUTSIDE)])).ack).toHaveLength(1);
      if (i % 10 === 0) await sleep(150);
    }
    const entries = await redis.xrange(keys.log, '-', '+');
    for (const [, fields] of entries.filter((x) => !before.some((b) => b[0] === x[0]))) {
      for (const item of JSON.parse(fields[1]) as unknown[]) if (Array.isArray(item)) expect(item).toHaveLength(8);
    }
    await sleep(150);
    expect((await ws.send([fix('TAG-O', 31, base + 31_000, OUTSIDE)])).ack).toHaveLength(1);
    await ws.closeAndWait();
    expect(await redis.xlen(keys.log)).toBeLessThan(5);
    expect(await redis.exists(keys.archiveFeed, keys.archiveLogCursor)).toBe(0);
    const r = await api(t.service.app, 'GET', '/v1/subjects/none/trail', { token: TOKENS.operator });
    expect(r.status).toBe(404);
    expect(t.service.settings.databaseUrl).toBeUndefined();
  });

  it('npm start without DATABASE_URL says the archive is off and starts no archive worker', async () => {
    const prefix = uniquePrefix('arch-off');
    const svc = await spawnService({ KEY_PREFIX: prefix, API_TOKENS: TOKEN_SPEC, WORKERS: '0', DATABASE_URL: '', LOG_LEVEL: 'warn' });
    try {
      expect(svc.output()).toContain('archive off (DATABASE_URL unset)');
      expect(svc.output()).not.toContain('archive worker pid');
      expect((await api(svc.url, 'GET', '/readyz', { token: TOKENS.operator })).status).toBe(200);
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exited;
      await cleanupPrefix(prefix);
    }
  });
});
