/** Numbered positions with speed and direction worked out from consecutive fixes. */
import { DEG, haversineM } from '../../../geo/index.js';
import type { PackFix } from './model.js';

export interface RawPosition {
  deviceId: string;
  seq: number;
  ts: number;
  lat: number;
  lon: number;
  accuracyM: number | null;
  speedKmh?: number | null;
  headingDeg?: number | null;
}

/** Initial bearing from a to b, degrees clockwise from true north. */
export function bearingDeg(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const p1 = lat1 * DEG, p2 = lat2 * DEG, dl = (lon2 - lon1) * DEG;
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  return ((Math.atan2(y, x) / DEG) + 360) % 360;
}

/**
 * Sorts by time (then seq) and numbers from 1. Speed is the straight-line distance from the
 * previous position over the time between them (a lower bound of the real speed); direction is
 * given only when that move is larger than both fixes' accuracy (else the "move" may be GPS
 * scatter). Values the tag reported itself are kept as they are.
 */
export function numberPositions(raw: readonly RawPosition[], defaultAccuracyM: number, relation: (p: RawPosition) => string, highlight: (p: RawPosition) => boolean): PackFix[] {
  const sorted = [...raw].sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  const out: PackFix[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    const prev = i > 0 ? sorted[i - 1] : null;
    const acc = p.accuracyM ?? defaultAccuracyM;
    let speedKmh: number | null = p.speedKmh ?? null;
    let headingDeg: number | null = p.headingDeg ?? null;
    if (prev !== null && (speedKmh === null || headingDeg === null)) {
      const d = haversineM(prev.lon, prev.lat, p.lon, p.lat);
      const dt = (p.ts - prev.ts) / 1000;
      if (speedKmh === null && dt > 0) speedKmh = (d / dt) * 3.6;
      if (headingDeg === null && d > Math.max(acc, prev.accuracyM ?? defaultAccuracyM)) headingDeg = bearingDeg(prev.lon, prev.lat, p.lon, p.lat);
    }
    out.push({
      no: i + 1, deviceId: p.deviceId, seq: p.seq, ts: p.ts, lat: p.lat, lon: p.lon, accuracyM: acc, accuracyAssumed: p.accuracyM === null,
      speedKmh, headingDeg, relation: relation(p), highlight: highlight(p),
    });
  }
  return out;
}
