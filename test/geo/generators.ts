// Shared arbitraries and independent reference computations for the geo test suites.
//
// Nothing here imports the code under test: the references are built from first principles
// (haversine, dense sampling of lon/lat-linear edges) and from @turf/turf.
import fc from 'fast-check';
import * as turf from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';

export const R_EARTH_M = 6371008.8;
/** Metres per degree of latitude (and of longitude on the equator) on the reference sphere. */
export const M_PER_DEG = (R_EARTH_M * Math.PI) / 180;
const D2R = Math.PI / 180;

export type Pos = [number, number];
export type Ring = Pos[];
export type PolygonRings = Ring[];

// ---------------------------------------------------------------------------------------------
// Reference geometry
// ---------------------------------------------------------------------------------------------

/** Great-circle distance in metres (haversine, R = 6371008.8 m). */
export function havM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const p1 = lat1 * D2R;
  const p2 = lat2 * D2R;
  const sdp = Math.sin((p2 - p1) / 2);
  const sdl = Math.sin(((lon2 - lon1) * D2R) / 2);
  const a = sdp * sdp + Math.cos(p1) * Math.cos(p2) * sdl * sdl;
  return 2 * R_EARTH_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Wrap a longitude into [-180, 180]. */
export function wrapLon(lon: number): number {
  let l = lon;
  while (l > 180) l -= 360;
  while (l < -180) l += 360;
  return l;
}

/** turf.destination with the longitude wrapped into [-180, 180]. */
export function destination(lon: number, lat: number, distM: number, bearingDeg: number): Pos {
  const c = turf.destination([lon, lat], distM, bearingDeg, { units: 'meters' }).geometry.coordinates;
  return [wrapLon(c[0]!), c[1]!];
}

/** Planar (degree-space) distance from p to segment ab. */
export function planarSegDistDeg(px: number, py: number, a: Pos, b: Pos): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((px - a[0]) * dx + (py - a[1]) * dy) / len2;
  t = Math.max(0, Math.min(1, t));
  const ex = a[0] + t * dx - px;
  const ey = a[1] + t * dy - py;
  return Math.sqrt(ex * ex + ey * ey);
}

export interface Edge {
  a: Pos;
  b: Pos;
}

/** All edges of all rings of all polygons; `skip` drops edges that are not part of the zone's boundary. */
export function edgesOf(polys: PolygonRings[], skip?: (a: Pos, b: Pos) => boolean): Edge[] {
  const out: Edge[] = [];
  for (const poly of polys) {
    for (const ring of poly) {
      for (let i = 0; i + 1 < ring.length; i++) {
        const a = ring[i]!;
        const b = ring[i + 1]!;
        if (skip && skip(a, b)) continue;
        out.push({ a, b });
      }
    }
  }
  return out;
}

/** The ±180 cut edges of an antimeridian-split zone: they are shared by two parts and are not zone boundary. */
export function isAntimeridianCut(a: Pos, b: Pos): boolean {
  return Math.abs(a[0]) === 180 && a[0] === b[0];
}

/** Minimum planar (degree) distance from p to any edge. */
export function minPlanarDistDeg(lon: number, lat: number, edges: Edge[]): number {
  let best = Infinity;
  for (const e of edges) best = Math.min(best, planarSegDistDeg(lon, lat, e.a, e.b));
  return best;
}

function along(e: Edge, t: number): Pos {
  return [e.a[0] + t * (e.b[0] - e.a[0]), e.a[1] + t * (e.b[1] - e.a[1])];
}

function distAt(e: Edge, t: number, lon: number, lat: number): number {
  const p = along(e, t);
  return havM(lon, lat, p[0], p[1]);
}

const COARSE = 24;
const FINE = 256;

/**
 * Reference: minimum haversine distance (m) from (lon, lat) to the edges, where an edge is the
 * straight line between its endpoints in lon/lat (RFC 7946 planar edges).
 *
 * Each edge is sampled coarsely; since distance is 1-Lipschitz in arc length, coarse minus the
 * sample spacing is a lower bound, which prunes edges. Surviving edges are sampled at 256 points
 * and the best sample is refined by golden-section search, giving millimetre accuracy.
 */
