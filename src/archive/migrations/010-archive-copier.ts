/**
 * The archive copier's additions (issue 14 part 1): configuration changes carry the id of the
 * feed entry they were copied from, unique, so a repeated copy changes nothing (the checkpoint in
 * the same transaction already prevents one); decisions are found by time for retention.
 */
export const migration = {
  id: '010-archive-copier',
  sql: `
ALTER TABLE config_changes ADD COLUMN feed_id text;
CREATE UNIQUE INDEX config_changes_feed_id ON config_changes (feed_id);
CREATE INDEX decisions_at ON decisions (at);
`,
};
