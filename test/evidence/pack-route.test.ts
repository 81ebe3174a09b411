// GET /v1/alerts/:episodeId/evidence-pack on the live service, with a REAL Redis and a REAL
// PostgreSQL/PostGIS archive: an episode raised by the live service (fixes through the ingest
// socket), copied to the archive as the archive copier does, comes back as a PDF and an HTML
// pack whose replay reproduces what the live service raised. Roles, purpose and audit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { api, exclusionSubject, FAR_X, fix, fmt, INSIDE_X, startTestService, TOKENS, WsClient, zoneX, type TestService } from '../support/server.js';
import { freshArchive, type TestArchive } from '../support/pg.js';
import { insertConfig, insertEvents, insertFixes } from './archive-fixture.js';
import { pdfText, squash } from './pdf-tools.js';

const enc = encodeURIComponent;
let a: TestArchive;
let t: TestService;
let off: TestService;
const base = Math.floor((Date.now() - 600_000) / 1000) * 1000;
const archivedEp = `S-N:c1:${fmt(base + 2000)}`;
const liveOnlyEp = `S-Q:c1:${fmt(base + 2000)}`;
const PURPOSE = 'Recall request to the Probation Service, case 77-A';
const packUrl = (ep: string, q: string): string => `/v1/alerts/${enc(ep)}/evidence-pack?${q}`;

beforeAll(async () => {
  a = await freshArchive();
  t = await startTestService({ databaseUrl: a.url, archiveSchema: a.schema });
  off = await startTestService({ databaseUrl: undefined });
  const op = (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token: TOKENS.operator, body });
  const zone = zoneX('Z-1');
  const subjects = [exclusionSubject('S-N', 'TAG-N', 'iom-north', 'Z-1'), exclusionSubject('S-Q', 'TAG-Q', 'iom-north', 'Z-1')];
  expect((await op('PUT', '/v1/zones/Z-1', zone)).status).toBe(200);
  for (const s of subjects) expect((await op('PUT', `/v1/subjects/${s.id as string}`, s)).status).toBe(200);
  const fixes = (device: string) => [
    fix(device, 1, base + 1000, FAR_X), fix(device, 2, base + 2000, INSIDE_X), fix(device, 3, base + 3000, INSIDE_X),
    fix(device, 4, base + 4000, FAR_X), fix(device, 5, base + 5000, FAR_X),
  ];
  const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
  expect((await ws.send([...fixes('TAG-N'), ...fixes('TAG-Q')])).ack).toHaveLength(10);
  await ws.closeAndWait();
  const live = (await op('GET', `/v1/alerts/${enc(archivedEp)}`)).body as { events: AlertEvent[]; state: string };
  expect(live.state).toBe('closed');
  // What the archive copier writes: the configuration (recorded before the fixes), the fixes and
  // the live service's events. S-Q's episode stays in Redis only (not archived yet).
  await insertConfig(a.db, 'zone', 'Z-1', base - 3_600_000, zone);
  await insertConfig(a.db, 'subject', 'S-N', base - 3_600_000, subjects[0]);
  await insertFixes(a.db, fixes('TAG-N'), () => 'S-N', 50);
  await insertEvents(a.db, live.events);
});
afterAll(async () => {
  await t?.close();
  await off?.close();
  await a?.drop();
});

async function getRaw(token: string, path: string): Promise<{ status: number; type: string; csp: string; disposition: string; body: Buffer }> {
  const r = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, type: r.headers.get('content-type') ?? '', csp: r.headers.get('content-security-policy') ?? '', disposition: r.headers.get('content-disposition') ?? '', body: Buffer.from(await r.arrayBuffer()) };
}

async function auditEntries(target: string): Promise<Record<string, unknown>[]> {
  const r = await api(t.service.app, 'GET', '/v1/audit?limit=1000', { token: TOKENS.admin });
  return (r.body.entries as Record<string, unknown>[]).filter((e) => e.target === target);
}

