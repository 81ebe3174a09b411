// Property tests: the spatial core against independent references.
//
//   containment of polygons  -> turf.booleanPointInPolygon (boundary counts as inside)
//   distance to polygons     -> min haversine to densely sampled lon/lat-linear edges
//   circles                  -> haversine with R = 6371008.8 m, points from turf.destination
//   ZoneIndex                -> brute force over the live zones, under random add/replace/delete
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Feature, Point } from 'geojson';
import { compileZone, ZoneHits, ZoneIndex, type PreparedZone } from '../../geo/index.js';
import * as G from './generators.js';

type Pos = G.Pos;

const REGIONS: [string, fc.Arbitrary<G.PolyCase>, number][] = [
  ['at UK latitudes', G.ukPolyCase, 200],
  ['near the poles (80–84.9°)', G.polarPolyCase, 150],
  ['next to the antimeridian', G.antimeridianPolyCase, 150],
];

/** Points near each part's centre, where the holes and islands are. */
const centreOffsetsArb = fc.array(
  fc.tuple(G.uniform(-0.25, 0.25), G.uniform(-0.25, 0.25)),
  { minLength: 4, maxLength: 10 },
);

function centrePoints(zc: G.PolyCase, offsets: [number, number][]): Pos[] {
  const out: Pos[] = [];
  for (const c of zc.centres) {
    const f = G.frameAt(c[0], c[1]);
    for (const [dx, dy] of offsets) {
      out.push([
        G.wrapLon(c[0] + (dx * zc.partRadiusM) / f.mPerDegLon),
        Math.max(-90, Math.min(90, c[1] + (dy * zc.partRadiusM) / G.M_PER_DEG)),
      ]);
    }
  }
  return out;
}

function allVertices(zc: G.PolyCase): Pos[] {
  const out: Pos[] = [];
  for (const p of zc.polys) for (const r of p) for (const v of r.slice(0, -1)) out.push(v);
  return out;
}

describe.each(REGIONS)('a polygon zone %s', (_name, caseArb, runs) => {
  it('agrees with turf on which points in and around it are inside', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.array(G.querySpecArb, { minLength: 20, maxLength: 40 }),
        centreOffsetsArb,
        fc.array(G.nearEdgeSpecArb, { minLength: 10, maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(), G.uniform(-0.25, 1.25), fc.boolean()), { minLength: 10, maxLength: 30 }),
        (zc, qs, offs, nes, levels) => {
          const zone = compileZone(zc.feature);
          const edges = G.edgesOf(zc.polys);
          const boundary = G.edgesOf(zc.polys, zc.split ? G.isAntimeridianCut : undefined);
          const vs = allVertices(zc);
          const w = zc.window;
          const pts = [
            ...qs.map((q) => G.queryPoint(q, zc.window)),
            ...centrePoints(zc, offs),
            ...nes.map((s) => G.nearEdgePoint(zc, boundary, s)),
            // level with a vertex (same latitude or same longitude exactly): where ray casting slips
            ...levels.map(([k, u, sameLat]): Pos => {
              const v = vs[k % vs.length]!;
              return sameLat
                ? [G.wrapLon(w.minLon + u * (w.maxLon - w.minLon)), v[1]]
                : [v[0], Math.max(-90, Math.min(90, w.minLat + u * (w.maxLat - w.minLat)))];
            }),
          ];
          for (const [lon, lat] of pts) {
            // within ~1e-9° of an edge either answer is allowed
            if (G.minPlanarDistDeg(lon, lat, edges) < 1e-8) continue;
            const want = G.turfContains(zc.feature, lon, lat);
            expect(zone.contains(lon, lat), `${zc.label}: contains(${lon}, ${lat})`).toBe(want);
          }
        },
      ),
      { seed: 42, numRuns: runs },
    );
  });

  it("counts its vertices and points along its edges (holes' edges too) as inside, at distance ~0", () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.array(fc.tuple(fc.nat(), G.uniform(0, 1)), { minLength: 10, maxLength: 30 }),
        (zc, picks) => {
          const zone = compileZone(zc.feature);
          const boundary = G.edgesOf(zc.polys, zc.split ? G.isAntimeridianCut : undefined);
          for (const [lon, lat] of allVertices(zc)) {
            expect(zone.contains(lon, lat), `${zc.label}: vertex (${lon}, ${lat}) inside`).toBe(true);
            const d = zone.signedDistanceM(lon, lat, 1000);
            expect(Math.abs(d), `${zc.label}: |signedDistanceM| at vertex (${lon}, ${lat})`).toBeLessThan(1);
          }
          for (const [k, t] of picks) {
            const e = boundary[k % boundary.length]!;
            const lon = e.a[0] + t * (e.b[0] - e.a[0]);
            const lat = e.a[1] + t * (e.b[1] - e.a[1]);
            expect(zone.contains(lon, lat), `${zc.label}: edge point (${lon}, ${lat}) inside`).toBe(true);
            const d = zone.signedDistanceM(lon, lat, 1000);
            expect(Math.abs(d), `${zc.label}: |signedDistanceM| on edge at (${lon}, ${lat})`).toBeLessThan(1);
          }
        },
      ),
      { seed: 7, numRuns: runs },
    );
  });

  it('measures signed distance to its edge within max(0.5 %, 1 m), and ±Infinity beyond maxDistM', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.array(G.querySpecArb, { minLength: 10, maxLength: 25 }),
        centreOffsetsArb,
        fc.array(G.nearEdgeSpecArb, { minLength: 5, maxLength: 15 }),
        (zc, qs, offs, nes) => {
          const zone = compileZone(zc.feature);
          const boundary = G.edgesOf(zc.polys, zc.split ? G.isAntimeridianCut : undefined);
          const pts: [Pos, number][] = [
            ...qs.map((q): [Pos, number] => [G.queryPoint(q, zc.window), G.maxDistFor(q, zc.sizeM)]),
            ...centrePoints(zc, offs).map((p, i): [Pos, number] => [p, G.maxDistFor(qs[i % qs.length]!, zc.sizeM)]),
            ...nes.map((s): [Pos, number] => [G.nearEdgePoint(zc, boundary, s), G.maxDistFor(s, zc.sizeM)]),
          ];
          for (const [[lon, lat], maxD] of pts) {
            const ref = G.refSignedDistM(zc.feature, boundary, lon, lat);
            const ours = zone.signedDistanceM(lon, lat, maxD);
            const fault = G.distanceFault(ours, ref, maxD);
            expect(fault, `${zc.label}: signedDistanceM(${lon}, ${lat}, ${maxD})`).toBeNull();
          }
        },
      ),
      { seed: 1234, numRuns: runs },
    );
  });

  it('reports its id, kind and a bounding box that is tight around its vertices', () => {
    fc.assert(
      fc.property(caseArb, (zc) => {
        const zone = compileZone(zc.feature);
        expect(zone.id).toBe(zc.feature.id);
        expect(zone.kind).toBe('polygon');
        expect(zone.layer).toBeNull();
        if (zc.split) return; // how a box across ±180 is written is the implementation's choice
        const vs = allVertices(zc);
        const lons = vs.map((v) => v[0]);
        const lats = vs.map((v) => v[1]);
        const eps = 1e-7;
        expect(zone.minLon).toBeLessThanOrEqual(Math.min(...lons));
        expect(zone.minLon).toBeGreaterThan(Math.min(...lons) - eps);
        expect(zone.maxLon).toBeGreaterThanOrEqual(Math.max(...lons));
        expect(zone.maxLon).toBeLessThan(Math.max(...lons) + eps);
        expect(zone.minLat).toBeLessThanOrEqual(Math.min(...lats));
        expect(zone.minLat).toBeGreaterThan(Math.min(...lats) - eps);
        expect(zone.maxLat).toBeGreaterThanOrEqual(Math.max(...lats));
        expect(zone.maxLat).toBeLessThan(Math.max(...lats) + eps);
      }),
      { seed: 99, numRuns: runs },
    );
  });
});

