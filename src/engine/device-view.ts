import { severityOf, type Severity } from './alert.js';
import { STRAP_NAMES, STRAP_NONE } from './fix.js';
import type { DeviceState, EngineState, Slot, SubjectState, Track } from './state.js';

/**
 * What the console's map and the device register show of a device, read from the engine's own
 * state (no I/O): its wearer, whether a proximity condition watches it (a victim's unit), when
 * it was last heard, its latest battery and strap report, its latest position fix, and the
 * episodes open for its wearer. Read-only; the engine is not changed.
 */
export interface DeviceStatus {
  deviceId: string;
  subjectId: string | null;
  team: string | null;
  /** Watched by a proximity condition: a victim's unit (its position is never shown to a team). */
  watchedAsVictim: boolean;
  /** When the engine last heard from it (epoch ms; live: arrival), -Infinity if never. */
  lastHeardMs: number;
  /** Latest reported battery (0..1), NaN if none reported. */
  battery: number;
  strap: 'ok' | 'open' | 'tampered' | null;
  /** Latest position fix by time; null before the first. NaN accuracy: the fix gave none. */
  lastFix: { tsMs: number; lat: number; lon: number; accuracy: number } | null;
  /** Episodes open for the wearer (live and late-burst ones), and the highest severity among them. */
  openAlerts: number;
  maxSeverity: Severity | null;
}

const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/** One device's status, or null if the engine does not know it. */
export function deviceStatus(st: EngineState, deviceId: string): DeviceStatus | null {
  const d = st.devices.get(deviceId);
  return d === undefined ? null : statusOf(st, d);
}

/** Visits every device the engine knows (worn tags, watched victim units, registered devices). */
export function eachDeviceStatus(st: EngineState, visit: (s: DeviceStatus) => void): void {
  for (const d of st.devices.values()) visit(statusOf(st, d));
}

/** The team of the subject wearing the device, or null (cheap: for per-fix counting). */
export function teamOfDevice(st: EngineState, deviceId: string): string | null {
  const s = st.devices.get(deviceId)?.subject;
  return s === undefined || s === null ? null : s.cfg.team;
}

function statusOf(st: EngineState, d: DeviceState): DeviceStatus {
  const s = d.subject;
  const last = d.lastFix;
  const battery = d.lastBattery === d.lastBattery ? d.lastBattery : (last?.battery ?? NaN);
  const strapCode = d.lastStrap !== STRAP_NONE ? d.lastStrap : (last?.strap ?? STRAP_NONE);
  const out: DeviceStatus = {
    deviceId: d.id,
    subjectId: s === null ? null : s.cfg.id,
    team: s === null ? null : s.cfg.team,
    watchedAsVictim: st.watchers.has(d.id),
    lastHeardMs: d.lastHeardMs,
    battery,
    strap: strapCode === STRAP_NONE ? null : STRAP_NAMES[strapCode],
    lastFix: last === null ? null : { tsMs: last.ts, lat: last.lat, lon: last.lon, accuracy: last.accuracy },
    openAlerts: 0,
    maxSeverity: null,
  };
  if (s !== null) countOpen(s, out);
  return out;
}

function countOpen(s: SubjectState, out: DeviceStatus): void {
  const risk = s.cfg.effectiveRisk;
  const slot = (x: Slot | null): void => {
    if (x === null) return;
    if (x.open !== null) add(x.open.type);
    if (x.late !== null) add(x.late.type);
  };
  const add = (type: Slot['type']): void => {
    out.openAlerts++;
    const sev = severityOf(type, risk);
    if (out.maxSeverity === null || RANK[sev] > RANK[out.maxSeverity]) out.maxSeverity = sev;
  };
  const track = (t: Track): void => {
    slot(t.breach);
    slot(t.warn);
  };
  for (const t of s.tracks) if (t !== null) track(t);
  for (const m of s.layerTracks) if (m !== null) for (const t of m.values()) track(t);
  for (const h of s.healthSlots) slot(h);
}
