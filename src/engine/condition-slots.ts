import { CircleZone, M_PER_DEG } from '../../geo/index.js';
import type { CompiledCondition } from './config.js';
import type { EngineState, SubjectState, Track } from './state.js';

/**
 * Per-condition fast-path records: one 64-byte row (8 doubles) per condition in one engine-wide
 * Float64Array, a subject's conditions in consecutive rows from its slot id (SubjectState.condBase).
 *
 * Most fixes change nothing for most conditions: the subject is far from an exclusion zone, or
 * well inside its curfew address, and the condition's track is idle (no episode open, no breach
 * pending). A row says whether that is so from the row alone, without reading the condition, its
 * zone, its schedule or its track (each a cache miss at national scale): judgeConditions skips
 * such a condition, exactly as the full rules would have left it (update() is a no-op there).
 *
 * Row layout:
 *   [0] mode: M_NONE (always judge), M_OUTSIDE_BOX (exclusion over one zone: skip when the fix
 *       is outside [2..5], the zone's box grown by more than the warning band), M_INSIDE_CIRCLE
 *       (inside condition over a circle: skip when the flat distance from the centre (lon [2],
 *       lat [3], metres per degree of longitude [4]) is below the square root of [5], surely
 *       inside by more than the band).
 *       M_FAR_FROM_VICTIM (proximity, once the victim's position is known: skip when the flat
 *       distance from the victim's latest position (lon [2], lat [3], metres per degree of
 *       longitude there [4]) is above the square root of [5], surely beyond the warning band;
 *       rules.ts judgeVictimFix moves [2..4] with each victim fix).
 *   [1] 1 when the track is idle: read from the track when the row is filled, then written by
 *       rules.ts update after every update (only an update makes a track busy; a snapshot
 *       restore or a replaced configuration refills the row: prepareConditionSlots).
 *   [6, 7] a span of time [from, to) in which the condition is not judged at all (its schedule
 *       inactive, or a curfew's grace running): skipped whatever the position or the track.
 * The margins are generous (x1.25 + 5 m, and the flat-vs-haversine error bound doubled): a fix
 * near the limit is judged in full, which is always right.
 */
export const ROW = 8;
export const M_NONE = 0;
export const M_OUTSIDE_BOX = 1;
export const M_INSIDE_CIRCLE = 2;
export const M_FAR_FROM_VICTIM = 3;

let rowsEnabled = true;

/**
 * Turns the fast path off (every condition judged in full) or back on, for the test that checks
 * both give the same events (test/engine/condition-rows.test.ts). Not for production use.
 */
export function useConditionRows(on: boolean): void {
  rowsEnabled = on;
}

/** The rows for the subject's current configuration: claims its slots, fills each row (idle unknown). */
export function prepareConditionSlots(st: EngineState, s: SubjectState): void {
  const conds = s.cfg.conditions;
  const n = conds.length;
  if (s.condBase < 0 || s.condCount !== n) {
    releaseConditionSlots(st, s);
    s.condBase = claimRows(st, n);
    s.condCount = n;
  }
  const hot = st.condHot;
  for (let k = 0; k < n; k++) {
    const o = (s.condBase + k) * ROW;
    fillRow(st, hot, o, conds[k]);
    // The track's idleness is known now: read it, rather than leave it unknown until the
    // condition's next update. A curfew is not judged outside its hours, so its row would stay
    // "unknown" until the deadline, and every subject of a curfew wave would be judged in full
    // there (clock.ts) just to find it home.
    const track = s.tracks[k];
    if (track !== null) hot[o + 1] = track.idle ? 1 : 0;
  }
  s.hotCfg = s.cfg;
}

/** Gives the subject's rows back (it left the engine). */
export function releaseConditionSlots(st: EngineState, s: SubjectState): void {
  if (s.condBase < 0) return;
  const n = s.condCount;
  let list = st.condFree.get(n);
  if (list === undefined) st.condFree.set(n, (list = []));
  list.push(s.condBase);
  st.condHot.fill(0, s.condBase * ROW, (s.condBase + n) * ROW);
  s.condBase = -1;
  s.condCount = 0;
  s.hotCfg = null;
}

/** Records whether a single-zone track is idle after an update (rules.ts update). */
export function noteTrackIdle(st: EngineState, track: Track): void {
  const s = track.subject;
  if (s.condBase < 0 || track.zoneId !== null || s.hotCfg !== s.cfg) return;
  st.condHot[(s.condBase + track.cond.index) * ROW + 1] = track.idle ? 1 : 0;
}

/** Can condition row `o` be skipped for a position at (lon, lat) at time t? */
export function skippable(hot: Float64Array, o: number, lon: number, lat: number, t: number): boolean {
  return rowsEnabled && ((t < hot[o + 7] && t >= hot[o + 6]) || idleFar(hot, o, lon, lat));
}

/** Can every one of the n condition rows from slot id base be skipped (skippable) for this position and time? */
export function allSkippable(hot: Float64Array, base: number, n: number, lon: number, lat: number, t: number): boolean {
  for (let k = 0, o = base * ROW; k < n; k++, o += ROW) if (!skippable(hot, o, lon, lat, t)) return false;
  return true;
}

