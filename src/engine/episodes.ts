import { severityOf, type AlertEvent, type Confidence, type EpisodeEvent } from './alert.js';
import { accuracyOf, Episode, type EngineState, type Position, type Slot, type SubjectState, type Track } from './state.js';
import { formatTime } from './time.js';

/**
 * Episodes and the events they raise: open, upgrade to confirmed, close. An episode belongs to
 * a slot; the slot's track (if any) names the condition and zone in the event.
 */

/** Opens a live episode in the slot, starting at startMs, reported at `at`. */
export function openEpisode(
  st: EngineState, s: SubjectState, slot: Slot, at: number, startMs: number, conf: Confidence, shown: Position | null, distanceM = NaN,
): void {
  const ep = new Episode(episodeId(slot, startMs), slot.type, startMs, conf, false);
  slot.open = ep;
  if (slot.track === null) s.healthQuiet = false;
  emit(st, s, slot, ep, 'opened', at, shown, distanceM);
}

/** Opens a late episode (raised by a late fix at its own time) in the slot. */
export function openLateEpisode(st: EngineState, s: SubjectState, slot: Slot, fix: Position, conf: Confidence): void {
  const ep = new Episode(episodeId(slot, fix.ts), slot.type, fix.ts, conf, true);
  slot.late = ep;
  emit(st, s, slot, ep, 'opened', fix.ts, fix, NaN);
}

export function upgradeEpisode(st: EngineState, s: SubjectState, slot: Slot, at: number, shown: Position | null, distanceM = NaN): void {
  const ep = slot.open as Episode;
  ep.confidence = 'confirmed';
  emit(st, s, slot, ep, 'updated', at, shown, distanceM);
}

/**
 * Closes the slot's live episode, if any (never before it started). With a safe run pending
 * (debounced closing, rules.ts update), the breach ended when that run began: the event says so
 * and shows the run's first fix, whatever closes it (its last fix, a window's end, the order's).
 */
export function closeEpisode(st: EngineState, s: SubjectState, slot: Slot, at: number, shown: Position | null, distanceM = NaN): void {
  const ep = slot.open;
  if (ep === null) return;
  if (slot.safeSinceMs === slot.safeSinceMs) {
    if (slot.safeSinceMs < at) {
      at = slot.safeSinceMs;
      shown = slot.safePosition();
      distanceM = slot.safeDistM;
    }
    slot.safeSinceMs = NaN;
  }
  const end = at < ep.startMs ? ep.startMs : at;
  slot.open = null;
  slot.remember(ep.startMs, end);
  emit(st, s, slot, ep, 'closed', end, shown, distanceM);
}

/** Closes the slot's late episode at `at`. */
export function closeLateEpisode(st: EngineState, s: SubjectState, slot: Slot, at: number, shown: Position | null): void {
  const ep = slot.late;
  if (ep === null) return;
  emit(st, s, slot, ep, 'closed', at, shown, NaN);
  slot.remember(ep.startMs, at);
  slot.late = null;
}

export function closeTrack(st: EngineState, track: Track, at: number): void {
  track.pendingSinceMs = NaN;
  track.pendingN = 0;
  const s = track.subject;
  if (track.breach.open !== null) closeEpisode(st, s, track.breach, at, null);
  if (track.warn !== null && track.warn.open !== null) closeEpisode(st, s, track.warn, at, null);
}

/** Closes every episode of condition k (its track, or each zone's track of a layer condition). */
export function closeCondition(st: EngineState, s: SubjectState, k: number, at: number): void {
  const single = s.tracks[k];
  if (single !== null) closeTrack(st, single, at);
  const layer = s.layerTracks[k];
  if (layer !== null) for (const track of layer.values()) closeTrack(st, track, at);
}

/** Closes every episode the subject has: its conditions' and its device-health ones. */
export function closeSubject(st: EngineState, s: SubjectState, at: number): void {
  for (let k = 0; k < s.cfg.conditions.length; k++) closeCondition(st, s, k, at);
  for (const slot of s.healthSlots) closeEpisode(st, s, slot, at, null);
}

/** Has condition k an open episode (in any zone's track of a layer condition)? */
export function conditionHasOpen(s: SubjectState, k: number): boolean {
  const single = s.tracks[k];
  if (single !== null) return single.hasOpen;
  for (const track of (s.layerTracks[k] as Map<string, Track>).values()) if (track.hasOpen) return true;
  return false;
}

function episodeId(slot: Slot, startMs: number): string {
  return `${slot.idPrefix}:${formatTime(startMs)}`;
}

function emit(
  st: EngineState, s: SubjectState, slot: Slot, ep: Episode, event: EpisodeEvent, at: number, shown: Position | null, distanceM: number,
): void {
  const cfg = s.cfg;
  const track = slot.track;
  const zoneId = track === null ? undefined : (track.zoneId ?? track.cond.zone?.id);
  // Keys in contract order, optional ones only when they apply: output is byte-stable. Built
  // field by field rather than with spreads of small objects (a curfew wave emits thousands).
  const e: AlertEvent = {
    episodeId: ep.id,
    event,
    type: ep.type,
    severity: severityOf(ep.type, cfg.effectiveRisk),
    confidence: ep.confidence,
    subjectId: cfg.id,
    deviceId: cfg.deviceId,
  } as AlertEvent;
  if (track !== null) e.conditionId = track.cond.id;
  if (zoneId !== undefined) e.zoneId = zoneId;
  e.team = cfg.team;
  e.at = formatTime(at);
  if (shown !== null) e.fix = shown.hasPosition ? { seq: shown.seq, lat: shown.lat, lon: shown.lon, accuracy: accuracyOf(st, shown) } : { seq: shown.seq };
  // Proximity: only the band the subject is in (the condition's own threshold), never metres:
  // distances to 1 m from a subject walking past would locate the victim by least squares.
  // A closing event says only that the subject left the band.
  if (distanceM === distanceM && event !== 'closed' && track !== null) {
    e.withinM = ep.type === 'proximity' ? track.cond.distanceM : track.cond.distanceM + track.cond.warnBandM;
  }
  e.late = ep.late;
  st.out.push(e);
}