describe('a polygon zone near the pole', () => {
  it('measures distance from a point nearer the pole, where the short way runs poleward', () => {
    // an 11 km box just under 85°N; the point is 31.5° of longitude round and 0.75° further
    // north, so the shortest way to the box bends towards the pole (~296 km)
    const ring: Pos[] = [[0, 84.8], [1, 84.8], [1, 84.9], [0, 84.9], [0, 84.8]];
    const z = compileZone({ type: 'Feature', id: 'Z-arctic-box', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } });
    const ref = G.refMinDistM(32.5, 85.65, G.edgesOf([[ring]]));
    expect(ref).toBeLessThan(297_000);
    const got = z.signedDistanceM(32.5, 85.65, 304_000);
    expect(G.distanceFault(got, -ref, 304_000), `signedDistanceM(32.5, 85.65, 304000), reference ${-ref}`).toBeNull();
  });
});

/** A closed counter-clockwise ring around the box [west, south, east, north]. */
function boxRing([w, s, e, n]: readonly [number, number, number, number]): Pos[] {
  return [[w, s], [e, s], [e, n], [w, n], [w, s]];
}

/** A Polygon zone: one box. */
function boxFeature(id: string, box: readonly [number, number, number, number]): Feature {
  return { type: 'Feature', id, properties: {}, geometry: { type: 'Polygon', coordinates: [boxRing(box)] } };
}

/** A MultiPolygon zone of one box per part. */
function boxesFeature(id: string, ...boxes: (readonly [number, number, number, number])[]): Feature {
  return { type: 'Feature', id, properties: {}, geometry: { type: 'MultiPolygon', coordinates: boxes.map((b) => [boxRing(b)]) } };
}

