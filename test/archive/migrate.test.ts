import { afterEach, expect, test } from 'vitest';
import { ensurePartitions, migrate, partitionName } from '../../src/archive/db.js';
import { MIGRATIONS } from '../../src/archive/migrations/index.js';
import { freshArchive, type TestArchive } from '../support/pg.js';

let a: TestArchive | null = null;
afterEach(async () => { await a?.drop(); a = null; });

test('migrations apply once, on a real PostGIS, and rows land in the day partition', async () => {
  a = await freshArchive();
  expect(await migrate(a.db, a.schema, MIGRATIONS)).toEqual([]); // second run: nothing to do
  const day = Date.parse('2026-12-06T10:00:00Z');
  await ensurePartitions(a.db, 'fixes', day, day);
  await a.db.query(
    `INSERT INTO fixes (device_id, seq, ts, received_at, lat, lon, accuracy_m, geom)
     VALUES ('TAG-1', 1, $1, $1, 53.8, -1.55, 10, ST_SetSRID(ST_MakePoint(-1.55, 53.8), 4326))`,
    [new Date(day)],
  );
  const r = await a.db.query('SELECT tableoid::regclass::text AS part FROM fixes');
  expect(r.rows[0].part).toBe(partitionName('fixes', day));
  // a fix outside every partition is refused, not silently lost
  await expect(a.db.query(`INSERT INTO fixes (device_id, seq, ts, received_at) VALUES ('TAG-1', 2, '2030-01-01Z', now())`)).rejects.toThrow(/no partition/);
});
