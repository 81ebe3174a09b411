/**
 * Distances for crime matching: haversine on the mean-radius sphere (IUGG R1), and the
 * closest approach of a straight segment to a point in a local tangent plane. Across the few
 * kilometres a crime query spans, the sphere differs from the ellipsoid by under 0.5 %, which the
 * README states (the plain-PostGIS comparison in bench:crime uses the spheroid).
 */
export const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

export function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Initial bearing from 1 to 2, degrees clockwise from north, 0..360. */
export function bearingDeg(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const p1 = lat1 * RAD;
  const p2 = lat2 * RAD;
  const dl = (lon2 - lon1) * RAD;
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  return ((Math.atan2(y, x) / RAD) + 360) % 360;
}

/** Degrees of latitude and longitude that cover `metres` around latitude `lat` (a search box). */
export function degreesFor(metres: number, lat: number): { dLat: number; dLon: number } {
  const dLat = (metres / EARTH_RADIUS_M) / RAD;
  const c = Math.max(Math.cos(Math.min(89, Math.abs(lat) + dLat) * RAD), 1e-6);
  return { dLat: dLat * 1.001, dLon: (dLat / c) * 1.001 };
}

/**
 * Closest approach of the segment A→B, restricted to the parameter range [f0, f1] (0 = A,
 * 1 = B), to point P: the distance in metres and the parameter where it happens. Computed in the
 * tangent plane at P (equirectangular; exact enough over a few kilometres).
 */
export function segmentClosest(
  pLat: number, pLon: number, aLat: number, aLon: number, bLat: number, bLon: number, f0 = 0, f1 = 1,
): { distanceM: number; f: number } {
  const k = Math.cos(pLat * RAD) * RAD * EARTH_RADIUS_M;
  const m = RAD * EARTH_RADIUS_M;
  const ax = (aLon - pLon) * k, ay = (aLat - pLat) * m;
  const bx = (bLon - pLon) * k, by = (bLat - pLat) * m;
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let f = len2 === 0 ? f0 : -(ax * dx + ay * dy) / len2;
  if (f < f0) f = f0;
  if (f > f1) f = f1;
  const x = ax + f * dx, y = ay + f * dy;
  return { distanceM: Math.hypot(x, y), f };
}