export function refMinDistM(lon: number, lat: number, edges: Edge[]): number {
  const cands: { lb: number; e: Edge }[] = [];
  let bestUpper = Infinity;
  for (const e of edges) {
    let m = Infinity;
    let gap = 0;
    let prev: Pos | null = null;
    for (let k = 0; k <= COARSE; k++) {
      const p = along(e, k / COARSE);
      m = Math.min(m, havM(lon, lat, p[0], p[1]));
      if (prev) gap = Math.max(gap, havM(prev[0], prev[1], p[0], p[1]));
      prev = p;
    }
    bestUpper = Math.min(bestUpper, m);
    cands.push({ lb: m - 0.6 * gap - 1e-6, e });
  }
  cands.sort((x, y) => x.lb - y.lb);
  let best = bestUpper;
  for (const c of cands) {
    if (c.lb > best) break;
    best = Math.min(best, refineEdge(c.e, lon, lat));
  }
  return best;
}

function refineEdge(e: Edge, lon: number, lat: number): number {
  let bestK = 0;
  let bestD = Infinity;
  for (let k = 0; k <= FINE; k++) {
    const d = distAt(e, k / FINE, lon, lat);
    if (d < bestD) {
      bestD = d;
      bestK = k;
    }
  }
  let lo = Math.max(0, bestK - 1) / FINE;
  let hi = Math.min(FINE, bestK + 1) / FINE;
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = distAt(e, x1, lon, lat);
  let f2 = distAt(e, x2, lon, lat);
  for (let it = 0; it < 80 && hi - lo > 1e-15; it++) {
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = distAt(e, x1, lon, lat);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = distAt(e, x2, lon, lat);
    }
  }
  return Math.min(bestD, f1, f2);
}

// ---------------------------------------------------------------------------------------------
// Star-shaped polygons
// ---------------------------------------------------------------------------------------------

/**
 * A star-shaped ring in unit form: strictly increasing angles (clockwise from north, every gap
 * below 2π/3) and a relative radius per angle. Any such ring is simple, and contains the disc of
 * radius min(radii)·cos(maxGap/2) ≥ 0.5·min(radii) around its centre.
 */
export interface StarShape {
  angles: number[];
  radii: number[];
}

export function starShapeArb(minRel: number, maxRel: number, minN = 5, maxN = 40): fc.Arbitrary<StarShape> {
  return fc.integer({ min: minN, max: maxN }).chain((n) =>
    fc
      .record({
        phase: uniform(0, 2 * Math.PI),
        jitter: fc.array(uniform(-0.3, 0.3), { minLength: n, maxLength: n }),
        radii: fc.array(uniform(minRel, maxRel), { minLength: n, maxLength: n }),
      })
      .map(({ phase, jitter, radii }) => {
        const step = (2 * Math.PI) / n;
        return { angles: jitter.map((j, i) => phase + (i + j) * step), radii };
      }),
  );
}

export interface Frame {
  /** centre longitude (may be outside [-180, 180] before wrapping) */
  lon: number;
  lat: number;
  /** metres per degree of longitude used to lay the shape out */
  mPerDegLon: number;
}

export function frameAt(lon: number, lat: number): Frame {
  return { lon, lat, mPerDegLon: M_PER_DEG * Math.cos(lat * D2R) };
}

/** Lay out a star shape of radius rM around a frame's centre (offset by dx, dy metres); closed ring. */
export function starRing(shape: StarShape, f: Frame, rM: number, ccw: boolean, dxM = 0, dyM = 0): Ring {
  const pts: Pos[] = shape.angles.map((th, i) => {
    const r = rM * shape.radii[i]!;
    return [f.lon + (dxM + r * Math.sin(th)) / f.mPerDegLon, f.lat + (dyM + r * Math.cos(th)) / M_PER_DEG];
  });
  if (ccw) pts.reverse();
  pts.push([pts[0]![0], pts[0]![1]]);
  return pts;
}

