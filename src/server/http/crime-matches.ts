import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BatchError, CRIME_BATCH_LIMIT_BYTES, MAX_CRIMES, parseCrimesCsv, parseCrimesJson, type Crime, type ParsedBatch } from '../../evidence/crime/crime-input.js';
import { exportCsv, exportJson } from '../../evidence/crime/export.js';
import { ALGORITHM_VERSION, DEFAULT_PARAMS, type MatchParams } from '../../evidence/crime/match-subject.js';
import { matchCrimes } from '../../evidence/crime/matcher.js';
import { crimeMatchPackInput, NotQualifiedError } from '../../evidence/crime/pack-input.js';
import { crimeMatchPack } from '../../evidence/pack/crime-pack.js';
import { getRun, listRuns, newRunId, reviewCandidate, saveRun, type StoredRun } from '../../evidence/crime/runs.js';
import { roleName, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import { checkJsonText } from '../json-guard.js';
import type { HttpContext } from './context.js';
import { sendPack } from './evidence.js';
import { routeOn, type ResourcePlugin } from './route.js';

/**
 * Crime-scene matching (issue 14 part 2): police send a batch of crimes (place, time window,
 * radius); every tagged person whose trail came within reach is a candidate, `pending` until a
 * person qualifies or rejects it with a note; only qualified matches can be exported.
 *
 * Roles: operator and admin only. Police analysts work with the monitoring centre at force
 * level; a team (`team:<id>`) sees only its own subjects, and a batch answered for one team
 * would either leak other teams' subjects or silently miss them, so teams are refused (403, as
 * for every route their role may not use; the refusal is audited). Every request states its
 * purpose and is audited: who, when, why, and what came back (counts, never positions).
 */

const PURPOSE_MIN = 3;
const PURPOSE_MAX = 500;

const RunParam = z.strictObject({ runId: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'a run id is letters, digits, . _ -') });
const CandidateParam = z.strictObject({ runId: RunParam.shape.runId, candidateId: z.string().min(1).max(32).regex(/^[A-Za-z0-9._-]+$/) });
const PurposeQuery = z.object({ purpose: z.string().optional() });
const ListQuery = z.object({ purpose: z.string().optional(), cursor: z.string().min(1).max(256).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) });
const PackQuery = z.object({ purpose: z.string().optional(), format: z.enum(['pdf', 'html']).default('pdf') });
const ExportQuery = z.object({ purpose: z.string().optional(), format: z.enum(['csv', 'json']).default('json') });
const ReviewBody = z.strictObject({
  decision: z.enum(['qualified', 'rejected']),
  note: z.string().trim().min(1, 'a note is required: say why').max(2000),
  name: z.string().trim().min(1, 'the reviewer\'s name is required').max(200),
  purpose: z.string().optional(),
});
const CrimeDoc = z.object({
  ref: z.string(), type: z.string(), from: z.string().describe('RFC 3339, or UK local time (Europe/London) as DD/MM/YYYY HH:MM or YYYY-MM-DD HH:MM'), to: z.string(),
  lat: z.number().optional(), lon: z.number().optional(), easting: z.number().optional(), northing: z.number().optional(), radiusM: z.number(),
});
const BatchDoc = z.object({ purpose: z.string(), crimes: z.array(CrimeDoc).max(MAX_CRIMES) });
const JsonEnvelope = z.strictObject({ purpose: z.string().optional(), crimes: z.array(z.unknown()) });

/** The stated purpose: `?purpose=` or the JSON body's `purpose` (they may not differ). */
function purposeOf(query: { purpose?: string | undefined }, body?: { purpose?: string | undefined }): string {
  const q = query.purpose?.trim();
  const b = body?.purpose?.trim();
  if (q !== undefined && b !== undefined && q !== b) throw new ApiError('VALIDATION', 'purpose is given twice, differently (query and body)', { path: 'body.purpose' });
  const p = q ?? b;
  if (p === undefined || p.length === 0) {
    throw new ApiError('PURPOSE_REQUIRED', 'state the purpose of this request (?purpose=…, or "purpose" in a JSON body): it is recorded in the audit log', { path: body === undefined ? 'query.purpose' : 'purpose' });
  }
  if (p.length < PURPOSE_MIN || p.length > PURPOSE_MAX) throw new ApiError('PURPOSE_REQUIRED', `a purpose is ${PURPOSE_MIN}..${PURPOSE_MAX} characters`, { path: body === undefined ? 'query.purpose' : 'purpose' });
  return p;
}

