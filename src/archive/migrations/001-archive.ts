/**
 * The archive's core tables (issue 14). Times are timestamptz; positions are WGS84 points in
 * `geometry(Point, 4326)` (distances are computed as geography where metres matter). Tables that
 * grow with time are partitioned by day on their time column so retention drops whole partitions
 * (`ensurePartitions` in db.ts creates them ahead of the data).
 */
export const migration = {
  id: '001-archive',
  sql: `
CREATE TABLE fixes (
  device_id    text        NOT NULL,
  seq          bigint      NOT NULL,
  ts           timestamptz NOT NULL,          -- device time of the fix
  received_at  timestamptz NOT NULL,          -- service time it was recorded
  subject_id   text,                          -- who wore the device then (null: nobody)
  lat          double precision,              -- null for a heartbeat
  lon          double precision,
  accuracy_m   real,
  battery      real,
  strap        text,
  late         boolean     NOT NULL DEFAULT false,
  geom         geometry(Point, 4326),
  PRIMARY KEY (device_id, seq, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX fixes_subject_ts ON fixes (subject_id, ts);
CREATE INDEX fixes_geom ON fixes USING gist (geom);
CREATE INDEX fixes_ts_brin ON fixes USING brin (ts);

CREATE TABLE alert_events (
  event_id     text        NOT NULL,          -- unique per event (idempotent copy)
  episode_id   text        NOT NULL,
  event        text        NOT NULL,          -- opened | updated | closed
  type         text        NOT NULL,
  severity     text        NOT NULL,
  subject_id   text        NOT NULL,
  device_id    text        NOT NULL,
  team         text        NOT NULL,
  at           timestamptz NOT NULL,
  body         jsonb       NOT NULL,          -- the AlertEvent as delivered (contract section 3)
  PRIMARY KEY (event_id, at)
) PARTITION BY RANGE (at);
CREATE INDEX alert_events_episode ON alert_events (episode_id, at);
CREATE INDEX alert_events_subject ON alert_events (subject_id, at);

CREATE TABLE decisions (
  episode_id   text        NOT NULL,
  idx          integer     NOT NULL,          -- position in the alert's append-only history
  at           timestamptz NOT NULL,
  body         jsonb       NOT NULL,          -- who, role, outcome, note, at (as the API shows it)
  PRIMARY KEY (episode_id, idx)
);

-- Every configuration change (zones, subjects, devices, teams), so a pack can replay the
-- archived fixes with the configuration then in force. body null: the item was deleted.
CREATE TABLE config_changes (
  version      bigserial   PRIMARY KEY,
  kind         text        NOT NULL,          -- zone | subject | device | team
  item_id      text        NOT NULL,
  at           timestamptz NOT NULL,
  body         jsonb
);
CREATE INDEX config_changes_item ON config_changes (kind, item_id, at);

-- Where each archive copier has got to (resumed after a crash; written in the same transaction
-- as the rows it covers).
CREATE TABLE archive_checkpoints (
  stream       text        PRIMARY KEY,
  position     text        NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
`,
};
