import Flatbush from 'flatbush';
import { ZoneError, type ZoneErrorCode } from './errors.js';
import { PolygonPart, ringArea2, segmentsMeet } from './polygon.js';
import { CircleZone, PolygonZone, type PreparedZone } from './prepared-zone.js';

export interface CompileOptions {
  /** Most positions one zone may have, all rings of all parts together. Default 100,000. */
  maxVertices: number;
  /** Polygons may not reach beyond this latitude (degrees); circles work up to the poles. Default 85. */
  maxAbsLat: number;
  /** Largest circle radius in metres. Default 100,000. */
  maxRadiusM: number;
}

export const DEFAULT_COMPILE_OPTIONS: Readonly<CompileOptions> = {
  maxVertices: 100_000,
  maxAbsLat: 85,
  maxRadiusM: 100_000,
};

const MAX_ID_LENGTH = 128;
/** Overlapping edge pairs the self-intersection check may examine: this many per edge, at least MIN_PAIR_BUDGET. */
const PAIRS_PER_EDGE = 64;
const MIN_PAIR_BUDGET = 2_000_000;
/** Twice the planar area (deg²) below which a ring is taken to enclose nothing (~1e-5 m²). */
const MIN_AREA2 = 2e-15;

/**
 * Validates a GeoJSON Feature (Polygon, MultiPolygon, or Point with properties.radiusM) and
 * compiles it for queries. Throws ZoneError naming the zone and the fault; never returns a zone
 * it cannot answer for correctly.
 */
export function compileZone(feature: unknown, options?: Partial<CompileOptions>): PreparedZone {
  const opts = options ? { ...DEFAULT_COMPILE_OPTIONS, ...options } : DEFAULT_COMPILE_OPTIONS;
  const f = feature as Record<string, unknown>;
  const idGuess = isObject(f) && (typeof f.id === 'string' || typeof f.id === 'number') ? String(f.id) : null;
  const fail = (code: ZoneErrorCode, detail: string): never => {
    throw new ZoneError(code, idGuess, detail);
  };
  if (!isObject(f) || f.type !== 'Feature') {
    fail('ZONE_NOT_FEATURE', `expected a GeoJSON Feature, got ${describe(isObject(f) ? f.type : f)}${isObject(f) ? ' as "type"' : ''}`);
  }
  const id = f.id;
  if (!((typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && id.isWellFormed()) || (typeof id === 'number' && Number.isFinite(id)))) {
    fail('ZONE_BAD_ID', `"id" must be a non-empty string of at most ${MAX_ID_LENGTH} characters (well-formed Unicode) or a number, got ${describe(id)}`);
  }
  const zoneId = String(id);
  // ":" separates the parts of episode ids (subject:condition:zone:start), so a zone id may not hold one.
  if (zoneId.includes(':')) fail('ZONE_BAD_ID', `"id" must not contain ":" (it separates the parts of episode ids), got ${describe(id)}`);

  const props = f.properties ?? {};
  if (!isObject(props)) fail('ZONE_BAD_PROPERTIES', `"properties" must be an object or null, got ${describe(props)}`);
  const p = props as Record<string, unknown>;
  const layer = optionalName(p.layer, 'layer', fail);
  const name = optionalName(p.name, 'name', fail);

  const g = f.geometry as Record<string, unknown>;
  if (!isObject(g)) fail('ZONE_BAD_GEOMETRY', `"geometry" must be an object, got ${describe(g)}`);
  switch (g.type) {
    case 'Point':
      return compileCircle(zoneId, layer, name, g.coordinates, p.radiusM, opts, fail);
    case 'Polygon': {
      if (!Array.isArray(g.coordinates)) fail('ZONE_BAD_GEOMETRY', `Polygon coordinates must be an array of rings, got ${describe(g.coordinates)}`);
      checkVertexBudget([g.coordinates as unknown[]], opts, fail);
      const part = compilePart(g.coordinates as unknown[], 'polygon', opts, fail);
      return new PolygonZone(zoneId, layer, name, [part]);
    }
    case 'MultiPolygon': {
      const polys = g.coordinates;
      if (!Array.isArray(polys) || polys.length === 0) fail('ZONE_BAD_GEOMETRY', `MultiPolygon coordinates must be a non-empty array of polygons, got ${describe(polys)}`);
      const list = polys as unknown[];
      list.forEach((poly, i) => {
        if (!Array.isArray(poly)) fail('ZONE_BAD_GEOMETRY', `polygon ${i} of the MultiPolygon must be an array of rings, got ${describe(poly)}`);
      });
      checkVertexBudget(list as unknown[][], opts, fail);
      const parts = list.map((poly, i) => compilePart(poly as unknown[], `polygon ${i}`, opts, fail));
      return new PolygonZone(zoneId, layer, name, parts);
    }
    default:
      return fail('ZONE_UNSUPPORTED_TYPE', `geometry type ${describe(g.type)} is not supported: use Polygon, MultiPolygon, or Point with properties.radiusM`);
  }
}

