import { severityOf, type AlertType, type Severity } from './alert.js';
import type { Risk } from './config.js';
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

/** One device's status (a fresh record), or null if the engine does not know it. */
export function deviceStatus(st: EngineState, deviceId: string): DeviceStatus | null {
  const d = st.devices.get(deviceId);
  return d === undefined ? null : fill(st, d, blank(), { tsMs: NaN, lat: NaN, lon: NaN, accuracy: NaN });
}

/**
 * Visits every device the engine knows (worn tags, watched victim units, registered devices),
 * or only those worn by `team`'s subjects. The record passed is reused for the next device
 * (20,000 devices make no garbage): copy what you keep.
 */
export function eachDeviceStatus(st: EngineState, visit: (s: DeviceStatus) => void, team: string | null = null): void {
  const scratch = blank();
  const fix = { tsMs: NaN, lat: NaN, lon: NaN, accuracy: NaN };
  for (const d of st.devices.values()) {
    if (team !== null && (d.subject === null || d.subject.cfg.team !== team)) continue;
    visit(fill(st, d, scratch, fix));
  }
}

/** The team of the subject wearing the device, or null (cheap: for per-fix counting). */
export function teamOfDevice(st: EngineState, deviceId: string): string | null {
  const s = st.devices.get(deviceId)?.subject;
  return s === undefined || s === null ? null : s.cfg.team;
}

function blank(): DeviceStatus {
  return { deviceId: '', subjectId: null, team: null, watchedAsVictim: false, lastHeardMs: -Infinity, battery: NaN, strap: null, lastFix: null, openAlerts: 0, maxSeverity: null };
}

function fill(st: EngineState, d: DeviceState, out: DeviceStatus, fix: NonNullable<DeviceStatus['lastFix']>): DeviceStatus {
  const s = d.subject;
  const last = d.lastFix;
  const strapCode = d.lastStrap !== STRAP_NONE ? d.lastStrap : (last?.strap ?? STRAP_NONE);
  out.deviceId = d.id;
  out.subjectId = s === null ? null : s.cfg.id;
  out.team = s === null ? null : s.cfg.team;
  out.watchedAsVictim = st.watchers.has(d.id);
  out.lastHeardMs = d.lastHeardMs;
  out.battery = d.lastBattery === d.lastBattery ? d.lastBattery : (last?.battery ?? NaN);
  out.strap = strapCode === STRAP_NONE ? null : STRAP_NAMES[strapCode];
  if (last === null) out.lastFix = null;
  else {
    fix.tsMs = last.ts;
    fix.lat = last.lat;
    fix.lon = last.lon;
    fix.accuracy = last.accuracy;
    out.lastFix = fix;
  }
  out.openAlerts = 0;
  out.maxSeverity = null;
  if (s !== null) countOpen(s, out);
  return out;
}

function countOpen(s: SubjectState, out: DeviceStatus): void {
  const risk = s.cfg.effectiveRisk;
  for (const t of s.tracks) if (t !== null) countTrack(t, risk, out);
  for (const m of s.layerTracks) if (m !== null) for (const t of m.values()) countTrack(t, risk, out);
  for (const h of s.healthSlots) countSlot(h, risk, out);
}

function countTrack(t: Track, risk: Risk, out: DeviceStatus): void {
  countSlot(t.breach, risk, out);
  if (t.warn !== null) countSlot(t.warn, risk, out);
}

function countSlot(x: Slot, risk: Risk, out: DeviceStatus): void {
  if (x.open !== null) countEpisode(x.open.type, risk, out);
  if (x.late !== null) countEpisode(x.late.type, risk, out);
}

function countEpisode(type: AlertType, risk: Risk, out: DeviceStatus): void {
  out.openAlerts++;
  const sev = severityOf(type, risk);
  if (out.maxSeverity === null || RANK[sev] > RANK[out.maxSeverity]) out.maxSeverity = sev;
}
