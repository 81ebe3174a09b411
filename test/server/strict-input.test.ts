// Strict input (issue 11): an unknown field or query parameter is a 400 naming its path and the
// closest known field, never a silent no-op; GeoJSON foreign members and `properties` stay free.
// Errors are always {code, message, details?}: a refused WebSocket upgrade, a non-JSON body (415),
// a trail asked from after to. Real Redis; requests through inject, upgrades over the socket.
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, compileConfig, parseSettings } from '../../src/engine/config.js';
import { closestField } from '../../src/engine/unknown-field.js';
import {
  api, cleanupPrefix, exclusionSubject, newRedis, ROOT, startTestService, TOKENS, uniquePrefix, zoneX, type TestService,
} from '../support/server.js';

describe('strict input (real Redis)', () => {
  let t: TestService;
  const op = (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token: TOKENS.operator, body });

  beforeAll(async () => {
    t = await startTestService();
    expect((await op('PUT', '/v1/zones/Z-1', zoneX('Z-1'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-1', exclusionSubject('S-1', 'TAG-1', 'iom-north', 'Z-1'))).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  const refused = async (method: string, path: string, body: unknown, field: string, suggestion?: string): Promise<void> => {
    const r = await op(method, path, body);
    expect(r.status, `${method} ${path}: ${r.text}`).toBe(400);
    expect(r.body.code).toBe('VALIDATION');
    expect(r.body.details.path).toBe(field);
    expect(r.body.message).toContain(`${field}: unknown field`);
    if (suggestion !== undefined) expect(r.body.message).toContain(`did you mean ${suggestion}?`);
  };

  it('refuses a misspelt condition field (bufferm) naming the path and suggesting bufferM; nothing is stored', async () => {
    const body = exclusionSubject('S-2', 'TAG-2', 'iom-north', 'Z-1');
    (body.conditions as Record<string, unknown>[])[0] = { id: 'c1', type: 'exclusion', zone: 'Z-1', bufferm: 100 };
    const r = await op('PUT', '/v1/subjects/S-2', body);
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('body.conditions[0].bufferm: unknown field; did you mean bufferM?');
    expect(r.body.details.path).toBe('body.conditions[0].bufferm');
    expect((await op('GET', '/v1/subjects/S-2')).status).toBe(404);
  });

  it('refuses unknown fields at every level of a subject: the subject, a schedule, its windows, each condition type', async () => {
    const good = exclusionSubject('S-3', 'TAG-3', 'iom-north', 'Z-1');
    await refused('PUT', '/v1/subjects/S-3', { ...good, riskLevel: 'high' }, 'body.riskLevel');
    await refused('PUT', '/v1/subjects/S-3', { ...good, timeZone: 'Europe/London' }, 'body.timeZone', 'timezone');
    const curfew = (schedule: unknown) => ({ ...good, conditions: [{ id: 'c1', type: 'curfew', zone: 'Z-1', schedule }] });
    await refused('PUT', '/v1/subjects/S-3', curfew({ windows: [{ days: ['mon'], start: '19:00', end: '07:00' }], exceptions: [] }), 'body.conditions[0].schedule.exceptions', 'except');
    await refused('PUT', '/v1/subjects/S-3', curfew({ windows: [{ days: ['mon'], start: '19:00', ends: '07:00' }] }), 'body.conditions[0].schedule.windows[0].ends', 'end');
    await refused('PUT', '/v1/subjects/S-3', { ...good, conditions: [{ id: 'c1', type: 'curfew', zone: 'Z-1', graceSec: 60, schedule: { windows: [{ days: ['mon'], start: '19:00', end: '07:00' }] } }] }, 'body.conditions[0].graceSec', 'graceS');
    await refused('PUT', '/v1/subjects/S-3', { ...good, conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'V-1', distanceM: 500, warnm: 800 }] }, 'body.conditions[0].warnm', 'warnM');
    // A misspelt required field is reported as the unknown field it is, not as the missing one.
    await refused('PUT', '/v1/subjects/S-3', { ...good, conditions: [{ id: 'c1', type: 'exclusion', zoen: 'Z-1' }] }, 'body.conditions[0].zoen', 'zone');
    // The good subject is accepted.
    expect((await op('PUT', '/v1/subjects/S-3', good)).status).toBe(200);
  });

  it('refuses unknown fields in team routing, acknowledgements, claims, patches and bulk bodies', async () => {
    const hook = { url: 'http://127.0.0.1:9/x', secret: 'long-enough-secret-0123' };
    await refused('PUT', '/v1/teams/iom-north', { webhooks: [{ ...hook, secrte: 'x' }] }, 'body.webhooks[0].secrte', 'secret');
    await refused('PUT', '/v1/teams/iom-north', { webhook: [hook] }, 'body.webhook', 'webhooks');
    await refused('PUT', '/v1/teams/iom-north', { webhooks: [], escalation: { webhook: hook, afterS: { critical: 60, hgih: 60 } } }, 'body.escalation.afterS.hgih', 'high');
    await refused('POST', '/v1/alerts/no-such/ack', { by: 'x', outcom: 'no_action' }, 'body.outcom', 'outcome');
    await refused('POST', '/v1/alerts/no-such/claim', { by: 'x', forse: true }, 'body.forse', 'force');
    await refused('PATCH', '/v1/subjects/S-1', { statis: 'suspended' }, 'body.statis', 'status');
    await refused('POST', '/v1/subjects', { subjects: [], dryRun: true }, 'body.dryRun');
  });

  it('keeps GeoJSON foreign members and properties free (RFC 7946)', async () => {
    const z = { ...zoneX('Z-free'), crs: { type: 'name' }, title: 'foreign member', properties: { name: 'x', anything: { goes: [1, 2] }, layer: 'schools' } };
    const r = await op('PUT', '/v1/zones/Z-free', z);
    expect(r.status, r.text).toBe(200);
    expect((await op('GET', '/v1/zones/Z-free')).body).toMatchObject({ title: 'foreign member', properties: { anything: { goes: [1, 2] } } });
    const fc = { type: 'FeatureCollection', name: 'import of 2026-12-06', features: [{ ...zoneX('Z-free2'), extra: 1 }] };
    const b = await op('POST', '/v1/zones', fc);
    expect(b.status).toBe(200);
    expect(b.body.accepted).toBe(1);
  });

  it('refuses unknown query parameters on every route, suggesting the closest', async () => {
    const q = async (path: string, field: string, suggestion?: string): Promise<void> => {
      const r = await op('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.body.code).toBe('VALIDATION');
      expect(r.body.details.path).toBe(field);
      expect(r.body.message).toContain(`${field}: unknown field`);
      if (suggestion !== undefined) expect(r.body.message).toContain(`did you mean ${suggestion}?`);
    };
    await q('/v1/alerts?stat=open', 'query.stat', 'state');
    await q('/v1/subjects/S-1/trail?form=2026-01-01T00:00:00Z', 'query.form', 'from');
    await q('/v1/deliveries/dead?limt=5', 'query.limt', 'limit');
    const audit = await api(t.service.app, 'GET', '/v1/audit?limits=5', { token: TOKENS.admin });
    expect(audit.status).toBe(400);
    expect(audit.body.message).toBe('query.limits: unknown field; did you mean limit?');
    await q('/v1/zones/Z-1?verbose=1', 'query.verbose');
    await q('/v1/subjects/S-1?x=1', 'query.x');
    await q('/v1/teams/iom-north?x=1', 'query.x');
    await q('/readyz?x=1', 'query.x');
    const del = await op('DELETE', '/v1/subjects/S-1?force=1');
    expect(del.status).toBe(400);
    expect((await op('GET', '/v1/subjects/S-1')).status).toBe(200);
    // Known parameters still work.
    expect((await op('GET', '/v1/alerts?state=all&limit=5')).status).toBe(200);
  });

  it('answers a body that is not JSON with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify(exclusionSubject('S-4', 'TAG-4', 'iom-north', 'Z-1'));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const r = await api(t.service.app, 'PUT', '/v1/subjects/S-4', { token: TOKENS.operator, raw: body, headers: { 'content-type': type } });
      expect(r.status, type).toBe(415);
      expect(r.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect((await op('GET', '/v1/subjects/S-4')).status).toBe(404);
    const ok = await api(t.service.app, 'PUT', '/v1/subjects/S-4', { token: TOKENS.operator, raw: body, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.status).toBe(200);
  });

  it('refuses a trail query whose from is after its to (400, path query.from)', async () => {
    const r = await op('GET', '/v1/subjects/S-1/trail?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION');
    expect(r.body.details.path).toBe('query.from');
    expect((await op('GET', '/v1/subjects/S-1/trail?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(200);
  });

  it('answers a refused WebSocket upgrade with the registry status and a {code, message} body', async () => {
    const cases: [string, string | null, number, string][] = [
      ['/v1/ingest', null, 401, 'AUTH_REQUIRED'],
      ['/v1/ingest', 'not-a-token', 401, 'AUTH_INVALID'],
      ['/v1/ingest', TOKENS.north, 403, 'FORBIDDEN'],
      ['/v1/alerts/stream', null, 401, 'AUTH_REQUIRED'],
      ['/v1/alerts/stream', TOKENS.ingest, 403, 'FORBIDDEN'],
      ['/v1/nowhere', TOKENS.operator, 404, 'NOT_FOUND'],
    ];
    for (const [path, token, status, code] of cases) {
      const r = await refusedUpgrade(t.url, path, token);
      expect(r.status, `${path} ${code}`).toBe(status);
      expect(r.type).toMatch(/^application\/json/);
      const body = JSON.parse(r.body) as { code: string; message: string };
      expect(body.code).toBe(code);
      expect(body.message.length).toBeGreaterThan(5);
    }
  });
});

describe('strict input in the replay configuration and the stored state', () => {
  it('refuses an unknown field in a replay --config with a clear error naming the path', () => {
    const cfg = JSON.parse(readFileSync(join(ROOT, 'examples/scenario.json'), 'utf8')) as { settings?: Record<string, unknown>; subjects: { conditions: Record<string, unknown>[] }[] };
    expect(() => compileConfig(cfg)).not.toThrow();
    const typo = structuredClone(cfg);
    typo.subjects[0].conditions[0].bufferm = 100;
    expect(() => compileConfig(typo)).toThrow(ConfigError);
    try {
      compileConfig(typo);
    } catch (e) {
      expect((e as ConfigError).path).toBe('subjects[0].conditions[0].bufferm');
      expect((e as ConfigError).message).toBe('subjects[0].conditions[0].bufferm: unknown field; did you mean bufferM?');
    }
    const settings = { ...structuredClone(cfg), settings: { hysteresysM: 5 } };
    expect(() => compileConfig(settings)).toThrow(/settings\.hysteresysM: unknown field; did you mean hysteresisM\?/);
    expect(() => compileConfig({ ...structuredClone(cfg), subject: [] })).toThrow(/^subject: unknown field; did you mean subjects\?/);
  });

  it('refuses an unknown engine setting (ENGINE_SETTINGS) naming it', () => {
    expect(parseSettings('{"hysteresisM": 5}').hysteresisM).toBe(5);
    expect(() => parseSettings('{"hysteresysM": 5}', 'ENGINE_SETTINGS')).toThrow('ENGINE_SETTINGS.hysteresysM: unknown field; did you mean hysteresisM?');
  });

  it('suggests only a close field', () => {
    expect(closestField('bufferm', ['bufferM', 'zone', 'layer'])).toBe('bufferM');
    expect(closestField('distnaceM', ['distanceM', 'warnM'])).toBe('distanceM');
    expect(closestField('colour', ['zone', 'layer', 'bufferM'])).toBeNull();
  });

  it('loads a subject stored before input was strict, ignoring (and reporting) its unknown field', async () => {
    const prefix = uniquePrefix('strict-load');
    const r = newRedis();
    try {
      await r.hset(`${prefix}:zones`, 'Z-1', JSON.stringify(zoneX('Z-1')));
      await r.hset(`${prefix}:subjects`, 'S-old', JSON.stringify({ ...exclusionSubject('S-old', 'TAG-old', 'iom-north', 'Z-1'), riskLevel: 'high' }));
      const t = await startTestService({ keyPrefix: prefix });
      try {
        const got = await api(t.service.app, 'GET', '/v1/subjects/S-old', { token: TOKENS.operator });
        expect(got.status).toBe(200);
        expect(t.service.engine().getSubject('S-old')?.deviceId).toBe('TAG-old');
        // A PATCH saves it back without the field the schema does not know.
        const p = await api(t.service.app, 'PATCH', '/v1/subjects/S-old', { token: TOKENS.operator, body: { status: 'suspended' } });
        expect(p.status, p.text).toBe(200);
        expect(p.body.riskLevel).toBeUndefined();
        expect(JSON.parse((await r.hget(`${prefix}:subjects`, 'S-old')) ?? '{}')).not.toHaveProperty('riskLevel');
      } finally {
        await t.close();
      }
    } finally {
      r.disconnect();
      await cleanupPrefix(prefix);
    }
  });
});

/** An upgrade request that is refused: its status, content type and body. */
function refusedUpgrade(baseUrl: string, path: string, token: string | null): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(baseUrl);
  return new Promise((done, fail) => {
    const req = request({
      host: u.hostname, port: u.port, path, method: 'GET',
      headers: {
        connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
    });
    req.on('upgrade', () => fail(new Error(`${path}: upgrade accepted`)));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}
