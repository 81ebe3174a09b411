/**
 * "Anyone near here, then" (crime matching): a GiST index on (geom, ts) — btree_gist supplies
 * the timestamptz part — so one index scan bounds both the place and the time window, instead
 * of a place-only scan over the whole day ANDed with the time index. bench:crime measures it
 * (README "Crime-scene matching"). It replaces 001's place-only `fixes_geom` (dropped here:
 * every query of that index works on this one, and each index costs the archive's writes).
 */
export const migration = {
  id: '021-crime-index',
  sql: `
-- Schemas migrate under their own locks; the extension is the database's: one creator at a time.
SELECT pg_advisory_xact_lock(hashtext('iom-create-extension'));
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
CREATE INDEX IF NOT EXISTS fixes_geom_ts ON fixes USING gist (geom, ts);
DROP INDEX IF EXISTS fixes_geom;
`,
};
