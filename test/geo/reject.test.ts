// compileZone: what it refuses (one test per ZoneError code) and what it must accept.
import { describe, expect, it } from 'vitest';
import { compileZone, ZoneError } from '../../geo/index.js';

type Code = ZoneError['code'];
type Options = Parameters<typeof compileZone>[1];
type P = [number, number];

// A 0.01° square in Leeds, counter-clockwise, closed.
const sq = (x0: number, y0: number, d: number): P[] => [
  [x0, y0],
  [x0 + d, y0],
  [x0 + d, y0 + d],
  [x0, y0 + d],
  [x0, y0],
];
const X = -1.56;
const Y = 53.8;
const SHELL = sq(X, Y, 0.01);
const HOLE = sq(X + 0.003, Y + 0.003, 0.004).reverse();

function polygon(id: unknown, rings: unknown, properties: unknown = {}): Record<string, unknown> {
  return { type: 'Feature', id, geometry: { type: 'Polygon', coordinates: rings }, properties };
}
function multi(id: unknown, polys: unknown, properties: unknown = {}): Record<string, unknown> {
  return { type: 'Feature', id, geometry: { type: 'MultiPolygon', coordinates: polys }, properties };
}
function circle(id: unknown, coords: unknown, properties: unknown): Record<string, unknown> {
  return { type: 'Feature', id, geometry: { type: 'Point', coordinates: coords }, properties };
}

/** A closed star-ish ring of n vertices (wavy radius, simple) around (X, Y), radius rDeg. */
function wavyRing(n: number, rDeg: number, cx = X + 0.005, cy = Y + 0.005): P[] {
  const ring: P[] = [];
  for (let i = 0; i < n; i++) {
    const th = (2 * Math.PI * i) / n;
    const r = rDeg * (1 + 0.3 * Math.sin(7 * th));
    ring.push([cx + (r * Math.cos(th)) / Math.cos((cy * Math.PI) / 180), cy + r * Math.sin(th)]);
  }
  ring.push([ring[0]![0], ring[0]![1]]);
  return ring;
}

function rejection(feature: unknown, options?: Options): ZoneError {
  let thrown: unknown;
  try {
    compileZone(feature, options);
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`expected compileZone to reject ${JSON.stringify(feature)?.slice(0, 300)}`);
  expect(thrown).toBeInstanceOf(ZoneError);
  expect(thrown).toBeInstanceOf(Error);
  return thrown as ZoneError;
}

/** Rejected with `code`; the error carries the zone id (when known) and names it and the fault in its message. */
function expectRejected(feature: unknown, code: Code, id: string | null, words: RegExp, options?: Options): void {
  const err = rejection(feature, options);
  const what = JSON.stringify(feature)?.slice(0, 200);
  expect(err.code, `code for ${what}: ${err.message}`).toBe(code);
  expect(err.zoneId, `zoneId for ${what}`).toBe(id);
  if (id !== null) expect(err.message, 'message names the zone').toContain(id);
  expect(err.message, `message names the fault (${code})`).toMatch(words);
}

