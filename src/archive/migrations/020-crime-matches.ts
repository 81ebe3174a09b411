/**
 * Crime-scene matching runs and their candidates (issue 14 part 2; src/evidence/crime/). A run
 * keeps what it was asked (the crimes as parsed, the purpose, who), how it answered (algorithm
 * version and parameters) and when; each candidate (crime × subject) keeps its evidence and its
 * review: `pending` until a person qualifies or rejects it with a note (history append-only).
 */
export const migration = {
  id: '020-crime-matches',
  sql: `
CREATE TABLE crime_runs (
  run_id            text        PRIMARY KEY,
  created_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),  -- ms: the list cursor's precision
  created_by        jsonb       NOT NULL,          -- {role, tokenId}
  purpose           text        NOT NULL,
  algorithm_version text        NOT NULL,
  params            jsonb       NOT NULL,          -- the matching parameters in force
  crimes            jsonb       NOT NULL,          -- the crimes as parsed (times UTC, WGS84)
  rejected          jsonb       NOT NULL,          -- rows refused, by row and field
  stats             jsonb       NOT NULL
);
CREATE INDEX crime_runs_created ON crime_runs (created_at DESC, run_id DESC);

CREATE TABLE crime_candidates (
  run_id        text        NOT NULL REFERENCES crime_runs (run_id) ON DELETE CASCADE,
  candidate_id  text        NOT NULL,
  crime_ref     text        NOT NULL,
  subject_id    text        NOT NULL,
  basis         text        NOT NULL,              -- fix | accuracy | interpolated | gap
  closest_m     double precision NOT NULL,
  closest_at    timestamptz NOT NULL,
  evidence      jsonb       NOT NULL,              -- closest approach, supporting fixes, passages, gaps
  state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'qualified', 'rejected')),
  reviews       jsonb       NOT NULL DEFAULT '[]', -- every decision: {decision, note, name, role, tokenId, at}
  PRIMARY KEY (run_id, candidate_id)
);
CREATE INDEX crime_candidates_state ON crime_candidates (run_id, state);
`,
};
