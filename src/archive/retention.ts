import type pg from 'pg';
import { PARTITIONED, type PartitionedTable } from './db.js';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** Fixes are kept this many days (ARCHIVE_RETAIN_FIXES_DAYS). */
  fixesDays: number;
  /** Alert events and decisions are kept this many days (ARCHIVE_RETAIN_ALERTS_DAYS). */
  alertsDays: number;
}

/** One thing retention removed (each is written to the audit log). */
export interface Purge {
  table: string;
  /** The partition dropped, or the kind of rows deleted. */
  what: string;
  /** The UTC day a dropped partition held (YYYY-MM-DD), or the cut-off of deleted rows. */
  before: string;
  rows: number;
}

/** The daily partitions of `table` in the current schema, with the UTC day each starts. */
export async function partitionsOf(db: pg.Pool | pg.PoolClient, table: PartitionedTable): Promise<{ name: string; dayMs: number }[]> {
  const r = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE p.relname = $1 AND n.nspname = current_schema()`, [table]);
  const out: { name: string; dayMs: number }[] = [];
  for (const { name } of r.rows) {
    const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (m !== null) out.push({ name, dayMs: Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) });
  }
  return out.sort((a, b) => a.dayMs - b.dayMs);
}

/**
 * Enforces retention: drops every daily partition wholly older than its table's retention
 * (fixes: fixesDays; alert events: alertsDays) — a dropped partition is gone at once, with no
 * dead rows to vacuum — and deletes decisions older than alertsDays. Configuration changes are
 * kept while they can matter: one older than the longer of the two retentions is deleted only
 * when a later change of the same item is also that old (the configuration in force at any time
 * still archived stays known, so a replay of retained fixes finds it). Returns what was removed;
 * the caller audits each item.
 */
export async function enforceRetention(db: pg.Pool, policy: RetentionPolicy, nowMs: number = Date.now()): Promise<Purge[]> {
  const purges: Purge[] = [];
  const cutoffs: Record<PartitionedTable, number> = {
    fixes: nowMs - policy.fixesDays * DAY_MS,
    alert_events: nowMs - policy.alertsDays * DAY_MS,
  };
  for (const table of Object.keys(PARTITIONED) as PartitionedTable[]) {
    for (const p of await partitionsOf(db, table)) {
      // Only when everything in it is past retention: the partition ends at the next midnight.
      if (p.dayMs + DAY_MS > cutoffs[table]) continue;
      const c = await db.connect();
      try {
        await c.query('BEGIN');
        const rows = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${p.name}`)).rows[0].n);
        await c.query(`DROP TABLE ${p.name}`);
        await c.query('COMMIT');
        purges.push({ table, what: p.name, before: new Date(p.dayMs).toISOString().slice(0, 10), rows });
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        c.release();
      }
    }
  }
  const alertsCut = new Date(cutoffs.alert_events).toISOString();
  const d = await db.query('DELETE FROM decisions WHERE at < $1', [alertsCut]);
  if ((d.rowCount ?? 0) > 0) purges.push({ table: 'decisions', what: 'decisions', before: alertsCut, rows: d.rowCount ?? 0 });
  const configCut = new Date(Math.min(cutoffs.fixes, cutoffs.alert_events)).toISOString();
  const cc = await db.query(
    `DELETE FROM config_changes c WHERE c.at < $1
       AND EXISTS (SELECT 1 FROM config_changes n WHERE n.kind = c.kind AND n.item_id = c.item_id AND n.at < $1 AND n.version > c.version)`,
    [configCut]);
  if ((cc.rowCount ?? 0) > 0) purges.push({ table: 'config_changes', what: 'superseded configuration changes', before: configCut, rows: cc.rowCount ?? 0 });
  return purges;
}

/** Where purges are recorded (the service's audit log: src/server/audit.ts AuditLog). */
export interface PurgeAudit {
  append(action: string, target: string, who?: undefined, extra?: Record<string, unknown>): Promise<void>;
}

/**
 * Retention as the archive worker runs it: enforce, then one `archive.purge` audit entry per
 * partition dropped or rows deleted (table, the day or cut-off, how many rows, schema).
 */
export async function purgeAndAudit(db: pg.Pool, policy: RetentionPolicy, audit: PurgeAudit, schema: string, nowMs: number = Date.now()): Promise<Purge[]> {
  const purges = await enforceRetention(db, policy, nowMs);
  for (const p of purges) await audit.append('archive.purge', p.what, undefined, { table: p.table, before: p.before, rows: p.rows, schema });
  return purges;
}
