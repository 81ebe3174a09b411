import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../archive/db.js';
import type { Crime, RowError } from './crime-input.js';
import type { MatchParams } from './match-subject.js';
import type { CrimeMatches, MatchStats } from './matcher.js';

/**
 * Matching runs in the archive (migration 020): a run, its crimes as parsed and its candidates
 * with their review state. Reads and writes only; who may do what is the HTTP layer's business.
 */

export type ReviewState = 'pending' | 'qualified' | 'rejected';

export interface Who { role: string; tokenId: string }

export interface Review {
  decision: 'qualified' | 'rejected';
  note: string;
  name: string;
  role: string;
  tokenId: string;
  at: string;
}

export interface StoredCandidate {
  candidateId: string;
  crimeRef: string;
  subjectId: string;
  basis: string;
  closestM: number;
  closestAt: string;
  state: ReviewState;
  reviews: Review[];
  evidence: Record<string, unknown>;
}

export interface RunSummary {
  runId: string;
  createdAt: string;
  createdBy: Who;
  purpose: string;
  algorithmVersion: string;
  crimes: number;
  candidates: number;
  pending: number;
  qualified: number;
  rejected: number;
}

export interface StoredRun extends RunSummary {
  params: MatchParams;
  stats: Record<string, unknown>;
  crimeList: Crime[];
  rejectedRows: RowError[];
  candidateList: StoredCandidate[];
}

export function newRunId(now = Date.now()): string {
  return `CM-${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(5).toString('hex')}`;
}

