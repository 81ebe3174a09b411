import type pg from 'pg';

/** An archived fix (times in epoch ms): what the trail, evidence packs and crime-match packs read. */
export interface ArchivedFix {
  deviceId: string;
  seq: number;
  ts: number;
  receivedAt: number;
  lat: number | null;
  lon: number | null;
  accuracyM: number | null;
  battery: number | null;
  strap: string | null;
  /** Arrived after the engine had moved past it (store-and-forward). */
  late: boolean;
}

/** Whose fixes: a subject's (recorded while one of its devices was its tag) or some devices'. */
export type FixesOf = { subjectId: string } | { deviceIds: readonly string[] };

/**
 * The one reader of the archive's `fixes` table: fixes of `of` with ts in [fromMs, toMs] (toMs
 * may be Infinity), oldest first (then device, seq), at most `limit`; heartbeats too unless
 * `positionsOnly`. A subject's fixes are those recorded while one of its devices was its tag
 * (the subject wearing the device when the fix was recorded, as the engine had it), served by
 * the (subject_id, ts) index; a device's by (device_id, seq); partitions outside the period are
 * pruned. Real columns come back through numeric so 12.3 stays 12.3.
 */
export async function archivedFixes(
  db: Pick<pg.Pool, 'query'>, of: FixesOf, fromMs: number, toMs: number, limit: number, o: { positionsOnly?: boolean } = {},
): Promise<ArchivedFix[]> {
  const who = 'subjectId' in of ? 'subject_id = $1' : 'device_id = ANY($1)';
  const r = await db.query<{ device_id: string; seq: string; ts: string; received_at: string; lat: number | null; lon: number | null; accuracy: number | null; battery: number | null; strap: string | null; late: boolean }>(
    `SELECT device_id, seq, round(extract(epoch FROM ts) * 1000)::float8 AS ts, round(extract(epoch FROM received_at) * 1000)::float8 AS received_at,
            lat, lon, accuracy_m::numeric::float8 AS accuracy, battery::numeric::float8 AS battery, strap, late
       FROM fixes
      WHERE ${who} AND ts >= $2 AND ts <= $3${o.positionsOnly === true ? ' AND lat IS NOT NULL' : ''}
      ORDER BY ts, device_id, seq
      LIMIT $4`,
    ['subjectId' in of ? of.subjectId : of.deviceIds, new Date(fromMs).toISOString(), Number.isFinite(toMs) ? new Date(toMs).toISOString() : 'infinity', limit]);
  return r.rows.map((x) => ({
    deviceId: x.device_id, seq: Number(x.seq), ts: Number(x.ts), receivedAt: Number(x.received_at),
    lat: x.lat, lon: x.lon, accuracyM: x.accuracy, battery: x.battery, strap: x.strap, late: x.late,
  }));
}

/** A subject's archived fixes (the trail's archive part): see archivedFixes. */
export function archivedTrail(db: pg.Pool, subjectId: string, fromMs: number, toMs: number, limit: number): Promise<ArchivedFix[]> {
  return archivedFixes(db, { subjectId }, fromMs, toMs, limit);
}
