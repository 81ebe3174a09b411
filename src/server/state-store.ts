import type { Redis } from 'ioredis';
import { compileZone, type PreparedZone } from '../../geo/index.js';
import {
  compileSubject, parseSettings, parseStoredSubject, type CompiledConfig, type CompiledSubject, type Settings,
} from '../engine/config.js';
import { Engine, type EngineSnapshot } from '../engine/engine.js';
import { buildLayerIndexes } from '../engine/layer-index.js';
import { writeAlertRecords } from '../alerts/alert-record.js';
import { fixFromLog, tickFromLog } from '../engine/fix-codec.js';
import type { Keys } from './keys.js';

export interface LoadedState {
  engine: Engine;
  /** The newest ingest-log entry the engine has consumed (null: none yet). */
  lastLogId: string | null;
  /** Zones or subjects in Redis that no longer compile (kept in Redis, left out of the engine). */
  problems: string[];
  /** Log entries replayed on top of the snapshot. */
  replayed: number;
}

export interface StateLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Rebuilds the engine exactly as it was: configuration from Redis, then the last snapshot, then
 * every ingest-log entry after it (fix batches and clock ticks) replayed in order. Alert
 * records and outbox events of the replayed entries are written again; both are idempotent
 * (hash fields, set members, job ids), so an episode is neither lost nor doubled.
 */
export async function loadState(redis: Redis, keys: Keys, settingsJson: string, log: StateLogger): Promise<LoadedState> {
  const settings: Settings = parseSettings(settingsJson, 'ENGINE_SETTINGS');
  const problems: string[] = [];
  const zones = new Map<string, PreparedZone>();
  const rawZones = await redis.hgetall(keys.zones);
  for (const [id, json] of Object.entries(rawZones)) {
    try {
      zones.set(id, compileZone(JSON.parse(json)));
    } catch (e) {
      problems.push(`zone ${id}: ${(e as Error).message}`);
    }
  }
  const layers = buildLayerIndexes(zones.values());

  const subjects: CompiledSubject[] = [];
  const devices = new Set<string>();
  const rawSubjects = await redis.hgetall(keys.subjects);
  for (const id of Object.keys(rawSubjects).sort()) {
    try {
      const { subject: parsed, dropped } = parseStoredSubject(JSON.parse(rawSubjects[id]));
      if (dropped.length > 0) problems.push(`subject ${id}: ignored unknown fields ${dropped.join(', ')} (stored before input was strict)`);
      if (devices.has(parsed.deviceId)) throw new Error(`device ${parsed.deviceId} is worn by another subject`);
      devices.add(parsed.deviceId);
      subjects.push(compileSubject(parsed, zones, settings, `subject ${id}`));
    } catch (e) {
      problems.push(`subject ${id}: ${(e as Error).message}`);
    }
  }
  // The device register: devices not retired are known to the engine even when no one wears them.
  const registered: string[] = [];
  for (const [id, json] of Object.entries(await redis.hgetall(keys.devices))) {
    if ((JSON.parse(json) as { status?: string }).status !== 'retired') registered.push(id);
  }
  registered.sort();
  const config: CompiledConfig = { settings, zones, layers, subjects, devices: registered };
  const engine = new Engine(config, { clock: 'external' });

  let fromId = '-';
  let lastLogId: string | null = null;
  const snapJson = await redis.get(keys.snapshot);
  if (snapJson !== null) {
    const snap = JSON.parse(snapJson) as { logId: string; engine: EngineSnapshot };
    engine.restore(snap.engine);
    fromId = `(${snap.logId}`;
    lastLogId = snap.logId;
  }
  let replayed = 0;
  for (;;) {
    const entries = await redis.xrange(keys.log, fromId, '+', 'COUNT', 500);
    if (entries.length === 0) break;
    for (const [id, fields] of entries) {
      const items = JSON.parse(fields[1]) as Parameters<typeof fixFromLog>[0][];
      for (const item of items) {
        const tick = tickFromLog(item);
        if (tick !== null) engine.advanceTo(tick);
        else engine.ingest(fixFromLog(item) as NonNullable<ReturnType<typeof fixFromLog>>);
      }
      lastLogId = id;
      replayed++;
    }
    const events = engine.drain();
    if (events.length > 0) {
      const m = redis.multi();
      writeAlertRecords(m, keys, events);
      await m.exec();
    }
    fromId = `(${lastLogId}`;
  }
  if (problems.length > 0) log.warn({ problems }, 'some stored configuration did not compile and was left out (or had unknown fields ignored)');
  log.info({ zones: zones.size, subjects: subjects.length, replayed, snapshot: snapJson !== null }, 'engine state loaded');
  return { engine, lastLogId, problems, replayed };
}
