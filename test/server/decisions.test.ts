// Decisions are never overwritten (issue 11): an alert keeps every decision (who, role, outcome,
// note, at) in order, shown on the alert and written to the audit log; claim/assign say who works
// it; dead-lettered deliveries can be re-sent (same idempotency key) with their own audit entry;
// another team's alert answers as a missing one. Real Redis; the re-send suite runs the real
// delivery workers against a real webhook receiver.
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_QUEUE } from '../../src/alerts/queues.js';
import {
  api, exclusionSubject, fix, fmt, INSIDE_X, newRedis, startTestService, TOKENS, WsClient, zoneX, type TestService,
} from '../support/server.js';
import {
  baseSecond, enc, FAR_X, ingestOk, Receiver, SECRET_S, startTestService as startDeliveryService, startWorkers, teamBody,
  uniquePrefix, waitUntil, WsClient as DeliveryWs, type InProcessWorkers, type TestService as DeliveryService,
} from '../support/delivery.js';

describe('decision history, claim and assign (real Redis)', () => {
  let t: TestService;
  const base = Math.floor((Date.now() - 600_000) / 1000) * 1000;
  const northEp = `S-N:c1:${fmt(base + 2000)}`;
  const southEp = `S-S:c1:${fmt(base + 2000)}`;
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = as(TOKENS.operator);
  const north = as(TOKENS.north);
  const south = as(TOKENS.south);
  const auditOf = async (target: string): Promise<Record<string, unknown>[]> =>
    ((await as(TOKENS.admin)('GET', '/v1/audit?limit=1000')).body.entries as Record<string, unknown>[]).filter((e) => e.target === target).reverse();

  beforeAll(async () => {
    t = await startTestService();
    expect((await op('PUT', '/v1/zones/Z-1', zoneX('Z-1'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-N', exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-1'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-S', exclusionSubject('S-S', 'TAG-S', 'iom-south', 'Z-1'))).status).toBe(200);
    const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    const reply = await ws.send([
      fix('TAG-N', 1, base + 1000, [51.49, -0.125]), fix('TAG-N', 2, base + 2000, INSIDE_X),
      fix('TAG-S', 1, base + 1000, [51.49, -0.125]), fix('TAG-S', 2, base + 2000, INSIDE_X),
    ]);
    expect(reply.ack).toHaveLength(4);
    await ws.closeAndWait();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps every decision in order: PC Jones / warning, then DS Smith / arrest, both shown and audited', async () => {
    const first = await north('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'PC Jones', outcome: 'warning', note: 'Phoned the subject.' });
    expect(first.status).toBe(200);
    const second = await op('POST', `/v1/alerts/${enc(northEp)}/ack`, { by: 'DS Smith', outcome: 'arrest', note: 'Arrested at the address.' });
    expect(second.status).toBe(200);
    const a = (await op('GET', `/v1/alerts/${enc(northEp)}`)).body;
    expect(a.decisions).toHaveLength(2);
    expect(a.decisions[0]).toMatchObject({ by: 'PC Jones', role: 'team:iom-north', outcome: 'warning', note: 'Phoned the subject.' });
    expect(a.decisions[1]).toMatchObject({ by: 'DS Smith', role: 'operator', outcome: 'arrest', note: 'Arrested at the address.' });
    for (const d of a.decisions) expect(Date.parse(d.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(a.decisions[1].at)).toBeGreaterThanOrEqual(Date.parse(a.decisions[0].at));
    // The latest is still the alert's acknowledgement (escalation stops on any).
    expect(a.acknowledged).toEqual(a.decisions[1]);
    // The team sees the same history.
    expect((await north('GET', `/v1/alerts/${enc(northEp)}`)).body.decisions).toEqual(a.decisions);
    const audit = (await auditOf(northEp)).filter((e) => e.action === 'alert.ack');
    expect(audit.map((e) => [e.by, e.outcome, e.note, e.role])).toEqual([
      ['PC Jones', 'warning', 'Phoned the subject.', 'team:iom-north'],
      ['DS Smith', 'arrest', 'Arrested at the address.', 'operator'],
    ]);
  });

  it('bounds a note to 2,000 characters and an alert to 100 decisions (409 DECISION_LIMIT beyond)', async () => {
    const long = await op('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: 'x', outcome: 'no_action', note: 'n'.repeat(2001) });
    expect(long.status).toBe(400);
    expect(long.body.details.path).toBe('body.note');
    expect((await op('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: 'x', outcome: 'no_action', note: 'n'.repeat(2000) })).status).toBe(200);
    for (let i = 1; i < 100; i++) {
      const r = await op('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: `officer ${i}`, outcome: 'no_action' });
      expect(r.status, `decision ${i + 1}`).toBe(200);
    }
    const over = await op('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: 'one too many', outcome: 'breach' });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('DECISION_LIMIT');
    const a = (await op('GET', `/v1/alerts/${enc(southEp)}`)).body;
    expect(a.decisions).toHaveLength(100);
    expect(a.acknowledged.by).toBe('officer 99');
  });

  it('answers another team\'s alert exactly as a missing one on read, ack, claim and assign', async () => {
    const missing = await north('GET', '/v1/alerts/no-such-episode');
    const other = await north('GET', `/v1/alerts/${enc(southEp)}`);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe(missing.body.code);
    expect(other.body.message).toBe(`no alert ${JSON.stringify(southEp)}`);
    expect(missing.body.message).toBe('no alert "no-such-episode"');
    expect((await north('POST', `/v1/alerts/${enc(southEp)}/ack`, { by: 'x', outcome: 'no_action' })).status).toBe(404);
    expect((await north('POST', `/v1/alerts/${enc(southEp)}/claim`, { by: 'x' })).status).toBe(404);
    expect((await op('GET', `/v1/alerts/${enc(southEp)}`)).body.claim).toBeUndefined();
    expect((await op('POST', '/v1/alerts/no-such-episode/claim', { by: 'x' })).status).toBe(404);
    expect((await op('POST', '/v1/alerts/no-such-episode/assign', { to: 'x', by: 'y' })).status).toBe(404);
    expect((await op('POST', '/v1/alerts/no-such-episode/ack', { by: 'x', outcome: 'no_action' })).status).toBe(404);
  });

  it('claims: one person works an alert; another is refused (409) unless an operator forces it; all audited', async () => {
    const path = `/v1/alerts/${enc(northEp)}/claim`;
    const mine = await north('POST', path, { by: 'PC Jones' });
    expect(mine.status).toBe(200);
    expect(mine.body.claim).toMatchObject({ by: 'PC Jones', role: 'team:iom-north' });
    // The same person again: fine, nothing changes hands.
    expect((await north('POST', path, { by: 'PC Jones' })).status).toBe(200);
    const clash = await north('POST', path, { by: 'PC Brown' });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('ALERT_CLAIMED');
    expect(clash.body.details.claim).toMatchObject({ by: 'PC Jones' });
    expect((await op('POST', path, { by: 'Operator Ann' })).status).toBe(409);
    // A team may not force; an operator may.
    const teamForce = await north('POST', path, { by: 'PC Brown', force: true });
    expect(teamForce.status).toBe(403);
    expect(teamForce.body.code).toBe('FORBIDDEN');
    const forced = await op('POST', path, { by: 'Operator Ann', force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.claim).toMatchObject({ by: 'Operator Ann', role: 'operator' });
    expect((await north('GET', `/v1/alerts/${enc(northEp)}`)).body.claim.by).toBe('Operator Ann');
    const audit = (await auditOf(northEp)).filter((e) => e.action === 'alert.claim');
    expect(audit.map((e) => [e.by, e.force ?? false])).toEqual([['PC Jones', false], ['PC Jones', false], ['Operator Ann', true]]);
  });

  it('assign: an operator gives the alert to someone (replacing any claim); a team may not', async () => {
    const path = `/v1/alerts/${enc(northEp)}/assign`;
    const r = await op('POST', path, { to: 'PC Patel', by: 'Supervisor Lee' });
    expect(r.status).toBe(200);
    expect(r.body.claim).toMatchObject({ by: 'PC Patel', assignedBy: 'Supervisor Lee', role: 'operator' });
    expect((await north('POST', path, { to: 'PC Jones', by: 'PC Jones' })).status).toBe(403);
    // PC Patel now holds it: another claim is refused, Patel's own is fine.
    expect((await north('POST', `/v1/alerts/${enc(northEp)}/claim`, { by: 'PC Jones' })).status).toBe(409);
    expect((await north('POST', `/v1/alerts/${enc(northEp)}/claim`, { by: 'PC Patel' })).status).toBe(200);
    const audit = (await auditOf(northEp)).filter((e) => e.action === 'alert.assign');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ to: 'PC Patel', by: 'Supervisor Lee', role: 'operator' });
    for (const bad of [{ to: 'x' }, { to: 'x', by: 'y', force: true }]) expect((await op('POST', path, bad)).status).toBe(400);
  });

  it('two simultaneous claims by different people: exactly one wins', async () => {
    const ep = southEp;
    const results = await Promise.all(['A', 'B', 'C', 'D'].map((who) => op('POST', `/v1/alerts/${enc(ep)}/claim`, { by: `Officer ${who}` })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(3);
  });

  it('documents the decision and claim bodies and the alert with its decisions in /docs/json', async () => {
    const doc = (await op('GET', '/docs/json')).body;
    const ack = doc.paths['/v1/alerts/{episodeId}/ack'].post;
    const body = ack.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(['by', 'note', 'outcome']);
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.note.maxLength).toBe(2000);
    const alert = doc.paths['/v1/alerts/{episodeId}'].get.responses['200'].content['application/json'].schema;
    expect(alert.properties.decisions.type).toBe('array');
    expect(Object.keys(alert.properties.decisions.items.properties).sort()).toEqual(['at', 'by', 'note', 'outcome', 'role', 'tokenId']);
    expect(doc.paths['/v1/alerts/{episodeId}/claim'].post.requestBody.content['application/json'].schema.properties.force.type).toBe('boolean');
    expect(doc.paths['/v1/alerts/{episodeId}/assign'].post).toBeDefined();
  });
});

describe('re-sending dead-lettered deliveries (real Redis, workers and receiver)', () => {
  const prefix = uniquePrefix('dlv-resend');
  let svc: DeliveryService;
  let receiver: Receiver;
  let w: InProcessWorkers;
  let ingest: DeliveryWs;
  let up = false;
  const t0 = baseSecond(300);
  const eps = ['S-D1', 'S-D2', 'S-D3'].map((s) => `${s}:c1:${fmt(t0 + 2000)}`);
  const op = (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
  const deadKeys = async (): Promise<{ jobId: string; key: string; team: string }[]> => (await op('GET', '/v1/deliveries/dead')).body.deadLetters;

  beforeAll(async () => {
    receiver = await Receiver.start(0, () => ({ status: up ? 200 : 500 }));
    svc = await startDeliveryService(prefix);
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/teams/iom-dead', teamBody(receiver.url('/dead'), SECRET_S))).status).toBe(200);
    expect((await op('PUT', '/v1/teams/iom-other', teamBody(receiver.url('/other'), SECRET_S))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-D1', exclusionSubject('S-D1', 'TAG-D1', 'iom-dead', 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-D2', exclusionSubject('S-D2', 'TAG-D2', 'iom-dead', 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-D3', exclusionSubject('S-D3', 'TAG-D3', 'iom-other', 'Z-X'))).status).toBe(200);
    w = startWorkers(prefix, { attempts: 2, backoffMs: 20 });
    ingest = await DeliveryWs.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    await ingestOk(ingest, ['TAG-D1', 'TAG-D2', 'TAG-D3'].map((d) => fix(d, 1, t0 + 1000, FAR_X)));
    await ingestOk(ingest, ['TAG-D1', 'TAG-D2', 'TAG-D3'].map((d) => fix(d, 2, t0 + 2000, INSIDE_X)));
    await waitUntil('three openings dead-lettered', async () => (await deadKeys()).length === 3, 20_000, 100);
  });
  afterAll(async () => {
    await ingest?.close();
    await w?.close();
    await svc?.close();
    await receiver?.close();
  });

  it('re-sends one dead letter: the same job and idempotency key go out again, the receiver gets it, it leaves the list; audited', async () => {
    up = true;
    const key = `${eps[0]}:opened`;
    const dead = (await deadKeys()).find((d) => d.key === key);
    expect(dead).toBeDefined();
    const before = receiver.receipts.filter((r) => r.key === key).length;
    expect(before).toBe(2);
    expect((await api(svc.url, 'POST', `/v1/deliveries/dead/${enc(dead!.jobId)}/resend`, { token: TOKENS.north })).status).toBe(403);
    const r = await op('POST', `/v1/deliveries/dead/${enc(dead!.jobId)}/resend`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ jobId: dead!.jobId, key, outcome: 'requeued' });
    await receiver.waitFor('the re-sent delivery', () => receiver.receipts.find((x) => x.key === key && x.status === 200), 10_000);
    const sent = receiver.receipts.filter((x) => x.key === key);
    expect(sent.length).toBe(before + 1);
    expect(sent.at(-1)?.json.idempotencyKey).toBe(key);
    expect(sent.at(-1)?.json.episodeId).toBe(eps[0]);
    const alert = await waitUntil('delivered on the alert', async () => {
      const a = (await op('GET', `/v1/alerts/${enc(eps[0])}`)).body;
      return a.delivery['delivered:default'] !== undefined ? a : null;
    }, 10_000, 50);
    expect(alert.delivery['dead:default']).toBeUndefined();
    expect(alert.delivery['resent:default']).toBeDefined();
    expect((await deadKeys()).map((d) => d.key)).not.toContain(key);
    const audit = (await api(svc.url, 'GET', '/v1/audit', { token: TOKENS.admin })).body.entries as Record<string, unknown>[];
    expect(audit.find((e) => e.action === 'delivery.resend' && e.target === dead!.jobId)).toMatchObject({ key, team: 'iom-dead', channel: 'default', outcome: 'requeued', role: 'operator' });
    // Gone from the list: a second re-send of it is 404.
    expect((await op('POST', `/v1/deliveries/dead/${enc(dead!.jobId)}/resend`)).status).toBe(404);
  });

  it('re-sends all of a team\'s dead letters, and only that team\'s', async () => {
    const r = await op('POST', '/v1/deliveries/dead/resend?team=iom-dead');
    expect(r.status, r.text).toBe(200);
    expect(r.body.team).toBe('iom-dead');
    expect(r.body.resent.map((x: { key: string }) => x.key)).toEqual([`${eps[1]}:opened`]);
    expect(r.body.remaining).toBe(0);
    await receiver.waitFor('team re-send delivered', () => receiver.receipts.find((x) => x.key === `${eps[1]}:opened` && x.status === 200), 10_000);
    expect((await deadKeys()).map((d) => d.key)).toEqual([`${eps[2]}:opened`]);
    const audit = (await api(svc.url, 'GET', '/v1/audit', { token: TOKENS.admin })).body.entries as Record<string, unknown>[];
    expect(audit.find((e) => e.action === 'delivery.resend.team')).toMatchObject({ target: 'iom-dead', count: 1 });
    // The query is strict and the team required.
    expect((await op('POST', '/v1/deliveries/dead/resend')).status).toBe(400);
    expect((await op('POST', '/v1/deliveries/dead/resend?team=iom-dead&teams=x')).status).toBe(400);
    expect((await op('POST', '/v1/deliveries/dead/no-such-job/resend')).status).toBe(404);
  });

  it('rebuilds an alert delivery whose failed job has expired from BullMQ, under the same job id and key', async () => {
    const key = `${eps[2]}:opened`;
    const [dead] = (await deadKeys()).filter((d) => d.key === key);
    expect(dead).toBeDefined();
    const conn = newRedis();
    const q = new Queue(DELIVERY_QUEUE, { connection: conn, prefix: svc.keys.bull });
    try {
      await (await Job.fromId(q, dead.jobId))?.remove();
      expect(await Job.fromId(q, dead.jobId)).toBeUndefined();
      const r = await op('POST', `/v1/deliveries/dead/${enc(dead.jobId)}/resend`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.outcome).toBe('requeued');
      const got = await receiver.waitFor('the rebuilt delivery', () => receiver.receipts.find((x) => x.key === key && x.status === 200), 10_000);
      expect(got.json).toMatchObject({ episodeId: eps[2], event: 'opened', idempotencyKey: key });
      expect((await Job.fromId(q, dead.jobId))?.id).toBe(dead.jobId);
    } finally {
      await q.close();
      conn.disconnect();
    }
  });
});