/** Sutherland–Hodgman against the meridian lon = 180 of an unwrapped ring that crosses it exactly twice. */
export function splitAt180(ring: Ring): { west: Ring; east: Ring } {
  const open = ring.slice(0, -1);
  const cross = (p: Pos, q: Pos): number => {
    // canonical order (west endpoint first) so both halves get the bit-identical latitude
    const [w, e] = p[0] < q[0] ? [p, q] : [q, p];
    return w[1] + ((180 - w[0]) * (e[1] - w[1])) / (e[0] - w[0]);
  };
  const west: Pos[] = [];
  const east: Pos[] = [];
  for (let i = 0; i < open.length; i++) {
    const prev = open[(i + open.length - 1) % open.length]!;
    const cur = open[i]!;
    const prevW = prev[0] < 180;
    const curW = cur[0] < 180;
    if (prevW !== curW) {
      const lat = cross(prev, cur);
      west.push([180, lat]);
      east.push([-180, lat]);
    }
    if (curW) west.push([cur[0], cur[1]]);
    else east.push([cur[0] - 360, cur[1]]);
  }
  west.push([west[0]![0], west[0]![1]]);
  east.push([east[0]![0], east[0]![1]]);
  return { west, east };
}

// ---------------------------------------------------------------------------------------------
// Zone cases for the oracle
// ---------------------------------------------------------------------------------------------

export interface PolyCase {
  label: string;
  feature: Feature<Polygon | MultiPolygon>;
  /** the zone's polygons, as in the feature */
  polys: PolygonRings[];
  /** true when the zone is an antimeridian split: its ±180 cut edges are not boundary */
  split: boolean;
  /** query window in unwrapped longitude; query points are wrapped into [-180, 180] */
  window: { minLon: number; maxLon: number; minLat: number; maxLat: number };
  /** overall size in metres (the generated zone spans at most this) */
  sizeM: number;
  /** centre of each star part (wrapped), and the parts' radius in metres */
  centres: Pos[];
  partRadiusM: number;
}

/**
 * Uniform in [lo, hi] (both ends reachable). Not fc.double: it draws uniformly over representable
 * doubles, so nearly every value it gives is vanishingly close to 0.
 */
export function uniform(lo: number, hi: number): fc.Arbitrary<number> {
  const N = 0x3fffffff;
  return fc.integer({ min: 0, max: N }).map((i) => (i === N ? hi : lo + (hi - lo) * (i / N)));
}

/** log-uniform in [lo, hi] */
export function logUniform(lo: number, hi: number): fc.Arbitrary<number> {
  return uniform(0, 1).map((u) => lo * Math.pow(hi / lo, u));
}

export const SHELL_MIN_REL = 0.3;
export const HOLE_MIN_REL = 0.04;
export const HOLE_MAX_REL = 0.14;
export const ISLAND_MAX_REL = 0.02;

export interface PartShapes {
  shell: StarShape;
  hole: StarShape | null;
  island: StarShape | null;
  shellCcw: boolean;
}

const partShapesArbWith = (maxShellN: number): fc.Arbitrary<PartShapes> =>
  fc
  .record({
    shell: starShapeArb(SHELL_MIN_REL, 1, 5, maxShellN),
    holeKind: fc.constantFrom('none', 'none', 'hole', 'hole+island'),
    hole: starShapeArb(HOLE_MIN_REL, HOLE_MAX_REL, 5, 24),
    island: starShapeArb(ISLAND_MAX_REL / 4, ISLAND_MAX_REL, 5, 12),
    shellCcw: fc.boolean(),
  })
  .map(({ shell, holeKind, hole, island, shellCcw }) => ({
    shell,
    hole: holeKind === 'none' ? null : hole,
    island: holeKind === 'hole+island' ? island : null,
    shellCcw,
  }));

