import type { Confidence } from './alert.js';
import type { CompiledCondition } from './config.js';
import { closeEpisode, closeLateEpisode, openLateEpisode } from './episodes.js';
import { STRAP_NONE, STRAP_OK, type Fix } from './fix.js';
import {
  accuracyOf, hitsInclude, layerTrackFor, marginOf, RECENT_TS, type DeviceState, type EngineState, type Slot, type SubjectState, type Track,
} from './state.js';

/**
 * Late fixes (older than the newest already processed from their device): judged on their own
 * time; they may raise a past episode nothing covered, and change nothing else (see README
 * "Late fixes"). A burst of late fixes is one run back in time; its episodes close at the next
 * known fix after them when the burst ends.
 */

/** What a late fix says about one slot: safe, or breaching with this confidence. */
type LateVerdict = Confidence | 'clear';

export function judgeLateFix(st: EngineState, s: SubjectState, fix: Fix): void {
  // Any message, even an old one from a backlog, shows the device is talking.
  if (s.offline.open !== null) closeEpisode(st, s, s.offline, fix.ts, fix);
  if (fix.strap !== STRAP_NONE) lateSlot(st, s, s.tamper, fix, fix.strap !== STRAP_OK ? 'confirmed' : 'clear');
  if (!fix.hasPosition) return;
  const t = fix.ts;
  const acc = accuracyOf(st, fix);
  const conds = s.cfg.conditions;
  for (let k = 0; k < conds.length; k++) {
    const c = conds[k];
    // Proximity: the victim's position at that time is not known well enough to judge a late fix.
    if (c.type === 'proximity') continue;
    if (c.schedule !== null) {
      const iv = c.schedule.intervalAt(t);
      if (iv === null || (c.inside && t < iv.startMs + c.graceMs)) continue;
    }
    if (c.inside) {
      const d = insideDistanceM(st, c, fix, marginOf(st, c, fix));
      lateSlot(st, s, (s.tracks[k] as Track).breach, fix, d < 0 ? confidenceAt(-d, acc) : 'clear');
    } else if (c.zone !== null) {
      const d = c.zone.signedDistanceM(fix.lon, fix.lat, marginOf(st, c, fix));
      lateSlot(st, s, (s.tracks[k] as Track).breach, fix, d >= 0 ? confidenceAt(d, acc) : 'clear');
    } else {
      const tracks = s.layerTracks[k] as Map<string, Track>;
      const index = st.config.layers.get(c.layer as string);
      const hits = st.hits;
      const n = index === undefined ? 0 : index.containing(fix.lon, fix.lat, hits);
      for (let i = 0; i < n; i++) {
        const zone = hits.zones[i];
        const d = zone.signedDistanceM(fix.lon, fix.lat, acc + 1);
        lateSlot(st, s, layerTrackFor(s, c, tracks, zone.id).breach, fix, confidenceAt(d, acc));
      }
      for (const track of tracks.values()) {
        if (track.breach.late !== null && !hitsInclude(hits, n, track.zoneId as string)) lateSlot(st, s, track.breach, fix, 'clear');
      }
    }
  }
}

/**
 * Curfew, inclusion: metres inside the zone, or inside the layer's zone reaching deepest
 * (negative outside; -margin when outside every zone by more than the margin).
 */
function insideDistanceM(st: EngineState, c: CompiledCondition, fix: Fix, margin: number): number {
  if (c.zone !== null) return c.zone.signedDistanceM(fix.lon, fix.lat, margin);
  const index = st.config.layers.get(c.layer as string);
  const hits = st.hits;
  const n = index === undefined ? 0 : index.near(fix.lon, fix.lat, margin, hits);
  let best = -margin;
  for (let i = 0; i < n; i++) if (hits.distM[i] > best) best = hits.distM[i];
  return best;
}

/** A breach this deep (metres) is confirmed when it exceeds the position's uncertainty. */
function confidenceAt(depthM: number, uncertaintyM: number): Confidence {
  return depthM >= uncertaintyM ? 'confirmed' : 'possible';
}

function lateSlot(st: EngineState, s: SubjectState, slot: Slot, fix: Fix, verdict: LateVerdict): void {
  const t = fix.ts;
  if (verdict !== 'clear') {
    if (slot.late !== null && t >= slot.late.startMs) {
      slot.lateLastMs = Math.max(slot.lateLastMs, t);
      return;
    }
    if (slot.covers(t)) return;
    if (slot.late !== null) endLate(st, s, slot);
    openLateEpisode(st, s, slot, fix, verdict);
    slot.lateLastMs = t;
    s.device.lateSlots.push(slot);
    st.lateBursts.add(s.device);
  } else if (slot.late !== null && t > slot.lateLastMs) {
    closeLateEpisode(st, s, slot, t, fix);
  }
}

/** Closes a late episode that no late fix contradicted, at the next known fix after it. */
function endLate(st: EngineState, s: SubjectState, slot: Slot): void {
  if (slot.late === null) return;
  let at = successor(s.device, slot.lateLastMs);
  // Never past the end of the rules that made it a breach: the window, or the order itself.
  const sched = slot.track === null ? null : slot.track.cond.schedule;
  const iv = sched === null ? null : sched.intervalAt(slot.lateLastMs);
  if (iv !== null && iv.endMs < at) at = iv.endMs;
  if (s.cfg.validToMs < at) at = s.cfg.validToMs;
  closeLateEpisode(st, s, slot, at, null);
}

/** Ends the device's late burst: every late episode it raised closes. */
export function endLateBurst(st: EngineState, device: DeviceState): void {
  device.lastLateMs = Infinity;
  st.lateBursts.delete(device);
  const s = device.subject;
  if (s === null || device.lateSlots.length === 0) return;
  for (const slot of device.lateSlots) endLate(st, s, slot);
  device.lateSlots.length = 0;
}

/** The first in-order fix time after t that the device still remembers (else its newest). */
function successor(device: DeviceState, t: number): number {
  let best = device.newestMs;
  const recent = device.recent;
  for (let i = 0; i < RECENT_TS; i++) {
    const x = recent[i];
    if (x > t && x < best) best = x;
  }
  return best;
}
