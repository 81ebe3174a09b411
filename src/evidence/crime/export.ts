import type { Crime } from './crime-input.js';
import type { SupportingFix } from './match-subject.js';
import type { StoredCandidate, StoredRun } from './runs.js';

/**
 * The export of a run: qualified matches only (the caller reads them with onlyState
 * 'qualified'; this module checks again), each with the decision that qualified it (reviewer,
 * note, when) and its supporting fixes. CSV has one row per supporting fix (a match resting on
 * an interpolated line or a gap has one row with the closest approach and empty fix columns).
 */

function latestQualifying(k: StoredCandidate) {
  for (let i = k.reviews.length - 1; i >= 0; i--) if (k.reviews[i].decision === 'qualified') return k.reviews[i];
  return null;
}

function crimeOf(run: StoredRun, ref: string): Crime | undefined {
  return run.crimeList.find((c) => c.ref === ref);
}

export function exportJson(run: StoredRun) {
  const matches = run.candidateList.filter((k) => k.state === 'qualified').map((k) => {
    const c = crimeOf(run, k.crimeRef);
    const r = latestQualifying(k);
    return {
      candidateId: k.candidateId,
      crime: c === undefined ? { ref: k.crimeRef } : { ref: c.ref, type: c.type, from: new Date(c.fromMs).toISOString(), to: new Date(c.toMs).toISOString(), lat: c.lat, lon: c.lon, ...(c.bng === null ? {} : c.bng), radiusM: c.radiusM },
      subjectId: k.subjectId,
      basis: k.basis,
      reviewer: r === null ? null : { name: r.name, role: r.role, tokenId: r.tokenId, at: r.at },
      note: r?.note ?? null,
      ...k.evidence,
    };
  });
  return { runId: run.runId, createdAt: run.createdAt, algorithmVersion: run.algorithmVersion, params: run.params, purpose: run.purpose, exportedAt: new Date().toISOString(), matches };
}

/** A CSV cell: quoted; a leading = + - @ (or tab/CR) is prefixed with ' so a spreadsheet shows it as text. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replaceAll('"', '""')}"`;
}

const HEADER = ['run_id', 'candidate_id', 'crime_ref', 'crime_type', 'crime_from', 'crime_to', 'crime_lat', 'crime_lon', 'radius_m',
  'subject_id', 'basis', 'closest_m', 'closest_at', 'reviewer', 'reviewed_at', 'note',
  'fix_at', 'device_id', 'fix_lat', 'fix_lon', 'accuracy_m', 'distance_m', 'only_by_accuracy', 'speed_mps', 'heading_deg'];

export function exportCsv(run: StoredRun): string {
  const lines = [HEADER.join(',')];
  for (const m of exportJson(run).matches) {
    const c = m.crime as Partial<Record<string, unknown>>;
    const closest = (m as { closest?: { distanceM: number; at: string } }).closest;
    const base = [run.runId, m.candidateId, c.ref, c.type, c.from, c.to, c.lat, c.lon, c.radiusM, m.subjectId, m.basis, closest?.distanceM, closest?.at, m.reviewer?.name, m.reviewer?.at, m.note];
    const fixes = ((m as { fixes?: SupportingFix[] }).fixes ?? []);
    if (fixes.length === 0) lines.push([...base, null, null, null, null, null, null, null, null, null].map(cell).join(','));
    for (const f of fixes) lines.push([...base, f.at, f.deviceId, f.lat, f.lon, f.accuracyM, f.distanceM, f.onlyByAccuracy, f.speedMps, f.headingDeg].map(cell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
