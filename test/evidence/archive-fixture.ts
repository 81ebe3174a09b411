// Archive rows for the pack suites, as the archive copier (issue 14 part 1) writes them: the
// fixes, the alert events, and the configuration changes. The events are a true history: they
// are what the real engine raised for these fixes and this configuration (or, in the route
// suite, what the live service raised); a test may then tamper with them.
import type pg from 'pg';
import { ensurePartitions } from '../../src/archive/db.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import { compileConfig, type ConfigInput, type SubjectInput } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix, type FixInput } from '../../src/engine/fix.js';

export interface Scenario {
  settings?: Record<string, unknown>;
  zones: unknown[];
  subjects: SubjectInput[];
  /** When the configuration was recorded (before the fixes). */
  configAt: number;
  fixes: FixInput[];
}

/** What the real engine raises for the scenario (clock driven by the fixes, as replay). */
export function history(sc: Scenario): AlertEvent[] {
  const engine = new Engine(compileConfig({ settings: sc.settings ?? {}, zones: sc.zones, subjects: sc.subjects } as ConfigInput), { clock: 'fixes' });
  const out: AlertEvent[] = [];
  for (const f of [...sc.fixes].sort((a, b) => Number(new Date(a.ts)) - Number(new Date(b.ts)))) {
    engine.ingest(parseFix(f));
    out.push(...engine.drain());
  }
  engine.flush();
  out.push(...engine.drain());
  return out;
}

export async function insertConfig(db: pg.Pool, kind: 'zone' | 'subject' | 'device' | 'team', id: string, at: number, body: unknown): Promise<void> {
  await db.query('INSERT INTO config_changes (kind, item_id, at, body) VALUES ($1, $2, $3, $4)', [kind, id, new Date(at), body === null ? null : JSON.stringify(body)]);
}

export async function insertFixes(db: pg.Pool, fixes: readonly FixInput[], wearer: (deviceId: string) => string | null, delayMs = 2000): Promise<void> {
  const times = fixes.map((f) => Number(new Date(f.ts)));
  await ensurePartitions(db, 'fixes', Math.min(...times), Math.max(...times));
  for (let i = 0; i < fixes.length; i += 500) {
    const chunk = fixes.slice(i, i + 500);
    const values: unknown[] = [];
    const rows = chunk.map((f, k) => {
      const ts = new Date(f.ts);
      values.push(f.deviceId, f.seq, ts, new Date(ts.getTime() + delayMs), wearer(f.deviceId), f.lat ?? null, f.lon ?? null, f.accuracy ?? null, f.battery ?? null, f.strap ?? null);
      const b = k * 10;
      return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8},$${b + 9},$${b + 10},CASE WHEN $${b + 6}::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($${b + 7}::float8, $${b + 6}::float8), 4326) END)`;
    });
    await db.query(`INSERT INTO fixes (device_id, seq, ts, received_at, subject_id, lat, lon, accuracy_m, battery, strap, geom) VALUES ${rows.join(',')}`, values);
  }
}

export async function insertEvents(db: pg.Pool, events: readonly AlertEvent[]): Promise<void> {
  if (events.length === 0) return;
  const times = events.map((e) => Date.parse(e.at));
  await ensurePartitions(db, 'alert_events', Math.min(...times), Math.max(...times));
  for (const [i, e] of events.entries()) {
    await db.query(
      `INSERT INTO alert_events (event_id, episode_id, event, type, severity, subject_id, device_id, team, at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [`${e.episodeId}:${e.event}:${i}`, e.episodeId, e.event, e.type, e.severity, e.subjectId, e.deviceId, e.team, new Date(e.at), JSON.stringify(e)]);
  }
}

/** Config changes, fixes and events of a scenario; returns the events. */
export async function archiveScenario(db: pg.Pool, sc: Scenario): Promise<AlertEvent[]> {
  for (const z of sc.zones) await insertConfig(db, 'zone', (z as { id: string }).id, sc.configAt, z);
  for (const s of sc.subjects) await insertConfig(db, 'subject', s.id, sc.configAt, s);
  const wearers = new Map(sc.subjects.map((s) => [s.deviceId, s.id]));
  await insertFixes(db, sc.fixes, (d) => wearers.get(d) ?? null);
  const events = history(sc);
  await insertEvents(db, events);
  return events;
}

export async function insertDecision(db: pg.Pool, episodeId: string, idx: number, body: Record<string, unknown>): Promise<void> {
  await db.query('INSERT INTO decisions (episode_id, idx, at, body) VALUES ($1, $2, $3, $4)', [episodeId, idx, new Date(String(body.at)), JSON.stringify(body)]);
}

// ---------------------------------------------------------------------------------------------
// Geometry helpers (Leeds): metres to degrees near 53.8 N.

export const M_LAT = 1 / 111_195;
export const M_LON = 1 / (111_195 * Math.cos((53.8 * Math.PI) / 180));
/** A point `east` and `north` metres from (lat, lon). */
export function offset(lat: number, lon: number, east: number, north: number): { lat: number; lon: number } {
  return { lat: +(lat + north * M_LAT).toFixed(6), lon: +(lon + east * M_LON).toFixed(6) };
}
