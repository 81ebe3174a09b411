import type { Redis } from 'ioredis';
import { compileZone, type PreparedZone } from '../../geo/index.js';
import {
  compileSubject, parseSettings, parseStoredSubject, type CompiledConfig, type CompiledSubject, type Settings,
} from '../engine/config.js';
import { Engine, type EngineSnapshot } from '../engine/engine.js';
import { buildLayerIndexes } from '../engine/layer-index.js';
import { writeAlertProjection } from '../alerts/alert-record.js';
import type { Fix } from '../engine/fix.js';
import { fixFromLog, tickFromLog } from '../engine/fix-codec.js';
import { stageTrail } from './trail-append.js';
import type { Keys } from './keys.js';
import { partitionOf } from './partitions.js';

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

/** The configuration in Redis, compiled once and split by partition (docs/scaling.md). */
export interface LoadedConfig {
  settings: Settings;
  /** Shared by every partition engine of the process. */
  zones: Map<string, PreparedZone>;
  layers: CompiledConfig['layers'];
  /** Per partition: its subjects (sorted by id) and its registered devices (sorted). */
  subjects: CompiledSubject[][];
  devices: string[][];
  problems: string[];
}

/** Reads and compiles zones, subjects and the device register, each subject in its device's partition. */
export async function loadConfig(redis: Redis, keys: Keys, settingsJson: string, log: StateLogger): Promise<LoadedConfig> {
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
  const P = keys.partitions;
  const subjects: CompiledSubject[][] = Array.from({ length: P }, () => []);
  const devices = new Set<string>();
  const rawSubjects = await redis.hgetall(keys.subjects);
  for (const id of Object.keys(rawSubjects).sort()) {
    try {
      const { subject: parsed, dropped } = parseStoredSubject(JSON.parse(rawSubjects[id]));
      if (dropped.length > 0) problems.push(`subject ${id}: ignored unknown fields ${dropped.join(', ')} (stored before input was strict)`);
      if (devices.has(parsed.deviceId)) throw new Error(`device ${parsed.deviceId} is worn by another subject`);
      devices.add(parsed.deviceId);
      subjects[partitionOf(parsed.deviceId, P)].push(compileSubject(parsed, zones, settings, `subject ${id}`));
    } catch (e) {
      problems.push(`subject ${id}: ${(e as Error).message}`);
    }
  }
  // The device register: devices not retired are known to the engine even when no one wears them.
  const registered: string[][] = Array.from({ length: P }, () => []);
  for (const [id, json] of Object.entries(await redis.hgetall(keys.devices))) {
    if ((JSON.parse(json) as { status?: string }).status !== 'retired') registered[partitionOf(id, P)].push(id);
  }
  for (const r of registered) r.sort();
  if (problems.length > 0) log.warn({ problems }, 'some stored configuration did not compile and was left out (or had unknown fields ignored)');
  return { settings, zones, layers, subjects, devices: registered, problems };
}

/** A fresh partition engine over the shared zones (clock external, nothing restored yet). */
export function partitionEngine(c: Pick<LoadedConfig, 'settings' | 'zones' | 'layers'>, subjects: readonly CompiledSubject[], devices: readonly string[]): Engine {
  const sorted = [...subjects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return new Engine({ settings: c.settings, zones: c.zones, layers: c.layers, subjects: sorted, devices: [...devices].sort() }, { clock: 'external' });
}

/**
 * Brings a partition engine (fresh from partitionEngine) to exactly where its owner left it: the
 * partition's last snapshot, then every log entry after it (fix batches and clock ticks) in
 * order. Alert records of replayed entries are written again (idempotent); their outbox entries
 * are already in the partition outbox (same fenced commit as the log entry).
 */
export interface Retrail {
  /** Whether this partition writes the device's trail (CommitterOptions.writesTrail). */
  writesTrail(deviceId: string): boolean;
  trailMaxPerDevice: number;
}

export async function restorePartition(redis: Redis, keys: Keys, n: number, engine: Engine, retrail: Retrail | null = null): Promise<{ lastLogId: string | null; replayed: number; snapshot: boolean }> {
  const pk = keys.partition(n);
  let fromId = '-';
  let lastLogId: string | null = null;
  let snapLogId: string | null = null;
  const snapJson = await redis.get(pk.snapshot);
  if (snapJson !== null) {
    const snap = JSON.parse(snapJson) as { logId: string; engine: EngineSnapshot };
    engine.restore(snap.engine);
    snapLogId = snap.logId;
    // Two-step commits: the snapshot's own entry is read too (its trail is written again).
    fromId = retrail === null ? `(${snap.logId}` : snap.logId;
    lastLogId = snap.logId;
  }
  let replayed = 0;
  for (;;) {
    const entries = await redis.xrange(pk.log, fromId, '+', 'COUNT', 500);
    if (entries.length === 0) break;
    const trail = retrail === null ? null : redis.multi();
    for (const [id, fields] of entries) {
      const trailed: Fix[] = [];
      const items = JSON.parse(fields[1]) as Parameters<typeof fixFromLog>[0][];
      const replay = id !== snapLogId;
      for (const item of items) {
        const tick = tickFromLog(item);
        if (tick !== null) {
          if (replay) engine.advanceTo(tick);
          continue;
        }
        const fix = fixFromLog(item) as NonNullable<ReturnType<typeof fixFromLog>>;
        if (replay) engine.ingest(fix);
        // The last group's second step may have been cut off: its trail entries are written
        // again under their deterministic ids (Redis refuses those already there).
        if (trail !== null && retrail !== null && retrail.writesTrail(fix.deviceId)) trailed.push(fix);
      }
      if (trail !== null && retrail !== null) stageTrail(trail, keys, trailed, retrail.trailMaxPerDevice, id);
      lastLogId = id;
      if (replay) replayed++;
    }
    if (trail !== null) await trail.exec();
    const events = engine.drain();
    if (events.length > 0) {
      const m = redis.multi();
      writeAlertProjection(m, keys, events);
      await m.exec();
    }
    fromId = `(${lastLogId}`;
  }
  return { lastLogId, replayed, snapshot: snapJson !== null };
}

/**
 * Rebuilds one engine over every partition's configuration, restored from partition 0 (the
 * whole store when PARTITIONS=1): what a one-partition service loads.
 */
export async function loadState(redis: Redis, keys: Keys, settingsJson: string, log: StateLogger): Promise<LoadedState> {
  const c = await loadConfig(redis, keys, settingsJson, log);
  const engine = partitionEngine(c, c.subjects.flat(), c.devices.flat());
  const r = await restorePartition(redis, keys, 0, engine);
  log.info({ zones: c.zones.size, subjects: engine.compiledSubjects().length, replayed: r.replayed, snapshot: r.snapshot }, 'engine state loaded');
  return { engine, lastLogId: r.lastLogId, problems: c.problems, replayed: r.replayed };
}
