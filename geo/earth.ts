/** Mean Earth radius in metres (IUGG), the value turf uses too, so oracle tests compare like with like. */
export const EARTH_RADIUS_M = 6371008.8;
export const DEG = Math.PI / 180;
/** Metres per degree of latitude (and of longitude at the equator) on the sphere. */
export const M_PER_DEG = EARTH_RADIUS_M * DEG;

/** Metres per degree of longitude at this latitude (degrees), on the sphere. */
export function mPerDegLon(lat: number): number {
  return M_PER_DEG * Math.cos(lat * DEG);
}

/** Great-circle distance in metres (haversine; well conditioned for short distances). */
export function haversineM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const sinDLat = Math.sin((lat2 - lat1) * DEG * 0.5);
  const sinDLon = Math.sin((lon2 - lon1) * DEG * 0.5);
  const a = sinDLat * sinDLat + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * sinDLon * sinDLon;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Longitude difference folded into [-180, 180], so zones at the antimeridian measure the short way. */
export function wrapDLon(dLon: number): number {
  if (dLon > 180) return dLon - 360;
  if (dLon < -180) return dLon + 360;
  return dLon;
}
