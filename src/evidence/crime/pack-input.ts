/**
 * A qualified candidate's evidence pack input (issue 14 part 3, for crime matches): the crime as
 * the run parsed it, the subject's archived trail around the window, the supporting fixes and
 * gaps the run recorded, the review, and a re-check: the recorded algorithm run again, with the
 * run's own parameters, on the fixes archived now. The pack prints whether it gave the same
 * closest approach and basis; it never claims a check it did not make.
 */
import type pg from 'pg';
import { archivedFixes } from '../../archive/trail.js';
import type { CrimeMatchPackInput } from '../pack/model.js';
import { ALGORITHM_VERSION, matchSubject, type TrailFix } from './match-subject.js';
import type { StoredCandidate, StoredRun } from './runs.js';

/** Fixes around the window the pack shows (and the re-check reads), each side. */
export const PACK_MARGIN_MS = 30 * 60_000;
const MAX_FIXES = 5000;

export class NotQualifiedError extends Error {}

interface Evidence {
  fixes?: { seq: number; deviceId: string }[];
  gaps?: { from: { at: string }; to: { at: string } }[];
}

/** Everything a crime-match pack needs, read from the run and the archive. */
export async function crimeMatchPackInput(
  db: pg.Pool, run: StoredRun, candidate: StoredCandidate, who: { requestedBy: string; purpose: string },
): Promise<CrimeMatchPackInput> {
  if (candidate.state !== 'qualified') throw new NotQualifiedError(`candidate ${candidate.candidateId} is ${candidate.state}: only a qualified match has a pack`);
  const crime = run.crimeList.find((c) => c.ref === candidate.crimeRef);
  if (crime === undefined) throw new Error(`run ${run.runId} holds no crime ${candidate.crimeRef}`);
  const review = [...candidate.reviews].reverse().find((r) => r.decision === 'qualified');
  if (review === undefined) throw new NotQualifiedError(`candidate ${candidate.candidateId} has no qualifying review`);

  const rows = (await archivedFixes(db, { subjectId: candidate.subjectId }, crime.fromMs - PACK_MARGIN_MS, crime.toMs + PACK_MARGIN_MS, MAX_FIXES, { positionsOnly: true }))
    .map((f) => ({ ...f, lat: f.lat as number, lon: f.lon as number }));
  const subjectBody = (await db.query<{ body: { team?: string; deviceId?: string } | null }>(
    `SELECT body FROM config_changes WHERE kind = 'subject' AND item_id = $1 AND at <= $2 ORDER BY at DESC, version DESC LIMIT 1`,
    [candidate.subjectId, new Date(crime.toMs)],
  )).rows[0]?.body ?? null;

  const evidence = candidate.evidence as Evidence;
  const trail: TrailFix[] = rows.map((r) => ({ ms: r.ts, deviceId: r.deviceId, seq: r.seq, lat: r.lat, lon: r.lon, accuracyM: r.accuracyM }));
  const recheck = (() => {
    if (run.algorithmVersion !== ALGORITHM_VERSION) {
      return { ok: false, line: `Not re-checked: the run used ${run.algorithmVersion}; this service runs ${ALGORITHM_VERSION}.` };
    }
    const again = matchSubject({ lat: crime.lat, lon: crime.lon, radiusM: crime.radiusM, fromMs: crime.fromMs, toMs: crime.toMs }, trail, run.params);
    if (again === null) return { ok: false, line: 'NOT reproduced: the archived fixes no longer give a match with the recorded inputs.' };
    const same = again.basis === candidate.basis && Math.abs(again.closest.distanceM - candidate.closestM) <= 0.5 && again.closest.at === candidate.closestAt;
    return same
      ? { ok: true, line: `Reproduced: yes (the recorded inputs and ${ALGORITHM_VERSION} on the archived fixes give the same closest approach, ${again.closest.distanceM.toFixed(1)} m at ${again.closest.at}, basis ${again.basis}).` }
      : { ok: false, line: `NOT reproduced: recorded ${candidate.basis}, ${candidate.closestM.toFixed(1)} m at ${candidate.closestAt}; now ${again.basis}, ${again.closest.distanceM.toFixed(1)} m at ${again.closest.at}.` };
  })();

  const gaps = (evidence.gaps ?? []).map((g) => ({ from: g.from.at, to: g.to.at }));
  return {
    crime: {
      reference: crime.ref, type: crime.type, from: crime.fromMs, to: crime.toMs, lat: crime.lat, lon: crime.lon, radiusM: crime.radiusM,
      ...(crime.bng === null ? {} : { asSent: `BNG ${crime.bng.easting.toFixed(0)} ${crime.bng.northing.toFixed(0)}` }),
    },
    subject: { id: candidate.subjectId, team: subjectBody?.team ?? 'unknown', deviceId: subjectBody?.deviceId ?? rows[0]?.deviceId ?? 'unknown' },
    match: {
      runId: run.runId, algorithmVersion: run.algorithmVersion, closestM: candidate.closestM, closestAt: candidate.closestAt,
      reviewedBy: `${review.name} (${review.role})`, reviewedAt: review.at, reviewNote: review.note, ranAt: run.createdAt,
    },
    trail: rows.map((r) => ({ deviceId: r.deviceId, seq: r.seq, ts: r.ts, lat: r.lat, lon: r.lon, accuracyM: r.accuracyM })),
    supportingSeqs: (evidence.fixes ?? []).map((f) => f.seq),
    gaps,
    requestedBy: who.requestedBy,
    purpose: who.purpose,
    defaultAccuracyM: run.params.defaultAccuracyM,
    recheck,
  };
}