function bboxOfPolys(polys: PolygonRings[]): { minLon: number; maxLon: number; minLat: number; maxLat: number } {
  let minLon = Infinity;
  let maxLon = -Infinity;
  let minLat = Infinity;
  let maxLat = -Infinity;
  for (const p of polys)
    for (const r of p)
      for (const [x, y] of r) {
        minLon = Math.min(minLon, x);
        maxLon = Math.max(maxLon, x);
        minLat = Math.min(minLat, y);
        maxLat = Math.max(maxLat, y);
      }
  return { minLon, maxLon, minLat, maxLat };
}

export function toFeature(id: string, polys: PolygonRings[], asMulti: boolean): Feature<Polygon | MultiPolygon> {
  const geometry: Polygon | MultiPolygon =
    polys.length === 1 && !asMulti
      ? { type: 'Polygon', coordinates: polys[0]! }
      : { type: 'MultiPolygon', coordinates: polys };
  return { type: 'Feature', id, geometry, properties: {} };
}

/**
 * One to three disjoint star parts laid out along a random direction; each part may have a hole,
 * and a hole may hold an island (a further part of the MultiPolygon).
 */
export function starCluster(
  centre: Frame,
  sizeM: number,
  nParts: number,
  parts: PartShapes[],
  dirRad: number,
): { polys: PolygonRings[]; centres: Pos[]; partRadiusM: number } {
  const rp = sizeM / (2.05 * (nParts - 1) + 2);
  const polys: PolygonRings[] = [];
  const centres: Pos[] = [];
  for (let k = 0; k < nParts; k++) {
    const ps = parts[k]!;
    const off = (k - (nParts - 1) / 2) * 2.05 * rp;
    const dx = off * Math.sin(dirRad);
    const dy = off * Math.cos(dirRad);
    centres.push([wrapLon(centre.lon + dx / centre.mPerDegLon), centre.lat + dy / M_PER_DEG]);
    const shell = starRing(ps.shell, centre, rp, ps.shellCcw, dx, dy);
    // Holes and islands only where they are at least a few centimetres across: a ring of a
    // square centimetre may fairly be refused as enclosing no area.
    if (ps.hole && rp >= 2) {
      const hole = starRing(ps.hole, centre, rp, !ps.shellCcw, dx, dy);
      polys.push([shell, hole]);
      if (ps.island && rp >= 20) polys.push([starRing(ps.island, centre, rp, ps.shellCcw, dx, dy)]);
    } else {
      polys.push([shell]);
    }
  }
  return { polys, centres, partRadiusM: rp };
}

export interface ClusterSpec {
  nParts: number;
  parts: PartShapes[];
  dir: number;
  asMulti: boolean;
}

export function clusterArbWith(maxParts: number, maxShellN: number): fc.Arbitrary<ClusterSpec> {
  return fc.record({
    nParts: fc.integer({ min: 1, max: maxParts }),
    parts: fc.array(partShapesArbWith(maxShellN), { minLength: maxParts, maxLength: maxParts }),
    dir: uniform(0, 2 * Math.PI),
    asMulti: fc.boolean(),
  });
}

const clusterArb = clusterArbWith(3, 40);

/** Zones at UK latitudes, 5 m .. 50 km across. */
export const ukPolyCase: fc.Arbitrary<PolyCase> = fc
  .record({
    lon: uniform(-8, 2),
    lat: uniform(49.5, 59),
    sizeM: logUniform(5, 50_000),
    c: clusterArb,
  })
  .map(({ lon, lat, sizeM, c }) => {
    const { polys, centres, partRadiusM } = starCluster(frameAt(lon, lat), sizeM, c.nParts, c.parts, c.dir);
    return {
      label: `uk ${sizeM.toFixed(1)}m parts=${polys.length}`,
      feature: toFeature('Z-uk', polys, c.asMulti),
      polys,
      split: false,
      window: bboxOfPolys(polys),
      sizeM,
      centres,
      partRadiusM,
    };
  });

