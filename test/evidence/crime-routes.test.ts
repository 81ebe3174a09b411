// POST /v1/crime-matches and the review workflow through the real service: a REAL Redis behind
// it (tokens, audit, device register) and a REAL PostgreSQL/PostGIS archive (fixes, runs).
// Purpose required and audited, teams refused, review states, export of qualified matches only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wgs84ToBng } from '../../src/evidence/crime/bng.js';
import { insertFixes, offset } from '../support/crime.js';
import { freshArchive, type TestArchive } from '../support/pg.js';
import { pdfText, squash } from './pdf-tools.js';
import { api, startTestService, TOKENS, type TestService } from '../support/server.js';

const T0 = Date.parse('2026-07-15T20:00:00Z'); // 21:00 BST
const MIN = 60_000;
const SCENE = { lat: 51.5, lon: -0.12 };
const OTHER = { lat: 51.52, lon: -0.1 };

describe('crime matches over HTTP (real Redis, real PostGIS)', () => {
  let a: TestArchive;
  let t: TestService;
  const as = (token: string) => (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    api(t.service.app, method, path, { token, ...(typeof body === 'string' ? { raw: body } : body === undefined ? {} : { body }), ...(headers === undefined ? {} : { headers }) });
  const op = as(TOKENS.operator);
  const admin = as(TOKENS.admin);
  const csvHeaders = { 'content-type': 'text/csv' };
  const grid = wgs84ToBng(SCENE.lat, SCENE.lon);
  const csv = [
    'Crime Reference,Crime Type,From,To,Latitude,Longitude,Easting,Northing,Radius',
    `CR/100,Burglary dwelling,15/07/2026 21:00,15/07/2026 22:00,,,${grid.easting.toFixed(1)},${grid.northing.toFixed(1)},100`,
    `CR/101,Theft from vehicle,2026-07-15 21:00,2026-07-15 22:00,${OTHER.lat},${OTHER.lon},,,100`,
    'CR/102,Burglary,15/07/2026 09:00,15/07/2026 23:00,51.5,-0.12,,,100',
  ].join('\n');
  const audit = async (action: string) => ((await admin('GET', '/v1/audit')).body as { entries: Record<string, unknown>[] }).entries.filter((e) => e.action === action);

  beforeAll(async () => {
    a = await freshArchive();
    t = await startTestService({}, { archiveDb: a.db });
    const fix = (deviceId: string, subjectId: string | null, seq: number, min: number, p: { lat: number; lon: number }, accuracyM = 10) =>
      ({ deviceId, subjectId, seq, ms: T0 + min * MIN, ...p, accuracyM });
    await insertFixes(a.db, [
      fix('TAG-1', 'S-1', 1, 30, offset(20, 0, SCENE)), fix('TAG-1', 'S-1', 2, 31, offset(40, 0, SCENE)),
      fix('TAG-2', 'S-2', 1, 40, offset(0, 90, SCENE)),
      fix('TAG-3', 'S-3', 1, 15, offset(10, 10, OTHER)),
      fix('VIC-9', 'S-9', 1, 30, offset(5, 5, SCENE)), // a victim unit: never matched
    ]);
    expect((await op('PUT', '/v1/devices/VIC-9', { kind: 'victim_unit', status: 'fitted' })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await a?.drop();
  });

  let runId = '';
  const candidates = (run: { crimes: { ref: string; candidates: { candidateId: string; subjectId: string; state: string }[] }[] }) => run.crimes.flatMap((c) => c.candidates.map((k) => ({ ref: c.ref, ...k })));

  it('matches a CSV batch (grid and lat/lon rows), keeps the good rows beside the bad one, and audits who, why and how many', async () => {
    const r = await op('POST', '/v1/crime-matches?purpose=Op%20Nightjar%3A%20burglary%20series', csv, csvHeaders);
    expect(r.status, r.text).toBe(201);
    const run = r.body as Record<string, any>;
    runId = run.runId;
    expect(run).toMatchObject({ purpose: 'Op Nightjar: burglary series', algorithmVersion: 'crime-match/1', counts: { crimes: 2, candidates: 3, pending: 3 } });
    expect(run.rejectedRows).toEqual([{ row: 3, field: 'To', message: expect.stringMatching(/at most 12 h/) }]);
    expect(run.crimes[0]).toMatchObject({ ref: 'CR/100', from: '2026-07-15T20:00:00.000Z', to: '2026-07-15T21:00:00.000Z', radiusM: 100 });
    expect(Math.abs(run.crimes[0].lat - SCENE.lat) * 111_000).toBeLessThan(0.1);
    expect(candidates(run as any).map((k) => [k.ref, k.subjectId, k.state])).toEqual([
      ['CR/100', 'S-1', 'pending'], ['CR/100', 'S-2', 'pending'], ['CR/101', 'S-3', 'pending'],
    ]);
    expect(r.text).not.toMatch(/VIC-9|S-9/);
    const s1 = run.crimes[0].candidates[0];
    expect(s1).toMatchObject({ basis: 'fix', closest: { kind: 'fix' }, fixes: [{ deviceId: 'TAG-1', onlyByAccuracy: false }, { deviceId: 'TAG-1' }] });
    expect(s1.fixes[0].speedMps).toBeCloseTo(20 / 60, 1);
    const entries = await audit('crime-match.run');
    expect(entries[0]).toMatchObject({ target: runId, role: 'operator', purpose: 'Op Nightjar: burglary series', crimes: 2, rejectedRows: 1, candidates: 3 });
    expect(JSON.stringify(entries)).not.toMatch(/51\.5|lat/);
  });

  it('takes the JSON form with the purpose in the body', async () => {
    const r = await admin('POST', '/v1/crime-matches', { purpose: 'Op Nightjar follow-up', crimes: [{ ref: 'J1', type: 'Robbery', from: '2026-07-15T20:00:00Z', to: '2026-07-15T21:00:00Z', lat: SCENE.lat, lon: SCENE.lon, radiusM: 30 }] });
    expect(r.status, r.text).toBe(201);
    expect(candidates(r.body as any).map((k) => k.subjectId)).toEqual(['S-1']);
  });

  it('refuses a request with no purpose, naming where it goes, and a batch with no good row', async () => {
    const r = await op('POST', '/v1/crime-matches', csv, csvHeaders);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'PURPOSE_REQUIRED', details: { path: 'query.purpose' } });
    const j = await op('POST', '/v1/crime-matches', { crimes: [] });
    expect(j.body).toMatchObject({ code: 'PURPOSE_REQUIRED', details: { path: 'purpose' } });
    expect((await op('GET', `/v1/crime-matches/${runId}`)).body).toMatchObject({ code: 'PURPOSE_REQUIRED' });
    expect((await op('GET', '/v1/crime-matches')).body).toMatchObject({ code: 'PURPOSE_REQUIRED' });
    const bad = await op('POST', '/v1/crime-matches?purpose=test%20run', 'ref,type,from,to,lat,lon,radius\nX,Burglary,15/07/2026 09:00,15/07/2026 23:00,51.5,-0.12,100\n', csvHeaders);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'CRIME_BATCH_INVALID', details: { rejected: [{ row: 1, field: 'to' }] } });
    const col = await op('POST', '/v1/crime-matches?purpose=test%20run', 'ref,type,from,to,lat,lon,radius,colour\n', csvHeaders);
    expect(col.body).toMatchObject({ code: 'CRIME_BATCH_INVALID', details: { path: 'header.colour' } });
    expect((await op('POST', '/v1/crime-matches?purpose=test%20run', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('bounds the body: a batch over 4 MiB is refused before it is parsed', async () => {
    const big = `ref,type,from,to,lat,lon,radius\n${'X,Burglary,2026-07-15 21:00,2026-07-15 22:00,51.5,-0.12,100\n'.repeat(70_000)}`;
    const r = await op('POST', '/v1/crime-matches?purpose=size%20check', big, csvHeaders);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses team and ingest tokens on every crime-match route (403, audited)', async () => {
    for (const token of [TOKENS.north, TOKENS.ingest]) {
      const who = as(token);
      expect((await who('POST', '/v1/crime-matches?purpose=x%20y%20z', csv, csvHeaders)).body).toMatchObject({ code: 'FORBIDDEN' });
      expect((await who('GET', `/v1/crime-matches?purpose=xyz`)).status).toBe(403);
      expect((await who('GET', `/v1/crime-matches/${runId}?purpose=xyz`)).status).toBe(403);
      expect((await who('GET', `/v1/crime-matches/${runId}/export?purpose=xyz`)).status).toBe(403);
      expect((await who('POST', `/v1/crime-matches/${runId}/candidates/K00001/review`, { decision: 'qualified', note: 'n', name: 'n', purpose: 'xyz' })).status).toBe(403);
    }
    expect((await audit('refused')).some((e) => String(e.target).startsWith('POST /v1/crime-matches') && e.role === 'team:iom-north')).toBe(true);
  });

  it('reviews candidates: pending → qualified or rejected with a note; the export holds the qualified ones only', async () => {
    const run = (await op('GET', `/v1/crime-matches/${runId}?purpose=review%20of%20Op%20Nightjar`)).body as any;
    const [s1, s2, s3] = candidates(run);
    const review = (k: string, body: unknown) => op('POST', `/v1/crime-matches/${runId}/candidates/${k}/review`, body);
    const noNote = await review(s1.candidateId, { decision: 'qualified', note: ' ', name: 'DC Smith', purpose: 'review' });
    expect(noNote.status).toBe(400);
    expect(noNote.body).toMatchObject({ code: 'VALIDATION', details: { path: 'body.note' } });
    expect((await review(s1.candidateId, { decision: 'qualified', note: 'Two fixes 20-40 m from the address during the window', name: 'DC Smith' })).body).toMatchObject({ code: 'PURPOSE_REQUIRED' });
    const q = await review(s1.candidateId, { decision: 'qualified', note: 'Two fixes 20-40 m from the address during the window', name: 'DC Smith', purpose: 'review' });
    expect(q.status, q.text).toBe(200);
    expect(q.body).toMatchObject({ state: 'qualified', reviews: [{ decision: 'qualified', name: 'DC Smith', role: 'operator' }] });
    expect((await review(s2.candidateId, { decision: 'rejected', note: '90 m away, other side of the railway', name: 'DC Smith', purpose: 'review' })).body).toMatchObject({ state: 'rejected' });
    expect((await review('K99999', { decision: 'rejected', note: 'x', name: 'y', purpose: 'review' })).status).toBe(404);

    const after = (await op('GET', `/v1/crime-matches/${runId}?purpose=check`)).body as any;
    expect(after.counts).toMatchObject({ candidates: 3, pending: 1, qualified: 1, rejected: 1 });
    expect(candidates(after).map((k) => k.state)).toEqual(['qualified', 'rejected', 'pending']);

    const exp = await op('GET', `/v1/crime-matches/${runId}/export?format=json&purpose=disclosure%20to%20force`);
    expect(exp.status, exp.text).toBe(200);
    const m = (exp.body as any).matches;
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ candidateId: s1.candidateId, subjectId: 'S-1', crime: { ref: 'CR/100' }, reviewer: { name: 'DC Smith', role: 'operator' }, note: 'Two fixes 20-40 m from the address during the window' });
    expect(m[0].fixes).toHaveLength(2);
    expect(exp.text).not.toMatch(/S-2|S-3|other side of the railway/);

    const c = await op('GET', `/v1/crime-matches/${runId}/export?format=csv&purpose=disclosure%20to%20force`);
    expect(c.status).toBe(200);
    expect(c.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = c.text.trim().split('\r\n');
    expect(lines).toHaveLength(3); // header + one row per supporting fix
    expect(lines[1]).toMatch(/"CR\/100".*"S-1".*"DC Smith"/);
    expect(c.text).not.toMatch(/S-2|S-3/);

    const exports = await audit('crime-match.export');
    expect(exports.map((e) => [e.purpose, e.format, e.matches])).toEqual([['disclosure to force', 'csv', 1], ['disclosure to force', 'json', 1]]);
    expect((await audit('crime-match.review')).length).toBe(2);
    expect((await audit('crime-match.read')).map((e) => e.purpose)).toEqual(['check', 'review of Op Nightjar']);
  });

  it('makes an evidence pack of a qualified match only: the run re-checked on the archived fixes, read back from the PDF, audited', async () => {
    const run = (await op('GET', `/v1/crime-matches/${runId}?purpose=pack`)).body as any;
    const [s1, s2, s3] = candidates(run);
    const pack = (k: string, q: string) => t.service.app.inject({ method: 'GET', url: `/v1/crime-matches/${runId}/candidates/${k}/evidence-pack?${q}`, headers: { authorization: `Bearer ${TOKENS.operator}` } });
    expect((await pack(s1.candidateId, 'format=pdf')).json()).toMatchObject({ code: 'PURPOSE_REQUIRED' });
    for (const k of [s2, s3]) { // rejected, pending
      const r = await pack(k.candidateId, 'purpose=court%20file');
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ code: 'MATCH_NOT_QUALIFIED' });
    }
    const r = await pack(s1.candidateId, 'format=pdf&purpose=court%20file%20CR%2F100');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    const text = squash(pdfText(r.rawPayload));
    expect(text).toMatch(/Evidence pack: crime-scene match/);
    expect(text).toMatch(/CR\/100/);
    expect(text).toMatch(/Reproduced: yes/);
    expect(text).toMatch(/DC Smith/);
    expect(text).toMatch(/Two fixes 20-40 m from the address during the window/);
    expect(text).toMatch(/true to the best of my knowledge and belief/);
    expect(text).not.toMatch(/VIC-9|S-9|S-2\b/);
    const html = await pack(s1.candidateId, 'format=html&purpose=court%20file%20CR%2F100');
    expect(html.statusCode).toBe(200);
    expect(html.body).toMatch(/Reproduced: yes/);
    expect((await t.service.app.inject({ method: 'GET', url: `/v1/crime-matches/${runId}/candidates/${s1.candidateId}/evidence-pack?purpose=x%20y%20z`, headers: { authorization: `Bearer ${TOKENS.north}` } })).statusCode).toBe(403);
    const packs = await audit('crime-match.evidence-pack');
    expect(packs.map((e) => [e.purpose, e.format, e.reproduced])).toEqual([['court file CR/100', 'html', true], ['court file CR/100', 'pdf', true]]);
  });

  it('lists runs newest first with a cursor, and answers an unknown run as missing', async () => {
    const p1 = await op('GET', '/v1/crime-matches?purpose=list&limit=1');
    expect(p1.status, p1.text).toBe(200);
    const b1 = p1.body as any;
    expect(b1.runs).toHaveLength(1);
    expect(b1.nextCursor).not.toBeNull();
    const b2 = (await op('GET', `/v1/crime-matches?purpose=list&limit=1&cursor=${b1.nextCursor}`)).body as any;
    expect(b2.runs).toHaveLength(1);
    expect(b2.runs[0].runId).not.toBe(b1.runs[0].runId);
    expect([b1.runs[0].runId, b2.runs[0].runId]).toContain(runId);
    expect(b2.nextCursor).toBeNull();
    expect((await op('GET', '/v1/crime-matches/CM-nope?purpose=look')).status).toBe(404);
  });

  it('answers 503 ARCHIVE_UNAVAILABLE when the archive is off', async () => {
    const off = await startTestService();
    try {
      const r = await api(off.service.app, 'GET', '/v1/crime-matches?purpose=look', { token: TOKENS.operator });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ code: 'ARCHIVE_UNAVAILABLE' });
    } finally {
      await off.close();
    }
  });
});
