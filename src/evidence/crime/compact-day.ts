import type pg from 'pg';
import { partitionName } from '../../archive/db.js';

/**
 * Rewrites one closed day of `fixes` in (subject_id, ts) order (CLUSTER on its subject+time
 * index). The copier appends fixes in arrival order, so a subject's fixes of a day are spread
 * over as many heap pages as it has fixes; clustered, a crime query (and a trail read) touches a
 * few pages per subject instead. bench:crime measures both (README "Crime-scene matching").
 *
 * CLUSTER holds an exclusive lock on that day's partition while it runs (minutes for a
 * national day): run it on days that are closed (older than the longest store-and-forward
 * delay), at a quiet hour. A late fix for a clustered day is written as usual, at the end.
 * Returns false when the day has no partition.
 */
export async function clusterDay(db: pg.Pool, dayMs: number): Promise<boolean> {
  const part = partitionName('fixes', dayMs);
  const ix = await db.query<{ indexname: string }>(
    `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexdef LIKE '%(subject_id, ts)%'`, [part]);
  if (ix.rows.length === 0) return false;
  await db.query(`CLUSTER ${part} USING ${ix.rows[0].indexname}`);
  await db.query(`ANALYZE ${part}`);
  return true;
}