/** Zones at 80–84.9° north or south, kept below the 85° polar limit. */
export const polarPolyCase: fc.Arbitrary<PolyCase> = fc
  .record({
    lon: uniform(-170, 170),
    lat: uniform(80, 84.9),
    south: fc.boolean(),
    sizeU: uniform(0, 1),
    c: clusterArb,
  })
  .map(({ lon, lat, south, sizeU, c }) => {
    const maxSize = Math.min(50_000, 2 * (84.995 - lat) * M_PER_DEG);
    const sizeM = 5 * Math.pow(Math.max(maxSize, 5.0001) / 5, sizeU);
    const { polys, centres, partRadiusM } = starCluster(frameAt(lon, south ? -lat : lat), sizeM, c.nParts, c.parts, c.dir);
    return {
      label: `polar ${south ? 'S' : 'N'} ${sizeM.toFixed(1)}m parts=${polys.length}`,
      feature: toFeature('Z-polar', polys, c.asMulti),
      polys,
      split: false,
      window: bboxOfPolys(polys),
      sizeM,
      centres,
      partRadiusM,
    };
  });

/**
 * Zones next to the antimeridian: either small zones centred at ±179.99 that do not cross it,
 * or stars centred on it and split into a MultiPolygon at ±180 (RFC 7946 §3.1.9). A star split
 * through its own centre falls into exactly one simple polygon on each side.
 */
export const antimeridianPolyCase: fc.Arbitrary<PolyCase> = fc.oneof(
  fc
    .record({
      east: fc.boolean(),
      lat: uniform(-70, 70),
      sizeU: uniform(0, 1),
      c: clusterArb,
    })
    .map(({ east, lat, sizeU, c }): PolyCase => {
      const lon = east ? 179.99 : -179.99;
      const f = frameAt(lon, lat);
      const maxSize = 2 * 0.0099 * f.mPerDegLon;
      const sizeM = 5 * Math.pow(maxSize / 5, sizeU);
      const { polys, centres, partRadiusM } = starCluster(f, sizeM, c.nParts, c.parts, c.dir);
      // query window centred on the zone; points past ±180 wrap to the other side
      return {
        label: `antimeridian-near ${lon} ${sizeM.toFixed(1)}m parts=${polys.length}`,
        feature: toFeature('Z-am', polys, c.asMulti),
        polys,
        split: false,
        window: bboxOfPolys(polys),
        sizeM,
        centres,
        partRadiusM,
      };
    }),
  fc
    .record({
      lat: uniform(-70, 70),
      sizeM: logUniform(5, 50_000),
      shape: starShapeArb(SHELL_MIN_REL, 1),
      ccw: fc.boolean(),
      westFirst: fc.boolean(),
    })
    .filter(({ lat, sizeM, shape }) => {
      // keep every vertex at least 1 cm off the cut so no part is a sliver
      const f = frameAt(180, lat);
      return shape.angles.every((th, i) => Math.abs((sizeM / 2) * shape.radii[i]! * Math.sin(th)) / f.mPerDegLon > 1e-7);
    })
    .map(({ lat, sizeM, shape, ccw, westFirst }): PolyCase => {
      const ring = starRing(shape, frameAt(180, lat), sizeM / 2, ccw);
      const { west, east } = splitAt180(ring);
      const polys: PolygonRings[] = westFirst ? [[west], [east]] : [[east], [west]];
      const w = bboxOfPolys([[ring]]);
      return {
        label: `antimeridian-split ${sizeM.toFixed(1)}m`,
        feature: toFeature('Z-am-split', polys, true),
        polys,
        split: true,
        window: w,
        sizeM,
        centres: [[180, lat]],
        partRadiusM: sizeM / 2,
      };
    }),
);

// ---------------------------------------------------------------------------------------------
// Query points
// ---------------------------------------------------------------------------------------------

export interface QuerySpec {
  u: number;
  v: number;
  /** maxDistM = 1 m .. 4·size, log scale */
  w: number;
}

