import { DEG, EARTH_RADIUS_M, M_PER_DEG, haversineM, wrapDLon } from './earth.js';

/**
 * A point closer than this (in degrees, planar) to an edge is on the boundary, and the boundary
 * counts as inside. 1e-9 degrees is about 0.1 mm: far below GPS accuracy, far above the
 * rounding error of a point interpolated onto an edge.
 */
export const BOUNDARY_EPS_DEG = 1e-9;
const EPS2 = BOUNDARY_EPS_DEG * BOUNDARY_EPS_DEG;

/** Parts with more edges than this get a y-band edge index; smaller ones are scanned whole. */
const BAND_MIN_EDGES = 32;
/** Target number of edges per band. */
const EDGES_PER_BAND = 4;

/** Edge test result codes. */
const MISS = 0;
const CROSS = 1;
const ON_EDGE = 2;

/**
 * One polygon (outer ring plus holes) in planar lon/lat, as RFC 7946 defines edges.
 * Rings are stored closed (last vertex repeats the first) in one Float64Array of x,y pairs,
 * so an edge is (vertex i, vertex i + 1) for every i but a ring's last vertex.
 */
export class PolygonPart {
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
  /** Vertex index where each ring starts; ringStart[ringCount] is the end. */
  readonly ringStart: Int32Array;
  readonly edgeCount: number;
  // y-band index (bandCount 0 when the part is small enough to scan)
  private readonly bandCount: number;
  private readonly bandMinLat: number;
  private readonly bandsPerDeg: number;
  private readonly bandStart: Int32Array;
  private readonly bandEdges: Int32Array;

  constructor(readonly coords: Float64Array, ringStart: Int32Array) {
    this.ringStart = ringStart;
    let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity;
    for (let i = 0; i < coords.length; i += 2) {
      const x = coords[i], y = coords[i + 1];
      if (x < minLon) minLon = x;
      if (x > maxLon) maxLon = x;
      if (y < minLat) minLat = y;
      if (y > maxLat) maxLat = y;
    }
    this.minLon = minLon;
    this.minLat = minLat;
    this.maxLon = maxLon;
    this.maxLat = maxLat;
    const ringCount = ringStart.length - 1;
    this.edgeCount = ringStart[ringCount] - ringCount;

    if (this.edgeCount <= BAND_MIN_EDGES || maxLat === minLat) {
      this.bandCount = 0;
      this.bandMinLat = 0;
      this.bandsPerDeg = 0;
      this.bandStart = EMPTY_I32;
      this.bandEdges = EMPTY_I32;
      return;
    }
    const bandCount = Math.min(1 << 16, Math.ceil(this.edgeCount / EDGES_PER_BAND));
    const bandsPerDeg = bandCount / (maxLat - minLat);
    const bandOf = (lat: number): number => {
      const b = Math.floor((lat - minLat) * bandsPerDeg);
      return b < 0 ? 0 : b >= bandCount ? bandCount - 1 : b;
    };
    // Two passes (count, then fill) into one CSR array: no per-band arrays.
    const counts = new Int32Array(bandCount + 1);
    this.forEachEdge((i) => {
      const ay = coords[i + 1], by = coords[i + 3];
      const lo = bandOf(Math.min(ay, by) - BOUNDARY_EPS_DEG);
      const hi = bandOf(Math.max(ay, by) + BOUNDARY_EPS_DEG);
      for (let b = lo; b <= hi; b++) counts[b + 1]++;
    });
    for (let b = 0; b < bandCount; b++) counts[b + 1] += counts[b];
    const bandEdges = new Int32Array(counts[bandCount]);
    const fill = counts.slice(0, bandCount);
    this.forEachEdge((i) => {
      const ay = coords[i + 1], by = coords[i + 3];
      const lo = bandOf(Math.min(ay, by) - BOUNDARY_EPS_DEG);
      const hi = bandOf(Math.max(ay, by) + BOUNDARY_EPS_DEG);
      for (let b = lo; b <= hi; b++) bandEdges[fill[b]++] = i;
    });
    this.bandCount = bandCount;
    this.bandMinLat = minLat;
    this.bandsPerDeg = bandsPerDeg;
    this.bandStart = counts;
    this.bandEdges = bandEdges;
  }

