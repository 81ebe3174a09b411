import { haversineM } from '../../geo/index.js';
import type { Confidence } from './alert.js';
import { innerSizeM } from './config.js';
import { STRAP_NONE, STRAP_OK, type Fix } from './fix.js';
import { closeEpisode, conditionHasOpen, openEpisode, upgradeEpisode } from './episodes.js';
import {
  accuracyOf, hitsInclude, layerTrackFor, marginOf, type DeviceState, type EngineState, type Position, type Reading, type Slot,
  type SubjectState, type Track,
} from './state.js';
import { idleAndClear, noteQuiet, noteTrackIdle, noteVictimPosition, prepareConditionSlots, ROW, skippable } from './condition-slots.js';
import { armWindowEnd } from './timers.js';

/**
 * The rules applied to an in-order fix: device health, then each location condition
 * (exclusion by zone or by layer, curfew, proximity), all feeding one episode state machine
 * (update). Late fixes have their own rules (late-fixes.ts).
 */

/** tamper, battery_low, no_fix and device_offline, from one in-order fix. */
export function judgeHealth(st: EngineState, s: SubjectState, fix: Fix): void {
  const settings = st.settings;
  // The common case changes nothing: no health episode open (healthQuiet, without reading the
  // four slots), a position, the strap fine or unreported, the battery fine or unreported.
  if (s.healthQuiet && fix.hasPosition && fix.strap <= STRAP_OK && !(fix.battery < settings.batteryLowBelow)) return;
  judgeHealthInFull(st, s, fix);
  s.healthQuiet = s.offline.open === null && s.noFix.open === null && s.tamper.open === null && s.battery.open === null;
}

function judgeHealthInFull(st: EngineState, s: SubjectState, fix: Fix): void {
  const t = fix.ts;
  const settings = st.settings;
  if (s.offline.open !== null) closeEpisode(st, s, s.offline, t, fix);
  if (fix.hasPosition) {
    if (s.noFix.open !== null) closeEpisode(st, s, s.noFix, t, fix);
  } else if (s.noFix.open === null && t - s.device.positionRefMs >= settings.noFixAfterS * 1000) {
    openEpisode(st, s, s.noFix, t, t, 'confirmed', fix);
  }
  if (fix.strap !== STRAP_NONE) {
    if (fix.strap !== STRAP_OK) {
      if (s.tamper.open === null) openEpisode(st, s, s.tamper, t, t, 'confirmed', fix);
    } else if (s.tamper.open !== null) closeEpisode(st, s, s.tamper, t, fix);
  }
  const b = fix.battery;
  if (b === b) {
    if (b < settings.batteryLowBelow) {
      if (s.battery.open === null) openEpisode(st, s, s.battery, t, t, 'confirmed', fix);
    } else if (s.battery.open !== null && b >= settings.batteryLowBelow + settings.batteryHysteresis) {
      closeEpisode(st, s, s.battery, t, fix);
    }
  }
}

