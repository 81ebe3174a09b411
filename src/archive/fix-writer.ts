import type pg from 'pg';
import { dayOf, ensurePartitions, type PartitionedTable } from './db.js';

/** One archived fix, as the copier hands it to the writer (times in epoch ms). */
export interface FixRow {
  deviceId: string;
  seq: number;
  ts: number;
  receivedAt: number;
  subjectId: string | null;
  lat: number | null;
  lon: number | null;
  accuracy: number | null;
  battery: number | null;
  strap: string | null;
  late: boolean;
}

/**
 * Fixes in one statement per call: the rows go as eleven arrays (one per column) and are spread
 * by unnest, so a batch of thousands is one round trip and one plan. Duplicates (the same
 * device, seq and ts) change nothing: ON CONFLICT DO NOTHING on the primary key. Returns the rows
 * actually inserted. bench/archive/write.ts measures it.
 */
export const INSERT_FIXES_SQL = `
INSERT INTO fixes (device_id, seq, ts, received_at, subject_id, lat, lon, accuracy_m, battery, strap, late, geom)
SELECT d, s, to_timestamp(t / 1000.0), to_timestamp(r / 1000.0), sub, la / 1e7::float8, lo / 1e7::float8, a, b, st, l,
       CASE WHEN la IS NULL OR lo IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lo / 1e7::float8, la / 1e7::float8), 4326) END
FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::text[], $6::float8[], $7::float8[],
            $8::real[], $9::real[], $10::text[], $11::boolean[]) AS u(d, s, t, r, sub, la, lo, a, b, st, l)
ON CONFLICT DO NOTHING`;

/** Most rows in one INSERT (a copier batch may hold more: several statements, one transaction). */
export const MAX_ROWS_PER_INSERT = 10_000;

export async function insertFixes(db: pg.Pool | pg.PoolClient, rows: readonly FixRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (rows.length > MAX_ROWS_PER_INSERT) {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) inserted += await insertFixes(db, rows.slice(i, i + MAX_ROWS_PER_INSERT));
    return inserted;
  }
  const n = rows.length;
  const d = new Array<string>(n), s = new Array<number>(n), t = new Array<number>(n), r = new Array<number>(n);
  const sub = new Array<string | null>(n), la = new Array<number | null>(n), lo = new Array<number | null>(n);
  const a = new Array<number | null>(n), b = new Array<number | null>(n), st = new Array<string | null>(n), l = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const x = rows[i];
    d[i] = x.deviceId; s[i] = x.seq; t[i] = x.ts; r[i] = x.receivedAt; sub[i] = x.subjectId;
    // Positions travel as integers of 1e-7 degree (about 1 cm), as the Redis trail stores them:
    // the same values on both sides of the trail's Redis/archive boundary, and integers format
    // faster than doubles (bench/archive/write.ts).
    la[i] = x.lat === null ? null : Math.round(x.lat * 1e7); lo[i] = x.lon === null ? null : Math.round(x.lon * 1e7);
    a[i] = x.accuracy; b[i] = x.battery; st[i] = x.strap; l[i] = x.late;
  }
  const res = await db.query(INSERT_FIXES_SQL, [d, s, t, r, sub, la, lo, a, b, st, l]);
  return res.rowCount ?? 0;
}

/**
 * Remembers which daily partitions exist so each is created once per process (CREATE TABLE IF
 * NOT EXISTS costs a catalogue lookup; a batch would otherwise pay it per day it touches).
 */
export class PartitionCache {
  private readonly known = new Set<string>();

  async ensure(db: pg.Pool | pg.PoolClient, table: PartitionedTable, times: Iterable<number>): Promise<void> {
    const days = new Set<number>();
    for (const ms of times) days.add(dayOf(ms));
    for (const day of days) {
      const k = `${table}:${day}`;
      if (this.known.has(k)) continue;
      try {
        await ensurePartitions(db, table, day, day);
      } catch (e) {
        // Another writer created it at the same moment (IF NOT EXISTS is not race-free).
        const code = (e as { code?: string }).code;
        if (code !== '42P07' && code !== '23505') throw e;
      }
      this.known.add(k);
    }
  }

  /** Forget every day (after a failed write: retention may have dropped a partition since). */
  clear(): void {
    this.known.clear();
  }
}
