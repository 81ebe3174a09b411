/**
 * A synthetic but realistic UK exclusion-zone set, and query points drawn from the same places.
 *
 * Zones cluster in ~24 cities weighted by population (London widest):
 *  - circles 30–500 m (victim and curfew addresses): most zones;
 *  - hand-drawn polygons, 8–200 vertices, 100 m–3 km across, concave, a few with a hole,
 *    and some MultiPolygons of 2–3 such parts;
 *  - shared layers ("schools-manchester", ~300 circles and small polygons each, properties.layer);
 *  - a few area polygons (town centres, boroughs): 2,000–20,000 vertices, 2–15 km across,
 *    noisy concave outlines, some with holes.
 *
 * The set is kept compact (a few typed arrays, ~40 bytes a zone) and each GeoJSON Feature is
 * rebuilt on demand from (seed, index), so a million zones never exist as GeoJSON all at once.
 *
 * Every ring is star-shaped around its centre with strictly increasing angles and a radius
 * bounded away from zero, so it cannot cross itself; holes sit well inside the smallest radius
 * of their outer ring, and MultiPolygon parts are spaced further apart than their reach.
 */
import type { Feature, MultiPolygon, Point, Polygon, Position } from 'geojson';
import { citySigmaKm, pickCity, slug, UK_CITIES } from '../common/cities.js';
import { gaussian, intBetween, logUniform, mixSeed, mulberry32, type Rng } from '../common/prng.js';

/** Great Britain and Northern Ireland, for the share of query points outside any city. */
const UK_BOX = { minLon: -6.5, minLat: 50.0, maxLon: 1.75, maxLat: 57.7 };

/** Same sphere as geo/earth.ts (turf's too). */
const M_PER_DEG = (6371008.8 * Math.PI) / 180;

export const enum ZoneKind {
  Circle = 0,
  Polygon = 1,
  MultiPolygon = 2,
  Area = 3,
}

const LAYER_TYPES = ['schools', 'playgrounds', 'licensed-premises', 'parks', 'youth-centres'] as const;
const LAYER_SIZE = 300;
/** Vertices of each hole of an area polygon. */
const AREA_HOLE_VERTICES = 48;

/** Holes of a hand-drawn polygon have a quarter of its outer vertices (at least 8). */
function handHoleVertices(outer: number): number {
  return Math.max(8, outer >> 2);
}

export interface ZoneSetOptions {
  /** Seed for the whole set; zone i is rebuilt from (seed, i). */
  seed?: number;
  /** Feature ids are `${idPrefix}${i}`. */
  idPrefix?: string;
}

/**
 * n zones, stored as parameters; featureAt(i) builds zone i as GeoJSON. Typed arrays, no
 * per-zone objects: 1M zones take ~40 MB here.
 */
export class ZoneSet {
  readonly size: number;
  readonly seed: number;
  readonly idPrefix: string;
  readonly kind: Uint8Array;
  readonly city: Uint8Array;
  /** Centre of the zone (of the first part for MultiPolygons). */
  readonly lon: Float64Array;
  readonly lat: Float64Array;
  /** Circle radius, or the polygon's extent across, in metres. */
  readonly sizeM: Float32Array;
  /** Vertices of each outer ring (0 for circles). */
  readonly ringVertices: Uint32Array;
  readonly parts: Uint8Array;
  readonly holes: Uint8Array;
  /** Index into layerNames, or -1. */
  readonly layer: Int32Array;
  readonly layerNames: string[];

