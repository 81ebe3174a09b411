/**
 * Every way a zone can be refused. Codes are stable (API clients and tests key on them);
 * messages are for people and always name the zone and the fault.
 */
export type ZoneErrorCode =
  | 'ZONE_NOT_FEATURE'
  | 'ZONE_BAD_ID'
  | 'ZONE_BAD_GEOMETRY'
  | 'ZONE_UNSUPPORTED_TYPE'
  | 'ZONE_BAD_COORDINATE'
  | 'ZONE_COORDINATE_RANGE'
  | 'ZONE_RING_NOT_CLOSED'
  | 'ZONE_RING_TOO_SHORT'
  | 'ZONE_RING_DEGENERATE'
  | 'ZONE_SELF_INTERSECTION'
  | 'ZONE_HOLE_OUTSIDE'
  | 'ZONE_BAD_RADIUS'
  | 'ZONE_TOO_MANY_VERTICES'
  | 'ZONE_TOO_COMPLEX'
  | 'ZONE_ANTIMERIDIAN'
  | 'ZONE_POLAR'
  | 'ZONE_BAD_PROPERTIES';

/** One line per code: what it means. Listed in docs/api-errors.md; test/docs/error-registry.test.ts checks it. */
export const ZONE_ERROR_CODES: Readonly<Record<ZoneErrorCode, string>> = {
  ZONE_NOT_FEATURE: 'the zone is not a GeoJSON object with "type": "Feature"',
  ZONE_BAD_ID: 'the Feature has no usable "id" (a non-empty string of at most 128 characters without ":", or a number)',
  ZONE_BAD_GEOMETRY: 'the geometry is missing or its coordinates are not nested arrays of the right depth',
  ZONE_UNSUPPORTED_TYPE: 'the geometry type is not Polygon, MultiPolygon or Point',
  ZONE_BAD_COORDINATE: 'a coordinate is not a finite number',
  ZONE_COORDINATE_RANGE: 'a longitude is outside [-180, 180] or a latitude outside [-90, 90]',
  ZONE_RING_NOT_CLOSED: 'a ring does not end at its first position',
  ZONE_RING_TOO_SHORT: 'a ring has fewer than four positions (three distinct corners and the closing one)',
  ZONE_RING_DEGENERATE: 'a ring encloses no area (all its corners lie on one line)',
  ZONE_SELF_INTERSECTION: 'a ring crosses or touches itself, or two rings of one polygon cross',
  ZONE_HOLE_OUTSIDE: 'a hole lies outside the outer ring of its polygon',
  ZONE_BAD_RADIUS: 'a Point zone lacks properties.radiusM, or it is not a number in (0, maxRadiusM]',
  ZONE_TOO_MANY_VERTICES: 'the zone has more positions than the configured maxVertices',
  ZONE_TOO_COMPLEX: 'the zone\'s edges overlap each other so much (long nested slivers) that checking it would take too long: simplify or split it',
  ZONE_ANTIMERIDIAN: 'a polygon spans more than 180 degrees of longitude: split it at ±180 into a MultiPolygon (RFC 7946 §3.1.9)',
  ZONE_POLAR: 'a polygon reaches beyond the configured maxAbsLat; near the poles use a circle (Point + radiusM)',
  ZONE_BAD_PROPERTIES: 'properties is not an object, or properties.layer / properties.name is not a non-empty string',
};

export class ZoneError extends Error {
  override readonly name = 'ZoneError';
  constructor(
    readonly code: ZoneErrorCode,
    readonly zoneId: string | null,
    detail: string,
  ) {
    const shown = zoneId === null ? '(without id)' : JSON.stringify(zoneId.length > 80 ? `${zoneId.slice(0, 80)}…` : zoneId);
    super(`zone ${shown}: ${detail} [${code}]`);
  }
}