  /** True when contains() scans every edge (no y-band index): the part is small. */
  get scansAll(): boolean {
    return this.bandCount === 0;
  }

  /** Calls fn with the coordinate offset (2 * vertex index) of each edge's first vertex. */
  forEachEdge(fn: (offset: number) => void): void {
    const rs = this.ringStart;
    for (let r = 0; r + 1 < rs.length; r++) {
      for (let v = rs[r]; v < rs[r + 1] - 1; v++) fn(v * 2);
    }
  }

  /** Planar (RFC 7946) point in polygon, even-odd over all rings; the boundary counts as inside. */
  contains(lon: number, lat: number): boolean {
    if (
      lon < this.minLon - BOUNDARY_EPS_DEG || lon > this.maxLon + BOUNDARY_EPS_DEG ||
      lat < this.minLat - BOUNDARY_EPS_DEG || lat > this.maxLat + BOUNDARY_EPS_DEG
    ) return false;
    const c = this.coords;
    let inside = false;
    if (this.bandCount > 0) {
      let b = Math.floor((lat - this.bandMinLat) * this.bandsPerDeg);
      if (b < 0) b = 0;
      else if (b >= this.bandCount) b = this.bandCount - 1;
      const edges = this.bandEdges;
      for (let k = this.bandStart[b], end = this.bandStart[b + 1]; k < end; k++) {
        const i = edges[k];
        const t = edgeTest(c[i], c[i + 1], c[i + 2], c[i + 3], lon, lat);
        if (t === ON_EDGE) return true;
        if (t === CROSS) inside = !inside;
      }
      return inside;
    }
    const rs = this.ringStart;
    for (let r = 0; r + 1 < rs.length; r++) {
      const end = (rs[r + 1] - 1) * 2;
      for (let i = rs[r] * 2; i < end; i += 2) {
        const t = edgeTest(c[i], c[i + 1], c[i + 2], c[i + 3], lon, lat);
        if (t === ON_EDGE) return true;
        if (t === CROSS) inside = !inside;
      }
    }
    return inside;
  }

  /**
   * Distance in metres from the point to the nearest edge of this part, or Infinity when no
   * edge is within maxDistM. The nearest point is found in an equirectangular frame centred on
   * the query point (edges stay straight there, as they are straight in lon/lat), then measured
   * exactly with haversine: the frame only chooses the point, it never sets the distance.
   */
  edgeDistanceM(lon: number, lat: number, maxDistM: number, seamCover: SeamCover | null = null): number {
    const maxDLat = maxDistM / M_PER_DEG;
    if (lat < this.minLat - maxDLat || lat > this.maxLat + maxDLat) return Infinity;
    // Longitude gap to the bbox, the short way round. Every point of the part is at least as far
    // as the meridian at that gap, and the distance from the query point to a meridian Δλ away
    // is R·asin(cos φ · sin Δλ) (for Δλ < 90°): a true lower bound, even near the poles.
    if (lon < this.minLon || lon > this.maxLon) {
      const gapLon = Math.min(Math.abs(wrapDLon(this.minLon - lon)), Math.abs(wrapDLon(lon - this.maxLon)));
      if (gapLon < 90 && EARTH_RADIUS_M * Math.asin(Math.cos(lat * DEG) * Math.sin(gapLon * DEG)) > maxDistM * 1.0001 + 1e-6) return Infinity;
    }

    const kx = Math.cos(lat * DEG) * M_PER_DEG;
    const c = this.coords;
    best2 = Infinity;
    bestLon = NaN;
    bestLat = NaN;
    seam = seamCover;
    if (this.bandCount > 0) {
      let lo = Math.floor((lat - maxDLat - this.bandMinLat) * this.bandsPerDeg);
      let hi = Math.floor((lat + maxDLat - this.bandMinLat) * this.bandsPerDeg);
      if (lo < 0) lo = 0;
      if (hi >= this.bandCount) hi = this.bandCount - 1;
      if ((hi - lo + 1) * 2 < this.bandCount) {
        // Edges spanning several bands are scanned more than once: harmless for a minimum.
        const edges = this.bandEdges;
        for (let k = this.bandStart[lo], end = this.bandStart[hi + 1]; k < end; k++) scanEdge(c, edges[k], lon, lat, kx);
      } else {
        this.scanAll(lon, lat, kx);
      }
    } else {
      this.scanAll(lon, lat, kx);
    }
    if (bestLon !== bestLon) return Infinity;
    const d = haversineM(lon, lat, bestLon, bestLat);
    return d <= maxDistM ? d : Infinity;
  }