type Fail = (code: ZoneErrorCode, detail: string) => never;

function compileCircle(
  id: string, layer: string | null, name: string | null,
  coordinates: unknown, radius: unknown, opts: CompileOptions, fail: Fail,
): PreparedZone {
  const [lon, lat] = readPosition(coordinates, 'the Point', fail);
  if (radius === undefined) fail('ZONE_BAD_RADIUS', 'a Point zone needs properties.radiusM (metres) to make it a circle');
  if (typeof radius !== 'number' || !Number.isFinite(radius) || radius <= 0 || radius > opts.maxRadiusM) {
    fail('ZONE_BAD_RADIUS', `properties.radiusM must be a number of metres in (0, ${opts.maxRadiusM}], got ${describe(radius)}`);
  }
  return new CircleZone(id, layer, name, lon, lat, radius as number);
}

function checkVertexBudget(polys: unknown[][], opts: CompileOptions, fail: Fail): void {
  // Counted before any work, so an absurd zone costs nothing but this loop.
  let n = 0;
  for (const rings of polys) for (const ring of rings) if (Array.isArray(ring)) n += ring.length;
  if (n > opts.maxVertices) fail('ZONE_TOO_MANY_VERTICES', `it has ${n} positions, more than the limit of ${opts.maxVertices}`);
}

