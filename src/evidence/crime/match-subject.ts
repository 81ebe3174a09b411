import { bearingDeg, haversineM, segmentClosest } from './geodesy.js';

/**
 * The per-crime, per-subject judgement (pure: no database, no clock). Given a crime and one
 * subject's positioned fixes around its window, oldest first, it finds:
 *
 * - supporting fixes: fixes inside the window whose accuracy circle reaches the crime's circle
 *   (distance − accuracy ≤ radius); `onlyByAccuracy` when the reported point itself is outside;
 * - interpolated passages: two consecutive fixes at most `gapS` apart, neither inside the
 *   radius, whose straight line (the part of it inside the window, by time) passes within it;
 * - gaps: consecutive fixes more than `gapS` apart whose interval overlaps the window; a gap is a
 *   possible passage when the straight line between the positions on either side passes within
 *   the radius, and "near the scene" when both sides lie within `radiusM + ringM`.
 *
 * A subject is a candidate when it has a supporting fix, an interpolated passage, or a gap that
 * is a possible passage or near the scene. Closest approach: the nearest supporting fix (least
 * distance); failing that, the nearest point of an interpolated line, then of a gap's line.
 */

/** Bump when what counts as a match changes: every run records the version it used. */
export const ALGORITHM_VERSION = 'crime-match/1';

export interface MatchParams {
  /** Consecutive fixes further apart than this are a gap in reporting (s). */
  gapS: number;
  /** "Near the scene" for gaps, and the search ring beyond the radius (m). */
  ringM: number;
  /** Accuracy circles are counted up to this radius (m); a coarser fix counts this much. */
  accuracyCapM: number;
  /** Accuracy assumed for a fix that reported none (m). */
  defaultAccuracyM: number;
}

export const DEFAULT_PARAMS: MatchParams = { gapS: 300, ringM: 300, accuracyCapM: 250, defaultAccuracyM: 10 };

export interface CrimeSpot {
  lat: number;
  lon: number;
  radiusM: number;
  fromMs: number;
  toMs: number;
}

/** A fix as the matcher reads it. */
export interface TrailFix {
  ms: number;
  deviceId: string;
  seq: number;
  lat: number;
  lon: number;
  /** Reported accuracy (m), null when the tag gave none. */
  accuracyM: number | null;
  /**
   * The fixes between the previous one and this are not known to the matcher (they lie far from
   * the scene and were not fetched): the two are not consecutive, so no line, gap or speed spans them.
   */
  breakBefore?: boolean;
}

export interface SupportingFix {
  at: string;
  deviceId: string;
  seq: number;
  lat: number;
  lon: number;
  accuracyM: number;
  /** true when the tag reported no accuracy and the default was assumed */
  accuracyAssumed: boolean;
  distanceM: number;
  /** The reported point is outside the radius; only the accuracy circle reaches it. */
  onlyByAccuracy: boolean;
  /** From the neighbouring fixes (previous to next, or the one neighbour there is); null alone. */
  speedMps: number | null;
  headingDeg: number | null;
}

export interface LineEnd { at: string; lat: number; lon: number; distanceM: number }

export interface Passage {
  from: LineEnd;
  to: LineEnd;
  /** Closest approach of the straight line (its part inside the window). */
  closestM: number;
  closestAt: string;
}

export interface Gap extends Passage {
  durationS: number;
  possiblePassage: boolean;
  nearScene: boolean;
}

export type Basis = 'fix' | 'accuracy' | 'interpolated' | 'gap';

export interface SubjectMatch {
  basis: Basis;
  closest: { distanceM: number; at: string; lat: number; lon: number; accuracyM: number | null; kind: 'fix' | 'interpolated' | 'gap' };
  fixes: SupportingFix[];
  passages: Passage[];
  gaps: Gap[];
}

const iso = (ms: number): string => new Date(Math.round(ms)).toISOString();
const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

function speedAround(fixes: readonly TrailFix[], i: number, gapMs: number): { speedMps: number | null; headingDeg: number | null } {
  // Neighbours more than a gap away say nothing about the speed at this fix.
  const prev = i > 0 && fixes[i].breakBefore !== true && fixes[i].ms - fixes[i - 1].ms <= gapMs ? fixes[i - 1] : null;
  const next = i + 1 < fixes.length && fixes[i + 1].breakBefore !== true && fixes[i + 1].ms - fixes[i].ms <= gapMs ? fixes[i + 1] : null;
  const a = prev ?? fixes[i];
  const b = next ?? fixes[i];
  if (a === b || b.ms <= a.ms) return { speedMps: null, headingDeg: null };
  const d = haversineM(a.lat, a.lon, b.lat, b.lon);
  return { speedMps: round(d / ((b.ms - a.ms) / 1000), 2), headingDeg: d < 1 ? null : Math.round(bearingDeg(a.lat, a.lon, b.lat, b.lon)) };
}

