// Partial subject updates and bulk import (issue 11): PATCH /v1/subjects/:id changes status
// (suspend in custody, reactivate) or validity without resending the subject, applied live to
// the engine; POST /v1/subjects imports many, keeping the good beside the bad. And /docs/json
// describes the subject body field by field. Real Redis; requests through inject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api, exclusionSubject, fix, fmt, INSIDE_X, startTestService, TOKENS, WsClient, zoneX, type TestService,
} from '../support/server.js';

describe('PATCH /v1/subjects/:id and bulk import (real Redis)', () => {
  let t: TestService;
  let ws: WsClient;
  let seq = 0;
  const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = as(TOKENS.operator);
  const openOf = async (subjectId: string): Promise<string[]> =>
    ((await op('GET', '/v1/alerts?state=open')).body.alerts as { episodeId: string; subjectId: string }[]).filter((a) => a.subjectId === subjectId).map((a) => a.episodeId);
  /** One fix of TAG-P inside the zone, a second after the last. */
  const inside = async (deviceId = 'TAG-P'): Promise<void> => {
    seq++;
    const r = await ws.send(fix(deviceId, seq, base + seq * 1000, INSIDE_X));
    expect(r.ack, JSON.stringify(r)).toHaveLength(1);
  };
  const outside = async (deviceId = 'TAG-P'): Promise<void> => {
    seq++;
    const r = await ws.send(fix(deviceId, seq, base + seq * 1000, [51.4, -0.125]));
    expect(r.ack, JSON.stringify(r)).toHaveLength(1);
  };

  beforeAll(async () => {
    t = await startTestService();
    expect((await op('PUT', '/v1/zones/Z-1', zoneX('Z-1'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-P', exclusionSubject('S-P', 'TAG-P', 'iom-north', 'Z-1'))).status).toBe(200);
    ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
  });
  afterAll(async () => {
    await ws?.closeAndWait();
    await t?.close();
  });

  it('suspends a subject in custody (no alerts) and reactivates it, live, without resending it', async () => {
    await outside();
    const s = await op('PATCH', '/v1/subjects/S-P', { status: 'suspended' });
    expect(s.status, s.text).toBe(200);
    expect(s.body).toMatchObject({ id: 'S-P', status: 'suspended', deviceId: 'TAG-P', conditions: [{ id: 'c1', bufferM: 100 }] });
    expect((await op('GET', '/v1/subjects/S-P')).body.status).toBe('suspended');
    expect(t.service.engine().getSubject('S-P')?.active).toBe(false);
    await inside();
    expect(await openOf('S-P')).toEqual([]);
    const back = await op('PATCH', '/v1/subjects/S-P', { status: 'active' });
    expect(back.status).toBe(200);
    expect(t.service.engine().getSubject('S-P')?.active).toBe(true);
    await inside();
    expect(await openOf('S-P')).toEqual([`S-P:c1:${fmt(base + seq * 1000)}`]);
    const audit = ((await as(TOKENS.admin)('GET', '/v1/audit')).body.entries as Record<string, unknown>[]).filter((e) => e.action === 'subject.patch');
    expect(audit.map((e) => e.changed)).toEqual([{ status: 'active' }, { status: 'suspended' }]);
  });

  it('changes validity (validFrom/validTo; null removes a bound), checked like a PUT', async () => {
    const r = await op('PATCH', '/v1/subjects/S-P', { validTo: '2099-01-01T00:00:00Z' });
    expect(r.status).toBe(200);
    expect(r.body.validTo).toBe('2099-01-01T00:00:00Z');
    expect(t.service.engine().getSubject('S-P')?.validToMs).toBe(Date.parse('2099-01-01T00:00:00Z'));
    const bad = await op('PATCH', '/v1/subjects/S-P', { validFrom: '2100-01-01T00:00:00Z' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION');
    expect(bad.body.details.path).toBe('body.validTo');
    const badTime = await op('PATCH', '/v1/subjects/S-P', { validFrom: 'next tuesday' });
    expect(badTime.status).toBe(400);
    expect(badTime.body.details.path).toBe('body.validFrom');
    expect((await op('GET', '/v1/subjects/S-P')).body.validFrom).toBeUndefined();
    const cleared = await op('PATCH', '/v1/subjects/S-P', { validTo: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.validTo).toBeUndefined();
    expect(t.service.engine().getSubject('S-P')?.validToMs).toBe(Infinity);
  });

  it('takes only status and validity: anything else, an empty body, a missing subject or a team token is refused', async () => {
    const risk = await op('PATCH', '/v1/subjects/S-P', { risk: 'low' });
    expect(risk.status).toBe(400);
    expect(risk.body.message).toMatch(/^body\.risk: unknown field/);
    expect((await op('PATCH', '/v1/subjects/S-P', {})).status).toBe(400);
    expect((await op('PATCH', '/v1/subjects/S-P', { status: 'paused' })).body.details.path).toBe('body.status');
    expect((await op('PATCH', '/v1/subjects/S-none', { status: 'suspended' })).status).toBe(404);
    const team = await as(TOKENS.north)('PATCH', '/v1/subjects/S-P', { status: 'suspended' });
    expect(team.status).toBe(403);
    expect((await op('GET', '/v1/subjects/S-P')).body.status).toBe('active');
  });

  it('imports subjects in bulk: good ones kept and live beside the bad ones, each bad one named', async () => {
    const good = (i: number): Record<string, unknown> => exclusionSubject(`B-${i}`, `TAG-B${i}`, 'iom-north', 'Z-1');
    const subjects: unknown[] = [
      good(0),
      { ...good(1), conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-nowhere' }] },
      { ...good(2), conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-1', bufferm: 5 }] },
      good(3),
      { ...good(3), deviceId: 'TAG-B3b' }, // same id again
      { ...good(5), deviceId: 'TAG-P' }, // worn by S-P
      { ...good(6), deviceId: 'TAG-B0' }, // worn by B-0, earlier in this import
      { id: 'B-7', deviceId: 'TAG-B7', team: 'iom-north', conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'TAG-B3', distanceM: 200 }] },
      'not a subject',
      good(9),
    ];
    const r = await op('POST', '/v1/subjects', { subjects });
    expect(r.status, r.text).toBe(200);
    expect(r.body.accepted).toBe(3);
    const rejected = r.body.rejected as { index: number; id: string | null; code: string; message: string; path?: string }[];
    expect(rejected.map((x) => [x.index, x.id, x.code])).toEqual([
      [1, 'B-1', 'CONFIG_UNKNOWN_ZONE'],
      [2, 'B-2', 'CONFIG_INVALID'],
      [4, 'B-3', 'CONFIG_DUPLICATE_ID'],
      [5, 'B-5', 'CONFIG_DUPLICATE_DEVICE'],
      [6, 'B-6', 'CONFIG_DUPLICATE_DEVICE'],
      [7, 'B-7', 'CONFIG_VICTIM_IS_SUBJECT'],
      [8, null, 'CONFIG_INVALID'],
    ]);
    expect(rejected[0].path).toBe('subjects[1].conditions[0].zone');
    expect(rejected[1].message).toBe('subjects[2].conditions[0].bufferm: unknown field; did you mean bufferM?');
    for (const i of [0, 3, 9]) {
      const g = await op('GET', `/v1/subjects/B-${i}`);
      expect(g.status, `B-${i}`).toBe(200);
      expect(g.body).toEqual(good(i));
      expect(t.service.engine().getSubject(`B-${i}`)?.deviceId).toBe(`TAG-B${i}`);
    }
    for (const i of [1, 2, 5, 6, 7]) expect((await op('GET', `/v1/subjects/B-${i}`)).status, `B-${i}`).toBe(404);
    // Live: a fix of an imported tag inside the zone opens an episode.
    await inside('TAG-B9');
    expect(await openOf('B-9')).toHaveLength(1);
    const audit = ((await as(TOKENS.admin)('GET', '/v1/audit')).body.entries as Record<string, unknown>[]).find((e) => e.action === 'subject.import');
    expect(audit).toMatchObject({ accepted: 3, rejected: 7 });
    expect((await as(TOKENS.north)('POST', '/v1/subjects', { subjects: [good(20)] })).status).toBe(403);
    expect((await op('POST', '/v1/subjects', { subjects: 'all' })).status).toBe(400);
  });

  it('describes the subject body field by field in /docs/json (strict, every condition type)', async () => {
    const doc = (await op('GET', '/docs/json')).body;
    const put = doc.paths['/v1/subjects/{id}'].put.requestBody.content['application/json'].schema;
    expect(put.type).toBe('object');
    expect(put.additionalProperties).toBe(false);
    for (const f of ['deviceId', 'team', 'risk', 'status', 'validFrom', 'validTo', 'conditions', 'timezone']) expect(Object.keys(put.properties), f).toContain(f);
    const kinds = JSON.stringify(put.properties.conditions);
    for (const f of ['exclusion', 'curfew', 'proximity', 'bufferM', 'graceS', 'victimDeviceId', 'distanceM', 'schedule', 'windows']) expect(kinds, f).toContain(f);
    const patch = doc.paths['/v1/subjects/{id}'].patch.requestBody.content['application/json'].schema;
    expect(Object.keys(patch.properties).sort()).toEqual(['status', 'validFrom', 'validTo']);
    expect(patch.additionalProperties).toBe(false);
    const bulk = doc.paths['/v1/subjects'].post.requestBody.content['application/json'].schema;
    expect(bulk.properties.subjects.items.properties.conditions).toBeDefined();
    expect(doc.paths['/v1/subjects/{id}'].get.responses['200'].content['application/json'].schema.properties.deviceId).toBeDefined();
    const team = doc.paths['/v1/teams/{id}'].put.requestBody.content['application/json'].schema;
    expect(JSON.stringify(team)).toContain('escalation');
    const zone = doc.paths['/v1/zones/{id}'].put.requestBody.content['application/json'].schema;
    expect(zone.properties.geometry).toBeDefined();
    expect(zone.additionalProperties).not.toBe(false);
  });
});