export const querySpecArb: fc.Arbitrary<QuerySpec> = fc.record({
  u: uniform(-0.25, 1.25),
  v: uniform(-0.25, 1.25),
  w: uniform(0, 1),
});

/** A point just off a boundary edge: on either side, 10^-e of the part radius away (e in 1..5). */
export interface NearEdgeSpec {
  k: number;
  t: number;
  side: boolean;
  e: number;
  w: number;
}

export const nearEdgeSpecArb: fc.Arbitrary<NearEdgeSpec> = fc.record({
  k: fc.nat(),
  t: uniform(0, 1),
  side: fc.boolean(),
  e: uniform(1, 5),
  w: uniform(0, 1),
});

export function nearEdgePoint(zc: PolyCase, boundary: Edge[], s: NearEdgeSpec): Pos {
  const { a, b } = boundary[s.k % boundary.length]!;
  const lon = a[0] + s.t * (b[0] - a[0]);
  const lat = a[1] + s.t * (b[1] - a[1]);
  const f = frameAt(lon, lat);
  const ex = (b[0] - a[0]) * f.mPerDegLon;
  const ey = (b[1] - a[1]) * M_PER_DEG;
  const len = Math.hypot(ex, ey);
  const off = (s.side ? 1 : -1) * zc.partRadiusM * Math.pow(10, -s.e);
  return [
    wrapLon(lon + (-ey / len) * off / f.mPerDegLon),
    Math.max(-90, Math.min(90, lat + (ex / len) * off / M_PER_DEG)),
  ];
}

/** A point in a window grown by half its size on each side, lon wrapped, lat clamped. */
export function queryPoint(
  q: QuerySpec,
  win: { minLon: number; maxLon: number; minLat: number; maxLat: number },
): Pos {
  const lon = win.minLon + q.u * (win.maxLon - win.minLon);
  const lat = win.minLat + q.v * (win.maxLat - win.minLat);
  return [wrapLon(lon), Math.max(-90, Math.min(90, lat))];
}

export function maxDistFor(q: { w: number }, sizeM: number): number {
  return Math.pow(4 * sizeM + 10, q.w);
}

/** Is the point strictly inside (or on the boundary of) the polygons, according to turf? */
export function turfContains(feature: Feature<Polygon | MultiPolygon>, lon: number, lat: number): boolean {
  return turf.booleanPointInPolygon([lon, lat], feature);
}

/** Reference signed distance: + inside, − outside (turf containment), magnitude by refMinDistM. */
export function refSignedDistM(
  feature: Feature<Polygon | MultiPolygon>,
  boundary: Edge[],
  lon: number,
  lat: number,
): number {
  const d = refMinDistM(lon, lat, boundary);
  return turfContains(feature, lon, lat) ? d : -d;
}

/**
 * Checks a signed distance against the reference under the tolerance of the spec:
 * |ours − ref| ≤ max(0.5 % |ref|, 1 m) while |ref| ≤ maxDistM, ±Infinity beyond it
 * (with a 1 % / 1 m band around maxDistM where either answer is acceptable).
 * Returns null when fine, else a description of the fault.
 */
export function distanceFault(ours: number, ref: number, maxDistM: number): string | null {
  const tol = Math.max(0.005 * Math.abs(ref), 1);
  const close = Number.isFinite(ours) && Math.abs(ours - ref) <= tol;
  const signedInf = ref > 0 ? Infinity : -Infinity;
  const abs = Math.abs(ref);
  if (abs <= maxDistM * 0.99 - 1) {
    return close ? null : `expected ${ref} ± ${tol} (maxDistM ${maxDistM}), got ${ours}`;
  }
  if (abs >= maxDistM * 1.01 + 1) {
    return ours === signedInf ? null : `expected ${signedInf} (ref ${ref} beyond maxDistM ${maxDistM}), got ${ours}`;
  }
  return close || ours === signedInf
    ? null
    : `expected ${ref} ± ${tol} or ${signedInf} (maxDistM ${maxDistM}), got ${ours}`;
}
