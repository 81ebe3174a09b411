import type pg from 'pg';

/** An archived fix as the trail shows it (times in epoch ms). */
export interface ArchivedFix {
  deviceId: string;
  seq: number;
  ts: number;
  receivedAt: number;
  lat: number | null;
  lon: number | null;
  accuracy: number | null;
  battery: number | null;
  strap: string | null;
}

/**
 * A subject's archived fixes in [fromMs, toMs], oldest first, at most `limit`: the fixes recorded
 * while one of its devices was its tag (the subject wearing the device when the fix was recorded,
 * as the engine had it). Served by the (subject_id, ts) index, partitions outside the period
 * pruned. Real columns come back through numeric so 12.3 stays 12.3.
 */
export async function archivedTrail(db: pg.Pool, subjectId: string, fromMs: number, toMs: number, limit: number): Promise<ArchivedFix[]> {
  const r = await db.query<{ device_id: string; seq: string; ts: string; received_at: string; lat: number | null; lon: number | null; accuracy: number | null; battery: number | null; strap: string | null }>(
    `SELECT device_id, seq, round(extract(epoch FROM ts) * 1000)::float8 AS ts, round(extract(epoch FROM received_at) * 1000)::float8 AS received_at,
            lat, lon, accuracy_m::numeric::float8 AS accuracy, battery::numeric::float8 AS battery, strap
       FROM fixes
      WHERE subject_id = $1 AND ts >= $2 AND ts <= $3
      ORDER BY ts, device_id, seq
      LIMIT $4`,
    [subjectId, new Date(fromMs).toISOString(), Number.isFinite(toMs) ? new Date(toMs).toISOString() : 'infinity', limit]);
  return r.rows.map((x) => ({
    deviceId: x.device_id, seq: Number(x.seq), ts: Number(x.ts), receivedAt: Number(x.received_at),
    lat: x.lat, lon: x.lon, accuracy: x.accuracy, battery: x.battery, strap: x.strap,
  }));
}
