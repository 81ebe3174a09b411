// The spatial core: pure geometry and the zone index. No I/O, no clock, no service code.
export { compileZone, DEFAULT_COMPILE_OPTIONS, type CompileOptions } from './compile-zone.js';
export { ZoneError, ZONE_ERROR_CODES, type ZoneErrorCode } from './errors.js';
export { DEG, EARTH_RADIUS_M, haversineM, M_PER_DEG, mPerDegLon, wrapDLon } from './earth.js';
export { BOUNDARY_EPS_DEG } from './polygon.js';
export { CircleZone, PolygonZone, type PreparedZone } from './prepared-zone.js';
export { ZoneHits, ZoneIndex, type ZoneIndexOptions } from './zone-index.js';
