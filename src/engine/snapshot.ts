import type { AlertType, Confidence } from './alert.js';
import type { CompiledCondition } from './config.js';
import { Fix, STRAP_NONE } from './fix.js';
import { Episode, Track, type EngineState, type Position, type Slot, type SubjectState } from './state.js';
import { arm, armCurfew, armSubject, T_CURFEW_DEADLINE, T_CURFEW_END, T_NO_FIX, T_OFFLINE } from './timers.js';

/**
 * Snapshot and restore: the live service persists engine state so a restart resumes exactly.
 * The format is JSON-safe: infinities and NaN become null.
 */

type EpisodeSnapshot = [id: string, type: AlertType, startMs: number, confidence: Confidence, late: boolean];
/** A pending safe run (debounced closing): its start, first safe fix and distance (proximity). */
type SafeRunSnapshot = [sinceMs: number, fix: FixSnapshot, distanceM: number | null];
interface SlotSnapshot {
  open: EpisodeSnapshot | null; late: EpisodeSnapshot | null; lateLastMs: number; hist: (number | null)[]; histN: number; safe?: SafeRunSnapshot | null;
}
interface TrackSnapshot {
  pendingSinceMs: number | null; pendingN?: number; prevWindowEndMs?: number | null; breach: SlotSnapshot | null; warn: SlotSnapshot | null;
}
type FixSnapshot = [seq: number, ts: number, lat: number, lon: number, accuracy: number | null];
interface DeviceSnapshot {
  id: string; seen: number[]; newestMs: number | null; firstMessageMs: number | null; lastMessageMs: number | null; lastHeardMs?: number | null;
  lastPositionMs: number | null; lastFix: FixSnapshot | null; recent: (number | null)[]; recentN: number; lastLateMs: number | null;
}
interface SubjectSnapshot {
  id: string;
  health: (SlotSnapshot | null)[];
  conditions: { id: string; type: string; track: TrackSnapshot | null; layer: [string, TrackSnapshot][] | null; endTimerMs: number | null }[];
}
interface TimerSnapshot { due: number; order: number; kind: number; subjectId: string; cond: number; endMs: number | null }
export interface EngineSnapshot {
  v: 1;
  clockMs: number | null;
  started: boolean;
  devices: DeviceSnapshot[];
  subjects: SubjectSnapshot[];
  timers: TimerSnapshot[];
}

export function snapshotState(st: EngineState): EngineSnapshot {
  const devices: DeviceSnapshot[] = [];
  for (const d of st.devices.values()) {
    devices.push({
      id: d.id, seen: d.seen.toJSON(), newestMs: num(d.newestMs), firstMessageMs: num(d.firstMessageMs),
      lastMessageMs: num(d.lastMessageMs), lastHeardMs: num(d.lastHeardMs), lastPositionMs: num(d.lastPositionMs),
      lastFix: d.lastFix === null ? null : positionToJson(d.lastFix),
      recent: Array.from(d.recent, num), recentN: d.recentN, lastLateMs: num(d.lastLateMs),
    });
  }
  const subjects: SubjectSnapshot[] = [];
  for (const s of st.subjects.values()) {
    subjects.push({
      id: s.cfg.id,
      health: s.healthSlots.map(slotToJson),
      conditions: s.cfg.conditions.map((c, k) => {
        const track = s.tracks[k];
        const layer = s.layerTracks[k];
        return {
          id: c.id,
          type: c.type,
          track: track === null ? null : trackToJson(track),
          layer: layer === null ? null : [...layer].map(([z, t]): [string, TrackSnapshot] => [z, trackToJson(t)]),
          endTimerMs: num(s.endTimerMs[k]),
        };
      }),
    });
  }
  const timers: TimerSnapshot[] = [];
  for (const t of st.timers.items()) {
    if (t.subject.retired || t.fired) continue;
    // `due` is the event time: the live queue key (+ timerWaitS) is derived again on restore.
    timers.push({ due: t.atMs, order: t.order, kind: t.kind, subjectId: t.subject.cfg.id, cond: t.cond, endMs: num(t.endMs) });
  }
  timers.sort((a, b) => a.due - b.due || a.order - b.order);
  return { v: 1, clockMs: num(st.clockMs), started: st.started, devices, subjects, timers };
}

