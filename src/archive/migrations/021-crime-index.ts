/**
 * "Anyone near here, then" (crime matching): a GiST index on (geom, ts) — btree_gist supplies
 * the timestamptz part — so one index scan bounds both the place and the time window, instead
 * of a place-only scan over the whole day ANDed with the time index. bench:crime measures it
 * (README "Crime-scene matching"). It can stand in for 001's place-only `fixes_geom`, which
 * the merge may then drop: every query of that index works on this one.
 */
export const migration = {
  id: '021-crime-index',
  sql: `
-- Schemas migrate under their own locks; the extension is the database's: one creator at a time.
SELECT pg_advisory_xact_lock(hashtext('iom-create-extension'));
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
CREATE INDEX IF NOT EXISTS fixes_geom_ts ON fixes USING gist (geom, ts);
`,
};
