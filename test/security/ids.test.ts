// Security wave 2, Medium 3: ids are unambiguous by construction. Subject, condition, zone, layer
// and team ids may not contain ":" (the separator of episode ids, Redis keys and job ids), so
// `X` + `c:d` and `X:c` + `d` can no longer make the same episode id; an episode id that is not of
// the episode-id form (e.g. `<id>:acks`, the key of another Redis type) is a 404, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, ConfigError } from '../../src/engine/config.js';
import { api, startTestService, TOKENS, type TestService } from '../support/server.js';

const zone = { type: 'Feature', id: 'Z1', properties: {}, geometry: { type: 'Polygon', coordinates: [[[0, 51], [0.01, 51], [0.01, 51.01], [0, 51.01], [0, 51]]] } };
const subject = (id: string, cond: string, team: string, dev: string) => ({ id, deviceId: dev, team, conditions: [{ id: cond, type: 'exclusion', zone: 'Z1' }] });

describe('the colliding ids of the issue are refused (replay)', () => {
  it('X + c:d and X:c + d', () => {
    expect(() => compileConfig({ zones: [zone], subjects: [subject('X', 'c:d', 'a', 'T1')] })).toThrow(ConfigError);
    expect(() => compileConfig({ zones: [zone], subjects: [subject('X:c', 'd', 'b', 'T2')] })).toThrow(ConfigError);
    expect(() => compileConfig({ zones: [{ ...zone, id: 'Z:1' }], subjects: [] })).toThrow(/":"/);
    expect(() => compileConfig({ zones: [zone], subjects: [subject('X', 'c', 'team:a', 'T1')] })).toThrow(ConfigError);
    // Ids without the separator stay as they were.
    expect(() => compileConfig({ zones: [zone], subjects: [subject('S-001', 'c1', 'iom-north', 'TAG-1')] })).not.toThrow();
  });
});

describe('the API', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
    expect((await api(t.url, 'PUT', '/v1/zones/Z1', { token: TOKENS.operator, body: zone })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses ":" in subject, condition, zone and team ids', async () => {
    const a = await api(t.url, 'PUT', '/v1/subjects/X', { token: TOKENS.operator, body: subject('X', 'c:d', 'iom-north', 'T1') });
    expect(a.status).toBe(400);
    expect(a.text).toContain('":"');
    const b = await api(t.url, 'PUT', `/v1/subjects/${encodeURIComponent('X:c')}`, { token: TOKENS.operator, body: subject('X:c', 'd', 'iom-south', 'T2') });
    expect(b.status).toBe(400);
    const z = await api(t.url, 'PUT', `/v1/zones/${encodeURIComponent('Z:2')}`, { token: TOKENS.operator, body: { ...zone, id: 'Z:2' } });
    expect(z.status).toBe(400);
    const c = await api(t.url, 'PUT', '/v1/subjects/Y', { token: TOKENS.operator, body: subject('Y', 'c', 'iom:north', 'T3') });
    expect(c.status).toBe(400);
  });

  it('GET /v1/alerts/<id>:acks is a 404, not a read of the acknowledgement list', async () => {
    const episodeId = 'S-9:c1:2026-11-23T19:02:11Z';
    const opened = { episodeId, event: 'opened', type: 'exclusion', severity: 'high', confidence: 'confirmed', subjectId: 'S-9', deviceId: 'T9', conditionId: 'c1', zoneId: 'Z1', team: 'iom-north', at: '2026-11-23T19:02:11Z', late: false };
    await t.service.redis.hset(t.service.keys.alert(episodeId), 'opened', JSON.stringify(opened), 'team', 'iom-north', 'subjectId', 'S-9', 'type', 'exclusion', 'severity', 'high');
    const ack = await api(t.url, 'POST', `/v1/alerts/${episodeId}/ack`, { token: TOKENS.north, body: { by: 'PC 1', outcome: 'no_action' } });
    expect(ack.status).toBe(200);
    for (const token of [TOKENS.north, TOKENS.operator]) {
      const r = await api(t.url, 'GET', `/v1/alerts/${episodeId}:acks`, { token });
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('NOT_FOUND');
    }
    expect((await api(t.url, 'POST', `/v1/alerts/${episodeId}:acks/ack`, { token: TOKENS.north, body: { by: 'PC 1', outcome: 'no_action' } })).status).toBe(404);
    expect((await api(t.url, 'GET', `/v1/alerts/${episodeId}`, { token: TOKENS.north })).status).toBe(200);
  });
});