  constructor(n: number, options: ZoneSetOptions = {}) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`zone count must be a positive integer, got ${n}`);
    this.size = n;
    this.seed = options.seed ?? 0x5eed;
    this.idPrefix = options.idPrefix ?? 'z';
    this.kind = new Uint8Array(n);
    this.city = new Uint8Array(n);
    this.lon = new Float64Array(n);
    this.lat = new Float64Array(n);
    this.sizeM = new Float32Array(n);
    this.ringVertices = new Uint32Array(n);
    this.parts = new Uint8Array(n);
    this.holes = new Uint8Array(n);
    this.layer = new Int32Array(n).fill(-1);
    this.layerNames = [];

    const rng = mulberry32(this.seed);
    const areaCount = Math.min(Math.floor(n / 50), Math.round(3 * Math.pow(2, Math.log10(n / 1000))));
    const layerZoneCount = Math.round(n * 0.06);
    const layerCount = layerZoneCount === 0 ? 0 : Math.max(1, Math.round(layerZoneCount / LAYER_SIZE));
    const layerCity: number[] = [];
    const used = new Map<string, number>();
    for (let k = 0; k < layerCount; k++) {
      const c = pickCity(rng);
      const base = `${LAYER_TYPES[k % LAYER_TYPES.length]}-${slug(UK_CITIES[c]!.name)}`;
      const seen = used.get(base) ?? 0;
      used.set(base, seen + 1);
      this.layerNames.push(seen === 0 ? base : `${base}-${seen + 1}`);
      layerCity.push(c);
    }

    // Role of each slot: areas first, then layer members, then individual zones; a seeded shuffle
    // mixes them so index order does not follow kind.
    const role = new Int32Array(n); // -2 area, -1 individual, >= 0 layer number
    role.fill(-1);
    for (let i = 0; i < areaCount; i++) role[i] = -2;
    for (let j = 0; j < layerZoneCount && areaCount + j < n; j++) role[areaCount + j] = j % Math.max(1, layerCount);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = role[i]!;
      role[i] = role[j]!;
      role[j] = t;
    }

    for (let i = 0; i < n; i++) {
      const r = role[i]!;
      if (r === -2) {
        const c = pickCity(rng);
        const sigmaM = citySigmaKm(UK_CITIES[c]!) * 1000 * 0.5;
        this.place(i, c, rng, sigmaM);
        this.kind[i] = ZoneKind.Area;
        this.sizeM[i] = logUniform(rng, 2_000, 15_000);
        this.ringVertices[i] = Math.round(logUniform(rng, 2_000, 20_000));
        this.parts[i] = 1;
        this.holes[i] = rng() < 0.5 ? intBetween(rng, 1, 3) : 0;
      } else if (r >= 0) {
        const c = layerCity[r]!;
        this.place(i, c, rng, citySigmaKm(UK_CITIES[c]!) * 1000);
        this.layer[i] = r;
        this.parts[i] = 1;
        if (rng() < 0.7) {
          this.kind[i] = ZoneKind.Circle;
          this.sizeM[i] = logUniform(rng, 60, 300);
        } else {
          this.kind[i] = ZoneKind.Polygon;
          this.sizeM[i] = logUniform(rng, 100, 600);
          this.ringVertices[i] = Math.round(8 * Math.pow(8, rng() * rng())); // 8..64, mostly small
        }
      } else {
        const c = pickCity(rng);
        this.place(i, c, rng, citySigmaKm(UK_CITIES[c]!) * 1000);
        const u = rng();
        if (u < 0.8) {
          this.kind[i] = ZoneKind.Circle;
          this.parts[i] = 1;
          // Log-normal around 120 m: most address zones are 50-250 m.
          this.sizeM[i] = Math.min(500, Math.max(30, 120 * Math.exp(0.6 * gaussian(rng))));
        } else if (u < 0.97) {
          this.kind[i] = ZoneKind.Polygon;
          this.parts[i] = 1;
          const v = Math.min(200, Math.round(8 * Math.pow(25, rng() * rng()))); // 8..200, ~2/3 <= 32
          this.ringVertices[i] = v;
          this.sizeM[i] = 100 * Math.pow(30, Math.pow(rng(), 2.5)); // 100 m..3 km, median ~180 m
          this.holes[i] = v > 32 && rng() < 0.2 ? 1 : 0;
        } else {
          this.kind[i] = ZoneKind.MultiPolygon;
          this.parts[i] = intBetween(rng, 2, 3);
          this.ringVertices[i] = intBetween(rng, 8, 40);
          this.sizeM[i] = logUniform(rng, 200, 1_500);
        }
      }
    }
  }

  private place(i: number, c: number, rng: Rng, sigmaM: number): void {
    const city = UK_CITIES[c]!;
    // A quarter of the zones spread twice as wide: suburbs around the core.
    const s = rng() < 0.25 ? 2 * sigmaM : sigmaM;
    this.city[i] = c;
    this.lat[i] = city.lat + (gaussian(rng) * s) / M_PER_DEG;
    this.lon[i] = city.lon + (gaussian(rng) * s) / (M_PER_DEG * Math.cos(city.lat * (Math.PI / 180)));
  }

  id(i: number): string {
    return `${this.idPrefix}${i}`;
  }

  /** Unique vertices of zone i over all its rings (closing positions not counted; 0 for circles). */
  vertexCount(i: number): number {
    const v = this.ringVertices[i]!;
    const hv = this.kind[i] === ZoneKind.Area ? AREA_HOLE_VERTICES : handHoleVertices(v);
    return this.parts[i]! * v + this.holes[i]! * hv;
  }

  /** Circles and polygons of at most 32 vertices: the bulk of a real zone set. */
  isSimple(i: number): boolean {
    return this.kind[i] === ZoneKind.Circle || (this.kind[i] !== ZoneKind.Area && this.vertexCount(i) <= 32);
  }

  /**
   * Zone i as a GeoJSON Feature. variant 0 is the zone itself; other variants keep its id, kind
   * and size but move it up to ~50 m and redraw its outline (an edited zone, for replace tests).
   */
  featureAt(i: number, variant = 0): Feature<Point | Polygon | MultiPolygon> {
    const rng = mulberry32(mixSeed(this.seed + variant * 0x632be5ab, i));
    let lon = this.lon[i]!;
    let lat = this.lat[i]!;
    if (variant !== 0) {
      lat += (gaussian(rng) * 25) / M_PER_DEG;
      lon += (gaussian(rng) * 25) / (M_PER_DEG * Math.cos(lat * (Math.PI / 180)));
    }
    const layerIndex = this.layer[i]!;
    const properties: Record<string, unknown> = {};
    if (layerIndex >= 0) properties['layer'] = this.layerNames[layerIndex];
    const kind = this.kind[i] as ZoneKind;
    const id = this.id(i);
    if (kind === ZoneKind.Circle) {
      properties['radiusM'] = Math.round(this.sizeM[i]! * 10) / 10;
      return { type: 'Feature', id, properties, geometry: { type: 'Point', coordinates: [lon, lat] } };
    }
    const v = this.ringVertices[i]!;
    if (kind === ZoneKind.Area) {
      const radiusM = this.sizeM[i]! / 2.9;
      const outer = starRing(rng, lon, lat, radiusM, v, areaShape(rng), false);
      const rings = [outer];
      const holeCount = this.holes[i]!;
      const turn = rng() * 2 * Math.PI;
      for (let h = 0; h < holeCount; h++) {
        // Hole centres 0.18 R out at distinct angles, reach <= 0.25 R: inside the outline
        // (whose radius never drops below ~0.37 R) and clear of each other.
        const a = turn + (2 * Math.PI * h) / 3;
        const hx = 0.18 * radiusM * Math.cos(a);
        const hy = 0.18 * radiusM * Math.sin(a);
        const hLat = lat + hy / M_PER_DEG;
        const hLon = lon + hx / (M_PER_DEG * Math.cos(lat * (Math.PI / 180)));
        rings.push(starRing(rng, hLon, hLat, 0.06 * radiusM, AREA_HOLE_VERTICES, holeShape(rng), true));
      }
      return { type: 'Feature', id, properties, geometry: { type: 'Polygon', coordinates: rings } };
    }
    if (kind === ZoneKind.Polygon) {
      const radiusM = this.sizeM[i]! / 2.9;
      const rings = [starRing(rng, lon, lat, radiusM, v, handShape(rng, v), false)];
      if (this.holes[i]! > 0) {
        rings.push(starRing(rng, lon, lat, 0.2 * radiusM, handHoleVertices(v), holeShape(rng), true));
      }
      return { type: 'Feature', id, properties, geometry: { type: 'Polygon', coordinates: rings } };
    }
    // MultiPolygon: parts in a row, centres 3.2 R apart; each part reaches at most ~1.47 R.
    const parts = this.parts[i]!;
    const radiusM = this.sizeM[i]! / (2.9 + 3.2 * (parts - 1));
    const dir = rng() * 2 * Math.PI;
    const polys: Position[][][] = [];
    for (let p = 0; p < parts; p++) {
      const d = 3.2 * radiusM * p;
      const pLat = lat + (d * Math.sin(dir)) / M_PER_DEG;
      const pLon = lon + (d * Math.cos(dir)) / (M_PER_DEG * Math.cos(lat * (Math.PI / 180)));
      polys.push([starRing(rng, pLon, pLat, radiusM, v, handShape(rng, v), false)]);
    }
    return { type: 'Feature', id, properties, geometry: { type: 'MultiPolygon', coordinates: polys } };
  }
}