describe('compileZone rejects', () => {
  it('anything that is not a GeoJSON Feature (ZONE_NOT_FEATURE)', () => {
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'Feature',
      [],
      { type: 'FeatureCollection', features: [] },
      { type: 'Polygon', coordinates: [SHELL] },
      { geometry: { type: 'Polygon', coordinates: [SHELL] }, properties: {} },
    ];
    for (const f of bad) expectRejected(f, 'ZONE_NOT_FEATURE', null, /feature/i);
  });

  it('a feature whose id is missing, empty or neither string nor number (ZONE_BAD_ID)', () => {
    const { id: _drop, ...noId } = polygon('x', [SHELL]);
    const bad: unknown[] = [noId, polygon('', [SHELL]), polygon(null, [SHELL]), polygon(true, [SHELL]), polygon({}, [SHELL]), polygon(['a'], [SHELL])];
    for (const f of bad) {
      const err = rejection(f);
      expect(err.code, err.message).toBe('ZONE_BAD_ID');
      expect(err.zoneId || null, 'no usable id to report').toBeNull();
      expect(err.message).toMatch(/\bid\b/i);
    }
  });

  it('a feature with no geometry or coordinates of the wrong shape (ZONE_BAD_GEOMETRY)', () => {
    const words = /geometry|coordinates|position/i;
    expectRejected({ type: 'Feature', id: 'Z-nogeom', properties: {} }, 'ZONE_BAD_GEOMETRY', 'Z-nogeom', words);
    expectRejected({ type: 'Feature', id: 'Z-nullgeom', geometry: null, properties: {} }, 'ZONE_BAD_GEOMETRY', 'Z-nullgeom', words);
    expectRejected(
      { type: 'Feature', id: 'Z-nocoords', geometry: { type: 'Polygon' }, properties: {} },
      'ZONE_BAD_GEOMETRY',
      'Z-nocoords',
      words,
    );
    expectRejected(polygon('Z-string-coords', 'abc'), 'ZONE_BAD_GEOMETRY', 'Z-string-coords', words);
    expectRejected(polygon('Z-flat-ring', [[X, Y, X + 0.01, Y]]), 'ZONE_BAD_GEOMETRY', 'Z-flat-ring', words);
    expectRejected(polygon('Z-ring-of-numbers', [X, Y]), 'ZONE_BAD_GEOMETRY', 'Z-ring-of-numbers', words);
    expectRejected(
      polygon('Z-short-position', [[[X, Y], [X + 0.01], [X + 0.01, Y + 0.01], [X, Y]]]),
      'ZONE_BAD_GEOMETRY',
      'Z-short-position',
      words,
    );
    expectRejected(circle('Z-point-one-number', [X], { radiusM: 50 }), 'ZONE_BAD_GEOMETRY', 'Z-point-one-number', words);
    expectRejected(circle('Z-point-nested', [[X, Y]], { radiusM: 50 }), 'ZONE_BAD_GEOMETRY', 'Z-point-nested', words);
  });

  it('a MultiPolygon nested one level too shallow as wrong-shaped coordinates, not as short rings (ZONE_BAD_GEOMETRY)', () => {
    // coordinates hold a ring where a polygon belongs: its "rings" are bare [lon, lat] number pairs
    expectRejected(multi('Z-multi-one-level-short', [SHELL]), 'ZONE_BAD_GEOMETRY', 'Z-multi-one-level-short', /geometry|coordinates|position/i);
    expectRejected(polygon('Z-polygon-one-level-short', SHELL), 'ZONE_BAD_GEOMETRY', 'Z-polygon-one-level-short', /geometry|coordinates|position/i);
  });

  it('geometry types other than Polygon, MultiPolygon and Point (ZONE_UNSUPPORTED_TYPE)', () => {
    const geoms: [string, unknown][] = [
      ['LineString', [[X, Y], [X + 0.01, Y]]],
      ['MultiPoint', [[X, Y]]],
      ['MultiLineString', [[[X, Y], [X + 0.01, Y]]]],
      ['Circle', [X, Y]],
    ];
    for (const [type, coordinates] of geoms) {
      const id = `Z-${type}`;
      expectRejected({ type: 'Feature', id, geometry: { type, coordinates }, properties: {} }, 'ZONE_UNSUPPORTED_TYPE', id, new RegExp(type));
    }
    expectRejected(
      { type: 'Feature', id: 'Z-gc', geometry: { type: 'GeometryCollection', geometries: [] }, properties: {} },
      'ZONE_UNSUPPORTED_TYPE',
      'Z-gc',
      /GeometryCollection/,
    );
  });

  it('NaN, infinite or non-number coordinates (ZONE_BAD_COORDINATE)', () => {
    const words = /coordinate|longitude|latitude|finite|NaN|number/i;
    const withAt = (v: unknown, lonSlot: boolean): unknown[] => {
      const ring: unknown[] = SHELL.map((p) => [...p]);
      ring[2] = lonSlot ? [v, Y + 0.01] : [X + 0.01, v];
      return [ring];
    };
    const cases: [string, unknown][] = [
      ['Z-nan-lon', withAt(NaN, true)],
      ['Z-inf-lat', withAt(Infinity, false)],
      ['Z-neginf-lon', withAt(-Infinity, true)],
      ['Z-null-lat', withAt(null, false)],
      ['Z-string-lon', withAt(String(X + 0.01), true)],
    ];
    for (const [id, rings] of cases) expectRejected(polygon(id, rings), 'ZONE_BAD_COORDINATE', id, words);
    expectRejected(circle('Z-nan-centre', [NaN, Y], { radiusM: 50 }), 'ZONE_BAD_COORDINATE', 'Z-nan-centre', words);
  });

  it('longitudes outside [-180, 180] and latitudes outside [-90, 90] (ZONE_COORDINATE_RANGE)', () => {
    const words = /range|outside|longitude|latitude|180|90/i;
    expectRejected(polygon('Z-lon-181', [[[179.99, 0], [181, 0], [181, 0.01], [179.99, 0.01], [179.99, 0]]]), 'ZONE_COORDINATE_RANGE', 'Z-lon-181', words);
    expectRejected(
      polygon('Z-lon-minus-180.5', [[[-180.5, 0], [-179.9, 0], [-179.9, 0.01], [-180.5, 0.01], [-180.5, 0]]]),
      'ZONE_COORDINATE_RANGE',
      'Z-lon-minus-180.5',
      words,
    );
    expectRejected(circle('Z-lat-91', [0, 91], { radiusM: 50 }), 'ZONE_COORDINATE_RANGE', 'Z-lat-91', words);
    expectRejected(circle('Z-lat-minus-90.5', [0, -90.5], { radiusM: 50 }), 'ZONE_COORDINATE_RANGE', 'Z-lat-minus-90.5', words);
    expectRejected(circle('Z-lon-200', [200, 10], { radiusM: 50 }), 'ZONE_COORDINATE_RANGE', 'Z-lon-200', words);
  });

  it('a ring whose last position is not its first (ZONE_RING_NOT_CLOSED)', () => {
    expectRejected(polygon('Z-open', [SHELL.slice(0, 4)]), 'ZONE_RING_NOT_CLOSED', 'Z-open', /clos/i);
    expectRejected(polygon('Z-open-hole', [SHELL, HOLE.slice(0, 4)]), 'ZONE_RING_NOT_CLOSED', 'Z-open-hole', /clos/i);
    expectRejected(multi('Z-open-part', [[sq(X + 0.1, Y, 0.01)], [SHELL.slice(0, 4)]]), 'ZONE_RING_NOT_CLOSED', 'Z-open-part', /clos/i);
  });

  it('a closed ring of fewer than four positions (ZONE_RING_TOO_SHORT)', () => {
    const words = /short|fewer|at least|four|\b4\b|positions/i;
    expectRejected(polygon('Z-three', [[[X, Y], [X + 0.01, Y + 0.01], [X, Y]]]), 'ZONE_RING_TOO_SHORT', 'Z-three', words);
    expectRejected(polygon('Z-two', [[[X, Y], [X, Y]]]), 'ZONE_RING_TOO_SHORT', 'Z-two', words);
    expectRejected(
      polygon('Z-short-hole', [SHELL, [[X + 0.004, Y + 0.004], [X + 0.005, Y + 0.005], [X + 0.004, Y + 0.004]]]),
      'ZONE_RING_TOO_SHORT',
      'Z-short-hole',
      words,
    );
  });

  it('a ring with zero area (ZONE_RING_DEGENERATE)', () => {
    const words = /degenerate|zero|area/i;
    const line: P[] = [[X, Y], [X + 0.01, Y], [X + 0.02, Y], [X, Y]];
    expectRejected(polygon('Z-flat', [line]), 'ZONE_RING_DEGENERATE', 'Z-flat', words);
    const diag: P[] = [[10, 50], [10.5, 50.5], [11, 51], [10, 50]]; // exactly collinear in binary
    expectRejected(polygon('Z-diagonal', [diag]), 'ZONE_RING_DEGENERATE', 'Z-diagonal', words);
    const flatHole: P[] = [[X + 0.002, Y + 0.005], [X + 0.004, Y + 0.005], [X + 0.006, Y + 0.005], [X + 0.002, Y + 0.005]];
    expectRejected(polygon('Z-flat-hole', [SHELL, flatHole]), 'ZONE_RING_DEGENERATE', 'Z-flat-hole', words);
  });

  it('a ring that crosses itself, or two rings of one polygon that cross (ZONE_SELF_INTERSECTION)', () => {
    const words = /intersect|cross/i;
    // an uneven bow-tie (non-zero signed area, so it is not merely degenerate)
    const bowtie: P[] = [[X, Y], [X + 0.02, Y + 0.01], [X + 0.02, Y], [X, Y + 0.015], [X, Y]];
    expectRejected(polygon('Z-bowtie', [bowtie]), 'ZONE_SELF_INTERSECTION', 'Z-bowtie', words);
    expectRejected(multi('Z-bowtie-part', [[sq(X + 0.1, Y, 0.01)], [bowtie]]), 'ZONE_SELF_INTERSECTION', 'Z-bowtie-part', words);
    const bowtieHole: P[] = [[X + 0.002, Y + 0.002], [X + 0.008, Y + 0.006], [X + 0.008, Y + 0.002], [X + 0.002, Y + 0.007], [X + 0.002, Y + 0.002]];
    expectRejected(polygon('Z-bowtie-hole', [SHELL, bowtieHole]), 'ZONE_SELF_INTERSECTION', 'Z-bowtie-hole', words);
    // two holes, each inside the shell, crossing each other
    const h1 = sq(X + 0.002, Y + 0.002, 0.004).reverse();
    const h2 = sq(X + 0.004, Y + 0.004, 0.004).reverse();
    expectRejected(polygon('Z-crossing-holes', [SHELL, h1, h2]), 'ZONE_SELF_INTERSECTION', 'Z-crossing-holes', words);
  });

  it('a ring that touches itself at one point (a pinched figure-8) as a self-intersection', () => {
    // two triangles meeting at their shared tip (X + 0.01, Y + 0.01), drawn as one ring
    const pinched: P[] = [
      [X, Y], [X + 0.02, Y], [X + 0.01, Y + 0.01], [X + 0.02, Y + 0.02], [X, Y + 0.02], [X + 0.01, Y + 0.01], [X, Y],
    ];
    expectRejected(polygon('Z-pinched', [pinched]), 'ZONE_SELF_INTERSECTION', 'Z-pinched', /intersect|cross|touch/i);
  });

  it('a polygon whose hole crosses its shell (as a crossing or as a hole outside)', () => {
    const err = rejection(polygon('Z-hole-straddles', [SHELL, sq(X + 0.008, Y + 0.004, 0.004).reverse()]));
    expect(['ZONE_SELF_INTERSECTION', 'ZONE_HOLE_OUTSIDE']).toContain(err.code);
    expect(err.zoneId).toBe('Z-hole-straddles');
  });

  it('finds a crossing deep inside a 20,000-vertex ring quickly', () => {
    const ring = wavyRing(20_000, 0.02);
    const a = ring[5000]!;
    ring[5000] = ring[5500]!;
    ring[5500] = a;
    const t0 = performance.now();
    expectRejected(polygon('Z-big-crossing', [ring]), 'ZONE_SELF_INTERSECTION', 'Z-big-crossing', /intersect|cross/i);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('a hole that is not inside its shell (ZONE_HOLE_OUTSIDE)', () => {
    const words = /hole/i;
    expectRejected(polygon('Z-hole-away', [SHELL, sq(X + 0.05, Y, 0.004).reverse()]), 'ZONE_HOLE_OUTSIDE', 'Z-hole-away', words);
    expectRejected(polygon('Z-hole-around', [SHELL, sq(X - 0.01, Y - 0.01, 0.03).reverse()]), 'ZONE_HOLE_OUTSIDE', 'Z-hole-around', words);
    expectRejected(
      multi('Z-hole-away-in-part', [[sq(X + 0.1, Y, 0.01)], [SHELL, sq(X + 0.05, Y, 0.004).reverse()]]),
      'ZONE_HOLE_OUTSIDE',
      'Z-hole-away-in-part',
      words,
    );
  });

  it('a circle without a positive finite radiusM within maxRadiusM (ZONE_BAD_RADIUS)', () => {
    const words = /radius/i;
    const c = [X, Y];
    expectRejected({ type: 'Feature', id: 'Z-no-props', geometry: { type: 'Point', coordinates: c } }, 'ZONE_BAD_RADIUS', 'Z-no-props', words);
    expectRejected(circle('Z-no-radius', c, { name: 'home' }), 'ZONE_BAD_RADIUS', 'Z-no-radius', words);
    expectRejected(circle('Z-zero', c, { radiusM: 0 }), 'ZONE_BAD_RADIUS', 'Z-zero', words);
    expectRejected(circle('Z-negative', c, { radiusM: -5 }), 'ZONE_BAD_RADIUS', 'Z-negative', words);
    expectRejected(circle('Z-nan-radius', c, { radiusM: NaN }), 'ZONE_BAD_RADIUS', 'Z-nan-radius', words);
    expectRejected(circle('Z-inf-radius', c, { radiusM: Infinity }), 'ZONE_BAD_RADIUS', 'Z-inf-radius', words);
    expectRejected(circle('Z-string-radius', c, { radiusM: '60' }), 'ZONE_BAD_RADIUS', 'Z-string-radius', words);
    expectRejected(circle('Z-too-big', c, { radiusM: 100_001 }), 'ZONE_BAD_RADIUS', 'Z-too-big', words);
    expectRejected(circle('Z-over-option', c, { radiusM: 600 }), 'ZONE_BAD_RADIUS', 'Z-over-option', words, { maxRadiusM: 500 });
  });

  it('a zone with more positions than maxVertices (ZONE_TOO_MANY_VERTICES)', () => {
    const words = /vert|positions/i;
    expectRejected(polygon('Z-fifty', [wavyRing(50, 0.005)]), 'ZONE_TOO_MANY_VERTICES', 'Z-fifty', words, { maxVertices: 20 });
    // three parts of 10 vertices: each is under the limit, together they are not
    const parts = [0, 1, 2].map((k) => [wavyRing(10, 0.003, X + 0.02 * k, Y)]);
    expectRejected(multi('Z-three-parts', parts), 'ZONE_TOO_MANY_VERTICES', 'Z-three-parts', words, { maxVertices: 25 });
    const holes = [SHELL, ...[0, 1].map((k) => wavyRing(12, 0.0008, X + 0.003 + 0.004 * k, Y + 0.005).reverse())];
    expectRejected(polygon('Z-holes-count', holes), 'ZONE_TOO_MANY_VERTICES', 'Z-holes-count', words, { maxVertices: 20 });
  });

  it('refuses a 200,000-vertex zone by count without a long validation first', () => {
    const t0 = performance.now();
    expectRejected(polygon('Z-huge', [wavyRing(200_000, 0.02)]), 'ZONE_TOO_MANY_VERTICES', 'Z-huge', /vert|positions/i);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a polygon or part spanning more than 180° of longitude (ZONE_ANTIMERIDIAN)', () => {
    const words = /antimeridian|180/i;
    const across: P[] = [[179.9, 0], [-179.9, 0], [-179.9, 0.1], [179.9, 0.1], [179.9, 0]];
    expectRejected(polygon('Z-fiji-unsplit', [across]), 'ZONE_ANTIMERIDIAN', 'Z-fiji-unsplit', words);
    expectRejected(multi('Z-fiji-part', [[sq(179.5, 0, 0.1)], [across]]), 'ZONE_ANTIMERIDIAN', 'Z-fiji-part', words);
  });

  it('a polygon with a vertex beyond maxAbsLat (ZONE_POLAR)', () => {
    const words = /polar|pole|latitude|85/i;
    const north: P[] = [[10, 84.5], [11, 84.5], [11, 85.5], [10, 85.5], [10, 84.5]];
    const south: P[] = [[10, -86], [11, -86], [11, -84.5], [10, -84.5], [10, -86]];
    expectRejected(polygon('Z-arctic', [north]), 'ZONE_POLAR', 'Z-arctic', words);
    expectRejected(multi('Z-antarctic', [[sq(10, -80, 1)], [south]]), 'ZONE_POLAR', 'Z-antarctic', words);
    expectRejected(polygon('Z-arctic-tight', [sq(10, 80.5, 0.2)]), 'ZONE_POLAR', 'Z-arctic-tight', words, { maxAbsLat: 80 });
  });

  it('properties that are not an object, or a layer that is not a non-empty string (ZONE_BAD_PROPERTIES)', () => {
    const words = /propert|layer/i;
    const cases: [string, unknown][] = [
      ['Z-props-string', 'x'],
      ['Z-props-number', 42],
      ['Z-props-bool', true],
      ['Z-props-array', []],
      ['Z-layer-empty', { layer: '' }],
      ['Z-layer-number', { layer: 42 }],
      ['Z-layer-object', { layer: { name: 'schools' } }],
    ];
    for (const [id, props] of cases) expectRejected(polygon(id, [SHELL], props), 'ZONE_BAD_PROPERTIES', id, words);
    expectRejected(circle('Z-circle-layer', [X, Y], { radiusM: 50, layer: '' }), 'ZONE_BAD_PROPERTIES', 'Z-circle-layer', words);
  });
});

describe('compileZone accepts', () => {
  it('a polygon with a hole: inside the ring yes, inside the hole no, on the hole edge yes', () => {
    const z = compileZone(polygon('Z-donut', [SHELL, HOLE], { layer: 'schools-leeds' }));
    expect(z.id).toBe('Z-donut');
    expect(z.kind).toBe('polygon');
    expect(z.layer).toBe('schools-leeds');
    expect([z.minLon, z.minLat, z.maxLon, z.maxLat]).toEqual([X, Y, X + 0.01, Y + 0.01]);
    expect(z.vertexCount).toBeGreaterThanOrEqual(8);
    expect(z.vertexCount).toBeLessThanOrEqual(10);
    expect(z.contains(X + 0.001, Y + 0.001)).toBe(true); // in the ring
    expect(z.contains(X + 0.005, Y + 0.005)).toBe(false); // in the hole
    expect(z.contains(X + 0.003, Y + 0.005)).toBe(true); // on the hole's west edge
    expect(z.contains(X + 0.007, Y + 0.007)).toBe(true); // the hole's north-east corner
    expect(z.contains(X + 0.02, Y + 0.005)).toBe(false); // outside
    // the hole's centre is 0.002° of longitude (~131 m at 53.8°N) from the hole's edge, and outside the zone
    expect(z.signedDistanceM(X + 0.005, Y + 0.005, 1000)).toBeLessThan(-125);
    expect(z.signedDistanceM(X + 0.005, Y + 0.005, 1000)).toBeGreaterThan(-138);
  });

  it('a hole that touches its shell at a single corner (rings may touch, not cross)', () => {
    const corner: P[] = [[X, Y], [X + 0.004, Y + 0.002], [X + 0.002, Y + 0.004], [X, Y]].reverse() as P[];
    const z = compileZone(polygon('Z-touching-hole', [SHELL, corner]));
    expect(z.contains(X + 0.002, Y + 0.0025)).toBe(false); // inside the hole
    expect(z.contains(X + 0.008, Y + 0.008)).toBe(true);
  });

  it('a MultiPolygon: inside either part, not between them', () => {
    const z = compileZone(multi('Z-two-parks', [[SHELL], [sq(X + 0.02, Y, 0.01)]]));
    expect(z.kind).toBe('polygon');
    expect(z.contains(X + 0.005, Y + 0.005)).toBe(true);
    expect(z.contains(X + 0.025, Y + 0.005)).toBe(true);
    expect(z.contains(X + 0.015, Y + 0.005)).toBe(false);
    expect(z.maxLon).toBeCloseTo(X + 0.03, 12);
  });

  it('a MultiPolygon split at ±180 as RFC 7946 asks', () => {
    const z = compileZone(
      multi('Z-fiji', [
        [[[179.9, -17], [180, -17], [180, -16.9], [179.9, -16.9], [179.9, -17]]],
        [[[-180, -17], [-179.9, -17], [-179.9, -16.9], [-180, -16.9], [-180, -17]]],
      ]),
    );
    expect(z.contains(179.95, -16.95)).toBe(true);
    expect(z.contains(-179.95, -16.95)).toBe(true);
    expect(z.contains(0, -16.95)).toBe(false);
  });

  it('a circle: Point with properties.radiusM', () => {
    const z = compileZone(circle('Z-home', [-0.1, 51.52], { radiusM: 60, name: 'Curfew address', layer: 'curfew' }));
    expect(z.kind).toBe('circle');
    expect(z.layer).toBe('curfew');
    expect(z.contains(-0.1, 51.52)).toBe(true);
    expect(z.contains(-0.1, 51.52 + 50 / 111195)).toBe(true);
    expect(z.contains(-0.1, 51.52 + 70 / 111195)).toBe(false);
    expect(z.signedDistanceM(-0.1, 51.52, 1000)).toBeCloseTo(60, 0);
    expect(z.maxLat).toBeGreaterThanOrEqual(51.52 + 60 / 111195.08 - 1e-12);
    expect(z.minLat).toBeLessThanOrEqual(51.52 - 60 / 111195.08 + 1e-12);
  });

  it('a circle at the radius limit, and a larger one when maxRadiusM allows it', () => {
    expect(compileZone(circle('Z-max', [X, Y], { radiusM: 100_000 })).kind).toBe('circle');
    expect(compileZone(circle('Z-wide', [X, Y], { radiusM: 150_000 }), { maxRadiusM: 200_000 }).kind).toBe('circle');
    expect(compileZone(circle('Z-under-option', [X, Y], { radiusM: 400 }), { maxRadiusM: 500 }).kind).toBe('circle');
  });

  it('a circle centred on the pole (circles are not limited by maxAbsLat)', () => {
    const z = compileZone(circle('Z-north-pole', [0, 90], { radiusM: 1000 }));
    expect(z.contains(123, 89.995)).toBe(true);
    expect(z.contains(-77, 89.98)).toBe(false);
  });

  it('a number id, stringified', () => {
    expect(compileZone(polygon(17, [SHELL])).id).toBe('17');
    expect(compileZone(circle(0, [X, Y], { radiusM: 10 })).id).toBe('0');
  });

  it('duplicate consecutive vertices', () => {
    const ring: P[] = [[X, Y], [X + 0.01, Y], [X + 0.01, Y], [X + 0.01, Y + 0.01], [X, Y + 0.01], [X, Y + 0.01], [X, Y]];
    const z = compileZone(polygon('Z-stutter', [ring]));
    expect(z.contains(X + 0.005, Y + 0.005)).toBe(true);
    expect(z.contains(X + 0.015, Y + 0.005)).toBe(false);
    expect(z.contains(X + 0.01, Y + 0.005)).toBe(true);
  });

  it('a clockwise shell and a counter-clockwise hole (RFC 7946 parsers should not reject winding)', () => {
    const z = compileZone(polygon('Z-clockwise', [[...SHELL].reverse(), [...HOLE].reverse()]));
    expect(z.contains(X + 0.001, Y + 0.001)).toBe(true);
    expect(z.contains(X + 0.005, Y + 0.005)).toBe(false);
    expect(z.signedDistanceM(X + 0.001, Y + 0.005, 1000)).toBeGreaterThan(0);
  });

  it('null properties (RFC 7946 allows them) with no layer', () => {
    const z = compileZone(polygon('Z-null-props', [SHELL], null));
    expect(z.layer).toBeNull();
    expect(z.contains(X + 0.005, Y + 0.005)).toBe(true);
  });

  it('a polygon reaching exactly maxAbsLat, and beyond it when maxAbsLat is raised', () => {
    expect(compileZone(polygon('Z-at-85', [[[10, 84.9], [11, 84.9], [11, 85], [10, 85], [10, 84.9]]])).maxLat).toBe(85);
    const z = compileZone(polygon('Z-at-85.5', [[[10, 84.5], [11, 84.5], [11, 85.5], [10, 85.5], [10, 84.5]]]), { maxAbsLat: 86 });
    expect(z.contains(10.5, 85.2)).toBe(true);
  });

  it('a 50-vertex polygon by default, though maxVertices 20 rejects it; a square fits in maxVertices 5', () => {
    const z = compileZone(polygon('Z-fifty-ok', [wavyRing(50, 0.005)]));
    expect(z.vertexCount).toBeGreaterThanOrEqual(50);
    expect(z.vertexCount).toBeLessThanOrEqual(51);
    expect(rejection(polygon('Z-fifty-ok', [wavyRing(50, 0.005)]), { maxVertices: 20 }).code).toBe('ZONE_TOO_MANY_VERTICES');
    expect(compileZone(polygon('Z-square', [SHELL]), { maxVertices: 5 }).kind).toBe('polygon');
  });

  it('a 20,000-vertex polygon, compiled in well under two seconds', () => {
    const ring = wavyRing(20_000, 0.02);
    const t0 = performance.now();
    const z = compileZone(polygon('Z-20k', [ring]));
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(1500);
    expect(z.contains(X + 0.005, Y + 0.005)).toBe(true);
    expect(z.contains(X + 0.1, Y + 0.005)).toBe(false);
    for (const i of [0, 3333, 12_345, 19_999]) expect(z.contains(ring[i]![0], ring[i]![1])).toBe(true);
  });
});