describe('GET /v1/alerts/:episodeId/evidence-pack', () => {
  it('gives the operator a PDF made by the service; the live episode is reproduced by the replay; audited with the purpose', async () => {
    const r = await getRaw(TOKENS.operator, packUrl(archivedEp, `format=pdf&purpose=${enc(PURPOSE)}`));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/pdf');
    expect(r.disposition).toMatch(/^attachment; filename="evidence-pack-S-N_c1_[0-9T_-]+Z\.pdf"$/);
    expect(r.body.subarray(0, 5).toString()).toBe('%PDF-');
    const text = squash(pdfText(r.body));
    expect(text).toContain(`Alert episode ${archivedEp}`);
    expect(text).toContain('Reproduced: yes (2 events identical)');
    expect(text).toContain(`Purpose stated ${PURPOSE}`);
    expect(text).toMatch(/Requested by operator \(token [0-9a-f]{8}\)/);
    expect(text).toContain('WITNESS STATEMENT');
    const entries = await auditEntries(archivedEp);
    const e = entries.find((x) => x.action === 'alert.evidence-pack' && x.format === 'pdf');
    expect(e).toMatchObject({ role: 'operator', purpose: PURPOSE, reproduced: true, positions: 5 });
    expect(Date.parse(String(e?.at))).toBeGreaterThan(Date.now() - 60_000);
    expect(String(e?.digest)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the owning team the HTML, self-contained under a CSP that allows only its own stylesheet', async () => {
    const r = await getRaw(TOKENS.north, packUrl(archivedEp, `format=html&purpose=${enc('Team review')}`));
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/html; charset=utf-8');
    expect(r.csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'none'/);
    const html = r.body.toString('utf8');
    expect(html).toContain(archivedEp);
    expect(html).toContain('Reproduced: yes (2 events identical)');
    expect(html).not.toMatch(/<script|<link|<img|src="http/);
    expect((await auditEntries(archivedEp)).some((x) => x.action === 'alert.evidence-pack' && x.role === 'team:iom-north' && x.purpose === 'Team review')).toBe(true);
  });

  it('answers another team exactly as a missing alert, and refuses the ingest role', async () => {
    const other = await api(t.service.app, 'GET', packUrl(archivedEp, 'purpose=curious'), { token: TOKENS.south });
    const missing = await api(t.service.app, 'GET', packUrl('S-N:c1:2020-01-01T00:00:00Z', 'purpose=curious'), { token: TOKENS.south });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('NOT_FOUND');
    expect(missing.body.code).toBe('NOT_FOUND');
    expect(other.body.message.replace(archivedEp, 'X')).toBe(missing.body.message.replace('S-N:c1:2020-01-01T00:00:00Z', 'X'));
    expect((await api(t.service.app, 'GET', packUrl(archivedEp, 'purpose=test%20run'), { token: TOKENS.ingest })).body.code).toBe('FORBIDDEN');
    // The refused attempt is itself audited.
    expect((await api(t.service.app, 'GET', '/v1/audit?limit=1000', { token: TOKENS.admin })).body.entries
      .some((e: Record<string, unknown>) => e.action === 'refused' && String(e.target).includes('evidence-pack') && e.role === 'team:iom-south')).toBe(true);
  });

  it('requires a stated purpose and a known format', async () => {
    const none = await api(t.service.app, 'GET', packUrl(archivedEp, 'format=pdf'), { token: TOKENS.operator });
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ code: 'VALIDATION', details: { path: 'query.purpose' } });
    const blank = await api(t.service.app, 'GET', packUrl(archivedEp, 'purpose=%20%20'), { token: TOKENS.operator });
    expect(blank.body.details.path).toBe('query.purpose');
    const docx = await api(t.service.app, 'GET', packUrl(archivedEp, 'format=docx&purpose=court'), { token: TOKENS.operator });
    expect(docx.body).toMatchObject({ code: 'VALIDATION', details: { path: 'query.format' } });
  });

  it('says EPISODE_NOT_ARCHIVED for a live episode the archive does not hold yet (NOT_FOUND to another team)', async () => {
    const r = await api(t.service.app, 'GET', packUrl(liveOnlyEp, 'purpose=court'), { token: TOKENS.operator });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('EPISODE_NOT_ARCHIVED');
    expect((await api(t.service.app, 'GET', packUrl(liveOnlyEp, 'purpose=court'), { token: TOKENS.south })).body.code).toBe('NOT_FOUND');
    expect((await api(t.service.app, 'GET', packUrl('nonsense', 'purpose=court'), { token: TOKENS.operator })).body.code).toBe('NOT_FOUND');
  });

  it('says ARCHIVE_OFF when the service runs without DATABASE_URL', async () => {
    const r = await api(off.service.app, 'GET', packUrl(archivedEp, 'purpose=court'), { token: TOKENS.operator });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('ARCHIVE_OFF');
    expect(r.body.message).toContain('DATABASE_URL');
  });
});