function dbOf(ctx: HttpContext) {
  if (ctx.archiveDb === null) throw new ApiError('ARCHIVE_UNAVAILABLE', 'the evidence archive is off: the service runs without DATABASE_URL');
  return ctx.archiveDb;
}

/** PostgreSQL not answering is a 503 like Redis's, not a 500. */
async function archived<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof ApiError) throw e;
    if (code === 'ECONNREFUSED' || code === '57P01' || code === '57P03' || code === '53300' || /Connection terminated|timeout exceeded when trying to connect/.test((e as Error).message)) {
      throw new ApiError('ARCHIVE_UNAVAILABLE', 'the evidence archive (PostgreSQL) is not answering; try again');
    }
    throw e;
  }
}

/** Devices never matched: victim units in the register, and devices the engine knows as a victim's. */
async function victimDevices(ctx: HttpContext): Promise<string[]> {
  const out = new Set<string>();
  const all = await ctx.redis.hgetall(ctx.keys.devices);
  for (const [id, raw] of Object.entries(all)) {
    try {
      if ((JSON.parse(raw) as { kind?: string }).kind === 'victim_unit') out.add(id);
    } catch { /* a malformed entry is not a victim unit */ }
  }
  return [...out];
}

function crimeShown(c: Crime) {
  return {
    row: c.row, ref: c.ref, type: c.type, from: new Date(c.fromMs).toISOString(), to: new Date(c.toMs).toISOString(),
    lat: c.lat, lon: c.lon, ...(c.bng === null ? {} : { easting: c.bng.easting, northing: c.bng.northing }), radiusM: c.radiusM,
    ...(c.notes.length === 0 ? {} : { notes: c.notes }),
  };
}

/** The run as the API shows it: each crime with its candidates (evidence and review state). */
function runShown(run: StoredRun) {
  const byRef = new Map<string, unknown[]>();
  for (const k of run.candidateList) {
    const list = byRef.get(k.crimeRef) ?? [];
    list.push({ candidateId: k.candidateId, subjectId: k.subjectId, basis: k.basis, state: k.state, reviews: k.reviews, ...k.evidence });
    byRef.set(k.crimeRef, list);
  }
  return {
    runId: run.runId, createdAt: run.createdAt, createdBy: run.createdBy, purpose: run.purpose,
    algorithmVersion: run.algorithmVersion, params: run.params,
    counts: { crimes: run.crimes, candidates: run.candidates, pending: run.pending, qualified: run.qualified, rejected: run.rejected },
    crimes: run.crimeList.map((c) => ({ ...crimeShown(c), candidates: byRef.get(c.ref) ?? [] })),
    rejectedRows: run.rejectedRows,
  };
}

const whoOf = (p: Principal) => ({ role: roleName(p.role), tokenId: p.tokenId });