describe('a polygon zone split at the antimeridian', () => {
  // A 0.2° square around (180, 0), written as RFC 7946 asks: two parts meeting at ±180.
  const square = boxesFeature('Z-fiji-box', [179.9, -0.1, 180, 0.1], [-180, -0.1, -179.9, 0.1]);

  it('contains points on both sides of ±180 and on the cut itself', () => {
    const z = compileZone(square);
    for (const lon of [179.95, 179.9999, 180, -180, -179.9999, -179.95]) {
      expect(z.contains(lon, 0), `contains(${lon}, 0)`).toBe(true);
    }
    expect(z.contains(179.85, 0)).toBe(false);
    expect(z.contains(-179.85, 0)).toBe(false);
  });

  it('measures depth next to the cut to the real edge, not to the ±180 seam between its parts', () => {
    const z = compileZone(square);
    // the nearest real edge is 0.1° of latitude or longitude away (~11 km), not the seam 11 m away
    const geom = square.geometry as unknown as { coordinates: G.PolygonRings[] };
    const want = G.refMinDistM(179.9999, 0, G.edgesOf(geom.coordinates, G.isAntimeridianCut));
    expect(want).toBeGreaterThan(11_000);
    const got = z.signedDistanceM(179.9999, 0, 50_000);
    expect(Math.abs(got - want)).toBeLessThanOrEqual(0.005 * want);
  });

  it('still measures to a ±180 edge that has nothing on the other side of the meridian', () => {
    // two separate boxes touching the antimeridian at different latitudes: no seam is shared,
    // so the west box's edge along 180 is real boundary, and so is the east box's along -180
    const z = compileZone(boxesFeature('Z-unmatched', [179.9, 0, 180, 1], [-180, 5, -179.9, 6]));
    const gap = 0.0001 * G.M_PER_DEG * Math.cos((0.5 * Math.PI) / 180); // ~11.1 m
    expect(z.contains(-179.9999, 0.5)).toBe(false);
    expect(Math.abs(z.signedDistanceM(-179.9999, 0.5, 1000) + gap), 'outside, 11 m east of the 180 edge').toBeLessThan(1);
    expect(Math.abs(z.signedDistanceM(179.9999, 0.5, 1000) - gap), 'inside, 11 m west of the 180 edge').toBeLessThan(1);
    expect(Math.abs(z.signedDistanceM(-179.9999, 5.5, 1000) - gap), 'inside, 11 m east of the -180 edge').toBeLessThan(1);
    const hits = new ZoneHits();
    expect(ZoneIndex.from([z]).near(-179.9999, 0.5, 50, hits), 'near() within 50 m').toBe(1);
  });

  it('treats only the shared stretch of ±180 as seam when the parts overlap there partly', () => {
    const z = compileZone(boxesFeature('Z-half-matched', [179.9, 0, 180, 1], [-180, 0.5, -179.9, 1.5]));
    const gap = 0.0001 * G.M_PER_DEG * Math.cos((0.25 * Math.PI) / 180);
    // at lat 0.25 only the west box reaches the meridian: its edge there is the zone's edge
    expect(Math.abs(z.signedDistanceM(179.9999, 0.25, 1000) - gap)).toBeLessThan(1);
    expect(Math.abs(z.signedDistanceM(-179.9999, 0.25, 1000) + gap)).toBeLessThan(1);
    // at lat 0.75 both boxes meet: the nearest real edge is the west box's west side, ~11.1 km
    const deep = z.signedDistanceM(179.9999, 0.75, 50_000);
    const want = 0.0999 * G.M_PER_DEG * Math.cos((0.75 * Math.PI) / 180);
    expect(Math.abs(deep - want)).toBeLessThanOrEqual(0.005 * want);
  });

  it('measures distance from outside across the antimeridian', () => {
    const z = compileZone(boxFeature('Z-east-only', [-179.99, 0, -179.98, 0.01]));
    // 0.015° of longitude on the equator west of the zone's west edge, on the far side of ±180
    const d = z.signedDistanceM(179.995, 0.005, 10_000);
    const want = -0.015 * G.M_PER_DEG;
    expect(Math.abs(d - want)).toBeLessThanOrEqual(0.005 * Math.abs(want));
  });
});

// ---------------------------------------------------------------------------------------------
// Circles
// ---------------------------------------------------------------------------------------------

interface CircleCase {
  label: string;
  lon: number;
  lat: number;
  r: number;
  /** true when the box check applies (circle neither crosses ±180 nor covers a pole) */
  plain: boolean;
}

const ukCircle: fc.Arbitrary<CircleCase> = fc
  .record({
    lon: G.uniform(-8, 2),
    lat: G.uniform(49.5, 59),
    r: G.logUniform(5, 50_000),
  })
  .map(({ lon, lat, r }) => ({ label: `uk r=${r}`, lon, lat, r, plain: true }));

const polarCircle: fc.Arbitrary<CircleCase> = fc
  .record({
    lon: G.uniform(-179, 179),
    lat: G.uniform(85, 89.99),
    south: fc.boolean(),
    r: G.logUniform(5, 50_000),
  })
  .map(({ lon, lat, south, r }) => ({ label: `polar r=${r}`, lon, lat: south ? -lat : lat, r, plain: false }));

const poleCoveringCircle: fc.Arbitrary<CircleCase> = fc
  .record({
    lon: G.uniform(-180, 180),
    lat: G.uniform(89.8, 89.999),
    south: fc.boolean(),
    extra: G.logUniform(100, 25_000),
  })
  .map(({ lon, lat, south, extra }) => {
    const r = (90 - lat) * G.M_PER_DEG + extra;
    return { label: `pole-covering r=${r}`, lon, lat: south ? -lat : lat, r, plain: false };
  });

const antimeridianCircle: fc.Arbitrary<CircleCase> = fc
  .record({
    east: fc.boolean(),
    lat: G.uniform(-60, 60),
    r: G.logUniform(150, 50_000),
  })
  .map(({ east, lat, r }) => ({
    label: `antimeridian r=${r}`,
    lon: east ? 179.999 : -179.999,
    lat,
    r,
    plain: false,
  }));

const CIRCLES: [string, fc.Arbitrary<CircleCase>][] = [
  ['at UK latitudes', ukCircle],
  ['near a pole', polarCircle],
  ['covering a pole', poleCoveringCircle],
  ['crossing the antimeridian', antimeridianCircle],
];