export async function saveRun(db: pg.Pool, run: {
  runId: string; who: Who; purpose: string; algorithmVersion: string; params: MatchParams;
  crimes: readonly Crime[]; rejected: readonly RowError[]; results: readonly CrimeMatches[]; stats: MatchStats;
}): Promise<void> {
  await inTransaction(db, async (c) => {
    await c.query(
      `INSERT INTO crime_runs (run_id, created_by, purpose, algorithm_version, params, crimes, rejected, stats)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [run.runId, JSON.stringify(run.who), run.purpose, run.algorithmVersion, JSON.stringify(run.params), JSON.stringify(run.crimes), JSON.stringify(run.rejected), JSON.stringify(run.stats)],
    );
    const ids: string[] = [], refs: string[] = [], subjects: string[] = [], bases: string[] = [], dists: number[] = [], ats: string[] = [], evidence: string[] = [];
    let k = 0;
    for (const r of run.results) {
      for (const cand of r.candidates) {
        k += 1;
        ids.push(`K${String(k).padStart(5, '0')}`);
        refs.push(r.crime.ref);
        subjects.push(cand.subjectId);
        bases.push(cand.basis);
        dists.push(cand.closest.distanceM);
        ats.push(cand.closest.at);
        evidence.push(JSON.stringify({ closest: cand.closest, fixes: cand.fixes, passages: cand.passages, gaps: cand.gaps }));
      }
    }
    for (let i = 0; i < ids.length; i += 5000) {
      const s = (a: unknown[]) => a.slice(i, i + 5000);
      await c.query(
        `INSERT INTO crime_candidates (run_id, candidate_id, crime_ref, subject_id, basis, closest_m, closest_at, evidence)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::timestamptz[], $8::jsonb[])`,
        [run.runId, s(ids), s(refs), s(subjects), s(bases), s(dists), s(ats), s(evidence)],
      );
    }
  });
}

const SUMMARY_COLS = `r.run_id, r.created_at, r.created_by, r.purpose, r.algorithm_version, jsonb_array_length(r.crimes) AS crimes,
  (SELECT count(*) FROM crime_candidates k WHERE k.run_id = r.run_id)::int AS candidates,
  (SELECT count(*) FROM crime_candidates k WHERE k.run_id = r.run_id AND k.state = 'pending')::int AS pending,
  (SELECT count(*) FROM crime_candidates k WHERE k.run_id = r.run_id AND k.state = 'qualified')::int AS qualified,
  (SELECT count(*) FROM crime_candidates k WHERE k.run_id = r.run_id AND k.state = 'rejected')::int AS rejected`;

type SummaryRow = { run_id: string; created_at: Date; created_by: Who; purpose: string; algorithm_version: string; crimes: number; candidates: number; pending: number; qualified: number; rejected: number };

function summaryOf(r: SummaryRow): RunSummary {
  return {
    runId: r.run_id, createdAt: r.created_at.toISOString(), createdBy: r.created_by, purpose: r.purpose, algorithmVersion: r.algorithm_version,
    crimes: r.crimes, candidates: r.candidates, pending: r.pending, qualified: r.qualified, rejected: r.rejected,
  };
}

type CandidateRow = { candidate_id: string; crime_ref: string; subject_id: string; basis: string; closest_m: number; closest_at: Date; state: ReviewState; reviews: Review[]; evidence: Record<string, unknown> };

function candidateOf(r: CandidateRow): StoredCandidate {
  return { candidateId: r.candidate_id, crimeRef: r.crime_ref, subjectId: r.subject_id, basis: r.basis, closestM: r.closest_m, closestAt: r.closest_at.toISOString(), state: r.state, reviews: r.reviews, evidence: r.evidence };
}

export async function getRun(db: pg.Pool, runId: string, onlyState?: ReviewState): Promise<StoredRun | null> {
  const r = await db.query<SummaryRow & { params: MatchParams; stats: Record<string, unknown>; crimes_json: Crime[]; rejected_json: RowError[] }>(
    `SELECT ${SUMMARY_COLS}, r.params, r.stats, r.crimes AS crimes_json, r.rejected AS rejected_json FROM crime_runs r WHERE r.run_id = $1`, [runId]);
  if (r.rows.length === 0) return null;
  const row = r.rows[0];
  const k = await db.query<CandidateRow>(
    `SELECT candidate_id, crime_ref, subject_id, basis, closest_m, closest_at, state, reviews, evidence
       FROM crime_candidates WHERE run_id = $1 ${onlyState === undefined ? '' : 'AND state = $2'} ORDER BY candidate_id`,
    onlyState === undefined ? [runId] : [runId, onlyState]);
  return { ...summaryOf(row), params: row.params, stats: row.stats, crimeList: row.crimes_json, rejectedRows: row.rejected_json, candidateList: k.rows.map(candidateOf) };
}

/** Runs newest first; `before` is the cursor (the last item's "createdAt|runId"). */
export async function listRuns(db: pg.Pool, limit: number, before: { at: string; runId: string } | null): Promise<{ runs: RunSummary[]; nextCursor: string | null }> {
  const r = await db.query<SummaryRow>(
    `SELECT ${SUMMARY_COLS} FROM crime_runs r
      ${before === null ? '' : 'WHERE (r.created_at, r.run_id) < ($2::timestamptz, $3::text)'}
      ORDER BY r.created_at DESC, r.run_id DESC LIMIT $1`,
    before === null ? [limit + 1] : [limit + 1, before.at, before.runId]);
  const rows = r.rows.slice(0, limit).map(summaryOf);
  const more = r.rows.length > limit;
  const last = rows[rows.length - 1];
  return { runs: rows, nextCursor: more && last !== undefined ? `${last.createdAt}|${last.runId}` : null };
}

/** Records a decision; null when the run or candidate does not exist. */
export async function reviewCandidate(db: pg.Pool, runId: string, candidateId: string, review: Review): Promise<StoredCandidate | null> {
  const r = await db.query<CandidateRow>(
    `UPDATE crime_candidates SET state = $3, reviews = reviews || jsonb_build_array($4::jsonb)
      WHERE run_id = $1 AND candidate_id = $2
      RETURNING candidate_id, crime_ref, subject_id, basis, closest_m, closest_at, state, reviews, evidence`,
    [runId, candidateId, review.decision, JSON.stringify(review)]);
  return r.rows.length === 0 ? null : candidateOf(r.rows[0]);
}