export const crimeMatches: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  const params: MatchParams = { ...DEFAULT_PARAMS, defaultAccuracyM: ctx.host.view.settings.defaultAccuracyM ?? DEFAULT_PARAMS.defaultAccuracyM };

  // The batch: CSV (as forces send it) or JSON, each up to CRIME_BATCH_LIMIT_BYTES, parsed here
  // (the role check has already run in onRequest, before any body is read).
  await app.register(async (batch) => {
    const defaultJson = batch.getDefaultJsonParser('error', 'error');
    batch.removeAllContentTypeParsers();
    batch.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: CRIME_BATCH_LIMIT_BYTES }, (req, body, done) => {
      const tooDeep = checkJsonText(body as string);
      if (tooDeep !== null) return done(new ApiError('VALIDATION', tooDeep), undefined);
      defaultJson(req, body as string, done);
    });
    batch.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: CRIME_BATCH_LIMIT_BYTES }, (_req, body, done) => done(null, { csv: body as string }));
    const batchRoute = routeOn(batch, ctx.docs);
    batchRoute({
      method: 'POST', url: '/v1/crime-matches', roles: ['operator', 'admin'], rawBody: true, bodyLimit: CRIME_BATCH_LIMIT_BYTES, status: 201,
      summary: `Match a batch of crimes (text/csv with a header row, or JSON {purpose, crimes}; at most ${MAX_CRIMES}) against the archived trails; good rows are kept beside bad ones; purpose required`,
      query: PurposeQuery, body: BatchDoc, docBody: BatchDoc,
    }, async (req: FastifyRequest, reply, { query, principal }) => {
      const db = dbOf(ctx);
      const body = req.body as unknown;
      let parsed: ParsedBatch;
      let purpose: string;
      try {
        if (typeof body === 'object' && body !== null && 'csv' in body && typeof (body as { csv: unknown }).csv === 'string' && (req.headers['content-type'] ?? '').startsWith('text/csv')) {
          purpose = purposeOf(query);
          parsed = parseCrimesCsv((body as { csv: string }).csv);
        } else {
          const env = JsonEnvelope.safeParse(body);
          if (!env.success) {
            const issue = env.error.issues[0];
            const path = issue.code === 'unrecognized_keys' ? `body.${issue.keys[0]}` : `body${issue.path.length === 0 ? '' : `.${issue.path.join('.')}`}`;
            throw new ApiError('VALIDATION', `${path}: ${issue.code === 'unrecognized_keys' ? 'unknown field; the batch has purpose and crimes' : issue.message}`, { path });
          }
          purpose = purposeOf(query, env.data);
          parsed = parseCrimesJson(env.data.crimes);
        }
      } catch (e) {
        if (e instanceof BatchError) throw new ApiError('CRIME_BATCH_INVALID', e.message, e.path === undefined ? undefined : { path: e.path });
        throw e;
      }
      if (parsed.crimes.length === 0) {
        await ctx.audit.append('crime-match.refused', 'batch', principal, { purpose, rejected: parsed.rejected.length });
        throw new ApiError('CRIME_BATCH_INVALID', parsed.rejected.length === 0 ? 'the batch has no crimes' : `no crime in the batch could be read (${parsed.rejected.length} rows refused)`, { rejected: parsed.rejected.slice(0, 1000) });
      }
      const run = await archived(async () => {
        const excluded = await victimDevices(ctx);
        const view = ctx.host.view;
        const { results, stats } = await matchCrimes(db, parsed.crimes, {
          params, excludeDevices: excluded,
          isExcludedDevice: (id) => { const r = view.deviceRole(id); return r !== null && 'victimOf' in r; },
        });
        const runId = newRunId();
        await saveRun(db, { runId, who: whoOf(principal), purpose, algorithmVersion: ALGORITHM_VERSION, params, crimes: parsed.crimes, rejected: parsed.rejected, results, stats });
        return (await getRun(db, runId))!;
      });
      await ctx.audit.append('crime-match.run', run.runId, principal, { purpose, crimes: run.crimes, rejectedRows: run.rejectedRows.length, candidates: run.candidates });
      return reply.code(201).send(runShown(run));
    });
  });

  route({ method: 'GET', url: '/v1/crime-matches', summary: 'Matching runs, newest first (counts by review state); purpose required', roles: ['operator', 'admin'], query: ListQuery }, async (_req, _reply, { query, principal }) => {
    const purpose = purposeOf(query);
    const db = dbOf(ctx);
    let before: { at: string; runId: string } | null = null;
    if (query.cursor !== undefined) {
      const raw = Buffer.from(query.cursor, 'base64url').toString('utf8');
      const [at, runId] = raw.split('|');
      if (runId === undefined || Number.isNaN(Date.parse(at))) throw new ApiError('VALIDATION', 'cursor is not one this list gave', { path: 'query.cursor' });
      before = { at, runId };
    }
    const page = await archived(() => listRuns(db, query.limit, before));
    await ctx.audit.append('crime-match.list', 'runs', principal, { purpose, runs: page.runs.length });
    return { runs: page.runs, nextCursor: page.nextCursor === null ? null : Buffer.from(page.nextCursor).toString('base64url') };
  });

  route({ method: 'GET', url: '/v1/crime-matches/:runId', summary: 'A run: its crimes as parsed, each with its candidates (evidence, review state); purpose required', roles: ['operator', 'admin'], params: RunParam, query: PurposeQuery }, async (_req, _reply, { params: p, query, principal }) => {
    const purpose = purposeOf(query);
    const db = dbOf(ctx);
    const run = await archived(() => getRun(db, p.runId));
    if (run === null) throw new ApiError('NOT_FOUND', `no crime-match run ${JSON.stringify(p.runId)}`);
    await ctx.audit.append('crime-match.read', run.runId, principal, { purpose, candidates: run.candidates });
    return runShown(run);
  });

  route({ method: 'POST', url: '/v1/crime-matches/:runId/candidates/:candidateId/review', summary: 'Qualify or reject a candidate, with a note and the reviewer\'s name (the history is kept)', roles: ['operator', 'admin'], params: CandidateParam, query: PurposeQuery, body: ReviewBody }, async (_req, _reply, { params: p, query, body, principal }) => {
    const purpose = purposeOf(query, body);
    const db = dbOf(ctx);
    const who = whoOf(principal);
    const k = await archived(() => reviewCandidate(db, p.runId, p.candidateId, { decision: body.decision, note: body.note, name: body.name, role: who.role, tokenId: who.tokenId, at: new Date().toISOString() }));
    if (k === null) throw new ApiError('NOT_FOUND', `no candidate ${JSON.stringify(p.candidateId)} in run ${JSON.stringify(p.runId)}`);
    await ctx.audit.append('crime-match.review', `${p.runId}/${p.candidateId}`, principal, { purpose, decision: body.decision, name: body.name });
    return { candidateId: k.candidateId, crimeRef: k.crimeRef, subjectId: k.subjectId, basis: k.basis, state: k.state, reviews: k.reviews };
  });

  route({ method: 'GET', url: '/v1/crime-matches/:runId/candidates/:candidateId/evidence-pack', summary: 'The evidence pack of a qualified match (PDF or HTML): crime location and radius, the trail with accuracy circles, supporting fixes, gaps, the review, the algorithm re-run on the archived fixes, disclaimer and witness statement; purpose required and audited', roles: ['operator', 'admin'], params: CandidateParam, query: PackQuery }, async (_req, reply, { params: p, query, principal }) => {
    const purpose = purposeOf(query);
    const db = dbOf(ctx);
    const run = await archived(() => getRun(db, p.runId));
    const candidate = run?.candidateList.find((k) => k.candidateId === p.candidateId);
    if (run === null || candidate === undefined) throw new ApiError('NOT_FOUND', `no candidate ${JSON.stringify(p.candidateId)} in run ${JSON.stringify(p.runId)}`);
    let input;
    try {
      input = await archived(() => crimeMatchPackInput(db, run, candidate, { requestedBy: `${roleName(principal.role)} (token ${principal.tokenId})`, purpose }));
    } catch (e) {
      if (e instanceof NotQualifiedError) throw new ApiError('MATCH_NOT_QUALIFIED', e.message);
      throw e;
    }
    const doc = crimeMatchPack(input);
    await ctx.audit.append('crime-match.evidence-pack', `${p.runId}/${p.candidateId}`, principal, { purpose, format: query.format, digest: doc.digest, reproduced: input.recheck?.ok ?? null, positions: doc.positions.length });
    return sendPack(reply, doc, query.format, `${p.runId}-${p.candidateId}`);
  });

  route({ method: 'GET', url: '/v1/crime-matches/:runId/export', summary: 'The qualified matches only (reviewer, note, supporting fixes), as JSON or CSV; purpose required', roles: ['operator', 'admin'], params: RunParam, query: ExportQuery }, async (_req, reply, { params: p, query, principal }) => {
    const purpose = purposeOf(query);
    const db = dbOf(ctx);
    const run = await archived(() => getRun(db, p.runId, 'qualified'));
    if (run === null) throw new ApiError('NOT_FOUND', `no crime-match run ${JSON.stringify(p.runId)}`);
    await ctx.audit.append('crime-match.export', run.runId, principal, { purpose, format: query.format, matches: run.candidateList.length });
    if (query.format === 'csv') {
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${run.runId}-qualified.csv"`).send(exportCsv(run));
    }
    return exportJson(run);
  });
};
