// Fixes written straight into the archive's `fixes` table for the crime-matching suites (the
// copier from Redis is another part's); positions given as metres east/north of a point.
import type pg from 'pg';
import { ensurePartitions } from '../../src/archive/db.js';

export const M_PER_DEG = (6371008.8 * Math.PI) / 180;
export const SCENE = { lat: 51.5, lon: -0.12 } as const;

/** The point `east` and `north` metres from `origin`. */
export function offset(east: number, north: number, origin: { lat: number; lon: number } = SCENE): { lat: number; lon: number } {
  return { lat: origin.lat + north / M_PER_DEG, lon: origin.lon + east / (M_PER_DEG * Math.cos((origin.lat * Math.PI) / 180)) };
}

export interface ArchiveFix {
  deviceId: string;
  seq: number;
  ms: number;
  subjectId: string | null;
  lat: number;
  lon: number;
  accuracyM?: number | null;
}

export async function insertFixes(db: pg.Pool, fixes: readonly ArchiveFix[]): Promise<void> {
  if (fixes.length === 0) return;
  let lo = Infinity, hi = -Infinity;
  for (const f of fixes) { lo = Math.min(lo, f.ms); hi = Math.max(hi, f.ms); }
  await ensurePartitions(db, 'fixes', lo, hi);
  for (let i = 0; i < fixes.length; i += 10_000) {
    const part = fixes.slice(i, i + 10_000);
    await db.query(
      `INSERT INTO fixes (device_id, seq, ts, received_at, subject_id, lat, lon, accuracy_m, geom)
       SELECT d, s, t, t, sub, la, lo, a, ST_SetSRID(ST_MakePoint(lo, la), 4326)
         FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::float8[], $6::float8[], $7::real[]) AS u(d, s, t, sub, la, lo, a)`,
      [part.map((f) => f.deviceId), part.map((f) => f.seq), part.map((f) => new Date(f.ms)), part.map((f) => f.subjectId),
        part.map((f) => f.lat), part.map((f) => f.lon), part.map((f) => (f.accuracyM === undefined ? 10 : f.accuracyM))],
    );
  }
}