  private scanAll(lon: number, lat: number, kx: number): void {
    const rs = this.ringStart, c = this.coords;
    for (let r = 0; r + 1 < rs.length; r++) {
      const end = (rs[r + 1] - 1) * 2;
      for (let i = rs[r] * 2; i < end; i += 2) scanEdge(c, i, lon, lat, kx);
    }
  }
}

// Scratch for the nearest-edge search: module state instead of a closure or a result object,
// so a distance query allocates nothing. Queries never nest, so one set suffices.
let best2 = Infinity;
let bestLon = NaN;
let bestLat = NaN;
/**
 * For a zone split at the antimeridian: the latitude stretches of ±180 that parts on the other
 * side also cover. There the meridian is a cut, not a boundary, so it is not measured.
 */
let seam: SeamCover | null = null;

export interface SeamCover {
  /** Merged [lo, hi] latitude intervals (flat) of seam edges on +180 and on -180. */
  readonly east: Float64Array;
  readonly west: Float64Array;
}

/** Squared distance from the origin (the query point) to edge i in the local frame; keeps the best. */
function scanEdge(c: Float64Array, i: number, lon: number, lat: number, kx: number): void {
  const x0 = c[i], y0 = c[i + 1], x1 = c[i + 2], y1 = c[i + 3];
  if (seam !== null && x0 === x1 && (x0 === 180 || x0 === -180)) {
    scanSeamEdge(x0, Math.min(y0, y1), Math.max(y0, y1), x0 === 180 ? seam.west : seam.east, lon, lat, kx);
    return;
  }
  scanSegment(x0, y0, x1, y1, lon, lat, kx);
}

/** Measures only the stretches of a ±180 edge that the other side does not cover. */
function scanSeamEdge(x: number, lo: number, hi: number, cover: Float64Array, lon: number, lat: number, kx: number): void {
  let from = lo;
  for (let k = 0; k < cover.length && from < hi; k += 2) {
    const cLo = cover[k], cHi = cover[k + 1];
    if (cHi <= from) continue;
    if (cLo >= hi) break;
    if (cLo > from) scanSegment(x, from, x, cLo, lon, lat, kx);
    from = Math.max(from, cHi);
  }
  if (from < hi) scanSegment(x, from, x, hi, lon, lat, kx);
}

function scanSegment(x0: number, y0: number, x1: number, y1: number, lon: number, lat: number, kx: number): void {
  const ax = wrapDLon(x0 - lon) * kx, ay = (y0 - lat) * M_PER_DEG;
  const bx = wrapDLon(x1 - lon) * kx, by = (y1 - lat) * M_PER_DEG;
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
  if (t < 0) t = 0;
  else if (t > 1) t = 1;
  const x = ax + t * dx, y = ay + t * dy;
  const d2 = x * x + y * y;
  if (d2 < best2) {
    best2 = d2;
    bestLon = x0 + t * wrapDLon(x1 - x0);
    bestLat = y0 + t * (y1 - y0);
  }
}

const EMPTY_I32 = new Int32Array(0);

/**
 * Even-odd point in ring over one closed ring stored at c[from .. to) (x, y pairs, the last
 * repeating the first), the boundary inside: what PolygonPart.contains does for a part of one
 * ring without bands, once its box holds the point. The zone index runs it on a copy of small
 * rings kept next to its cells.
 */
export function ringContains(c: Float64Array, from: number, to: number, lon: number, lat: number): boolean {
  let inside = false;
  for (let i = from, end = to - 2; i < end; i += 2) {
    const t = edgeTest(c[i], c[i + 1], c[i + 2], c[i + 3], lon, lat);
    if (t === ON_EDGE) return true;
    if (t === CROSS) inside = !inside;
  }
  return inside;
}