/** Query points as [lon0, lat0, lon1, lat1, …]: cityShare from the zone distribution, the rest anywhere in the UK box. */
export function generateQueryPoints(count: number, seed: number, cityShare = 0.9): Float64Array {
  const rng = mulberry32(seed);
  const out = new Float64Array(count * 2);
  for (let q = 0; q < count; q++) {
    if (rng() < cityShare) {
      const city = UK_CITIES[pickCity(rng)]!;
      const sigmaM = citySigmaKm(city) * 1000 * (rng() < 0.25 ? 2 : 1);
      out[2 * q + 1] = city.lat + (gaussian(rng) * sigmaM) / M_PER_DEG;
      out[2 * q] = city.lon + (gaussian(rng) * sigmaM) / (M_PER_DEG * Math.cos(city.lat * (Math.PI / 180)));
    } else {
      out[2 * q] = UK_BOX.minLon + rng() * (UK_BOX.maxLon - UK_BOX.minLon);
      out[2 * q + 1] = UK_BOX.minLat + rng() * (UK_BOX.maxLat - UK_BOX.minLat);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------


/**
 * Radius factor as a function of angle: a sum of sines (lobes and bays), a wander and an
 * optional notch. Sine amplitudes sum to <= 0.4, wander <= 0.05, notch depth <= 0.35, so the
 * factor stays within [0.37, 1.47]. The wander is a closed random walk whose radial step is about
 * the vertex spacing, as on a traced boundary: independent noise per vertex would make every edge
 * a long radial spike, which no real outline has (and which no edge index could be fair to).
 */
interface Shape {
  k: number[];
  amp: number[];
  phase: number[];
  noise: number;
  notchAt: number;
  notchHalfWidth: number;
  notchDepth: number;
}

function harmonics(rng: Rng, shape: Shape, count: number, kLo: number, kHi: number, ampTotal: number): void {
  let left = ampTotal;
  for (let j = 0; j < count; j++) {
    const a = j === count - 1 ? left : left * rng();
    left -= a;
    shape.k.push(intBetween(rng, kLo, kHi));
    shape.amp.push(a);
    shape.phase.push(rng() * 2 * Math.PI);
  }
}

function emptyShape(noise: number): Shape {
  return { k: [], amp: [], phase: [], noise, notchAt: 0, notchHalfWidth: 0, notchDepth: 0 };
}

/** Hand-drawn: a few lobes, sometimes a deep notch (a road cut out of the zone). */
function handShape(rng: Rng, vertices: number): Shape {
  const s = emptyShape(vertices > 40 ? 0.03 : 0);
  harmonics(rng, s, 2, 2, Math.min(7, Math.max(2, vertices >> 2)), 0.15 + 0.25 * rng());
  if (vertices >= 12 && rng() < 0.4) {
    s.notchAt = rng() * 2 * Math.PI;
    s.notchHalfWidth = 0.15 + 0.3 * rng();
    s.notchDepth = 0.2 + 0.15 * rng();
  }
  return s;
}

/** Town centre or borough: broad lobes, street-scale zigzags, a wandering traced boundary. */
function areaShape(rng: Rng): Shape {
  const s = emptyShape(0.02 + 0.03 * rng());
  harmonics(rng, s, 3, 2, 6, 0.3);
  harmonics(rng, s, 3, 20, 120, 0.1);
  s.notchAt = rng() * 2 * Math.PI;
  s.notchHalfWidth = 0.1 + 0.2 * rng();
  s.notchDepth = 0.35 * rng();
  return s;
}

function holeShape(rng: Rng): Shape {
  const s = emptyShape(0.02);
  harmonics(rng, s, 1, 2, 4, 0.18);
  return s;
}

/**
 * A closed ring star-shaped around (lon, lat): vertex j at angle 2π(j + 0.1 + 0.8u)/n, so angles
 * strictly increase and no two edges can cross. Counter-clockwise unless `clockwise` (holes,
 * per RFC 7946).
 */
function starRing(rng: Rng, lon: number, lat: number, radiusM: number, n: number, shape: Shape, clockwise: boolean): Position[] {
  const mPerDegLon = M_PER_DEG * Math.cos(lat * (Math.PI / 180));
  const start = rng() * 2 * Math.PI;
  const ring: Position[] = new Array<Position>(n + 1);
  const harmonicsCount = shape.k.length;
  const wander = shape.noise > 0 ? closedWalk(rng, n, shape.noise) : null;
  for (let j = 0; j < n; j++) {
    const t = (2 * Math.PI * (j + 0.1 + 0.8 * rng())) / n;
    let f = 1;
    for (let h = 0; h < harmonicsCount; h++) f += shape.amp[h]! * Math.sin(shape.k[h]! * t + shape.phase[h]!);
    if (wander !== null) f *= 1 + wander[j]!;
    if (shape.notchDepth > 0) {
      let d = Math.abs(t - shape.notchAt);
      if (d > Math.PI) d = 2 * Math.PI - d;
      if (d < shape.notchHalfWidth) f *= 1 - shape.notchDepth * (1 - d / shape.notchHalfWidth);
    }
    const a = start + (clockwise ? -t : t);
    const r = radiusM * f;
    ring[j] = [lon + (r * Math.cos(a)) / mPerDegLon, lat + (r * Math.sin(a)) / M_PER_DEG];
  }
  ring[n] = [ring[0]![0]!, ring[0]![1]!];
  return ring;
}

/**
 * n values in [-limit, limit] that wander like a traced line: steps of about the vertex spacing
 * (2π/n of the radius), reflected at ±limit, then bent so the last value leads back to the first.
 */
function closedWalk(rng: Rng, n: number, limit: number): Float64Array {
  const w = new Float64Array(n + 1);
  const step = Math.min(limit, (1.5 * 2 * Math.PI) / n);
  for (let j = 1; j <= n; j++) {
    let v = w[j - 1]! + step * (2 * rng() - 1) * Math.sqrt(3);
    if (v > limit) v = 2 * limit - v;
    if (v < -limit) v = -2 * limit - v;
    w[j] = v;
  }
  const gap = w[n]!;
  for (let j = 0; j < n; j++) w[j] = Math.max(-limit, Math.min(limit, w[j]! - (gap * j) / n));
  return w;
}