/**
 * Rebuilds the state a snapshot recorded, over the engine's current configuration. Subjects,
 * conditions and zones that no longer exist are dropped; new ones start fresh, with their timers
 * (curfew deadlines, validTo) armed as of the snapshot's clock, as adding them to the running
 * engine would have: the configuration can be newer than the last snapshot (a change that
 * reached a partition while it was being loaded or had no owner), and the snapshot's timers
 * cover only what it knew.
 */
export function restoreState(st: EngineState, snap: EngineSnapshot): void {
  if (snap.v !== 1) throw new Error(`engine snapshot version ${String(snap.v)} is not supported`);
  st.clockMs = den(snap.clockMs, -Infinity);
  st.started = snap.started;
  for (const ds of snap.devices) {
    const d = st.devices.get(ds.id);
    if (d === undefined) continue;
    d.seen.load(ds.seen);
    d.newestMs = den(ds.newestMs, -Infinity);
    d.firstMessageMs = den(ds.firstMessageMs, -Infinity);
    d.lastMessageMs = den(ds.lastMessageMs, -Infinity);
    d.lastHeardMs = den(ds.lastHeardMs ?? ds.lastMessageMs, -Infinity);
    d.lastPositionMs = den(ds.lastPositionMs, -Infinity);
    if (ds.lastFix !== null) d.rememberPosition(fixFromJson(ds.id, ds.lastFix));
    ds.recent.forEach((x, i) => (d.recent[i] = den(x, Infinity)));
    d.recentN = ds.recentN;
    d.lastLateMs = den(ds.lastLateMs, Infinity);
    d.offlineDue = Infinity;
  }
  for (const ss of snap.subjects) {
    const s = st.subjects.get(ss.id);
    if (s === undefined) continue;
    s.healthSlots.forEach((slot, i) => loadSlot(slot, ss.health[i]));
    for (const cs of ss.conditions) {
      const k = conditionIndex(s.cfg.conditions, cs.id, cs.type);
      if (k < 0) continue;
      const track = s.tracks[k];
      if (track !== null && cs.track !== null) loadTrack(track, cs.track);
      const layer = s.layerTracks[k];
      if (layer !== null && cs.layer !== null) {
        for (const [zoneId, ts] of cs.layer) {
          if (!st.config.zones.has(zoneId)) continue;
          const t = new Track(s, s.cfg.conditions[k], zoneId);
          loadTrack(t, ts);
          layer.set(zoneId, t);
        }
      }
      s.endTimerMs[k] = den(cs.endTimerMs, -Infinity);
    }
    // Episodes and pending breaches just loaded: the fast-path rows and flags start over.
    s.hotCfg = null;
    s.healthQuiet = false;
    if (s.tamper.late !== null) s.device.lateSlots.push(s.tamper);
    for (const t of s.tracks) if (t !== null && t.breach.late !== null) s.device.lateSlots.push(t.breach);
    if (s.device.lateSlots.length > 0) st.lateBursts.add(s.device);
  }
  const known = new Map(snap.subjects.map((ss) => [ss.id, ss]));
  // Curfews whose snapshot timer no longer fits their schedule: armed afresh below.
  const stale: [SubjectState, number][] = [];
  for (const ts of snap.timers) {
    const s = st.subjects.get(ts.subjectId);
    if (s === undefined) continue;
    if (ts.kind === T_NO_FIX) continue; // written before no_fix was judged on messages
    // A timer names its condition by position in the configuration the snapshot was taken
    // under; the configuration may have changed since (a condition removed or added ahead of
    // it): find the same condition by id now, and drop the timer if it is gone.
    let k = ts.cond;
    if (k >= 0) {
      const was = known.get(ts.subjectId)?.conditions[k];
      k = was === undefined ? -1 : conditionIndex(s.cfg.conditions, was.id, was.type);
      if (k < 0) continue;
    }
    const endMs = den(ts.endMs, 0);
    if ((ts.kind === T_CURFEW_DEADLINE || ts.kind === T_CURFEW_END) && !curfewTimerFits(s.cfg.conditions[k], ts.kind, ts.due, endMs)) {
      // Its hours changed: the old deadline must not be judged (a false breach), the new one must.
      stale.push([s, k]);
      continue;
    }
    if (ts.kind === T_OFFLINE) s.device.offlineDue = Math.min(s.device.offlineDue, ts.due);
    arm(st, ts.due, ts.kind, s, k, endMs);
  }
  if (!st.started) return; // the first advanceTo arms every subject
  for (const [s, k] of stale) armCurfew(st, s, k, st.clockMs);
  for (const s of st.subjects.values()) {
    const ss = known.get(s.cfg.id);
    if (ss === undefined) {
      armSubject(st, s, st.clockMs);
      continue;
    }
    // A curfew (or scheduled inclusion) the subject did not have when the snapshot was taken.
    const conditions = s.cfg.conditions;
    for (let k = 0; k < conditions.length; k++) {
      const c = conditions[k];
      if (c.inside && c.schedule !== null && conditionIndex(ss.conditions, c.id, c.type) < 0) armCurfew(st, s, k, st.clockMs);
    }
  }
}