/**
 * Classifies edge A->B against the point P and the horizontal ray from P towards +x.
 * CROSS: the edge crosses the ray (half-open in y, so a vertex is counted once);
 * ON_EDGE: P lies on the edge within BOUNDARY_EPS_DEG; MISS otherwise.
 */
function edgeTest(ax: number, ay: number, bx: number, by: number, px: number, py: number): number {
  if ((ay > py) !== (by > py)) {
    const dx = bx - ax, dy = by - ay;
    // cross / dy is the signed x distance from P to where the edge meets the ray.
    const cross = dx * (py - ay) - (px - ax) * dy;
    if (cross * cross <= EPS2 * (dx * dx + dy * dy)) return ON_EDGE;
    return (cross > 0) === (dy > 0) ? CROSS : MISS;
  }
  // Not straddling: P can touch the edge only at the height of one of its ends (or along it
  // when it is horizontal), which is rare, so the exact check costs nothing on average.
  if (py < (ay < by ? ay : by) - BOUNDARY_EPS_DEG || py > (ay > by ? ay : by) + BOUNDARY_EPS_DEG) return MISS;
  return segmentDist2(ax, ay, bx, by, px, py) <= EPS2 ? ON_EDGE : MISS;
}

function segmentDist2(ax: number, ay: number, bx: number, by: number, px: number, py: number): number {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  if (t < 0) t = 0;
  else if (t > 1) t = 1;
  const x = ax + t * dx - px, y = ay + t * dy - py;
  return x * x + y * y;
}

// ---------------------------------------------------------------------------------------------
// Validation helpers used when a zone is compiled (not on the query path).

/** Twice the signed planar area of a closed ring stored at coords[2*start .. 2*end). */
export function ringArea2(coords: Float64Array, start: number, end: number): number {
  let a = 0;
  for (let v = start; v < end - 1; v++) {
    const i = v * 2;
    a += coords[i] * coords[i + 3] - coords[i + 2] * coords[i + 1];
  }
  return a;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const o = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return o > 0 ? 1 : o < 0 ? -1 : 0;
}

function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return (
    Math.min(ax, bx) <= px && px <= Math.max(ax, bx) &&
    Math.min(ay, by) <= py && py <= Math.max(ay, by) &&
    orient(ax, ay, bx, by, px, py) === 0
  );
}

/**
 * How two segments meet: 0 not at all, 1 they touch at a single point that is an end of at
 * least one of them, 2 they cross properly or overlap along a stretch.
 */
export function segmentsMeet(
  ax: number, ay: number, bx: number, by: number,
  cx: number, cy: number, dx: number, dy: number,
): 0 | 1 | 2 {
  const o1 = orient(ax, ay, bx, by, cx, cy);
  const o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay);
  const o4 = orient(cx, cy, dx, dy, bx, by);
  if (o1 !== o2 && o3 !== o4 && o1 !== 0 && o2 !== 0 && o3 !== 0 && o4 !== 0) return 2;
  if (o1 === 0 && o2 === 0) {
    // Collinear: overlapping along a stretch, touching at one point, or apart.
    const useX = Math.abs(bx - ax) >= Math.abs(by - ay);
    const a0 = useX ? Math.min(ax, bx) : Math.min(ay, by);
    const a1 = useX ? Math.max(ax, bx) : Math.max(ay, by);
    const c0 = useX ? Math.min(cx, dx) : Math.min(cy, dy);
    const c1 = useX ? Math.max(cx, dx) : Math.max(cy, dy);
    const lo = Math.max(a0, c0), hi = Math.min(a1, c1);
    if (lo < hi) return 2;
    return lo === hi ? 1 : 0;
  }
  if (
    onSegment(ax, ay, bx, by, cx, cy) || onSegment(ax, ay, bx, by, dx, dy) ||
    onSegment(cx, cy, dx, dy, ax, ay) || onSegment(cx, cy, dx, dy, bx, by)
  ) return 1;
  return 0;
}