function compilePart(rings: unknown[], where: string, opts: CompileOptions, fail: Fail): PolygonPart {
  if (rings.length === 0) fail('ZONE_BAD_GEOMETRY', `${where} has no rings`);
  const ringCoords: number[][] = [];
  rings.forEach((ring, r) => {
    const label = `${where}, ${r === 0 ? 'outer ring' : `hole ${r}`} (ring ${r})`;
    if (!Array.isArray(ring)) fail('ZONE_BAD_GEOMETRY', `${label} must be an array of positions, got ${describe(ring)}`);
    const positions = ring as unknown[];
    if (positions.length > 0 && !Array.isArray(positions[0])) {
      fail('ZONE_BAD_GEOMETRY', `${label} must be an array of [longitude, latitude] positions, got ${describe(positions[0])} as its first element (coordinates nested one level too shallow?)`);
    }
    if (positions.length < 4) fail('ZONE_RING_TOO_SHORT', `${label} has ${positions.length} positions; a ring needs at least 4 (3 corners and the first repeated)`);
    const xy: number[] = [];
    let minLon = Infinity, maxLon = -Infinity;
    positions.forEach((pos, k) => {
      const [lon, lat] = readPosition(pos, `position ${k} of ${label}`, fail);
      if (Math.abs(lat) > opts.maxAbsLat) {
        fail('ZONE_POLAR', `position ${k} of ${label} is at latitude ${lat}, beyond the ±${opts.maxAbsLat}° allowed for polygons; near a pole use a circle (Point + radiusM)`);
      }
      // Consecutive repeats add nothing and would make zero-length edges.
      const n = xy.length;
      if (n === 0 || xy[n - 2] !== lon || xy[n - 1] !== lat) xy.push(lon, lat);
      if (lon < minLon) minLon = lon;
      if (lon > maxLon) maxLon = lon;
    });
    const first = positions[0] as number[];
    const last = positions[positions.length - 1] as number[];
    if (first[0] !== last[0] || first[1] !== last[1]) {
      fail('ZONE_RING_NOT_CLOSED', `${label} is not closed: it starts at [${first[0]}, ${first[1]}] but ends at [${last[0]}, ${last[1]}]`);
    }
    if (xy.length < 8) fail('ZONE_RING_TOO_SHORT', `${label} has only ${xy.length / 2 - 1} distinct corners; a ring needs at least 3`);
    if (maxLon - minLon > 180) {
      fail('ZONE_ANTIMERIDIAN', `${label} spans ${(maxLon - minLon).toFixed(3)}° of longitude (${minLon} to ${maxLon}); a zone crossing the antimeridian must be split at ±180 into a MultiPolygon (RFC 7946 §3.1.9)`);
    }
    ringCoords.push(xy);
  });

  const total = ringCoords.reduce((n, xy) => n + xy.length, 0);
  const coords = new Float64Array(total);
  const ringStart = new Int32Array(ringCoords.length + 1);
  let off = 0;
  ringCoords.forEach((xy, r) => {
    coords.set(xy, off);
    ringStart[r] = off / 2;
    off += xy.length;
  });
  ringStart[ringCoords.length] = off / 2;

  const degenerate = (r: number): never =>
    fail('ZONE_RING_DEGENERATE', `${where}, ring ${r} encloses no area: its corners lie on one line`);
  // Order matters for the diagnosis: a ring on one line is degenerate (not "crossing itself"),
  // a bow-tie has zero net area but is a crossing, and a sliver that passes both is too thin.
  for (let r = 0; r < ringCoords.length; r++) if (isCollinear(coords, ringStart[r], ringStart[r + 1])) degenerate(r);
  checkCrossings(coords, ringStart, where, fail);
  for (let r = 0; r < ringCoords.length; r++) {
    if (Math.abs(ringArea2(coords, ringStart[r], ringStart[r + 1])) < MIN_AREA2) degenerate(r);
  }
  checkHoles(coords, ringStart, where, fail);
  return new PolygonPart(coords, ringStart);
}

/**
 * Rejects rings that cross or touch themselves and rings of one polygon that cross each other
 * (two rings may touch at a single point, as OGC allows). Candidate pairs come from an R-tree
 * over the edges, so a 20,000-vertex area costs milliseconds, not a quadratic scan.
 */
function checkCrossings(coords: Float64Array, ringStart: Int32Array, where: string, fail: Fail): void {
  const ringCount = ringStart.length - 1;
  const edgeCount = ringStart[ringCount] - ringCount;
  const edgeV = new Int32Array(edgeCount); // first vertex of each edge
  const edgeRing = new Int32Array(edgeCount);
  let e = 0;
  for (let r = 0; r < ringCount; r++) {
    for (let v = ringStart[r]; v < ringStart[r + 1] - 1; v++) {
      edgeV[e] = v;
      edgeRing[e++] = r;
    }
  }
  const tree = new Flatbush(edgeCount);
  for (let k = 0; k < edgeCount; k++) {
    const i = edgeV[k] * 2;
    tree.add(
      Math.min(coords[i], coords[i + 2]), Math.min(coords[i + 1], coords[i + 3]),
      Math.max(coords[i], coords[i + 2]), Math.max(coords[i + 1], coords[i + 3]),
    );
  }
  tree.finish();
  // Work budget: candidate pairs (edges whose boxes overlap) are few for real boundaries (a few
  // per edge), but a valid "accordion" of long nested slivers makes every pair a candidate, and
  // checking them is quadratic (a 16k-vertex one took 22 s). Past the budget the zone is refused
  // with a clear error instead of holding a CPU.
  const budget = Math.max(MIN_PAIR_BUDGET, PAIRS_PER_EDGE * edgeCount);
  let pairs = 0;
  const count = (): boolean => {
    if (++pairs > budget) {
      fail('ZONE_TOO_COMPLEX', `${where}: its edges overlap each other too much to validate (more than ${budget.toLocaleString('en-GB')} overlapping edge pairs, e.g. long nested slivers); simplify the zone or split it into several`);
    }
    return true;
  };
  for (let a = 0; a < edgeCount; a++) {
    const i = edgeV[a] * 2;
    const ax = coords[i], ay = coords[i + 1], bx = coords[i + 2], by = coords[i + 3];
    const hits = tree.search(Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by), count);
    for (const b of hits) {
      if (b <= a) continue;
      const j = edgeV[b] * 2;
      const meet = segmentsMeet(ax, ay, bx, by, coords[j], coords[j + 1], coords[j + 2], coords[j + 3]);
      if (meet === 0) continue;
      const r = edgeRing[a];
      if (edgeRing[b] !== r) {
        if (meet === 2) {
          fail('ZONE_SELF_INTERSECTION', `${where}: ring ${r} and ring ${edgeRing[b]} cross near [${ax}, ${ay}]`);
        }
        continue;
      }
      const first = ringStart[r], lastEdge = ringStart[r + 1] - 2;
      const adjacent = edgeV[b] === edgeV[a] + 1 || (edgeV[a] === first && edgeV[b] === lastEdge);
      // Neighbouring edges share a corner; they are at fault only if one doubles back along the other.
      if (adjacent && meet === 1) continue;
      fail('ZONE_SELF_INTERSECTION', `${where}: ring ${r} crosses or touches itself near [${coords[j]}, ${coords[j + 1]}] (edges ${edgeV[a] - first} and ${edgeV[b] - first})`);
    }
  }
}