function circleFeature(c: CircleCase, id = 'Z-circle'): Feature<Point> {
  return { type: 'Feature', id, geometry: { type: 'Point', coordinates: [c.lon, c.lat] }, properties: { radiusM: c.r } };
}

describe.each(CIRCLES)('a circle zone %s', (_name, arb) => {
  it('contains points a millionth of the radius inside its rim and not those a millionth outside, on every bearing', () => {
    fc.assert(
      fc.property(arb, fc.array(G.uniform(0, 360), { minLength: 8, maxLength: 16 }), (c, bearings) => {
        const zone = compileZone(circleFeature(c));
        expect(zone.kind).toBe('circle');
        for (const b of bearings) {
          const pin = G.destination(c.lon, c.lat, c.r * (1 - 1e-6), b);
          const pout = G.destination(c.lon, c.lat, c.r * (1 + 1e-6), b);
          if (G.havM(c.lon, c.lat, pin[0], pin[1]) < c.r) {
            expect(zone.contains(pin[0], pin[1]), `${c.label} bearing ${b}: (${pin}) just inside`).toBe(true);
          }
          if (G.havM(c.lon, c.lat, pout[0], pout[1]) > c.r) {
            expect(zone.contains(pout[0], pout[1]), `${c.label} bearing ${b}: (${pout}) just outside`).toBe(false);
          }
        }
      }),
      { seed: 5, numRuns: 100 },
    );
  });

  it('agrees with haversine on containment and on signed distance (radius − distance)', () => {
    fc.assert(
      fc.property(
        arb,
        fc.array(
          fc.record({
            b: G.uniform(0, 360),
            f: G.uniform(0, 3),
            w: G.uniform(0, 1),
          }),
          { minLength: 10, maxLength: 30 },
        ),
        (c, qs) => {
          const zone = compileZone(circleFeature(c));
          for (const q of qs) {
            const [lon, lat] = G.destination(c.lon, c.lat, c.r * q.f, q.b);
            const d = G.havM(c.lon, c.lat, lon, lat);
            if (Math.abs(d - c.r) > 1e-9 * c.r + 1e-9) {
              expect(zone.contains(lon, lat), `${c.label}: contains(${lon}, ${lat}) at ${d} m`).toBe(d <= c.r);
            }
            const maxD = Math.pow(4 * c.r + 10, q.w);
            const fault = G.distanceFault(zone.signedDistanceM(lon, lat, maxD), c.r - d, maxD);
            expect(fault, `${c.label}: signedDistanceM(${lon}, ${lat}, ${maxD})`).toBeNull();
          }
        },
      ),
      { seed: 6, numRuns: 100 },
    );
  });

  it('has a bounding box that holds the whole disc', () => {
    fc.assert(
      fc.property(arb, fc.array(G.uniform(0, 360), { minLength: 16, maxLength: 16 }), (c, bearings) => {
        const zone = compileZone(circleFeature(c));
        for (const b of bearings) {
          const [lon, lat] = G.destination(c.lon, c.lat, c.r, b);
          expect(lat).toBeGreaterThanOrEqual(zone.minLat - 1e-12);
          expect(lat).toBeLessThanOrEqual(zone.maxLat + 1e-12);
          if (c.plain) {
            expect(lon).toBeGreaterThanOrEqual(zone.minLon - 1e-12);
            expect(lon).toBeLessThanOrEqual(zone.maxLon + 1e-12);
          }
        }
      }),
      { seed: 8, numRuns: 100 },
    );
  });
});