/** Every location condition of the subject, from one in-order fix with a position. */
export function judgeConditions(st: EngineState, s: SubjectState, fix: Fix): void {
  if (s.hotCfg !== s.cfg) prepareConditionSlots(st, s);
  const hot = st.condHot;
  const lon = fix.lon, lat = fix.lat, t = fix.ts;
  const n = s.condCount;
  for (let k = 0, o = s.condBase * ROW; k < n; k++, o += ROW) {
    // Outside its schedule, or far from the zone (or deep inside the curfew address) with
    // nothing open or pending: the rules would change nothing. Decided from the condition's
    // row alone, without reading the condition, its zone or its track (condition-slots.ts).
    if (skippable(hot, o, lon, lat, t)) continue;
    const c = s.cfg.conditions[k];
    if (c.type === 'proximity') {
      const victim = st.devices.get(c.victimDeviceId as string) as DeviceState;
      if (victim.lastFix !== null) judgeProximity(st, s.tracks[k] as Track, fix, victim.lastFix, fix.ts, fix);
      continue;
    }
    let windowEnd = Infinity;
    if (c.schedule !== null) {
      const iv = c.schedule.intervalAt(t);
      if (iv === null) {
        noteQuiet(hot, o, t, c.schedule.inactiveUntil(t));
        continue;
      }
      if (c.inside && t < iv.startMs + c.graceMs) {
        noteQuiet(hot, o, iv.startMs, iv.startMs + c.graceMs);
        continue;
      }
      windowEnd = iv.endMs;
    }
    if (c.inside) {
      judgeInside(st, s.tracks[k] as Track, fix, fix.ts);
    } else if (c.zone !== null) {
      const r = startReading(st, fix.ts, accuracyOf(st, fix));
      r.depthM = c.zone.signedDistanceM(fix.lon, fix.lat, marginOf(st, c, fix));
      update(st, s.tracks[k] as Track, r, fix);
    } else {
      judgeLayer(st, s, k, fix);
    }
    if (windowEnd !== Infinity && conditionHasOpen(s, k)) armWindowEnd(st, s, k, windowEnd);
  }
}

/**
 * A must-be-inside condition (curfew, inclusion): is the position inside the zone, or inside at
 * least one zone of the layer, at `at`? `pos` is also what the events show.
 */
export function judgeInside(st: EngineState, track: Track, pos: Position, at: number): void {
  const c = track.cond;
  const r = startReading(st, at, accuracyOf(st, pos));
  const margin = marginOf(st, c, pos);
  if (c.zone !== null) {
    r.depthM = -c.zone.signedDistanceM(pos.lon, pos.lat, margin);
    r.clearCapM = c.clearCapM;
  } else {
    // Inside the layer = inside its zone reaching deepest around the position: crossing the
    // shared edge of two adjacent zones goes from one to the other, never outside.
    const index = st.config.layers.get(c.layer as string);
    const hits = st.hits;
    const n = index === undefined ? 0 : index.near(pos.lon, pos.lat, margin, hits);
    let best = -Infinity;
    let bestAt = -1;
    for (let i = 0; i < n; i++) {
      if (hits.distM[i] > best) {
        best = hits.distM[i];
        bestAt = i;
      }
    }
    // Outside every zone by more than the margin: at least that far out.
    r.depthM = bestAt < 0 ? margin : -best;
    r.clearCapM = bestAt < 0 ? Infinity : innerSizeM(hits.zones[bestAt]) / 2;
  }
  update(st, track, r, pos);
}

/** The timers' name for judgeInside (clock.ts: a curfew or inclusion deadline). */
export { judgeInside as judgeCurfew };

/** A layer exclusion: every zone of the layer near the fix, and the open ones it has left far behind. */
function judgeLayer(st: EngineState, s: SubjectState, k: number, fix: Fix): void {
  const c = s.cfg.conditions[k];
  const tracks = s.layerTracks[k] as Map<string, Track>;
  const index = st.config.layers.get(c.layer as string);
  const hits = st.hits;
  const n = index === undefined ? 0 : index.near(fix.lon, fix.lat, marginOf(st, c, fix), hits);
  const r = startReading(st, fix.ts, accuracyOf(st, fix));
  for (let i = 0; i < n; i++) {
    r.depthM = hits.distM[i];
    update(st, layerTrackFor(s, c, tracks, hits.zones[i].id), r, fix);
  }
  // Zones with an open episode that the query no longer reaches: the subject is far outside.
  if (tracks.size > n) {
    r.depthM = -Infinity;
    for (const [zoneId, track] of tracks) {
      if (hitsInclude(hits, n, zoneId)) continue;
      if (!track.idle) update(st, track, r, fix);
      // A zone passed by without any episode leaves nothing worth keeping (deleting during
      // iteration is safe for a Map): per-zone state would otherwise grow with every school
      // the subject ever walked past.
      if (track.idle && !track.breach.hasHistory && (track.warn === null || !track.warn.hasHistory)) tracks.delete(zoneId);
    }
  }
}

