import { DEG, EARTH_RADIUS_M, M_PER_DEG, haversineM, wrapDLon } from './earth.js';
import { BOUNDARY_EPS_DEG, type PolygonPart, type SeamCover } from './polygon.js';

/**
 * A zone compiled for queries. Two concrete shapes (circle, polygon) with one interface, so the
 * index and the engine never branch on the kind.
 */
export interface PreparedZone {
  readonly id: string;
  /** properties.layer: the shared layer the zone belongs to, if any. */
  readonly layer: string | null;
  readonly name: string | null;
  readonly kind: 'polygon' | 'circle';
  /** Positions stored (0 for a circle). */
  readonly vertexCount: number;
  /** Bounding box in degrees; a zone that straddles the antimeridian spans -180..180 here. */
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
  /** Boxes to index, 4 numbers each (minLon, minLat, maxLon, maxLat): two where the zone wraps ±180. */
  readonly boxes: Float64Array;
  /** Is the point inside? The boundary counts as inside. */
  contains(lon: number, lat: number): boolean;
  /**
   * Metres from the point to the zone's edge: positive inside, negative outside. When the edge
   * is farther than maxDistM, returns +Infinity (inside) or -Infinity (outside) without
   * measuring further.
   */
  signedDistanceM(lon: number, lat: number, maxDistM: number): number;
}

/** A circle: Point + properties.radiusM, on the sphere (haversine). */
export class CircleZone implements PreparedZone {
  readonly kind = 'circle' as const;
  readonly vertexCount = 0;
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
  readonly boxes: Float64Array;
  /** Metres per degree of longitude at the centre (the flat frame; the index tests circles with it inline). */
  readonly kx: number;
  /** Squared radius bounds (m²) between which the flat approximation cannot decide (-1 / Infinity: never decides). */
  readonly sureIn2: number;
  readonly sureOut2: number;

  constructor(
    readonly id: string,
    readonly layer: string | null,
    readonly name: string | null,
    readonly lon: number,
    readonly lat: number,
    readonly radiusM: number,
  ) {
    const rAng = radiusM / EARTH_RADIUS_M;
    const dLat = rAng / DEG;
    let minLon: number, maxLon: number, minLat = lat - dLat, maxLat = lat + dLat;
    const boxes: number[] = [];
    if (maxLat >= 90 || minLat <= -90) {
      // The cap holds a pole: every longitude is in reach.
      minLon = -180;
      maxLon = 180;
      if (maxLat >= 90) maxLat = 90;
      if (minLat <= -90) minLat = -90;
      boxes.push(-180, minLat, 180, maxLat);
    } else {
      // Exact longitude half-width of a spherical cap.
      const dLon = Math.asin(Math.min(1, Math.sin(rAng) / Math.cos(lat * DEG))) / DEG + 1e-9;
      minLon = lon - dLon;
      maxLon = lon + dLon;
      if (minLon < -180) {
        boxes.push(-180, minLat, maxLon, maxLat, minLon + 360, minLat, 180, maxLat);
        minLon = -180;
        maxLon = 180;
      } else if (maxLon > 180) {
        boxes.push(minLon, minLat, 180, maxLat, -180, minLat, maxLon - 360, maxLat);
        minLon = -180;
        maxLon = 180;
      } else {
        boxes.push(minLon, minLat, maxLon, maxLat);
      }
    }
    this.minLon = minLon;
    this.minLat = minLat - 1e-9;
    this.maxLon = maxLon;
    this.maxLat = maxLat + 1e-9;
    this.boxes = Float64Array.from(boxes);
    this.kx = Math.cos(lat * DEG) * M_PER_DEG;
    // A flat (equirectangular) distance differs from haversine by a relative error below
    // rAng * (1 + tan|lat|) within the cap; outside that band the flat answer is sure, inside
    // it haversine decides. Near the poles the flat frame is no bound at all: always haversine.
    const rel = 4 * rAng * (1 + Math.abs(Math.tan(lat * DEG))) + 1e-9;
    const flatUsable = Math.abs(lat) <= 80 && rel < 0.5;
    this.sureIn2 = flatUsable ? (radiusM * (1 - rel)) ** 2 : -1;
    this.sureOut2 = flatUsable ? (radiusM * (1 + rel)) ** 2 : Infinity;
  }

