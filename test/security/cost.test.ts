// Security wave 2, Medium 6: cost attacks, each bounded.
//  - zone validity: a valid 16k-vertex "accordion" (every edge's box overlapping every other's)
//    took 22 s of quadratic checking; now refused quickly with a clear error;
//  - acknowledgements: a per-token write rate limit (ACK_RATE_LIMIT_PER_S) stops 3,000 acks in
//    5 s from one token;
//  - the audit log is kept by time (AUDIT_RETENTION_S), not a count one team can flush;
//  - GET /v1/alerts: `limit` bounds what is returned (the indexed listing is another issue's work).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileZone, ZoneError } from '../../geo/index.js';
import { readEnv } from '../../src/server/settings.js';
import { api, startTestService, TOKENS, type TestService } from '../support/server.js';

/**
 * A valid, simple polygon of n corners whose edges are long parallel slivers nested inside each
 * other: every edge's bounding box overlaps almost every other's.
 */
function accordion(n: number): unknown {
  const e = 1e-5;
  const ring: number[][] = [];
  const k = Math.floor((n - 3) / 2);
  for (let i = 0; i < k; i++) {
    ring.push([0, i * e]);
    ring.push([0.5, 0.5 + i * e]);
  }
  ring.push([0, k * e], [-0.1, k * e], [-0.1, 0], [0, 0]);
  return { type: 'Feature', id: 'accordion', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } };
}

describe('zone validity check', () => {
  it('a 16k-vertex accordion is answered within 2 s (refused with ZONE_TOO_COMPLEX), not 22 s', () => {
    const start = performance.now();
    let err: unknown = null;
    try {
      compileZone(accordion(16_000));
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - start;
    expect(ms).toBeLessThan(2000);
    expect(err).toBeInstanceOf(ZoneError);
    expect((err as ZoneError).code).toBe('ZONE_TOO_COMPLEX');
    expect((err as ZoneError).message).toMatch(/accordion/);
  });

  it('a small accordion, and an ordinary 50k-vertex polygon, still compile', () => {
    expect(compileZone(accordion(200)).vertexCount).toBeGreaterThan(190);
    const ring: number[][] = [];
    for (let i = 0; i < 50_000; i++) {
      const a = (2 * Math.PI * i) / 50_000, r = 0.01 * (1 + 0.1 * Math.sin(a * 300));
      ring.push([r * Math.cos(a), 51 + r * Math.sin(a)]);
    }
    ring.push(ring[0]);
    const start = performance.now();
    expect(compileZone({ type: 'Feature', id: 'big', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } }).vertexCount).toBe(50_001);
    expect(performance.now() - start).toBeLessThan(3000);
  });
});

describe('the API', () => {
  let t: TestService;
  const episodeId = 'S-7:c1:2026-11-23T19:02:11Z';
  beforeAll(async () => {
    t = await startTestService({ ackRateLimitPerS: 5, auditRetentionS: 3600 });
    const opened = { episodeId, event: 'opened', type: 'exclusion', severity: 'high', confidence: 'confirmed', subjectId: 'S-7', deviceId: 'T7', conditionId: 'c1', zoneId: 'Z1', team: 'iom-north', at: '2026-11-23T19:02:11Z', late: false };
    await t.service.redis.hset(t.service.keys.alert(episodeId), 'opened', JSON.stringify(opened), 'team', 'iom-north', 'subjectId', 'S-7', 'type', 'exclusion', 'severity', 'high');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('acknowledgements are rate limited per token (429 past the allowance), other tokens unaffected', async () => {
    const note = 'x'.repeat(2000); // the longest note an alert takes
    const statuses: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 40; i++) statuses.push((await api(t.url, 'POST', `/v1/alerts/${episodeId}/ack`, { token: TOKENS.north, body: { by: 'PC 1', note, outcome: 'no_action' } })).status);
    const elapsedS = (performance.now() - started) / 1000;
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(5);
    // The burst (2 s worth = 10) plus what refills while the run lasts (5 a second).
    expect(ok).toBeLessThanOrEqual(10 + Math.ceil(5 * elapsedS));
    expect(ok).toBeLessThan(40);
    expect(statuses.filter((s) => s === 429).length).toBe(40 - ok);
    // Reads by the same token are not write-limited; another token may still acknowledge.
    expect((await api(t.url, 'GET', `/v1/alerts/${episodeId}`, { token: TOKENS.north })).status).toBe(200);
    expect((await api(t.url, 'POST', `/v1/alerts/${episodeId}/ack`, { token: TOKENS.operator, body: { by: 'Op', outcome: 'warning' } })).status).toBe(200);
    expect(await t.service.redis.llen(`${t.service.keys.alert(episodeId)}:acks`)).toBe(ok + 1);
  });

  it('the audit log is trimmed by age (AUDIT_RETENTION_S), not by count', async () => {
    const key = t.service.keys.audit;
    await t.service.redis.del(key); // a stream's ids only grow: start it again with old entries
    const now = Date.now();
    await t.service.redis.xadd(key, `${now - 2 * 3600_000}-0`, 'e', JSON.stringify({ action: 'old' }));
    await t.service.redis.xadd(key, `${now - 1800_000}-0`, 'e', JSON.stringify({ action: 'recent' }));
    // Many audited requests: nothing recent is pushed out by their number.
    for (let i = 0; i < 30; i++) await api(t.url, 'GET', '/v1/alerts', { token: TOKENS.north });
    const rows = await t.service.redis.xrange(key, '-', '+');
    const actions = rows.map(([, f]) => (JSON.parse(f[1]) as { action: string }).action);
    expect(actions).not.toContain('old');
    expect(actions).toContain('recent');
    expect(readEnv({ AUDIT_RETENTION_S: '86400' }).AUDIT_RETENTION_S).toBe(86400);
    expect(readEnv({}).ACK_RATE_LIMIT_PER_S).toBeGreaterThan(0);
  });

  it('GET /v1/alerts returns at most `limit` alerts', async () => {
    const r = await api(t.url, 'GET', '/v1/alerts?state=all&limit=1', { token: TOKENS.operator });
    expect(r.status).toBe(200);
    expect(r.body.alerts.length).toBeLessThanOrEqual(1);
    expect((await api(t.url, 'GET', '/v1/alerts?limit=100000', { token: TOKENS.operator })).status).toBe(400);
  });
});
