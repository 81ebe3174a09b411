// HTTP API against a real Redis: authentication, roles (ingest / operator / admin / team:<id>),
// validation and its error codes, zone and subject conflicts, bulk zone import, body limits,
// acknowledgements, the OpenAPI document, metrics, and prototype-poisoning refusal.
// Requests go through fastify's inject (no socket); the WebSocket set-up uses the real port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api, exclusionSubject, fix, fmt, INSIDE_X, rect, startTestService, TOKENS, WsClient, zoneX,
  type TestService,
} from '../support/server.js';

const BODY_LIMIT = 64 * 1024;
const IMPORT_LIMIT = 4 * 1024 * 1024;

describe('HTTP API: auth, roles, validation (real Redis)', () => {
  let t: TestService;
  const base = Math.floor((Date.now() - 600_000) / 1000) * 1000;
  const northEp = `S-N:c1:${fmt(base + 2000)}`;
  const southEp = `S-S:c1:${fmt(base + 3000)}`;
  const as = (token: string | null) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = (method: string, path: string, body?: unknown) => as(TOKENS.operator)(method, path, body);
  const north = (method: string, path: string, body?: unknown) => as(TOKENS.north)(method, path, body);
  const ingest = (method: string, path: string, body?: unknown) => as(TOKENS.ingest)(method, path, body);
  const enc = encodeURIComponent;

  beforeAll(async () => {
    t = await startTestService({ httpBodyLimitBytes: BODY_LIMIT, zoneImportLimitBytes: IMPORT_LIMIT });
    expect((await op('PUT', '/v1/zones/Z-N', zoneX('Z-N'))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-S', rect('Z-S', -1.56, 53.79, -1.54, 53.80))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N', exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-N'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-S', exclusionSubject('S-S', 'TAG-S', 'iom-south', 'Z-S'))).status).toBe(200);
    // One episode per team.
    const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    const reply = await ws.send([
      fix('TAG-N', 1, base + 1000, [51.49, -0.125]),
      fix('TAG-N', 2, base + 2000, INSIDE_X),
      fix('TAG-S', 1, base + 3000, [53.795, -1.55]),
    ]);
    expect(reply).toEqual({ ack: [['TAG-N', 1], ['TAG-N', 2], ['TAG-S', 1]] });
    await ws.closeAndWait();
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('authentication', () => {
    it('401 AUTH_REQUIRED without a bearer token (or with another scheme)', async () => {
      for (const path of ['/v1/alerts', '/v1/zones/Z-N', '/readyz', '/metrics', '/docs/json', '/v1/no-such-route']) {
        const r = await as(null)('GET', path);
        expect(r.status, path).toBe(401);
        expect(r.body.code).toBe('AUTH_REQUIRED');
      }
      const basic = await api(t.service.app, 'GET', '/v1/alerts', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
      expect(basic.status).toBe(401);
      expect(basic.body.code).toBe('AUTH_REQUIRED');
      expect((await as(null)('PUT', '/v1/zones/Z-x', zoneX('Z-x'))).body.code).toBe('AUTH_REQUIRED');
    });

    it('401 AUTH_INVALID with an unknown token', async () => {
      const r = await as('this-is-not-a-configured-token')('GET', '/v1/alerts');
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('AUTH_INVALID');
      // A prefix of a real token is not the token.
      expect((await as(TOKENS.operator.slice(0, -1))('GET', '/v1/alerts')).body.code).toBe('AUTH_INVALID');
    });

    it('/healthz needs no token', async () => {
      const r = await as(null)('GET', '/healthz');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok' });
    });

    it('/healthz needs no token with a query string either (load balancers add them)', async () => {
      const r = await as(null)('GET', '/healthz?probe=lb');
      expect(r.status).toBe(200);
    });

    it('/readyz answers every role', async () => {
      for (const token of Object.values(TOKENS)) {
        const r = await as(token)('GET', '/readyz');
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ ready: true, redis: true, state: 'loaded' });
      }
    });

    it('sets defensive headers', async () => {
      const r = await op('GET', '/v1/alerts');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('cache-control')).toBe('no-store');
    });
  });

  describe('roles', () => {
    it('ingest may not read or change anything over HTTP (403) except /readyz', async () => {
      const reads = [
        '/v1/alerts', `/v1/alerts/${enc(northEp)}`, '/v1/zones/Z-N', '/v1/subjects/S-N', '/v1/subjects/S-N/trail',
        '/metrics', '/v1/teams/iom-north', '/v1/deliveries/dead', '/v1/audit',
      ];
      for (const path of reads) {
        const r = await ingest('GET', path);
        expect(r.status, `GET ${path}`).toBe(403);
        expect(r.body.code).toBe('FORBIDDEN');
      }
      expect((await ingest('PUT', '/v1/zones/Z-i', zoneX('Z-i'))).status).toBe(403);
      expect((await ingest('POST', '/v1/zones', { type: 'FeatureCollection', features: [] })).status).toBe(403);
      expect((await ingest('PUT', '/v1/subjects/S-i', exclusionSubject('S-i', 'TAG-i', 'iom-north', 'Z-N'))).status).toBe(403);
      expect((await ingest('DELETE', '/v1/subjects/S-N')).status).toBe(403);
      expect((await ingest('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'x', outcome: 'no_action' })).status).toBe(403);
      expect((await ingest('GET', '/readyz')).status).toBe(200);
    });

    it('ingest may not read the API description either (contract: ingest "may only send fixes")', async () => {
      const r = await ingest('GET', '/docs/json');
      expect(r.status).toBe(403);
    });

    it('a team may not read another team\'s subject, trail, zone or alerts: 404, exactly as a missing one', async () => {
      // Issue 11: another team's resource answers as a missing one (status, code and message), so
      // a team token cannot learn that an id exists.
      const pairs: [string, string][] = [
        ['/v1/subjects/S-S', '/v1/subjects/S-none'], ['/v1/subjects/S-S/trail', '/v1/subjects/S-none/trail'],
        ['/v1/zones/Z-S', '/v1/zones/Z-none'], [`/v1/alerts/${enc(southEp)}`, '/v1/alerts/no-such-episode'],
        ['/v1/teams/iom-south', '/v1/teams/iom-none'],
      ];
      for (const [path, missing] of pairs) {
        const r = await north('GET', path);
        expect(r.status, path).toBe(404);
        expect(r.body.code).toBe('NOT_FOUND');
        const m = await north('GET', missing);
        expect(m.status, missing).toBe(404);
        expect(r.body.message.replace(/"[^"]*"/g, '"…"'), path).toBe(m.body.message.replace(/"[^"]*"/g, '"…"'));
      }
      for (const path of ['/v1/alerts?team=iom-south', '/v1/alerts?team=iom-south&state=all']) {
        const r = await north('GET', path);
        expect(r.status, path).toBe(403);
        expect(r.body.code).toBe('FORBIDDEN');
      }
      const ack = await north('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: 'DS Smith', outcome: 'no_action', note: '' });
      expect(ack.status).toBe(404);
      // Nothing was recorded on the other team's alert.
      expect((await op('GET', `/v1/alerts/${enc(southEp)}`)).body.acknowledged).toBeUndefined();
    });

    it('a team reads its own subject, trail, zones and alerts, and only those', async () => {
      expect((await north('GET', '/v1/subjects/S-N')).status).toBe(200);
      expect((await north('GET', '/v1/zones/Z-N')).status).toBe(200);
      const trail = await north('GET', '/v1/subjects/S-N/trail');
      expect(trail.status).toBe(200);
      expect(trail.body.features).toHaveLength(2);
      for (const state of ['open', 'all']) {
        const r = await north('GET', `/v1/alerts?state=${state}`);
        expect(r.status).toBe(200);
        expect(r.body.alerts.map((a: { episodeId: string }) => a.episodeId)).toEqual([northEp]);
        expect(r.body.alerts.every((a: { team: string }) => a.team === 'iom-north')).toBe(true);
      }
      expect((await north('GET', '/v1/alerts?team=iom-north')).body.alerts).toHaveLength(1);
      // The operator sees both teams.
      const all = await op('GET', '/v1/alerts');
      expect(all.body.alerts.map((a: { episodeId: string }) => a.episodeId).sort()).toEqual([northEp, southEp].sort());
      expect((await op('GET', '/v1/alerts?team=iom-south')).body.alerts.map((a: { episodeId: string }) => a.episodeId)).toEqual([southEp]);
    });

    it('a team may not change zones or subjects (403)', async () => {
      const tries: [string, string, unknown][] = [
        ['PUT', '/v1/zones/Z-N', zoneX('Z-N')],
        ['PUT', '/v1/zones/Z-team', zoneX('Z-team')],
        ['DELETE', '/v1/zones/Z-N', undefined],
        ['POST', '/v1/zones', { type: 'FeatureCollection', features: [zoneX('Z-team2')] }],
        ['PUT', '/v1/subjects/S-N', exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-N', { risk: 'low' })],
        ['PUT', '/v1/subjects/S-new', exclusionSubject('S-new', 'TAG-new', 'iom-north', 'Z-N')],
        ['DELETE', '/v1/subjects/S-N', undefined],
      ];
      for (const [method, path, body] of tries) {
        const r = await north(method, path, body);
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.body.code).toBe('FORBIDDEN');
      }
      expect((await op('GET', '/v1/zones/Z-team')).status).toBe(404);
      expect((await op('GET', '/v1/subjects/S-N')).body.risk).toBe('high');
      expect((await north('GET', '/metrics')).status).toBe(403);
    });

    it('admin may do what the operator does', async () => {
      expect((await as(TOKENS.admin)('PUT', '/v1/zones/Z-admin', zoneX('Z-admin'))).status).toBe(200);
      expect((await as(TOKENS.admin)('GET', '/v1/alerts')).body.alerts).toHaveLength(2);
      expect((await as(TOKENS.admin)('DELETE', '/v1/zones/Z-admin')).status).toBe(204);
    });
  });

  describe('validation', () => {
    it('refuses a bad zone with 400 ZONE_INVALID naming the fault in details.zoneCode', async () => {
      const open = zoneX('Z-open') as { geometry: { coordinates: number[][][] } };
      open.geometry.coordinates[0].pop();
      const cases: [string, unknown, string][] = [
        ['Z-open', open, 'ZONE_RING_NOT_CLOSED'],
        ['Z-bow', { type: 'Feature', id: 'Z-bow', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] }, properties: {} }, 'ZONE_SELF_INTERSECTION'],
        ['Z-circ', { type: 'Feature', id: 'Z-circ', geometry: { type: 'Point', coordinates: [0, 51] }, properties: {} }, 'ZONE_BAD_RADIUS'],
        ['Z-line', { type: 'Feature', id: 'Z-line', geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] }, properties: {} }, 'ZONE_UNSUPPORTED_TYPE'],
        ['Z-lat', { type: 'Feature', id: 'Z-lat', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 95], [0, 0]]] }, properties: {} }, 'ZONE_COORDINATE_RANGE'],
      ];
      for (const [id, body, zoneCode] of cases) {
        const r = await op('PUT', `/v1/zones/${id}`, body);
        expect(r.status, id).toBe(400);
        expect(r.body.code).toBe('ZONE_INVALID');
        expect(r.body.details).toMatchObject({ zoneCode, zoneId: id });
        expect((await op('GET', `/v1/zones/${id}`)).status).toBe(404);
      }
    });

    it('refuses a zone body that is not a Feature, or whose id differs from the path (400 VALIDATION)', async () => {
      const notFeature = await op('PUT', '/v1/zones/Z-nf', { type: 'Polygon', coordinates: [] });
      expect(notFeature.status).toBe(400);
      expect(notFeature.body.code).toBe('VALIDATION');
      expect.soft(notFeature.body.details.path, 'details.path').toBe('body.type');
      const other = await op('PUT', '/v1/zones/Z-a', zoneX('Z-b'));
      expect(other.status).toBe(400);
      expect(other.body.code).toBe('VALIDATION');
      const notJson = await api(t.service.app, 'PUT', '/v1/zones/Z-a', { token: TOKENS.operator, raw: '{"type":' });
      expect(notJson.status).toBe(400);
      expect(notJson.body.code).toBe('VALIDATION');
    });

    it('refuses a subject naming an unknown zone: 400 VALIDATION with the path', async () => {
      const r = await op('PUT', '/v1/subjects/S-u', exclusionSubject('S-u', 'TAG-u', 'iom-north', 'Z-nowhere'));
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('VALIDATION');
      expect(r.body.details.path).toBe('body.conditions[0].zone');
      expect(r.body.message).toMatch(/Z-nowhere/);
      expect((await op('GET', '/v1/subjects/S-u')).status).toBe(404);
    });

    it('names the field of other bad subjects in details.path', async () => {
      const good = exclusionSubject('S-v', 'TAG-v', 'iom-north', 'Z-N');
      const cases: [Record<string, unknown>, string][] = [
        [{ ...good, risk: 'extreme' }, 'body.risk'],
        [{ ...good, timezone: 'Mars/Olympus' }, 'body.timezone'],
        [{ ...good, deviceId: 'bad device id' }, 'body.deviceId'],
        [{ ...good, conditions: [{ id: 'c1', type: 'curfew', zone: 'Z-N' }] }, 'body.conditions[0].schedule'],
        [{ ...good, validFrom: '2027-01-01T00:00:00Z', validTo: '2026-01-01T00:00:00Z' }, 'body.validTo'],
      ];
      for (const [body, path] of cases) {
        const r = await op('PUT', '/v1/subjects/S-v', body);
        expect(r.status, path).toBe(400);
        expect(r.body.code).toBe('VALIDATION');
        expect.soft(r.body.details.path, 'details.path').toBe(path);
      }
      const noDevice = { ...good };
      delete noDevice.deviceId;
      const r = await op('PUT', '/v1/subjects/S-v', noDevice);
      expect.soft(r.body.details.path, 'details.path').toBe('body.deviceId');
    });

    it('validates query strings', async () => {
      const bad = await op('GET', '/v1/alerts?state=bogus');
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('VALIDATION');
      expect.soft(bad.body.details.path, 'details.path').toBe('query.state');
      expect.soft((await op('GET', '/v1/alerts?limit=0')).body.details.path, 'details.path').toBe('query.limit');
      const trail = await op('GET', '/v1/subjects/S-N/trail?from=yesterday');
      expect(trail.status).toBe(400);
      expect(trail.body.code).toBe('VALIDATION');
    });

    it('404 NOT_FOUND for unknown zones, subjects, alerts and routes', async () => {
      for (const [method, path] of [
        ['GET', '/v1/zones/Z-none'], ['DELETE', '/v1/zones/Z-none'], ['GET', '/v1/subjects/S-none'],
        ['DELETE', '/v1/subjects/S-none'], ['GET', '/v1/subjects/S-none/trail'], ['GET', '/v1/alerts/no-such-episode'],
        ['GET', '/v1/nothing-here'],
      ] as const) {
        const r = await op(method, path);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.code).toBe('NOT_FOUND');
      }
      const ack = await op('POST', '/v1/alerts/no-such-episode/ack', { by: 'x', outcome: 'no_action' });
      expect(ack.status).toBe(404);
    });
  });

  describe('conflicts', () => {
    it('409 ZONE_IN_USE listing the subjects when a zone in use is deleted', async () => {
      expect((await op('PUT', '/v1/subjects/S-N2', exclusionSubject('S-N2', 'TAG-N2', 'iom-north', 'Z-N'))).status).toBe(200);
      const r = await op('DELETE', '/v1/zones/Z-N');
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('ZONE_IN_USE');
      expect([...r.body.details.subjects].sort()).toEqual(['S-N', 'S-N2']);
      expect((await op('GET', '/v1/zones/Z-N')).status).toBe(200);
      // Once no subject names it, it can go.
      expect((await op('DELETE', '/v1/subjects/S-N2')).status).toBe(204);
      expect((await op('PUT', '/v1/zones/Z-free', zoneX('Z-free'))).status).toBe(200);
      expect((await op('DELETE', '/v1/zones/Z-free')).status).toBe(204);
      expect((await op('GET', '/v1/zones/Z-free')).status).toBe(404);
    });

    it('409 SUBJECT_CONFLICT for a device worn by another subject, or a victim device that is a tag', async () => {
      const worn = await op('PUT', '/v1/subjects/S-X', exclusionSubject('S-X', 'TAG-N', 'iom-north', 'Z-N'));
      expect(worn.status).toBe(409);
      expect(worn.body.code).toBe('SUBJECT_CONFLICT');
      expect(worn.body.message).toMatch(/S-N/);
      expect((await op('GET', '/v1/subjects/S-X')).status).toBe(404);
      // Replacing the wearer itself is fine.
      expect((await op('PUT', '/v1/subjects/S-N', exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-N'))).status).toBe(200);
      const prox = { id: 'S-P', deviceId: 'TAG-P', team: 'iom-north', conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'VIC-1', distanceM: 500 }] };
      expect((await op('PUT', '/v1/subjects/S-P', prox)).status).toBe(200);
      const victimAsTag = await op('PUT', '/v1/subjects/S-V', exclusionSubject('S-V', 'VIC-1', 'iom-north', 'Z-N'));
      expect(victimAsTag.status).toBe(409);
      expect(victimAsTag.body.code).toBe('SUBJECT_CONFLICT');
      const tagAsVictim = await op('PUT', '/v1/subjects/S-P2', { ...prox, id: 'S-P2', deviceId: 'TAG-P2', conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'TAG-N', distanceM: 500 }] });
      expect(tagAsVictim.status).toBe(409);
      expect(tagAsVictim.body.code).toBe('SUBJECT_CONFLICT');
    });
  });

  describe('bulk zone import', () => {
    it('accepts 2,000 features beside the bad ones and names each bad one', async () => {
      const features: unknown[] = [];
      const bad = new Map<number, string>();
      for (let i = 0; i < 2000; i++) {
        const lon = -3 + (i % 50) * 0.01, lat = 52 + Math.floor(i / 50) * 0.01;
        const f = rect(`B-${i}`, lon, lat, lon + 0.005, lat + 0.005, { layer: 'schools-test' }) as { id?: unknown; geometry: { coordinates: number[][][] } };
        if (i % 100 === 7) {
          f.geometry.coordinates[0].pop();
          bad.set(i, 'ZONE_RING_NOT_CLOSED');
        } else if (i % 100 === 13) {
          delete f.id;
          bad.set(i, 'ZONE_BAD_ID');
        } else if (i % 100 === 29) {
          f.id = `B-${i - 1}`; // same id as the previous feature
          bad.set(i, 'ZONE_BAD_ID');
        } else if (i % 100 === 41) {
          f.geometry.coordinates = [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]];
          bad.set(i, 'ZONE_SELF_INTERSECTION');
        }
        features.push(f);
      }
      features.push('not a feature');
      bad.set(2000, 'ZONE_NOT_FEATURE');
      const r = await op('POST', '/v1/zones', { type: 'FeatureCollection', features });
      expect(r.status).toBe(200);
      expect(r.body.accepted).toBe(2001 - bad.size);
      const rejected = r.body.rejected as { index: number; id: string | null; code: string; message: string }[];
      expect(rejected.map((x) => x.index)).toEqual([...bad.keys()]);
      for (const x of rejected) {
        expect(x.code, `feature ${x.index}`).toBe(bad.get(x.index));
        expect(x.message.length).toBeGreaterThan(0);
      }
      // Good ones are queryable and usable; bad ones are not stored.
      for (const i of [0, 6, 8, 28, 1999]) {
        const z = await op('GET', `/v1/zones/B-${i}`);
        expect(z.status, `B-${i}`).toBe(200);
        expect(z.body.id).toBe(`B-${i}`);
      }
      for (const i of [7, 41, 1907]) expect((await op('GET', `/v1/zones/B-${i}`)).status).toBe(404);
      // B-28 is the first of the two features with that id: the first is kept.
      expect((await op('GET', '/v1/zones/B-28')).body.geometry.coordinates[0][0]).toEqual([-3 + 28 * 0.01, 52]);
      const subject = exclusionSubject('S-B', 'TAG-B', 'iom-north', 'B-1999');
      expect((await op('PUT', '/v1/subjects/S-B', subject)).status).toBe(200);
      const layer = { id: 'S-L', deviceId: 'TAG-L', team: 'iom-north', conditions: [{ id: 'c1', type: 'exclusion', layer: 'schools-test' }] };
      expect((await op('PUT', '/v1/subjects/S-L', layer)).status).toBe(200);
      expect((await op('DELETE', '/v1/subjects/S-L')).status).toBe(204);
    });

    it('refuses a body that is not a FeatureCollection (400 VALIDATION)', async () => {
      const r = await op('POST', '/v1/zones', { type: 'Feature' });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('VALIDATION');
    });
  });

  describe('limits and poisoning', () => {
    it('413 PAYLOAD_TOO_LARGE beyond the body limits', async () => {
      const big = { ...zoneX('Z-big'), properties: { name: 'Z-big', padding: 'x'.repeat(BODY_LIMIT + 1) } };
      const r = await op('PUT', '/v1/zones/Z-big', big);
      expect(r.status).toBe(413);
      expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
      const ack = await op('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'x', outcome: 'no_action', note: 'y'.repeat(BODY_LIMIT + 1) });
      expect(ack.status).toBe(413);
      // The bulk import has its own, larger limit.
      const under = { type: 'FeatureCollection', features: [{ ...zoneX('Z-bulk-big'), properties: { name: 'x', padding: 'x'.repeat(BODY_LIMIT * 2) } }] };
      const ok = await op('POST', '/v1/zones', under);
      expect(ok.status).toBe(200);
      expect(ok.body.accepted).toBe(1);
      const over = { type: 'FeatureCollection', features: [{ ...zoneX('Z-bulk-huge'), properties: { name: 'x', padding: 'x'.repeat(IMPORT_LIMIT + 1) } }] };
      const tooBig = await op('POST', '/v1/zones', over);
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('refuses __proto__ and constructor.prototype keys in JSON bodies (400), merging nothing', async () => {
      const subject = JSON.stringify(exclusionSubject('S-proto', 'TAG-proto', 'iom-north', 'Z-N')).slice(1);
      const bodies = [
        `{"__proto__":{"polluted":"yes","risk":"low"},${subject}`,
        `{"constructor":{"prototype":{"polluted":"yes"}},${subject}`,
      ];
      for (const raw of bodies) {
        const r = await api(t.service.app, 'PUT', '/v1/subjects/S-proto', { token: TOKENS.operator, raw });
        expect(r.status, raw.slice(0, 40)).toBe(400);
        expect(r.body.code).toBe('VALIDATION');
      }
      expect((await op('GET', '/v1/subjects/S-proto')).status).toBe(404);
      const zone = `{"__proto__":{"polluted":"yes"},"type":"Feature","id":"Z-proto","geometry":{"type":"Point","coordinates":[0,51]},"properties":{"radiusM":50}}`;
      expect((await api(t.service.app, 'PUT', '/v1/zones/Z-proto', { token: TOKENS.operator, raw: zone })).status).toBe(400);
      const nested = `{"type":"Feature","id":"Z-proto","geometry":{"type":"Point","coordinates":[0,51]},"properties":{"radiusM":50,"__proto__":{"polluted":"yes"}}}`;
      expect((await api(t.service.app, 'PUT', '/v1/zones/Z-proto', { token: TOKENS.operator, raw: nested })).status).toBe(400);
      const ack = `{"by":"x","outcome":"no_action","__proto__":{"polluted":"yes"}}`;
      expect((await api(t.service.app, 'POST', `/v1/alerts/${enc(northEp)}/ack`, { token: TOKENS.operator, raw: ack })).status).toBe(400);
      expect((await op('GET', `/v1/alerts/${enc(northEp)}`)).body.acknowledged).toBeUndefined();
      expect((await op('GET', '/v1/zones/Z-proto')).status).toBe(404);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('acknowledgements', () => {
    it('records who decided, the outcome and the note; visible to the team and the operator', async () => {
      const r = await north('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'PC 1234 (Police, IOM North)', outcome: 'warning', note: 'Spoke to the subject by phone.' });
      expect(r.status).toBe(200);
      expect(r.body.episodeId).toBe(northEp);
      expect(r.body.acknowledged).toMatchObject({ by: 'PC 1234 (Police, IOM North)', outcome: 'warning', note: 'Spoke to the subject by phone.', role: 'team:iom-north' });
      expect(Date.parse(r.body.acknowledged.at)).toBeGreaterThan(Date.now() - 60_000);
      expect(r.body.acknowledged.tokenId).toMatch(/^[0-9a-f]{8}$/);
      expect(JSON.stringify(r.body)).not.toContain(TOKENS.north);
      for (const who of [op, north]) {
        const g = await who('GET', `/v1/alerts/${enc(northEp)}`);
        expect(g.body.acknowledged).toEqual(r.body.acknowledged);
      }
      const listed = (await op('GET', '/v1/alerts')).body.alerts.find((a: { episodeId: string }) => a.episodeId === northEp);
      expect(listed.acknowledged).toEqual(r.body.acknowledged);
      // A later decision (probation) replaces the current one; the note defaults to "".
      const r2 = await op('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'Probation officer J. Doe', outcome: 'recall' });
      expect(r2.status).toBe(200);
      expect(r2.body.acknowledged).toMatchObject({ by: 'Probation officer J. Doe', outcome: 'recall', note: '', role: 'operator' });
    });

    it('validates the acknowledgement body', async () => {
      const badOutcome = await op('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'x', outcome: 'shrug' });
      expect(badOutcome.status).toBe(400);
      expect(badOutcome.body.code).toBe('VALIDATION');
      expect.soft(badOutcome.body.details.path, 'details.path').toBe('body.outcome');
      const noBy = await op('POST', `/v1/alerts/${enc(northEp)}/ack`, { outcome: 'no_action' });
      expect(noBy.status).toBe(400);
      expect.soft(noBy.body.details.path, 'details.path').toBe('body.by');
      for (const outcome of ['no_action', 'warning', 'positive_action_letter', 'breach', 'recall', 'arrest']) {
        expect((await op('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: 'x', outcome })).status, outcome).toBe(200);
      }
    });
  });

  describe('privacy and deletion', () => {
    it('never shows the victim\'s position: a proximity alert carries its band only', async () => {
      const prox = { id: 'S-PX', deviceId: 'TAG-PX', team: 'iom-north', risk: 'medium', conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'VIC-PX', distanceM: 500 }] };
      expect((await op('PUT', '/v1/subjects/S-PX', prox)).status).toBe(200);
      const victim: [number, number] = [51.4312345, -0.2212345];
      const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
      expect((await ws.send([fix('VIC-PX', 1, base + 5000, victim), fix('TAG-PX', 1, base + 6000, [51.4321, -0.2205])])).ack).toHaveLength(2);
      await ws.closeAndWait();
      const ep = `S-PX:c1:${fmt(base + 6000)}`;
      for (const who of [op, north]) {
        const r = await who('GET', `/v1/alerts/${enc(ep)}`);
        expect(r.status).toBe(200);
        expect(r.body.type).toBe('proximity');
        // The band (the condition's distanceM), never the measured metres (security wave 2).
        expect(r.body.events[0].withinM).toBe(500);
        expect(r.body.events[0].distanceM).toBeUndefined();
        expect(r.text).not.toMatch(/51\.43123|-0\.22123/);
        expect(r.text).not.toContain('VIC-PX');
      }
      expect((await north('GET', '/v1/alerts?state=all')).text).not.toMatch(/51\.43123|-0\.22123/);
      expect((await op('DELETE', '/v1/subjects/S-PX')).status).toBe(204);
    });

    it('deleting a subject closes its open episodes; its device is then unknown to ingest', async () => {
      expect((await op('GET', `/v1/alerts/${enc(southEp)}`)).body.state).toBe('open');
      expect((await op('DELETE', '/v1/subjects/S-S')).status).toBe(204);
      expect((await op('GET', '/v1/subjects/S-S')).status).toBe(404);
      const a = await op('GET', `/v1/alerts/${enc(southEp)}`);
      expect(a.body.state).toBe('closed');
      expect((await op('GET', '/v1/alerts?team=iom-south')).body.alerts).toEqual([]);
      const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
      const reply = await ws.send(fix('TAG-S', 2, base + 9000, [53.795, -1.55]));
      await ws.closeAndWait();
      expect(reply.ack).toEqual([]);
      expect(reply.errors?.[0].error).toMatch(/not known/);
      // Its zone is free to go now.
      expect((await op('DELETE', '/v1/zones/Z-S')).status).toBe(204);
    });
  });

  describe('documents', () => {
    it('/docs/json is an OpenAPI 3.1 document listing every route', async () => {
      const r = await op('GET', '/docs/json');
      expect(r.status).toBe(200);
      const doc = r.body as { openapi: string; info: { title: string }; paths: Record<string, Record<string, { responses?: unknown }>> };
      expect(doc.openapi).toMatch(/^3\.1\./);
      expect(doc.info.title).toBeTruthy();
      // Every route fastify serves (HEAD aside) is documented.
      const routes = parseRoutes(t.service.app.printRoutes({ commonPrefix: false }));
      expect(routes.length).toBeGreaterThan(10);
      const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
      const missing = routes.filter((r2) => !documented.has(r2));
      expect(missing).toEqual([]);
      // …and nothing documented is missing from the server (the two WebSockets are upgrades).
      const served = new Set(routes);
      const extra = [...documented].filter((d) => !served.has(d) && d !== 'GET /v1/ingest' && d !== 'GET /v1/alerts/stream');
      expect(extra).toEqual([]);
      expect(documented).toContain('GET /v1/ingest');
      expect(documented).toContain('GET /v1/alerts/stream');
      for (const ops of Object.values(doc.paths)) for (const o of Object.values(ops)) expect(o.responses).toBeDefined();
    });

    it('/metrics is Prometheus text with the service counters', async () => {
      const r = await op('GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      for (const name of ['iom_fixes_received_total', 'iom_fixes_accepted_total', 'iom_fixes_rejected_total', 'iom_alerts_total', 'iom_redis_commit_seconds', 'iom_ingest_lag_seconds', 'iom_fix_evaluation_seconds']) {
        expect(r.text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
      }
      const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.text)?.[1]);
      expect(value('iom_fixes_received_total')).toBeGreaterThanOrEqual(3);
      expect(value('iom_fixes_accepted_total')).toBeGreaterThanOrEqual(3);
      expect(value('iom_fixes_received_total')).toBeGreaterThan(value('iom_fixes_accepted_total'));
      expect((await as(TOKENS.admin)('GET', '/metrics')).status).toBe(200);
    });
  });
});

/** "METHOD /path/{param}" for each route in fastify's printRoutes tree (HEAD left out). */
function parseRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:[│ ]   )*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (m === null) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    const path = (depth === 0 ? '' : stack[depth - 1]) + m[2];
    stack[depth] = path;
    if (m[3] === undefined) continue;
    for (const method of m[3].split(',').map((s) => s.trim())) {
      if (method === 'HEAD') continue;
      out.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return out;
}