/** A fix from a victim's device: proximity conditions watching it are judged against their subjects' last positions. */
export function judgeVictimFix(st: EngineState, device: DeviceState, fix: Fix, late: boolean): void {
  // Only the victim's latest position counts; a late victim fix is older than what we have.
  if (late || !fix.hasPosition) return;
  device.rememberPosition(fix);
  const list = device.watchers;
  if (list === null) return;
  for (let i = 0; i < list.length; i++) {
    const { subject, cond } = list[i];
    noteVictimPosition(st, subject, cond.index, fix.lon, fix.lat);
    const last = subject.device.lastFix;
    // Far apart with nothing open or pending: judging would change nothing (condition-slots.ts).
    if (last !== null && idleAndClear(st, subject, cond.index, last.lon, last.lat)) continue;
    if (last === null || !subject.validAt(fix.ts)) continue;
    judgeProximity(st, subject.tracks[cond.index] as Track, last, fix, fix.ts, last);
  }
}

function judgeProximity(st: EngineState, track: Track, subjectPos: Position, victimPos: Position, at: number, shown: Position): void {
  const c = track.cond;
  const dist = haversineM(subjectPos.lon, subjectPos.lat, victimPos.lon, victimPos.lat);
  const r = startReading(st, at, accuracyOf(st, subjectPos) + accuracyOf(st, victimPos));
  r.depthM = c.distanceM - dist;
  r.forcePossible = Math.abs(subjectPos.ts - victimPos.ts) > st.settings.victimStaleS * 1000;
  r.distanceM = dist;
  update(st, track, r, shown);
}

/**
 * The engine's reading record, reset to the common case (confidence may rise, no distance):
 * callers set depthM and whatever else differs, then call update.
 */
function startReading(st: EngineState, atMs: number, uncertaintyM: number): Reading {
  const r = st.reading;
  r.uncertaintyM = uncertaintyM;
  r.forcePossible = false;
  r.atMs = atMs;
  r.distanceM = NaN;
  r.clearCapM = Infinity;
  return r;
}

/**
 * The episode state machine shared by every location condition. The reading's depthM is metres
 * on the breach side of the boundary (negative on the safe side); the warning band, if any, is
 * the warnBandM before it; `shown` is the position the events show. The boundary itself is a
 * breach for exclusion and proximity, and safe for inside conditions (on the curfew address's
 * edge is at home).
 *
 * Opening is immediate (after dwellS and confirmFixes, when set). Closing is debounced: a fix is
 * clearly safe when its accuracy circle is clear of the boundary by the hysteresis margin
 * (depth <= -(hysteresisM + uncertaintyM), capped for inside conditions); the first such fix
 * starts a safe run, any fix not clearly safe cancels it, and the episode closes on the first
 * fix at least closeAfterS after the run began, at the run's first fix (when the breach ended).
 */
function update(st: EngineState, track: Track, r: Reading, shown: Position): void {
  updateTrack(st, track, r, shown);
  noteTrackIdle(st, track);
}

function updateTrack(st: EngineState, track: Track, r: Reading, shown: Position): void {
  if (track.breach.open !== null) {
    updateOpenBreach(st, track, r, shown);
    return;
  }
  const c = track.cond;
  const depth = r.depthM;
  if (c.inside ? depth > 0 : depth >= 0) {
    if (breachFrom(st, track, r, shown)) return;
  } else if (track.pendingSinceMs === track.pendingSinceMs) {
    track.pendingSinceMs = NaN;
    track.pendingN = 0;
  }
  if (track.warn !== null) updateWarn(st, track, track.warn, r, shown);
}

/** How far on the safe side a reading must be to count as clearly safe (before any band). */
function clearanceM(c: Track['cond'], r: Reading): number {
  return Math.min(c.hysteresisM + r.uncertaintyM, r.clearCapM);
}

