// Builders for engine scenario tests: configurations, zones, fixes, and a replay runner that
// turns the NDJSON output back into events and compact one-line summaries for tables.
import { expect } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import type { FixInput } from '../../src/engine/fix.js';
import { replay } from '../../src/cli/replay.js';

// ---------------------------------------------------------------------------------------------
// Geometry (small offsets near London; the engine measures with haversine on R = 6371008.8 m)

export const EARTH_R = 6371008.8;
export const M_PER_DEG_LAT = (EARTH_R * Math.PI) / 180;

/** Degrees of latitude for `m` metres north. */
export function dLat(m: number): number {
  return m / M_PER_DEG_LAT;
}

/** Degrees of longitude for `m` metres east at latitude `lat`. */
export function dLon(m: number, lat: number): number {
  return m / (M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180));
}

export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2
    + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * EARTH_R * Math.asin(Math.min(1, Math.sqrt(a)));
}

export type LatLon = readonly [lat: number, lon: number];

/** A point `north` metres north and `east` metres east of `p`. */
export function move(p: LatLon, north: number, east = 0): LatLon {
  const lat = p[0] + dLat(north);
  return [lat, p[1] + dLon(east, p[0])];
}

// ---------------------------------------------------------------------------------------------
// Zones (GeoJSON Features)

type Props = Record<string, unknown>;

function ring(lon0: number, lat0: number, lon1: number, lat1: number): number[][] {
  return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]];
}

/** An axis-aligned rectangle [lon0, lat0] – [lon1, lat1]. */
export function rect(id: string, lon0: number, lat0: number, lon1: number, lat1: number, props: Props = {}): object {
  return { type: 'Feature', id, geometry: { type: 'Polygon', coordinates: [ring(lon0, lat0, lon1, lat1)] }, properties: { name: id, ...props } };
}

/** A rectangle with a rectangular hole (the hole ring wound the other way, as RFC 7946 asks). */
export function rectWithHole(
  id: string, outer: [number, number, number, number], hole: [number, number, number, number], props: Props = {},
): object {
  const h = ring(hole[0], hole[1], hole[2], hole[3]).reverse();
  return {
    type: 'Feature', id,
    geometry: { type: 'Polygon', coordinates: [ring(outer[0], outer[1], outer[2], outer[3]), h] },
    properties: { name: id, ...props },
  };
}

/** A circle: Point + properties.radiusM. */
export function circle(id: string, lon: number, lat: number, radiusM: number, props: Props = {}): object {
  return { type: 'Feature', id, geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { radiusM, name: id, ...props } };
}

// The standard exclusion zone of these tests: the contract's example square.
export const ZX = { lon0: -0.13, lat0: 51.5, lon1: -0.12, lat1: 51.51 } as const;
export const ZX_CENTRE: LatLon = [51.505, -0.125];
/** On the zone's south edge, half way along it. */
export const ZX_SOUTH_EDGE: LatLon = [51.5, -0.125];
export function zoneX(id = 'Z-X', props: Props = {}): object {
  return rect(id, ZX.lon0, ZX.lat0, ZX.lon1, ZX.lat1, props);
}
/** `m` metres south of the zone's south edge (negative: inside). */
export function southOfX(m: number): LatLon {
  return move(ZX_SOUTH_EDGE, -m);
}

// The standard curfew address: a 60 m circle.
export const HOME: LatLon = [51.52, -0.1];
export function homeZone(id = 'Z-home'): object {
  return circle(id, HOME[1], HOME[0], 60);
}
export const AWAY: LatLon = move(HOME, 2000, 0);

// ---------------------------------------------------------------------------------------------
// Configuration

export interface SubjectOpts {
  id?: string;
  deviceId?: string;
  team?: string;
  risk?: 'low' | 'medium' | 'high' | 'very_high';
  [k: string]: unknown;
}

export function subject(conditions: object[], opts: SubjectOpts = {}): Record<string, unknown> {
  return {
    id: 'S-1', deviceId: 'TAG-1', team: 'team-a', risk: 'high', timezone: 'Europe/London',
    ...opts,
    conditions,
  };
}

/** Quiet health timers unless a test sets them: 30 days. */
export const QUIET = { noFixAfterS: 30 * 86400, offlineAfterS: 30 * 86400 } as const;

export function config(subjects: object[], zones: object[] = [], settings: Record<string, unknown> = QUIET): Record<string, unknown> {
  return { settings, zones, subjects };
}

// ---------------------------------------------------------------------------------------------
// Fixes

/** The wire form of a fix (contract section 1). */
export type FixIn = FixInput;

export interface FixExtra {
  accuracy?: number;
  battery?: number;
  strap?: 'ok' | 'open' | 'tampered';
  seq?: number;
}

/** A device that numbers its messages 1, 2, 3, … unless told otherwise. */
export class Tag {
  private next = 1;
  constructor(readonly id: string) {}

  /** A position fix (accuracy 5 m unless given). */
  at(ts: string | number, p: LatLon, extra: FixExtra = {}): FixIn {
    const seq = extra.seq ?? this.next++;
    if (extra.seq !== undefined) this.next = Math.max(this.next, extra.seq + 1);
    const f: FixIn = { deviceId: this.id, seq, ts, lat: p[0], lon: p[1], accuracy: 5 };
    if (extra.accuracy !== undefined) f.accuracy = extra.accuracy;
    if (extra.battery !== undefined) f.battery = extra.battery;
    if (extra.strap !== undefined) f.strap = extra.strap;
    return f;
  }

  /** A position fix with no accuracy (the configured default applies). */
  atNoAcc(ts: string | number, p: LatLon): FixIn {
    return { deviceId: this.id, seq: this.next++, ts, lat: p[0], lon: p[1] };
  }

