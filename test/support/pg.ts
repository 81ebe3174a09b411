// PostgreSQL/PostGIS for the archive suites: a REAL server (TEST_DATABASE_URL, default the
// machine's 127.0.0.1:5432 database `test`), one fresh schema per call, dropped afterwards.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { openArchiveDb } from '../../src/archive/db.js';

export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestArchive {
  url: string;
  schema: string;
  db: pg.Pool;
  /** Drop the schema and close the pool. */
  drop(): Promise<void>;
}

/** A migrated archive in a schema of its own (`t_<hex>`). */
export async function freshArchive(): Promise<TestArchive> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openArchiveDb({ url: DATABASE_URL, schema, max: 4 });
  return {
    url: DATABASE_URL,
    schema,
    db,
    async drop() {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
    },
  };
}