/**
 * Whether a restored curfew timer (deadline or window end, of the window ending at endMs) is the
 * one the condition's current schedule would have armed: a window of it ends at endMs and the
 * timer falls at its deadline (start + grace) or, for the end, at endMs.
 */
function curfewTimerFits(c: CompiledCondition, kind: number, due: number, endMs: number): boolean {
  if (!c.inside || c.schedule === null) return false;
  const w = c.schedule.intervalAt(endMs - 1);
  if (w === null || w.endMs !== endMs) return false;
  return kind === T_CURFEW_END ? due === endMs : due === w.startMs + c.graceMs;
}

/** The index of the condition with this id and type, or -1 (a loop: restore visits every condition of a partition). */
function conditionIndex(list: readonly { id: string; type: string }[], id: string, type: string): number {
  for (let k = 0; k < list.length; k++) if (list[k].id === id && list[k].type === type) return k;
  return -1;
}

function slotToJson(slot: Slot): SlotSnapshot | null {
  if (slot.open === null && slot.late === null && slot.hist === null) return null;
  return {
    open: slot.open === null ? null : episodeToJson(slot.open),
    late: slot.late === null ? null : episodeToJson(slot.late),
    lateLastMs: slot.lateLastMs,
    hist: slot.hist === null ? [] : Array.from(slot.hist, num),
    histN: slot.histN,
    safe: slot.safeSinceMs !== slot.safeSinceMs ? null : [slot.safeSinceMs, positionToJson(slot.safePosition()), num(slot.safeDistM)],
  };
}

function loadSlot(slot: Slot, j: SlotSnapshot | null): void {
  if (j === null) return;
  slot.open = j.open === null ? null : episodeFromJson(j.open);
  slot.late = j.late === null ? null : episodeFromJson(j.late);
  slot.lateLastMs = j.lateLastMs;
  slot.hist = j.hist.length === 0 ? null : Float64Array.from(j.hist, (x) => den(x, 0));
  slot.histN = j.histN;
  const safe = j.safe ?? null;
  if (safe !== null) slot.startSafeRun(safe[0], fixFromJson('', safe[1]), den(safe[2], NaN));
}

function trackToJson(t: Track): TrackSnapshot {
  return {
    pendingSinceMs: num(t.pendingSinceMs), pendingN: t.pendingN, prevWindowEndMs: num(t.prevWindowEndMs),
    breach: slotToJson(t.breach), warn: t.warn === null ? null : slotToJson(t.warn),
  };
}

function loadTrack(t: Track, j: TrackSnapshot): void {
  t.pendingSinceMs = den(j.pendingSinceMs, NaN);
  t.pendingN = j.pendingN ?? (t.pendingSinceMs === t.pendingSinceMs ? 1 : 0);
  t.prevWindowEndMs = den(j.prevWindowEndMs ?? null, -Infinity);
  loadSlot(t.breach, j.breach);
  if (t.warn !== null) loadSlot(t.warn, j.warn);
}

function num(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function den(x: number | null, absent: number): number {
  return x === null ? absent : x;
}

function episodeToJson(e: Episode): EpisodeSnapshot {
  return [e.id, e.type, e.startMs, e.confidence, e.late];
}

function episodeFromJson(j: EpisodeSnapshot): Episode {
  return new Episode(j[0], j[1], j[2], j[3], j[4]);
}

function positionToJson(f: Position): FixSnapshot {
  return [f.seq, f.ts, f.lat, f.lon, num(f.accuracy)];
}

function fixFromJson(deviceId: string, j: FixSnapshot): Fix {
  return new Fix(deviceId, j[0], j[1], j[2], j[3], den(j[4], NaN), NaN, STRAP_NONE);
}