/** The breach is open: a clearly safe reading starts or completes a safe run, any other cancels it. */
function updateOpenBreach(st: EngineState, track: Track, r: Reading, shown: Position): void {
  const s = track.subject;
  const c = track.cond;
  const breach = track.breach;
  const depth = r.depthM;
  const t = r.atMs;
  if (depth <= -clearanceM(c, r)) {
    if (breach.safeSinceMs !== breach.safeSinceMs) breach.startSafeRun(t, shown, r.distanceM);
    if (t - breach.safeSinceMs >= c.closeAfterMs) {
      closeEpisode(st, s, breach, t, shown, r.distanceM);
      track.pendingSinceMs = NaN;
      track.pendingN = 0;
      const band = c.warnBandM;
      if (track.warn !== null && depth >= -band) openEpisode(st, s, track.warn, t, t, warnConfidence(r, band), shown, r.distanceM);
    }
    return;
  }
  breach.safeSinceMs = NaN;
  const open = breach.open as NonNullable<typeof breach.open>;
  if (open.confidence === 'possible' && !r.forcePossible && depth >= r.uncertaintyM) upgradeEpisode(st, s, breach, t, shown, r.distanceM);
}

/** A breaching reading with no breach open: opens once dwellS and confirmFixes are met. Returns true if it opened or was covered. */
function breachFrom(st: EngineState, track: Track, r: Reading, shown: Position): boolean {
  const c = track.cond;
  const t = r.atMs;
  if (track.pendingSinceMs !== track.pendingSinceMs) {
    track.pendingSinceMs = t;
    track.pendingN = 0;
  }
  track.pendingN++;
  // A breach inside an episode already reported (and closed by a timer that ran ahead of
  // this device's fixes) is covered: reopening it would report it twice.
  if (track.breach.covers(t)) {
    track.pendingSinceMs = NaN;
    track.pendingN = 0;
    return true;
  }
  if (t - track.pendingSinceMs < c.dwellMs || track.pendingN < c.confirmFixes) return false;
  const s = track.subject;
  // Escalation is immediate: the warning episode ends where the breach begins.
  const warn = track.warn;
  if (warn !== null && warn.open !== null) {
    warn.safeSinceMs = NaN;
    closeEpisode(st, s, warn, t, shown, r.distanceM);
  }
  const conf: Confidence = !r.forcePossible && r.depthM >= r.uncertaintyM ? 'confirmed' : 'possible';
  openEpisode(st, s, track.breach, t, track.pendingSinceMs, conf, shown, r.distanceM);
  return true;
}

/** The warning band (no breach open): opens on entering it, closes after a safe run beyond it. */
function updateWarn(st: EngineState, track: Track, warn: Slot, r: Reading, shown: Position): void {
  const c = track.cond;
  const band = c.warnBandM;
  const depth = r.depthM;
  const t = r.atMs;
  if (warn.open !== null) {
    if (depth <= -(band + clearanceM(c, r))) {
      if (warn.safeSinceMs !== warn.safeSinceMs) warn.startSafeRun(t, shown, r.distanceM);
      if (t - warn.safeSinceMs >= c.closeAfterMs) closeEpisode(st, track.subject, warn, t, shown, r.distanceM);
    } else {
      warn.safeSinceMs = NaN;
      if (warn.open.confidence === 'possible' && warnConfidence(r, band) === 'confirmed') upgradeEpisode(st, track.subject, warn, t, shown, r.distanceM);
    }
  } else if (depth >= -band && !warn.covers(t)) {
    openEpisode(st, track.subject, warn, t, t, warnConfidence(r, band), shown, r.distanceM);
  }
}

function warnConfidence(r: Reading, band: number): Confidence {
  return !r.forcePossible && r.depthM >= -band + r.uncertaintyM ? 'confirmed' : 'possible';
}