  /** A heartbeat: status only, no position. */
  beat(ts: string | number, extra: FixExtra = {}): FixIn {
    const seq = extra.seq ?? this.next++;
    const f: FixIn = { deviceId: this.id, seq, ts };
    if (extra.battery !== undefined) f.battery = extra.battery;
    if (extra.strap !== undefined) f.strap = extra.strap;
    return f;
  }
}

export function ndjson(fixes: readonly object[]): string {
  return fixes.map((f) => JSON.stringify(f)).join('\n') + '\n';
}

/** `day('2026-11-23')('19:02:11')` -> '2026-11-23T19:02:11Z' (UTC). */
export function day(date: string): (hhmm: string) => string {
  return (hhmm) => `${date}T${hhmm.length === 5 ? `${hhmm}:00` : hhmm}Z`;
}

// ---------------------------------------------------------------------------------------------
// Running

export interface Run {
  raw: string;
  events: AlertEvent[];
  warnings: string[];
}

/** Replays and asserts the input was accepted. */
export function run(cfg: unknown, fixes: readonly object[] | string): Run {
  const text = typeof fixes === 'string' ? fixes : ndjson(fixes);
  const r = replay(cfg, text);
  expect(r.errors).toEqual([]);
  expect(r.output).not.toBeNull();
  const raw = r.output as string;
  const events = raw === '' ? [] : raw.trimEnd().split('\n').map((l) => JSON.parse(l) as AlertEvent);
  return { raw, events, warnings: r.warnings };
}

/**
 * One line per event: `event type[@zone] at[ late][ conf]`, e.g.
 * `opened exclusion@Z-X 2026-11-23T19:02:11Z`.
 */
export function brief(e: AlertEvent, withConfidence = false): string {
  return `${e.event} ${e.type}${e.zoneId === undefined ? '' : `@${e.zoneId}`} ${e.at}${e.late ? ' late' : ''}${withConfidence ? ` ${e.confidence}` : ''}`;
}

export function briefs(events: readonly AlertEvent[], types?: readonly string[], withConfidence = false): string[] {
  return events.filter((e) => types === undefined || types.includes(e.type)).map((e) => brief(e, withConfidence));
}

/** Replays and returns the summaries of the events of the given types (all types if omitted). */
export function trace(cfg: unknown, fixes: readonly object[] | string, types?: readonly string[], withConfidence = false): string[] {
  return briefs(run(cfg, fixes).events, types, withConfidence);
}

export const LOCATION_TYPES = ['exclusion', 'exclusion_buffer', 'curfew', 'inclusion', 'proximity', 'proximity_warning'] as const;
export const HEALTH_TYPES = ['tamper', 'battery_low', 'no_fix', 'device_offline'] as const;

/**
 * Structural invariants every output must satisfy: per episodeId exactly one opened first, at
 * most one updated, at most one closed and nothing after it; device-health types carry no
 * conditionId.
 */
export function checkEpisodeInvariants(events: readonly AlertEvent[]): void {
  const state = new Map<string, { opened: number; updated: number; closed: number }>();
  for (const e of events) {
    let s = state.get(e.episodeId);
    if (s === undefined) {
      s = { opened: 0, updated: 0, closed: 0 };
      state.set(e.episodeId, s);
    }
    if (e.event === 'opened') {
      expect(s, `${e.episodeId} opened twice`).toEqual({ opened: 0, updated: 0, closed: 0 });
      s.opened++;
    } else {
      expect(s.opened, `${e.episodeId} ${e.event} before opened`).toBe(1);
      expect(s.closed, `${e.episodeId} ${e.event} after closed`).toBe(0);
      if (e.event === 'updated') {
        s.updated++;
        expect(s.updated, `${e.episodeId} updated twice`).toBe(1);
        expect(e.confidence).toBe('confirmed');
      } else s.closed++;
    }
    if ((HEALTH_TYPES as readonly string[]).includes(e.type)) expect(e.conditionId).toBeUndefined();
    else expect(e.conditionId).toBeDefined();
  }
}

/**
 * Every victim coordinate found in the NDJSON text (exactly, or to 5 decimals ≈ 1 m) and every
 * number in the events equal to one. Strings that also occur in the subject's own coordinates
 * (which the output may show) are not counted.
 */
export function victimLeaks(raw: string, events: AlertEvent[], victimFixes: FixIn[], subjectFixes: FixIn[] = []): string[] {
  const own = subjectFixes.flatMap((f) => (f.lat === undefined ? [] : [String(f.lat), String(f.lon)]));
  const ownNums = new Set(subjectFixes.flatMap((f) => (f.lat === undefined ? [] : [f.lat, f.lon as number])));
  const leaks: string[] = [];
  const coords = new Set<number>();
  for (const f of victimFixes) {
    if (f.lat === undefined || f.lon === undefined) continue;
    for (const v of [f.lat, f.lon]) if (!ownNums.has(v)) coords.add(v);
    for (const v of [String(f.lat), String(f.lon), f.lat.toFixed(5), f.lon.toFixed(5)]) {
      if (raw.includes(v) && !own.some((o) => o.includes(v))) leaks.push(`text contains ${v}`);
    }
  }
  const walk = (x: unknown, path: string): void => {
    if (typeof x === 'number' && coords.has(x)) leaks.push(`${path} = ${x}`);
    else if (typeof x === 'object' && x !== null) for (const [k, v] of Object.entries(x)) walk(v, `${path}.${k}`);
  };
  events.forEach((e, i) => walk(e, `events[${i}]`));
  return leaks;
}
