// Security wave 2, low and info findings: alert-stream sockets pinged and capped per token;
// teams do not see victimDeviceId; the service keeps no raw token in its settings and worker
// processes do not inherit API_TOKENS; escalation afterS bounded; the audit covers reads,
// stream connections and refused attempts, and trail reads record the window asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { workerEnv } from '../../src/server/worker-env.js';
import { api, startTestService, TOKENS, type TestService } from '../support/server.js';

const zone = { type: 'Feature', id: 'Z1', properties: {}, geometry: { type: 'Polygon', coordinates: [[[0, 51], [0.01, 51], [0.01, 51.01], [0, 51.01], [0, 51]]] } };

const pingsOf = new WeakMap<WebSocket, number>();

function open(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/alerts/stream`, { headers: { authorization: `Bearer ${token}` }, autoPong: false });
  pingsOf.set(ws, 0);
  ws.on('ping', () => pingsOf.set(ws, (pingsOf.get(ws) ?? 0) + 1));
  return new Promise((done, fail) => {
    ws.once('open', () => done(ws));
    ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', fail);
  });
}

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ wsHeartbeatMs: 200, streamMaxPerToken: 3 });
  expect((await api(t.url, 'PUT', '/v1/zones/Z1', { token: TOKENS.operator, body: zone })).status).toBe(200);
  const s = { id: 'S-N', deviceId: 'TAG-N', team: 'iom-north', conditions: [{ id: 'p1', type: 'proximity', victimDeviceId: 'VIC-SECRET-7', distanceM: 200 }, { id: 'c1', type: 'exclusion', zone: 'Z1' }] };
  expect((await api(t.url, 'PUT', '/v1/subjects/S-N', { token: TOKENS.operator, body: s })).status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

describe('alert-stream sockets', () => {
  it('are pinged, and one that never answers is dropped', async () => {
    const ws = await open(t.url, TOKENS.north);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
    expect(pingsOf.get(ws)).toBeGreaterThanOrEqual(1);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('are capped per token', async () => {
    const socks = [await open(t.url, TOKENS.south), await open(t.url, TOKENS.south), await open(t.url, TOKENS.south)];
    await expect(open(t.url, TOKENS.south)).rejects.toThrow(/429/);
    // Another token is not affected.
    const other = await open(t.url, TOKENS.operator);
    for (const s of [...socks, other]) s.terminate();
  });
});

describe('what a team sees', () => {
  it('a subject without victimDeviceId', async () => {
    const r = await api(t.url, 'GET', '/v1/subjects/S-N', { token: TOKENS.north });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('VIC-SECRET-7');
    expect(r.text).not.toContain('victimDeviceId');
    expect(r.body.conditions[0]).toMatchObject({ id: 'p1', type: 'proximity', distanceM: 200 });
    // Operators see it (they configure it).
    expect((await api(t.url, 'GET', '/v1/subjects/S-N', { token: TOKENS.operator })).text).toContain('VIC-SECRET-7');
  });
});

describe('tokens', () => {
  it('the service keeps no raw token in its settings', () => {
    const text = JSON.stringify(t.service.settings);
    for (const tok of Object.values(TOKENS)) expect(text).not.toContain(tok);
  });

  it('worker processes do not inherit API_TOKENS', () => {
    const env = workerEnv({ API_TOKENS: `${TOKENS.operator}=operator`, PATH: '/bin', KEY_PREFIX: 'x' });
    expect(env.API_TOKENS).toBeUndefined();
    expect(JSON.stringify(env)).not.toContain(TOKENS.operator);
    expect(env.PATH).toBe('/bin');
  });
});

describe('escalation afterS', () => {
  it('is at most 7 days, with a clear error', async () => {
    const body = { webhooks: [], escalation: { webhook: { url: 'https://93.184.216.34/esc', secret: 'a-long-enough-secret-1' }, afterS: { critical: 2 ** 53 - 1, high: 900 } } };
    const r = await api(t.url, 'PUT', '/v1/teams/iom-north', { token: TOKENS.operator, body });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/afterS/);
    expect(r.text).toMatch(/604800/);
  });
});

describe('audit', () => {
  it('records reads, stream connections, refused attempts and the trail window asked for', async () => {
    await api(t.url, 'GET', '/v1/subjects/S-N', { token: TOKENS.north });
    await api(t.url, 'GET', '/v1/zones/Z1', { token: TOKENS.north });
    expect((await api(t.url, 'PUT', '/v1/teams/iom-north', { token: TOKENS.operator, body: { webhooks: [{ url: 'https://93.184.216.34/hook', secret: 'a-long-enough-secret-1' }] } })).status).toBe(200);
    expect((await api(t.url, 'GET', '/v1/teams/iom-north', { token: TOKENS.north })).status).toBe(200);
    await api(t.url, 'GET', '/v1/deliveries/dead', { token: TOKENS.operator });
    await api(t.url, 'GET', '/v1/subjects/S-N/trail?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z', { token: TOKENS.north });
    // Another team's subject answers as a missing one (404); a route the role may not use is 403.
    expect((await api(t.url, 'GET', '/v1/subjects/S-N', { token: TOKENS.south })).status).toBe(404);
    expect((await api(t.url, 'GET', '/v1/audit', { token: TOKENS.south })).status).toBe(403);
    expect((await api(t.url, 'GET', '/v1/subjects/S-nope', { token: TOKENS.south })).status).toBe(404);
    expect((await api(t.url, 'GET', '/v1/alerts/S-N:c1:2026-11-23T19:02:11Z', { token: TOKENS.north })).status).toBe(404);
    const ws = await open(t.url, TOKENS.north);
    ws.terminate();
    await new Promise((r) => setTimeout(r, 200));
    const r = await api(t.url, 'GET', '/v1/audit?limit=200', { token: TOKENS.admin });
    const entries = r.body.entries as { action: string; target: string; role?: string; from?: string; to?: string; status?: number }[];
    const has = (action: string, pred: (e: (typeof entries)[number]) => boolean = () => true) => {
      const hit = entries.some((e) => e.action === action && pred(e));
      if (!hit) console.error(action, JSON.stringify(entries.filter((e) => e.action === action)));
      return hit;
    };
    expect(has('subject.read', (e) => e.target === 'S-N' && e.role === 'team:iom-north')).toBe(true);
    expect(has('zone.read', (e) => e.target === 'Z1')).toBe(true);
    expect(has('team.read', (e) => e.target === 'iom-north')).toBe(true);
    expect(has('deadletters.read')).toBe(true);
    expect(has('trail.read', (e) => e.target === 'S-N' && e.from === '2026-11-01T00:00:00Z' && e.to === '2026-11-02T00:00:00Z')).toBe(true);
    expect(has('refused', (e) => e.status === 403 && e.role === 'team:iom-south')).toBe(true);
    expect(has('refused', (e) => e.status === 404 && e.role === 'team:iom-south')).toBe(true);
    expect(has('refused', (e) => e.status === 404 && e.role === 'team:iom-north')).toBe(true);
    expect(has('stream.connect', (e) => e.role === 'team:iom-north')).toBe(true);
  });

  it('alert reads are audited', async () => {
    const episodeId = 'S-N:c1:2026-11-23T19:02:11Z';
    const opened = { episodeId, event: 'opened', type: 'exclusion', severity: 'high', confidence: 'confirmed', subjectId: 'S-N', deviceId: 'TAG-N', conditionId: 'c1', zoneId: 'Z1', team: 'iom-north', at: '2026-11-23T19:02:11Z', late: false };
    await t.service.redis.hset(t.service.keys.alert(episodeId), 'opened', JSON.stringify(opened), 'team', 'iom-north', 'subjectId', 'S-N', 'type', 'exclusion', 'severity', 'high');
    expect((await api(t.url, 'GET', `/v1/alerts/${episodeId}`, { token: TOKENS.north })).status).toBe(200);
    const r = await api(t.url, 'GET', '/v1/audit?limit=50', { token: TOKENS.admin });
    expect((r.body.entries as { action: string; target: string }[]).some((e) => e.action === 'alert.read' && e.target === episodeId)).toBe(true);
  });
});
