// Acknowledgement and escalation: a critical or high episode not acknowledged within afterS
// (per team and severity) goes to the team's escalation route, again every repeatS, at most max
// times; an acknowledgement (who, note, outcome, when: an audit record) stops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_HEADER } from '../../src/alerts/signature.js';
import {
  api, baseSecond, BUFFER_X, enc, exclusionSubject, FAR_X, fix, fmt, ingestOk, INSIDE_X, Receiver, SECRET_N, sleep, startTestService,
  startWorkers, TEAM_N, TEAM_S, TOKENS, uniquePrefix, verifyReceipt, WsClient, zoneX, type InProcessWorkers, type Receipt, type TestService,
} from '../support/delivery.js';

const ESC_SECRET = 'escalation-route-secret-0123456789';
const AFTER_CRITICAL_S = 1;
const AFTER_HIGH_S = 2;
const REPEAT_S = 1;
const MAX = 3;

describe('escalation of unacknowledged critical/high episodes', () => {
  const prefix = uniquePrefix('dlv-esc');
  let svc: TestService;
  let receiver: Receiver;
  let w: InProcessWorkers;
  let ingest: WsClient;
  const t0 = baseSecond(300);
  const ep = (s: string, band = false): string => `${s}:c1:${band ? 'exclusion_buffer:' : ''}${fmt(t0 + 2000)}`;
  const E1 = ep('S-E1'); // critical, never acknowledged
  const E2 = ep('S-E2'); // critical, acknowledged after its first escalation
  const E3 = ep('S-E3', true); // high (exclusion_buffer, risk high): afterS.high
  const E4 = ep('S-E4'); // medium (risk low): never escalated
  const E5 = ep('S-E5'); // critical, acknowledged at once
  const E6 = ep('S-E6'); // critical, team south without an escalation route
  let opened = 0;
  const op = (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
  const escOf = (e: string): Receipt[] => receiver.on('/esc').filter((r) => r.key.startsWith(`${e}:escalation:`));
  const ack = (e: string, by: string) => api(svc.url, 'POST', `/v1/alerts/${enc(e)}/ack`, { token: TOKENS.north, body: { by, note: 'spoke to the officer in charge', outcome: 'warning' } });

  beforeAll(async () => {
    receiver = await Receiver.start();
    svc = await startTestService(prefix);
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    for (const s of ['S-E1', 'S-E2', 'S-E3', 'S-E5']) {
      expect((await op('PUT', `/v1/subjects/${s}`, exclusionSubject(s, `TAG-${s.slice(2)}`, TEAM_N, 'Z-X'))).status).toBe(200);
    }
    expect((await op('PUT', '/v1/subjects/S-E4', exclusionSubject('S-E4', 'TAG-E4', TEAM_N, 'Z-X', { risk: 'low' }))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-E6', exclusionSubject('S-E6', 'TAG-E6', TEAM_S, 'Z-X'))).status).toBe(200);
    const put = await op('PUT', `/v1/teams/${TEAM_N}`, {
      webhooks: [{ id: 'default', url: receiver.url('/hook'), secret: SECRET_N }],
      escalation: {
        webhook: { id: 'control-room', url: receiver.url('/esc'), secret: ESC_SECRET },
        afterS: { critical: AFTER_CRITICAL_S, high: AFTER_HIGH_S }, repeatS: REPEAT_S, max: MAX,
      },
    });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain(ESC_SECRET);
    expect((await op('PUT', `/v1/teams/${TEAM_S}`, { webhooks: [{ id: 'default', url: receiver.url('/south'), secret: SECRET_N }] })).status).toBe(200);
    w = startWorkers(prefix);
    ingest = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
  });

  afterAll(async () => {
    await ingest?.close();
    await w?.close();
    await svc?.close();
    await receiver?.close();
  });

  it('escalates after afterS, repeats every repeatS up to max, stops on acknowledgement', async () => {
    const first = ['E1', 'E2', 'E3', 'E4', 'E5', 'E6'].map((d) => fix(`TAG-${d}`, 1, t0 + 1000, FAR_X));
    await ingestOk(ingest, first);
    await ingestOk(ingest, [
      fix('TAG-E1', 2, t0 + 2000, INSIDE_X), fix('TAG-E2', 2, t0 + 2000, INSIDE_X), fix('TAG-E3', 2, t0 + 2000, BUFFER_X),
      fix('TAG-E4', 2, t0 + 2000, INSIDE_X), fix('TAG-E5', 2, t0 + 2000, INSIDE_X), fix('TAG-E6', 2, t0 + 2000, INSIDE_X),
    ]);
    opened = Date.now();
    const sev = async (e: string): Promise<string> => (await op('GET', `/v1/alerts/${enc(e)}`)).body.severity as string;
    expect([await sev(E1), await sev(E3), await sev(E4)]).toEqual(['critical', 'high', 'medium']);

    // E5: acknowledged straight away (its webhook delivery first, as a team would).
    await receiver.waitFor('E5 delivered', () => receiver.okCounts('/hook').get(`${E5}:opened`));
    expect((await ack(E5, 'DS Jones')).status).toBe(200);

    // E2: acknowledged once it has been escalated.
    await receiver.waitFor('E2 escalation 1', () => escOf(E2).length >= 1, 5000);
    const acked = await ack(E2, 'PC Patel');
    expect(acked.status).toBe(200);
    expect(acked.body.acknowledged).toMatchObject({ by: 'PC Patel', note: 'spoke to the officer in charge', outcome: 'warning', role: `team:${TEAM_N}` });
    expect(Number.isNaN(Date.parse(acked.body.acknowledged.at))).toBe(false);

    // E1: escalations 1..MAX, REPEAT_S apart, then no more.
    await receiver.waitFor(`E1 escalation ${MAX}`, () => escOf(E1).length >= MAX, (AFTER_CRITICAL_S + MAX * REPEAT_S + 3) * 1000);
    await sleep(REPEAT_S * 1000 + 1200);
    const e1 = escOf(E1);
    expect(e1.map((r) => r.key)).toEqual([1, 2, 3].map((n) => `${E1}:escalation:${n}`));
    expect(e1[0].at - opened, 'first escalation after afterS.critical').toBeGreaterThanOrEqual(AFTER_CRITICAL_S * 1000 - 150);
    expect(e1[0].at - opened).toBeLessThan(AFTER_CRITICAL_S * 1000 + 1500);
    for (let i = 1; i < e1.length; i++) {
      expect(e1[i].at - e1[i - 1].at, `gap before escalation ${i + 1}`).toBeGreaterThanOrEqual(REPEAT_S * 1000 - 150);
      expect(e1[i].at - e1[i - 1].at).toBeLessThan(REPEAT_S * 1000 + 1500);
    }
    for (const [i, r] of e1.entries()) {
      expect(verifyReceipt(r, ESC_SECRET), 'signed with the escalation route\'s secret').toBe(true);
      expect(verifyReceipt(r, SECRET_N)).toBe(false);
      expect(r.headers[IDEMPOTENCY_HEADER]).toBe(`${E1}:escalation:${i + 1}`);
      expect(r.json).toMatchObject({ kind: 'escalation', escalation: i + 1, idempotencyKey: `${E1}:escalation:${i + 1}` });
      expect(r.json.alert).toMatchObject({ episodeId: E1, event: 'opened', severity: 'critical', team: TEAM_N, state: 'open' });
      expect(String(r.json.reason)).toContain(String(AFTER_CRITICAL_S));
    }
    // E2: exactly one escalation; the acknowledgement stopped the rest.
    expect(escOf(E2).map((r) => r.key)).toEqual([`${E2}:escalation:1`]);
    // E3 (high): first escalation only after afterS.high.
    expect(escOf(E3).length).toBeGreaterThanOrEqual(1);
    expect(escOf(E3)[0].at - opened, 'first escalation of a high episode after afterS.high').toBeGreaterThanOrEqual(AFTER_HIGH_S * 1000 - 150);
    expect(escOf(E3)[0].json.alert.severity).toBe('high');
    // Medium, acknowledged-at-once, and a team without an escalation route: never escalated.
    expect(escOf(E4)).toEqual([]);
    expect(escOf(E5)).toEqual([]);
    expect(escOf(E6)).toEqual([]);
    expect(receiver.on('/esc').every((r) => r.answered && r.status === 200)).toBe(true);
    expect(new Set(receiver.on('/esc').map((r) => r.key)).size).toBe(receiver.on('/esc').length);

    // The alert resource shows escalations and the acknowledgement.
    const a1 = (await op('GET', `/v1/alerts/${enc(E1)}`)).body;
    expect(a1.escalations).toBe(MAX);
    expect(a1.acknowledged).toBeUndefined();
    expect(a1.delivery['delivered:control-room:escalation']).toBeDefined();
    const a2 = (await op('GET', `/v1/alerts/${enc(E2)}`)).body;
    expect(a2.escalations).toBe(1);
    expect(a2.acknowledged).toMatchObject({ by: 'PC Patel', outcome: 'warning' });
    const a4 = (await op('GET', `/v1/alerts/${enc(E4)}`)).body;
    expect(a4.escalations).toBeUndefined();
    const a5 = (await op('GET', `/v1/alerts/${enc(E5)}`)).body;
    expect(a5.escalations).toBeUndefined();
    expect(a5.acknowledged).toMatchObject({ by: 'DS Jones', outcome: 'warning' });
    const a6 = (await op('GET', `/v1/alerts/${enc(E6)}`)).body;
    expect(a6.escalations).toBeUndefined();
  });

  it('keeps the acknowledgement as an audit record (who, when, what)', async () => {
    const audit = await api(svc.url, 'GET', '/v1/audit', { token: TOKENS.admin });
    expect(audit.status).toBe(200);
    const acks = (audit.body.entries as { action: string; target: string; role?: string; at: string }[]).filter((e) => e.action === 'alert.ack');
    expect(acks.map((e) => e.target).sort()).toEqual([E2, E5].sort());
    for (const e of acks) {
      expect(e.role).toBe(`team:${TEAM_N}`);
      expect(Number.isNaN(Date.parse(e.at))).toBe(false);
    }
    // Operators (police and probation alike) see the acknowledgement on the alert.
    const seen = await op('GET', `/v1/alerts/${enc(E2)}`);
    expect(seen.body.acknowledged.by).toBe('PC Patel');
    expect(seen.body.acknowledged.note).toBe('spoke to the officer in charge');
  });

  it('refuses an acknowledgement without who/outcome, or with an unknown outcome', async () => {
    expect((await api(svc.url, 'POST', `/v1/alerts/${enc(E1)}/ack`, { token: TOKENS.north, body: { note: 'x', outcome: 'warning' } })).status).toBe(400);
    expect((await api(svc.url, 'POST', `/v1/alerts/${enc(E1)}/ack`, { token: TOKENS.north, body: { by: 'x', outcome: 'shrug' } })).status).toBe(400);
    expect((await api(svc.url, 'POST', `/v1/alerts/${enc('S-nope:c1:2026-01-01T00:00:00Z')}/ack`, { token: TOKENS.north, body: { by: 'x', outcome: 'warning' } })).status).toBe(404);
    expect((await op('GET', `/v1/alerts/${enc(E1)}`)).body.acknowledged).toBeUndefined();
  });
});
