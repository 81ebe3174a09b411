import pg from 'pg';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/** Tables partitioned by day on their time column (001-archive). */
export const PARTITIONED = { fixes: 'ts', alert_events: 'at' } as const;
export type PartitionedTable = keyof typeof PARTITIONED;

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const DAY_MS = 86_400_000;

export interface ArchiveDbOptions {
  /** PostgreSQL connection string (DATABASE_URL). */
  url: string;
  /** Schema holding the archive's tables (default `iom`; tests use one each). */
  schema?: string;
  /** Pool size (default 8). */
  max?: number;
}

/**
 * A pool on the archive's schema, migrated. PostGIS lives in `public` (CREATE EXTENSION needs a
 * superuser or a trusted-extension grant the first time); every connection's search_path is the
 * archive schema, then public.
 */
export async function openArchiveDb(options: ArchiveDbOptions): Promise<pg.Pool> {
  const schema = options.schema ?? 'iom';
  if (!SCHEMA_RE.test(schema)) throw new Error(`archive schema "${schema}" is not a plain lower-case SQL name`);
  const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 8, options: `-c search_path=${schema},public` });
  pool.on('error', () => { /* an idle client's error: the next query reports it */ });
  try {
    await migrate(pool, schema, MIGRATIONS);
  } catch (e) {
    await pool.end();
    throw e;
  }
  return pool;
}

/** Apply the migrations not yet applied, each in its own transaction, under an advisory lock. */
export async function migrate(pool: pg.Pool, schema: string, migrations: readonly Migration[]): Promise<string[]> {
  const c = await pool.connect();
  const applied: string[] = [];
  try {
    await c.query('CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public');
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [`iom-migrate:${schema}`]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const done = new Set((await c.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await c.query('BEGIN');
        try {
          await c.query(m.sql);
          await c.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK');
          throw new Error(`archive migration ${m.id} failed: ${(e as Error).message}`);
        }
        applied.push(m.id);
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`iom-migrate:${schema}`]);
    }
  } finally {
    c.release();
  }
  return applied;
}

/** The UTC day (epoch ms of its midnight) a time falls in. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Partition name of a table for a UTC day: `fixes_p20261206`. */
export function partitionName(table: PartitionedTable, dayMs: number): string {
  return `${table}_p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Create the daily partitions of `table` covering [fromMs, toMs] that do not exist yet. */
export async function ensurePartitions(db: pg.Pool | pg.PoolClient, table: PartitionedTable, fromMs: number, toMs: number): Promise<void> {
  for (let d = dayOf(fromMs); d <= dayOf(toMs); d += DAY_MS) {
    const from = new Date(d).toISOString();
    const to = new Date(d + DAY_MS).toISOString();
    await db.query(`CREATE TABLE IF NOT EXISTS ${partitionName(table, d)} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`);
  }
}

/** Runs `work` in one transaction on a client of its own: COMMIT when it returns, ROLLBACK when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    try {
      const out = await work(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    c.release();
  }
}
