/**
 * The archive queries an alert-episode pack needs (src/archive/migrations/001-archive.ts). Every
 * read is bounded: one episode's events, one device's fixes over a window of at most
 * MAX_WINDOW_MS, the configuration items one subject names.
 */
import type pg from 'pg';
import { archivedFixes, type ArchivedFix } from '../../archive/trail.js';
import type { AlertEvent } from '../../engine/alert.js';

export type { ArchivedFix };

export interface ConfigChange {
  version: number;
  kind: 'zone' | 'subject' | 'device' | 'team';
  itemId: string;
  at: number;
  body: unknown;
}

type Queryable = Pick<pg.Pool, 'query'>;

/** The episode's events, in the order they happened (opened, updated…, closed). */
export async function episodeEvents(db: Queryable, episodeId: string): Promise<AlertEvent[]> {
  const r = await db.query<{ body: AlertEvent }>(
    `SELECT body FROM alert_events WHERE episode_id = $1
      ORDER BY at, CASE event WHEN 'opened' THEN 0 WHEN 'updated' THEN 1 ELSE 2 END, event_id`, [episodeId]);
  return r.rows.map((x) => x.body);
}

export async function episodeDecisions(db: Queryable, episodeId: string): Promise<Record<string, unknown>[]> {
  const r = await db.query<{ body: Record<string, unknown> }>('SELECT body FROM decisions WHERE episode_id = $1 ORDER BY idx', [episodeId]);
  return r.rows.map((x) => x.body);
}

/** Events of a subject's episodes (every type) with `at` in [fromMs, toMs], in time order. */
export async function subjectEvents(db: Queryable, subjectId: string, fromMs: number, toMs: number): Promise<AlertEvent[]> {
  const r = await db.query<{ body: AlertEvent }>(
    `SELECT body FROM alert_events WHERE subject_id = $1 AND at >= $2 AND at <= $3
      ORDER BY at, CASE event WHEN 'opened' THEN 0 WHEN 'updated' THEN 1 ELSE 2 END, event_id`,
    [subjectId, new Date(fromMs), new Date(toMs)]);
  return r.rows.map((x) => x.body);
}

/** Devices' fixes (heartbeats included) with ts in [fromMs, toMs], at most `limit`, by ts then device and seq. */
export function deviceFixes(db: Queryable, deviceIds: readonly string[], fromMs: number, toMs: number, limit: number): Promise<ArchivedFix[]> {
  return archivedFixes(db, { deviceIds }, fromMs, toMs, limit);
}

/** The latest change of one item at or before atMs (body null: deleted then); null if none. */
export async function configAsOf(db: Queryable, kind: ConfigChange['kind'], itemId: string, atMs: number): Promise<ConfigChange | null> {
  const r = await db.query<{ version: string; at: Date; body: unknown }>(
    `SELECT version, at, body FROM config_changes WHERE kind = $1 AND item_id = $2 AND at <= $3
      ORDER BY at DESC, version DESC LIMIT 1`, [kind, itemId, new Date(atMs)]);
  const row = r.rows[0];
  return row === undefined ? null : { version: Number(row.version), kind, itemId, at: row.at.getTime(), body: row.body };
}

/**
 * The zones as of atMs that are named by id, or belong to one of the layers (the membership as
 * of atMs: a zone's latest body decides). Deleted zones are left out.
 */
export async function zonesAsOf(db: Queryable, ids: readonly string[], layers: readonly string[], atMs: number): Promise<ConfigChange[]> {
  const r = await db.query<{ version: string; item_id: string; at: Date; body: unknown }>(
    `SELECT version, item_id, at, body FROM (
       SELECT DISTINCT ON (item_id) version, item_id, at, body FROM config_changes
        WHERE kind = 'zone' AND at <= $3 AND (item_id = ANY($1) OR cardinality($2::text[]) > 0)
        ORDER BY item_id, at DESC, version DESC) latest
      WHERE body IS NOT NULL AND (item_id = ANY($1) OR body->'properties'->>'layer' = ANY($2))
      ORDER BY item_id`, [ids, layers, new Date(atMs)]);
  return r.rows.map((x) => ({ version: Number(x.version), kind: 'zone', itemId: x.item_id, at: x.at.getTime(), body: x.body }));
}

/** Changes after fromMs up to toMs of the subject and of zones (by id, or any zone when layers are named), in order. */
export async function changesBetween(db: Queryable, subjectId: string, zoneIds: readonly string[], anyZone: boolean, fromMs: number, toMs: number): Promise<ConfigChange[]> {
  const r = await db.query<{ version: string; kind: ConfigChange['kind']; item_id: string; at: Date; body: unknown }>(
    `SELECT version, kind, item_id, at, body FROM config_changes
      WHERE at > $4 AND at <= $5 AND ((kind = 'subject' AND item_id = $1) OR (kind = 'zone' AND ($3 OR item_id = ANY($2))))
      ORDER BY at, version LIMIT 1000`, [subjectId, zoneIds, anyZone, new Date(fromMs), new Date(toMs)]);
  return r.rows.map((x) => ({ version: Number(x.version), kind: x.kind, itemId: x.item_id, at: x.at.getTime(), body: x.body }));
}