describe('a circle zone covering the north pole', () => {
  it('contains the pole and points near it at every longitude', () => {
    const z = compileZone({
      type: 'Feature',
      id: 'Z-pole',
      geometry: { type: 'Point', coordinates: [30, 89.95] },
      properties: { radiusM: 20_000 },
    });
    for (const lon of [-180, -135, -90, -45, 0, 45, 90, 135, 180]) {
      expect(z.contains(lon, 90), `pole at lon ${lon}`).toBe(true);
      expect(z.contains(lon, 89.99), `(${lon}, 89.99)`).toBe(true);
    }
    // the far side of the pole: 0.05° to the pole and 0.15° beyond = 22.2 km from the centre
    expect(z.contains(-150, 89.85)).toBe(false);
    expect(z.contains(-150, 89.88)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// ZoneIndex against brute force
// ---------------------------------------------------------------------------------------------

const REGION = { minLon: -1.7, maxLon: -1.4, minLat: 53.7, maxLat: 53.9 };

interface IndexZoneSpec {
  u: number;
  v: number;
  sizeM: number;
  circle: boolean;
  cluster: G.ClusterSpec;
}

const indexZoneSpecArb: fc.Arbitrary<IndexZoneSpec> = fc.record({
  u: G.uniform(0, 1),
  v: G.uniform(0, 1),
  sizeM: G.logUniform(5, 3000),
  circle: fc.boolean(),
  cluster: G.clusterArbWith(2, 12),
});

function indexZoneFeature(s: IndexZoneSpec, id: string): Feature {
  const lon = REGION.minLon + s.u * (REGION.maxLon - REGION.minLon);
  const lat = REGION.minLat + s.v * (REGION.maxLat - REGION.minLat);
  if (s.circle) {
    return { type: 'Feature', id, geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { radiusM: s.sizeM / 2 } };
  }
  const { polys } = G.starCluster(G.frameAt(lon, lat), s.sizeM, s.cluster.nParts, s.cluster.parts, s.cluster.dir);
  return G.toFeature(id, polys, s.cluster.asMulti);
}

interface IndexQuery {
  onZone: boolean;
  pick: number;
  u: number;
  v: number;
  maxD: number;
}

const indexQueryArb: fc.Arbitrary<IndexQuery> = fc.record({
  onZone: fc.boolean(),
  pick: fc.nat(),
  u: G.uniform(-1, 2),
  v: G.uniform(-1, 2),
  maxD: G.logUniform(0.5, 3000),
});

interface Model {
  live: Map<string, PreparedZone>;
  next: number;
  mutations: number;
}
interface Real {
  index: ZoneIndex;
  hits: ZoneHits;
}

function liveIds(m: Readonly<Model>): string[] {
  return [...m.live.keys()];
}

function queryPointFor(q: IndexQuery, m: Readonly<Model>): Pos {
  if (q.onZone && m.live.size > 0) {
    const ids = liveIds(m);
    const z = m.live.get(ids[q.pick % ids.length]!)!;
    return [z.minLon + q.u * (z.maxLon - z.minLon), z.minLat + q.v * (z.maxLat - z.minLat)];
  }
  return [
    REGION.minLon + ((q.u + 1) / 3) * (REGION.maxLon - REGION.minLon),
    REGION.minLat + ((q.v + 1) / 3) * (REGION.maxLat - REGION.minLat),
  ];
}

function checkContaining(m: Readonly<Model>, r: Real, lon: number, lat: number): void {
  const n = r.index.containing(lon, lat, r.hits);
  expect(r.hits.count).toBe(n);
  const got = r.hits.zones.slice(0, n);
  const gotIds = got.map((z) => z.id).sort();
  expect(new Set(gotIds).size, `containing(${lon}, ${lat}) reports a zone twice: ${gotIds}`).toBe(n);
  for (const z of got) expect(m.live.get(z.id), `containing(${lon}, ${lat}) returned a stale or deleted zone ${z.id}`).toBe(z);
  const want = [...m.live.values()].filter((z) => z.contains(lon, lat)).map((z) => z.id).sort();
  expect(gotIds, `containing(${lon}, ${lat})`).toEqual(want);
  expect(r.index.lastCandidates).toBeGreaterThanOrEqual(n);
}

function sameDistance(a: number, b: number): boolean {
  return Object.is(a, b) || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
}

function checkNear(m: Readonly<Model>, r: Real, lon: number, lat: number, maxD: number): void {
  const n = r.index.near(lon, lat, maxD, r.hits);
  expect(r.hits.count).toBe(n);
  const got = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const z = r.hits.zones[i]!;
    expect(got.has(z.id), `near(${lon}, ${lat}, ${maxD}) reports ${z.id} twice`).toBe(false);
    expect(m.live.get(z.id), `near(${lon}, ${lat}) returned a stale or deleted zone ${z.id}`).toBe(z);
    got.set(z.id, r.hits.distM[i]!);
  }
  const want = new Map<string, number>();
  const borderline = new Set<string>();
  for (const z of m.live.values()) {
    const d = z.signedDistanceM(lon, lat, maxD);
    if (d >= -maxD) want.set(z.id, d);
    if (Number.isFinite(d) && Math.abs(d + maxD) <= 1e-9 * maxD) borderline.add(z.id);
  }
  const missing = [...want.keys()].filter((id) => !got.has(id) && !borderline.has(id)).sort();
  const extra = [...got.keys()].filter((id) => !want.has(id) && !borderline.has(id)).sort();
  expect({ missing, extra }, `near(${lon}, ${lat}, ${maxD})`).toEqual({ missing: [], extra: [] });
  for (const [id, d] of got) {
    if (!want.has(id)) continue;
    expect(sameDistance(d, want.get(id)!), `near(${lon}, ${lat}, ${maxD}) distM for ${id}: ${d} vs zone's ${want.get(id)}`).toBe(true);
  }
}

/** Sets (adds or replaces) zone `id` drawn from spec in both the index and the model. */
function setZone(m: Model, r: Real, id: string, spec: IndexZoneSpec): void {
  m.mutations++;
  const z = compileZone(indexZoneFeature(spec, id));
  r.index.set(z);
  m.live.set(id, z);
  expect(r.index.size).toBe(m.live.size);
  expect(r.index.get(id)).toBe(z);
}

class AddCmd implements fc.Command<Model, Real> {
  constructor(readonly spec: IndexZoneSpec) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    setZone(m, r, `n${m.next++}`, this.spec);
  }
  toString(): string {
    return `add(${JSON.stringify(this.spec)})`;
  }
}

class ReplaceCmd implements fc.Command<Model, Real> {
  constructor(readonly pick: number, readonly spec: IndexZoneSpec) {}
  check(m: Readonly<Model>): boolean {
    return m.live.size > 0;
  }
  run(m: Model, r: Real): void {
    const ids = liveIds(m);
    setZone(m, r, ids[this.pick % ids.length]!, this.spec);
  }
  toString(): string {
    return `replace(#${this.pick}, ${JSON.stringify(this.spec)})`;
  }
}

class DeleteCmd implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.live.size > 0;
  }
  run(m: Model, r: Real): void {
    const ids = liveIds(m);
    const id = ids[this.pick % ids.length]!;
    expect(r.index.delete(id)).toBe(true);
    m.mutations++;
    m.live.delete(id);
    expect(r.index.size).toBe(m.live.size);
    expect(r.index.get(id)).toBeUndefined();
    expect(r.index.delete(id)).toBe(false);
  }
  toString(): string {
    return `delete(#${this.pick})`;
  }
}

class ContainingCmd implements fc.Command<Model, Real> {
  constructor(readonly q: IndexQuery) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const [lon, lat] = queryPointFor(this.q, m);
    checkContaining(m, r, lon, lat);
  }
  toString(): string {
    return `containing(${JSON.stringify(this.q)})`;
  }
}