  contains(lon: number, lat: number): boolean {
    const dy = (lat - this.lat) * M_PER_DEG;
    if (dy > this.radiusM || -dy > this.radiusM) return false;
    const dx = wrapDLon(lon - this.lon) * this.kx;
    const d2 = dx * dx + dy * dy;
    if (d2 < this.sureIn2) return true;
    if (d2 > this.sureOut2) return false;
    return haversineM(this.lon, this.lat, lon, lat) <= this.radiusM;
  }

  signedDistanceM(lon: number, lat: number, maxDistM: number): number {
    const d = this.radiusM - haversineM(this.lon, this.lat, lon, lat);
    if (d > maxDistM) return Infinity;
    if (d < -maxDistM) return -Infinity;
    return d;
  }
}

/** A Polygon or MultiPolygon: one or more parts, each an outer ring with holes. */
export class PolygonZone implements PreparedZone {
  readonly kind = 'polygon' as const;
  readonly vertexCount: number;
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
  readonly boxes: Float64Array;
  /** The single part when there is one (the common case), so contains() skips the loop. */
  private readonly only: PolygonPart | null;
  /** Parts meet at ±180 (a zone split at the antimeridian): where they do, the cut is no edge. */
  private readonly seamCover: SeamCover | null;

  constructor(
    readonly id: string,
    readonly layer: string | null,
    readonly name: string | null,
    readonly parts: readonly PolygonPart[],
  ) {
    let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity, n = 0;
    for (const p of parts) {
      minLon = Math.min(minLon, p.minLon);
      minLat = Math.min(minLat, p.minLat);
      maxLon = Math.max(maxLon, p.maxLon);
      maxLat = Math.max(maxLat, p.maxLat);
      n += p.coords.length / 2;
    }
    this.vertexCount = n;
    this.minLon = minLon;
    this.minLat = minLat;
    this.maxLon = maxLon;
    this.maxLat = maxLat;
    this.only = parts.length === 1 ? parts[0] : null;
    this.seamCover = parts.some((p) => p.maxLon === 180) && parts.some((p) => p.minLon === -180) ? seamCover(parts) : null;
    // A MultiPolygon split at the antimeridian gets one box per part, not one box round the world.
    // Index boxes carry the boundary tolerance, so the index finds every zone contains() accepts.
    const e = BOUNDARY_EPS_DEG;
    if (maxLon - minLon > 180) {
      this.boxes = new Float64Array(parts.length * 4);
      parts.forEach((p, i) => this.boxes.set([p.minLon - e, p.minLat - e, p.maxLon + e, p.maxLat + e], i * 4));
    } else {
      this.boxes = Float64Array.of(minLon - e, minLat - e, maxLon + e, maxLat + e);
    }
  }

  contains(lon: number, lat: number): boolean {
    if (this.only !== null) return this.only.contains(lon, lat);
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) if (parts[i].contains(lon, lat)) return true;
    return false;
  }

  signedDistanceM(lon: number, lat: number, maxDistM: number): number {
    const inside = this.contains(lon, lat);
    let d = Infinity;
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      const pd = parts[i].edgeDistanceM(lon, lat, d < maxDistM ? d : maxDistM, this.seamCover);
      if (pd < d) d = pd;
    }
    if (d === Infinity) return inside ? Infinity : -Infinity;
    return inside ? d : -d;
  }
}

/** Latitude intervals of the ±180 edges of each side, merged (see SeamCover). */
function seamCover(parts: readonly PolygonPart[]): SeamCover {
  const east: number[][] = [], west: number[][] = [];
  for (const p of parts) {
    p.forEachEdge((i) => {
      const c = p.coords;
      if (c[i] !== c[i + 2] || (c[i] !== 180 && c[i] !== -180)) return;
      (c[i] === 180 ? east : west).push([Math.min(c[i + 1], c[i + 3]), Math.max(c[i + 1], c[i + 3])]);
    });
  }
  const merge = (list: number[][]): Float64Array => {
    list.sort((a, b) => a[0] - b[0]);
    const out: number[] = [];
    for (const [lo, hi] of list) {
      if (out.length > 0 && lo <= out[out.length - 1]) out[out.length - 1] = Math.max(out[out.length - 1], hi);
      else out.push(lo, hi);
    }
    return Float64Array.from(out);
  };
  return { east: merge(east), west: merge(west) };
}