function idleFar(hot: Float64Array, o: number, lon: number, lat: number): boolean {
  if (hot[o + 1] !== 1) return false;
  const mode = hot[o];
  if (mode === M_FAR_FROM_VICTIM) {
    const dx = (lon - hot[o + 2]) * hot[o + 4];
    const dy = (lat - hot[o + 3]) * M_PER_DEG;
    return dx * dx + dy * dy > hot[o + 5];
  }
  if (mode === M_OUTSIDE_BOX) return lon < hot[o + 2] || lat < hot[o + 3] || lon > hot[o + 4] || lat > hot[o + 5];
  if (mode === M_INSIDE_CIRCLE) {
    const dx = (lon - hot[o + 2]) * hot[o + 4];
    const dy = (lat - hot[o + 3]) * M_PER_DEG;
    return dx * dx + dy * dy < hot[o + 5];
  }
  return false;
}

/**
 * Would judging the subject's condition k at this position change nothing? (Its track idle, the
 * position far from its exclusion zone or deep inside its curfew address.) For timers: the
 * curfew deadline, where most subjects are home.
 */
export function idleAndClear(st: EngineState, s: SubjectState, k: number, lon: number, lat: number): boolean {
  if (s.condBase < 0 || s.hotCfg !== s.cfg || !rowsEnabled) return false;
  return idleFar(st.condHot, (s.condBase + k) * ROW, lon, lat);
}

/** A proximity condition's row follows its victim's latest position (rules.ts judgeVictimFix). */
export function noteVictimPosition(st: EngineState, s: SubjectState, k: number, lon: number, lat: number): void {
  if (s.condBase < 0 || s.hotCfg !== s.cfg) return;
  noteVictimAt(st.condHot, (s.condBase + k) * ROW, lon, lat);
}

function noteVictimAt(hot: Float64Array, o: number, lon: number, lat: number): void {
  // Near the poles or the antimeridian the flat frame is no bound: always judge.
  if (!(Math.abs(lat) <= 80 && Math.abs(lon) <= 179)) {
    hot[o] = M_NONE;
    return;
  }
  hot[o] = M_FAR_FROM_VICTIM;
  hot[o + 2] = lon;
  hot[o + 3] = lat;
  hot[o + 4] = Math.cos((lat * Math.PI) / 180) * M_PER_DEG;
}

/** Beyond this flat distance (squared) from the victim, surely beyond the warning band. */
function farFromVictimSq(c: CompiledCondition): number {
  const m = 1.25 * (c.distanceM + c.warnBandM) + 50;
  return m * m;
}

/**
 * The condition is not judged at any time in [fromMs, toMs): its schedule is inactive, or the
 * curfew's grace is running (rules.ts judgeConditions found so, for a time in that span).
 */
export function noteQuiet(hot: Float64Array, o: number, fromMs: number, toMs: number): void {
  hot[o + 6] = fromMs;
  hot[o + 7] = toMs;
}

function claimRows(st: EngineState, n: number): number {
  const reuse = st.condFree.get(n);
  if (reuse !== undefined && reuse.length > 0) return reuse.pop() as number;
  const base = st.condRows;
  st.condRows += n;
  if (st.condRows * ROW > st.condHot.length) {
    const grown = new Float64Array(Math.max(st.condRows * ROW, st.condHot.length * 2));
    grown.set(st.condHot);
    st.condHot = grown;
  }
  return base;
}

function fillRow(st: EngineState, hot: Float64Array, o: number, c: CompiledCondition): void {
  hot.fill(0, o, o + ROW);
  if (c.type === 'proximity') {
    hot[o + 5] = farFromVictimSq(c);
    const last = st.devices.get(c.victimDeviceId as string)?.lastFix ?? null;
    if (last !== null) noteVictimAt(hot, o, last.lon, last.lat);
    return;
  }
  const z = c.zone;
  if (z === null || c.layer !== null) return;
  if (!c.inside && c.type === 'exclusion') {
    // Outside the box grown by this much, the zone is farther than the warning band.
    const growM = 1.25 * c.warnBandM + 5;
    const dLat = growM / M_PER_DEG;
    const maxAbsLat = Math.max(Math.abs(z.minLat), Math.abs(z.maxLat)) + dLat;
    if (maxAbsLat > 80) return;
    const dLon = growM / (M_PER_DEG * Math.cos((maxAbsLat * Math.PI) / 180));
    const minLon = z.minLon - dLon, maxLon = z.maxLon + dLon;
    if (!(minLon > -179 && maxLon < 179)) return; // near the antimeridian: always judge
    hot[o] = M_OUTSIDE_BOX;
    hot[o + 2] = minLon;
    hot[o + 3] = z.minLat - dLat;
    hot[o + 4] = maxLon;
    hot[o + 5] = z.maxLat + dLat;
    return;
  }
  if (c.inside && z instanceof CircleZone) {
    // Inside by more than the band: flat distance below (r - band), less twice the bound on
    // the flat frame's error (the bound geo's CircleZone uses), less half a metre.
    const lat = z.lat;
    if (Math.abs(lat) > 80 || Math.abs(z.lon) > 179) return;
    const r = z.radiusM;
    const rel = 2 * (4 * (r / 6_371_008.8) * (1 + Math.abs(Math.tan((lat * Math.PI) / 180))) + 1e-9);
    const sure = (r - c.warnBandM) * (1 - rel) - 0.5;
    if (!(rel < 0.25 && sure > 0)) return;
    hot[o] = M_INSIDE_CIRCLE;
    hot[o + 2] = z.lon;
    hot[o + 3] = lat;
    hot[o + 4] = Math.cos((lat * Math.PI) / 180) * M_PER_DEG;
    hot[o + 5] = sure * sure;
  }
}