class NearCmd implements fc.Command<Model, Real> {
  constructor(readonly q: IndexQuery) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const [lon, lat] = queryPointFor(this.q, m);
    checkNear(m, r, lon, lat, this.q.maxD);
  }
  toString(): string {
    return `near(${JSON.stringify(this.q)})`;
  }
}

const commandArbs: fc.Arbitrary<fc.Command<Model, Real>>[] = [
  indexZoneSpecArb.map((s) => new AddCmd(s)),
  fc.tuple(fc.nat(), indexZoneSpecArb).map(([p, s]) => new ReplaceCmd(p, s)),
  fc.nat().map((p) => new DeleteCmd(p)),
  indexQueryArb.map((q) => new ContainingCmd(q)),
  indexQueryArb.map((q) => new NearCmd(q)),
];

describe('ZoneIndex', () => {
  it('answers containing() and near() exactly as brute force over the live zones, through adds, replacements and deletes', () => {
    let maxMutations = 0;
    fc.assert(
      fc.property(
        // the initial zones come from a seed (fc.sample) so a failure prints two numbers, not 2000 zones
        fc.noShrink(fc.integer({ min: 200, max: 2000 })),
        fc.noShrink(fc.integer({ min: 1, max: 0x7fffffff })),
        fc.boolean(),
        fc.constantFrom(undefined, 4, 16),
        fc.commands(commandArbs, { maxCommands: 400, size: 'max' }),
        (count, zoneSeed, viaFrom, nodeSize, cmds) => {
          const specs = fc.sample(indexZoneSpecArb, { seed: zoneSeed, numRuns: count });
          const zones = specs.map((s, i) => compileZone(indexZoneFeature(s, `z${i}`)));
          const opts = nodeSize === undefined ? { overlayMax: 64 } : { overlayMax: 64, nodeSize };
          let index: ZoneIndex;
          if (viaFrom) {
            index = ZoneIndex.from(zones, opts);
          } else {
            index = new ZoneIndex(opts);
            index.setMany(zones);
          }
          const model: Model = { live: new Map(zones.map((z) => [z.id, z])), next: 0, mutations: 0 };
          const real: Real = { index, hits: new ZoneHits() };
          expect(index.size).toBe(zones.length);
          fc.modelRun(() => ({ model, real }), cmds);
          maxMutations = Math.max(maxMutations, model.mutations);
          // after the run, every live zone is still reachable by id
          expect(index.size).toBe(model.live.size);
          for (const [id, z] of model.live) expect(index.get(id)).toBe(z);
        },
      ),
      { seed: 2024, numRuns: 6 },
    );
    // the sequences must be long enough to overflow overlayMax (64) and force a rebuild
    expect(maxMutations).toBeGreaterThan(64);
  });

  it('reports every hit even when more zones match than the hit buffer was created for', () => {
    const zones = Array.from({ length: 50 }, (_, i) =>
      compileZone({
        type: 'Feature',
        id: `ring-${i}`,
        geometry: { type: 'Point', coordinates: [-1.55, 53.8] },
        properties: { radiusM: 100 + 10 * i },
      }),
    );
    const index = ZoneIndex.from(zones);
    const hits = new ZoneHits(4);
    expect(index.containing(-1.55, 53.8, hits)).toBe(50);
    expect(new Set(hits.zones.slice(0, 50).map((z) => z.id)).size).toBe(50);
    expect(index.near(-1.55, 53.8, 10, hits)).toBe(50);
    for (let i = 0; i < 50; i++) expect(hits.distM[i]).toBeGreaterThan(0);
  });

  it('looks only at zones whose boxes are near the query point', () => {
    // a 50 x 40 grid of 20 m circles, ~700 m apart
    const zones: PreparedZone[] = [];
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 40; j++) {
        zones.push(
          compileZone({
            type: 'Feature',
            id: `g${i}-${j}`,
            geometry: { type: 'Point', coordinates: [-2 + i * 0.01, 53 + j * 0.006] },
            properties: { radiusM: 20 },
          }),
        );
      }
    }
    const index = ZoneIndex.from(zones);
    const hits = new ZoneHits();
    expect(index.containing(-2 + 7 * 0.01, 53 + 9 * 0.006, hits)).toBe(1);
    expect(hits.zones[0]!.id).toBe('g7-9');
    expect(index.lastCandidates).toBeGreaterThanOrEqual(1);
    expect(index.lastCandidates).toBeLessThanOrEqual(10);
    expect(index.near(-2 + 7 * 0.01, 53 + 9 * 0.006 + 0.003, 400, hits)).toBe(2);
    expect(index.lastCandidates).toBeLessThanOrEqual(20);
  });

  it('replaces a zone set again under the same id, dropping the old geometry', () => {
    const at = (lon: number): PreparedZone =>
      compileZone({ type: 'Feature', id: 'Z-move', geometry: { type: 'Point', coordinates: [lon, 53.8] }, properties: { radiusM: 50 } });
    const index = new ZoneIndex({ overlayMax: 2 });
    const first = at(-1.5);
    index.set(first);
    const hits = new ZoneHits();
    expect(index.containing(-1.5, 53.8, hits)).toBe(1);
    for (let k = 1; k <= 5; k++) index.set(at(-1.5 + k * 0.01)); // past overlayMax: a rebuild happens
    expect(index.size).toBe(1);
    expect(index.containing(-1.5, 53.8, hits)).toBe(0);
    expect(index.containing(-1.45, 53.8, hits)).toBe(1);
    expect(index.get('Z-move')).not.toBe(first);
    expect(index.delete('Z-move')).toBe(true);
    expect(index.delete('Z-move')).toBe(false);
    expect(index.size).toBe(0);
    expect(index.containing(-1.45, 53.8, hits)).toBe(0);
  });

  it('finds zones on the far side of the antimeridian', () => {
    const poly = compileZone(boxFeature('Z-west-of-seam', [179.99, 0, 179.999, 0.01]));
    const circle = compileZone({
      type: 'Feature',
      id: 'Z-circle-on-seam',
      geometry: { type: 'Point', coordinates: [179.9995, -0.02] },
      properties: { radiusM: 300 },
    });
    const index = ZoneIndex.from([poly, circle]);
    const hits = new ZoneHits();
    // 0.002° east of the polygon's east edge, written as a western longitude: ~222 m away
    expect(index.near(-179.999, 0.005, 500, hits)).toBe(1);
    expect(hits.zones[0]!.id).toBe('Z-west-of-seam');
    expect(hits.distM[0]!).toBeCloseTo(-0.002 * G.M_PER_DEG, -1);
    // 0.001° east of the circle's centre (~111 m), across the seam
    expect(index.containing(-179.9995, -0.02, hits)).toBe(1);
    expect(hits.zones[0]!.id).toBe('Z-circle-on-seam');
  });

  it("agrees with contains() for points within the boundary tolerance just outside a zone's box", () => {
    const square = compileZone(boxFeature('Z-box', [-1.56, 53.8, -1.55, 53.81]));
    const index = ZoneIndex.from([square]);
    const hits = new ZoneHits();
    const probes: Pos[] = [
      [-1.55 + 5e-10, 53.805],
      [-1.56 - 5e-10, 53.805],
      [-1.555, 53.81 + 5e-10],
      [-1.555, 53.8 - 5e-10],
      [-1.55 + 5e-10, 53.81 + 5e-10],
    ];
    for (const [lon, lat] of probes) {
      const n = index.containing(lon, lat, hits);
      expect(n, `containing(${lon}, ${lat}) vs contains() = ${square.contains(lon, lat)}`).toBe(square.contains(lon, lat) ? 1 : 0);
    }
  });

  it('finds a zone drawn on the other side when asked at exactly ±180', () => {
    const east = compileZone(boxFeature('Z-east-of-seam', [-180, 0, -179.99, 0.01]));
    const index = ZoneIndex.from([east]);
    const hits = new ZoneHits();
    expect(index.containing(180, 0.005, hits)).toBe(1);
    expect(index.containing(-180, 0.005, hits)).toBe(1);
    expect(index.near(180, 0.005, 10, hits)).toBe(1);
  });

  it('finds a circle covering the pole from every longitude', () => {
    const index = ZoneIndex.from([
      compileZone({ type: 'Feature', id: 'Z-north', geometry: { type: 'Point', coordinates: [100, 89.95] }, properties: { radiusM: 20_000 } }),
      compileZone({ type: 'Feature', id: 'Z-south', geometry: { type: 'Point', coordinates: [-100, -89.95] }, properties: { radiusM: 20_000 } }),
    ]);
    const hits = new ZoneHits();
    for (const lon of [-180, -120, -60, 0, 60, 120, 180]) {
      expect(index.containing(lon, 89.99, hits), `north at lon ${lon}`).toBe(1);
      expect(hits.zones[0]!.id).toBe('Z-north');
      expect(index.containing(lon, -89.99, hits), `south at lon ${lon}`).toBe(1);
      expect(hits.zones[0]!.id).toBe('Z-south');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The static grid (geo/flat-grid.ts): cells split where zones are dense, circles and small rings
// tested inline, huge zones kept apart. Checked against brute force over the same zones.
// ---------------------------------------------------------------------------------------------

describe("ZoneIndex's sparse grid", () => {
  /** Zones from indexZoneSpecArb, moved into [u0, u0 + du] × [v0, v0 + dv] of REGION. */
  const zonesIn = (seed: number, count: number, prefix: string, u0: number, du: number, v0: number, dv: number, shrink = 1): PreparedZone[] =>
    fc.sample(indexZoneSpecArb, { seed, numRuns: count }).map((s, i) =>
      compileZone(indexZoneFeature({ ...s, u: u0 + s.u * du, v: v0 + s.v * dv, sizeM: s.sizeM / shrink }, `${prefix}${i}`)),
    );

  /** Points in each zone's box (its corners and edges too: they straddle cells) and around it. */
  const probesFor = (zones: readonly PreparedZone[], seed: number, perZone: number): Pos[] => {
    const rnd = fc.sample(fc.tuple(G.uniform(-0.2, 1.2), G.uniform(-0.2, 1.2)), { seed, numRuns: zones.length * perZone });
    const pts: Pos[] = [];
    zones.forEach((z, i) => {
      const w = z.maxLon - z.minLon, h = z.maxLat - z.minLat;
      pts.push([z.minLon, z.minLat], [z.maxLon, z.maxLat], [z.minLon, (z.minLat + z.maxLat) / 2]);
      for (let k = 0; k < perZone; k++) {
        const [u, v] = rnd[i * perZone + k]!;
        pts.push([z.minLon + u * w, z.minLat + v * h]);
      }
    });
    return pts;
  };

  const check = (zones: PreparedZone[], pts: readonly Pos[], maxD: number[] = [1, 50, 400]): ZoneIndex => {
    const m: Model = { live: new Map(zones.map((z) => [z.id, z])), next: 0, mutations: 0 };
    const index = ZoneIndex.from(zones);
    const r: Real = { index, hits: new ZoneHits(2) };
    pts.forEach(([lon, lat], i) => {
      checkContaining(m, r, lon, lat);
      if (i % 3 === 0) checkNear(m, r, lon, lat, maxD[(i / 3) % maxD.length]!);
    });
    return index;
  };

  it('splits the cells of a dense cluster and still answers every point exactly', () => {
    // 600 zones of 0.1..60 m within ~300 m, beside 200 of 5 m..3 km spread over the region
    const dense = zonesIn(11, 600, 'd', 0.5, 0.015, 0.5, 0.015, 50);
    const sparse = zonesIn(12, 200, 's', 0, 1, 0, 1);
    const zones = [...dense, ...sparse];
    const index = check(zones, probesFor(zones, 13, 2));
    const stats = index.gridStats()!;
    expect(stats.maxDepth, 'the dense cells were split').toBeGreaterThanOrEqual(1);
    expect(stats.maxPerCell, 'no cell holds most of the cluster').toBeLessThan(dense.length / 4);
  });

  it('answers for zones stacked on one spot, where no split can help', () => {
    const stacked = Array.from({ length: 120 }, (_, i) =>
      compileZone({ type: 'Feature', id: `st${i}`, geometry: { type: 'Point', coordinates: [-1.55, 53.8] }, properties: { radiusM: 80 + (i % 3) } }),
    );
    const zones = [...stacked, ...zonesIn(21, 200, 'o', 0.45, 0.1, 0.45, 0.1)];
    check(zones, [...probesFor(zones, 22, 1), [-1.55, 53.8], [-1.55 + 80 / (G.M_PER_DEG * Math.cos(53.8 * (Math.PI / 180))), 53.8]]);
  });

  it('keeps zones far larger than a cell apart and finds them from every cell they cover', () => {
    const huge = [
      compileZone(boxFeature('H-county', [-2.5, 53.2, -0.5, 54.5])),
      compileZone({ type: 'Feature', id: 'H-circle', geometry: { type: 'Point', coordinates: [-1.5, 53.8] }, properties: { radiusM: 60_000 } }),
    ];
    const zones = [...huge, ...zonesIn(31, 600, 'u', 0, 1, 0, 1)];
    const index = check(zones, probesFor(zones, 32, 1));
    expect(index.gridStats()!.bigItems).toBeGreaterThanOrEqual(2);
  });

  it('answers at the antimeridian: circles and polygons on both sides and across it, queried at ±180 too', () => {
    const seam: PreparedZone[] = [];
    const pts: Pos[] = [];
    const onSeam: number[] = [];
    for (let i = 0; i < 150; i++) {
      const lat = -0.01 + (i % 30) * 0.0007;
      const lon = i % 2 === 0 ? 179.999 - (i % 7) * 0.0003 : -179.999 + (i % 5) * 0.0003;
      seam.push(compileZone({ type: 'Feature', id: `c${i}`, geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { radiusM: 20 + (i % 13) * 25 } }));
      if (i % 3 === 0) seam.push(compileZone(boxFeature(`b${i}`, i % 2 === 0 ? [179.998, lat, 180, lat + 0.001] : [-180, lat, -179.998, lat + 0.001])));
      pts.push([lon, lat], [179.9999, lat], [-179.9999, lat]);
      onSeam.push(lat + 0.0003);
    }
    // a MultiPolygon split at ±180, its two halves meeting on the meridian
    seam.push(compileZone(boxesFeature('m-split', [179.995, -0.005, 180, 0.005], [-180, -0.005, -179.995, 0.005])));
    const index = check(seam, [...pts, ...probesFor(seam, 41, 1).filter(([lon]) => Math.abs(lon) < 180)]);
    // exactly on ±180 a zone drawn on either side counts
    const hits = new ZoneHits();
    for (const lat of onSeam) {
      const want = seam.filter((z) => z.contains(180, lat) || z.contains(-180, lat)).map((z) => z.id).sort();
      expect(want.length).toBeGreaterThan(0);
      for (const lon of [180, -180]) {
        const n = index.containing(lon, lat, hits);
        expect(hits.zones.slice(0, n).map((z) => z.id).sort(), `containing(${lon}, ${lat})`).toEqual(want);
      }
    }
  });
});