/** Every hole must lie inside the outer ring. Rings do not cross (checked), so one corner decides. */
function checkHoles(coords: Float64Array, ringStart: Int32Array, where: string, fail: Fail): void {
  const ringCount = ringStart.length - 1;
  if (ringCount < 2) return;
  const shell = new PolygonPart(coords.subarray(0, ringStart[1] * 2), ringStart.subarray(0, 2));
  for (let r = 1; r < ringCount; r++) {
    // A corner of the hole off the shell's boundary: inside the shell or not, unambiguously.
    let decided = false;
    for (let v = ringStart[r]; v < ringStart[r + 1] - 1 && !decided; v++) {
      const x = coords[v * 2], y = coords[v * 2 + 1];
      if (shell.edgeDistanceM(x, y, 0.01) !== Infinity) continue;
      decided = true;
      if (!shell.contains(x, y)) fail('ZONE_HOLE_OUTSIDE', `${where}: hole ${r} is not inside the outer ring (its corner [${x}, ${y}] lies outside)`);
    }
  }
}

function isCollinear(coords: Float64Array, start: number, end: number): boolean {
  const ax = coords[start * 2], ay = coords[start * 2 + 1];
  const bx = coords[start * 2 + 2], by = coords[start * 2 + 3];
  for (let v = start + 2; v < end; v++) {
    if ((bx - ax) * (coords[v * 2 + 1] - ay) - (by - ay) * (coords[v * 2] - ax) !== 0) return false;
  }
  return true;
}

function readPosition(pos: unknown, label: string, fail: Fail): [number, number] {
  if (!Array.isArray(pos) || pos.length < 2) fail('ZONE_BAD_GEOMETRY', `${label} must be a [longitude, latitude] array, got ${describe(pos)}`);
  const [lon, lat] = pos as unknown[];
  if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) {
    fail('ZONE_BAD_COORDINATE', `${label} must hold finite numbers, got [${describe(lon)}, ${describe(lat)}]`);
  }
  if ((lon as number) < -180 || (lon as number) > 180 || (lat as number) < -90 || (lat as number) > 90) {
    fail('ZONE_COORDINATE_RANGE', `${label} is [${lon}, ${lat}]: longitude must be within [-180, 180] and latitude within [-90, 90] (GeoJSON order is [lon, lat])`);
  }
  return [lon as number, lat as number];
}

function optionalName(v: unknown, key: string, fail: Fail): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_LENGTH) {
    fail('ZONE_BAD_PROPERTIES', `properties.${key} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${describe(v)}`);
  }
  return v as string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short, safe rendering of a bad value for an error message (never the whole payload). */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
