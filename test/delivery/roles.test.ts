// Roles around alerts and routing (contract §5): a team token sees and acknowledges only its own
// team's alerts, cannot change routing, and never sees a webhook secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api, baseSecond, enc, exclusionSubject, FAR_X, fix, fmt, ingestOk, INSIDE_X, Receiver, SECRET_N, SECRET_S, sleep, startTestService,
  startWorkers, TEAM_N, TEAM_S, teamBody, TOKENS, uniquePrefix, WsClient, zoneX, type InProcessWorkers, type TestService,
} from '../support/delivery.js';

const ESC_SECRET = 'north-escalation-secret-abcdef0123';

describe('team roles on alerts and team routing', () => {
  const prefix = uniquePrefix('dlv-roles');
  let svc: TestService;
  let receiver: Receiver;
  let w: InProcessWorkers;
  let ingest: WsClient;
  let northStream: WsClient;
  const t0 = baseSecond(300);
  const EN = `S-N1:c1:${fmt(t0 + 2000)}`;
  const ES = `S-S1:c1:${fmt(t0 + 2000)}`;
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token, body });
  const op = (method: string, path: string, body?: unknown) => as(TOKENS.operator)(method, path, body);
  const north = (method: string, path: string, body?: unknown) => as(TOKENS.north)(method, path, body);
  const ackBody = { by: 'PC North', note: 'n', outcome: 'no_action' };

  beforeAll(async () => {
    receiver = await Receiver.start();
    svc = await startTestService(prefix);
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N1', exclusionSubject('S-N1', 'TAG-N1', TEAM_N, 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-S1', exclusionSubject('S-S1', 'TAG-S1', TEAM_S, 'Z-X'))).status).toBe(200);
    const nb = teamBody(receiver.url('/north'), SECRET_N, {
      escalation: { webhook: { id: 'esc', url: receiver.url('/esc'), secret: ESC_SECRET }, afterS: { critical: 600, high: 600 } },
    });
    const put = await op('PUT', `/v1/teams/${TEAM_N}`, nb);
    expect(put.status).toBe(200);
    expect(put.text, 'PUT echoes no secret').not.toContain(SECRET_N);
    expect(put.text).not.toContain(ESC_SECRET);
    expect((await as(TOKENS.admin)('PUT', `/v1/teams/${TEAM_S}`, teamBody(receiver.url('/south'), SECRET_S))).status).toBe(200);
    w = startWorkers(prefix);
    northStream = await WsClient.connect(svc.url, '/v1/alerts/stream', TOKENS.north);
    ingest = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    await sleep(300);
    await ingestOk(ingest, [fix('TAG-N1', 1, t0 + 1000, FAR_X), fix('TAG-S1', 1, t0 + 1000, FAR_X)]);
    await ingestOk(ingest, [fix('TAG-N1', 2, t0 + 2000, INSIDE_X), fix('TAG-S1', 2, t0 + 2000, INSIDE_X)]);
    await receiver.waitFor('both teams delivered', () => receiver.okCounts('/north').has(`${EN}:opened`) && receiver.okCounts('/south').has(`${ES}:opened`));
  });

  afterAll(async () => {
    await ingest?.close();
    await northStream?.close();
    await w?.close();
    await svc?.close();
    await receiver?.close();
  });

  it('a team token reads its own alerts only', async () => {
    expect((await north('GET', `/v1/alerts/${enc(EN)}`)).status).toBe(200);
    expect((await north('GET', `/v1/alerts/${enc(ES)}`)).status, 'another team\'s alert answers as a missing one').toBe(404);
    expect((await north('GET', `/v1/alerts?team=${TEAM_S}`)).status).toBe(403);
    expect((await north('GET', `/v1/alerts?team=${TEAM_S}&state=all`)).status).toBe(403);
    const own = await north('GET', '/v1/alerts?state=all');
    expect(own.status).toBe(200);
    expect((own.body.alerts as { episodeId: string }[]).map((a) => a.episodeId)).toEqual([EN]);
    const ownByName = await north('GET', `/v1/alerts?team=${TEAM_N}`);
    expect((ownByName.body.alerts as { team: string }[]).every((a) => a.team === TEAM_N)).toBe(true);
    // Operators see both.
    const all = await op('GET', '/v1/alerts?state=all');
    expect((all.body.alerts as { episodeId: string }[]).map((a) => a.episodeId).sort()).toEqual([EN, ES].sort());
  });

  it('a team token cannot acknowledge another team\'s alert', async () => {
    expect((await north('POST', `/v1/alerts/${enc(ES)}/ack`, ackBody)).status).toBe(404);
    expect((await op('GET', `/v1/alerts/${enc(ES)}`)).body.acknowledged, 'the refused ack left no trace').toBeUndefined();
    const mine = await north('POST', `/v1/alerts/${enc(EN)}/ack`, ackBody);
    expect(mine.status).toBe(200);
    expect(mine.body.acknowledged).toMatchObject({ by: 'PC North', outcome: 'no_action', role: `team:${TEAM_N}` });
  });

  it('a team token cannot set routing (PUT /v1/teams), its own or another\'s; ingest cannot either', async () => {
    const evil = teamBody('http://127.0.0.1:9/steal', 'attacker-secret-0123456789');
    expect((await north('PUT', `/v1/teams/${TEAM_N}`, evil)).status).toBe(403);
    expect((await north('PUT', `/v1/teams/${TEAM_S}`, evil)).status).toBe(403);
    expect((await as(TOKENS.ingest)('PUT', `/v1/teams/${TEAM_S}`, evil)).status).toBe(403);
    expect((await api(svc.url, 'PUT', `/v1/teams/${TEAM_S}`, { token: null, body: evil })).status).toBe(401);
    const south = await op('GET', `/v1/teams/${TEAM_S}`);
    expect(south.body.webhooks[0].url).toBe(receiver.url('/south'));
  });

  it('GET /v1/teams/:own shows routing without secrets; another team\'s routing is refused', async () => {
    const own = await north('GET', `/v1/teams/${TEAM_N}`);
    expect(own.status).toBe(200);
    expect(own.text).not.toContain(SECRET_N);
    expect(own.text).not.toContain(ESC_SECRET);
    expect(own.body.webhooks[0]).toMatchObject({ id: 'default', url: receiver.url('/north'), secret: '[set]' });
    expect(own.body.escalation.webhook).toMatchObject({ id: 'esc', secret: '[set]' });
    expect((await north('GET', `/v1/teams/${TEAM_S}`)).status).toBe(404);
    // Operators do not see secrets either.
    const byOp = await op('GET', `/v1/teams/${TEAM_N}`);
    expect(byOp.text).not.toContain(SECRET_N);
    expect(byOp.text).not.toContain(ESC_SECRET);
  });

  it('a team\'s live stream carries only its own alerts', async () => {
    await northStream.waitFor((m) => (m as { idempotencyKey?: string }).idempotencyKey === `${EN}:opened`);
    await sleep(200);
    expect(northStream.received.every((m) => (m as { team?: string }).team === TEAM_N)).toBe(true);
  });

  it('operators set routing through the API, validated, and it is stored in Redis', async () => {
    const bad = [
      { webhooks: [{ url: receiver.url('/x'), secret: 'short' }] },
      { webhooks: [{ url: 'ftp://127.0.0.1/x', secret: 'long-enough-secret-0123' }] },
      { webhooks: [{ id: 'a', url: receiver.url('/x'), secret: 'long-enough-secret-0123' }, { id: 'a', url: receiver.url('/y'), secret: 'long-enough-secret-0123' }] },
      { webhooks: [], escalation: { webhook: { url: receiver.url('/e'), secret: 'long-enough-secret-0123' }, afterS: { critical: 0 } } },
    ];
    for (const body of bad) expect((await op('PUT', '/v1/teams/iom-new', body)).status, JSON.stringify(body)).toBe(400);
    expect((await op('GET', '/v1/teams/iom-new')).status).toBe(404);
    const ok = await op('PUT', '/v1/teams/iom-new', { webhooks: [{ url: receiver.url('/new'), secret: 'long-enough-secret-0123' }], escalation: { webhook: { url: receiver.url('/e'), secret: 'long-enough-secret-0123' } } });
    expect(ok.status).toBe(200);
    // Defaults filled in: channel id, timeout, escalation times.
    expect(ok.body).toMatchObject({ id: 'iom-new', webhooks: [{ id: 'default', timeoutMs: 5000, secret: '[set]' }], escalation: { afterS: { critical: 300, high: 900 }, repeatS: 900, max: 3 } });
    const stored = await svc.service.redis.hget(svc.keys.teams, 'iom-new');
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ webhooks: [{ url: receiver.url('/new'), secret: 'long-enough-secret-0123' }] });
  });

  it('a team token cannot read the dead-letter list', async () => {
    expect((await north('GET', '/v1/deliveries/dead')).status).toBe(403);
    expect((await op('GET', '/v1/deliveries/dead')).status).toBe(200);
  });
});