/** The judgement for one subject's fixes (sorted by time) against one crime; null: no candidate. */
export function matchSubject(crime: CrimeSpot, fixes: readonly TrailFix[], p: MatchParams): SubjectMatch | null {
  const r = crime.radiusM;
  const gapMs = p.gapS * 1000;
  const n = fixes.length;
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) dist[i] = haversineM(crime.lat, crime.lon, fixes[i].lat, fixes[i].lon);

  const support: SupportingFix[] = [];
  for (let i = 0; i < n; i++) {
    const f = fixes[i];
    if (f.ms < crime.fromMs || f.ms > crime.toMs) continue;
    const acc = Math.min(f.accuracyM ?? p.defaultAccuracyM, p.accuracyCapM);
    if (dist[i] - acc > r) continue;
    support.push({
      at: iso(f.ms), deviceId: f.deviceId, seq: f.seq, lat: f.lat, lon: f.lon,
      accuracyM: f.accuracyM ?? p.defaultAccuracyM, accuracyAssumed: f.accuracyM === null,
      distanceM: round(dist[i]), onlyByAccuracy: dist[i] > r, ...speedAround(fixes, i, gapMs),
    });
  }

  const passages: Passage[] = [];
  const gaps: Gap[] = [];
  for (let i = 0; i + 1 < n; i++) {
    const a = fixes[i], b = fixes[i + 1];
    if (b.breakBefore === true || b.ms <= crime.fromMs || a.ms >= crime.toMs || b.ms <= a.ms) continue;
    const span = b.ms - a.ms;
    const f0 = Math.max(0, (crime.fromMs - a.ms) / span);
    const f1 = Math.min(1, (crime.toMs - a.ms) / span);
    const isGap = span > gapMs;
    // Most pairs are neither a gap nor near: skip them before building anything.
    if (!isGap && (dist[i] <= r || dist[i + 1] <= r)) continue;
    const c = segmentClosest(crime.lat, crime.lon, a.lat, a.lon, b.lat, b.lon, f0, f1);
    if (!isGap && c.distanceM > r) continue;
    const line = {
      from: { at: iso(a.ms), lat: a.lat, lon: a.lon, distanceM: round(dist[i]) },
      to: { at: iso(b.ms), lat: b.lat, lon: b.lon, distanceM: round(dist[i + 1]) },
      closestM: round(c.distanceM), closestAt: iso(a.ms + c.f * span),
    };
    if (isGap) {
      const possiblePassage = c.distanceM <= r;
      const nearScene = dist[i] <= r + p.ringM && dist[i + 1] <= r + p.ringM;
      gaps.push({ ...line, durationS: Math.round(span / 1000), possiblePassage, nearScene });
    } else {
      passages.push(line);
    }
  }

  const flaggedGaps = gaps.filter((g) => g.possiblePassage || g.nearScene);
  if (support.length === 0 && passages.length === 0 && flaggedGaps.length === 0) return null;

  let basis: Basis;
  let closest: SubjectMatch['closest'];
  if (support.length > 0) {
    const best = support.reduce((x, y) => (y.distanceM < x.distanceM ? y : x));
    basis = support.some((s) => !s.onlyByAccuracy) ? 'fix' : 'accuracy';
    closest = { distanceM: best.distanceM, at: best.at, lat: best.lat, lon: best.lon, accuracyM: best.accuracyM, kind: 'fix' };
  } else {
    const pool = passages.length > 0 ? passages : flaggedGaps;
    const best = pool.reduce((x, y) => (y.closestM < x.closestM ? y : x));
    basis = passages.length > 0 ? 'interpolated' : 'gap';
    // The point on the line at the closest approach (linear in latitude/longitude: fine over a line this short).
    const span = Date.parse(best.to.at) - Date.parse(best.from.at);
    const f = span === 0 ? 0 : (Date.parse(best.closestAt) - Date.parse(best.from.at)) / span;
    closest = {
      distanceM: best.closestM, at: best.closestAt, accuracyM: null, kind: passages.length > 0 ? 'interpolated' : 'gap',
      lat: best.from.lat + f * (best.to.lat - best.from.lat), lon: best.from.lon + f * (best.to.lon - best.from.lon),
    };
  }
  return { basis, closest, fixes: support, passages, gaps };
}
