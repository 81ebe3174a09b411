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

const DAY_MS = 86_400_000;

export interface CompactionPolicy {
  /** A day is closed (no more store-and-forward fixes expected) this many days after it ends. Default 2. */
  closedAfterDays?: number;
  /** Days clustered in one run at most (CLUSTER locks the day's partition while it runs). Default 1. */
  maxDays?: number;
}

/** Is it the archive's quiet time, 01:00–05:00 in England and Wales (when closed days are clustered)? */
export function quietHour(nowMs: number): boolean {
  const h = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', hourCycle: 'h23' }).format(nowMs));
  return h >= 1 && h < 5;
}

/**
 * Clusters the closed days of `fixes` not clustered yet (oldest first, at most `maxDays` per run)
 * and returns the UTC days done (YYYY-MM-DD). A day counts as clustered once one of its
 * partition's indexes is marked as the CLUSTER index (pg_index.indisclustered): late fixes
 * written after it are not re-sorted (there are few). The archive worker calls this from its
 * housekeeping during quietHour().
 */
export async function compactClosedDays(db: pg.Pool, nowMs: number, policy: CompactionPolicy = {}): Promise<string[]> {
  const closedBefore = Math.floor(nowMs / DAY_MS) * DAY_MS - (policy.closedAfterDays ?? 2) * DAY_MS;
  const r = await db.query<{ name: string; clustered: boolean }>(
    `SELECT c.relname AS name, coalesce(bool_or(x.indisclustered), false) AS clustered
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
       LEFT JOIN pg_index x ON x.indrelid = c.oid
     WHERE p.relname = 'fixes' AND n.nspname = current_schema()
     GROUP BY c.relname`);
  const todo: number[] = [];
  for (const { name, clustered } of r.rows) {
    const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (m === null || clustered) continue;
    const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    if (day + DAY_MS <= closedBefore) todo.push(day);
  }
  todo.sort((x, y) => x - y);
  const done: string[] = [];
  for (const day of todo.slice(0, policy.maxDays ?? 1)) if (await clusterDay(db, day)) done.push(new Date(day).toISOString().slice(0, 10));
  return done;
}
