/**
 * A seeded national monitoring world for the engine benchmark: subjects, their victims' devices,
 * their conditions and a dense zone set around them, as the configuration JSON of contract
 * section 2 plus compact typed arrays that the fix generator (stream.ts) and the baseline read.
 *
 * Per subject (1–5 conditions, ids c1.. in this order when present):
 *  - exclusion around a victim address: circle 100–500 m, bufferM 200 (85 %);
 *  - curfew at the home address: circle 50–100 m, 19:00–07:00 every day, graceS 300,
 *    Europe/London (70 %);
 *  - proximity to the victim's own device: distanceM 200/500/1000, warnM twice that (20 %);
 *  - layer exclusion `schools-<city>`: every school of the subject's city, ~300 zones (15 %);
 *  - exclusion from a hand-drawn polygon (an estate, a street block; 4 % of these a whole town
 *    centre of 2,000–20,000 vertices), bufferM 100 (12 %).
 * Every subject has at least one condition. Homes and victim addresses cluster in 24 UK cities by
 * population (bench/geo/zones.ts), victim addresses 0.6–20 km from the home.
 *
 * Zones: the subjects' own circles, one `schools-<city>` layer per city, and the rest of the
 * total (default 10 per subject: 1M for 100k subjects) from bench/geo/zones.ts: circles,
 * hand-drawn polygons, MultiPolygons, town-centre areas and its shared layers (playgrounds,
 * licensed premises, parks, youth centres; its own `schools-*` tags are dropped so that the
 * schools layers are exactly the ones built here). Most zones in the world therefore belong to
 * someone else: the engine must never look at them for a given subject's fix.
 */
import type { Feature, MultiPolygon, Point, Polygon, Position } from 'geojson';
import type { ConfigInput, SubjectInput } from '../../src/engine/config.js';
import { nowNs } from '../common/timer.js';
import { gaussian, intBetween, logUniform, mixSeed, mulberry32, type Rng } from '../common/prng.js';
import { citySigmaKm, pickCity, slug, UK_CITIES } from '../common/cities.js';
import { ZoneKind, ZoneSet } from '../geo/zones.js';

/** Same sphere as geo/earth.ts. */
export const M_PER_DEG = (6371008.8 * Math.PI) / 180;
export const EXCLUSION_BUFFER_M = 200;
export const POLYGON_BUFFER_M = 100;
export const CURFEW_GRACE_S = 300;
/** Local minutes of day: curfew 19:00–07:00. */
export const CURFEW_START_MIN = 19 * 60;
export const CURFEW_END_MIN = 7 * 60;
const SCHOOLS_PER_CITY = 300;
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const SETTINGS = { batteryLowBelow: 0.2, noFixAfterS: 900, offlineAfterS: 1800, defaultAccuracyM: 10 } as const;

export interface WorldOptions {
  seed: number;
  subjects: number;
  /** Zones in the whole world (default 10 per subject). */
  zones?: number;
  /** Shares of subjects with each condition (defaults in the file comment). */
  shares?: Partial<ConditionShares>;
}

export interface ConditionShares {
  exclusion: number;
  curfew: number;
  proximity: number;
  layer: number;
  polygon: number;
}

const DEFAULT_SHARES: ConditionShares = { exclusion: 0.85, curfew: 0.7, proximity: 0.2, layer: 0.15, polygon: 0.12 };

/** One `schools-<city>` layer: its zones in config.zones[first .. first + count). */
export interface SchoolLayer {
  readonly name: string;
  readonly city: number;
  readonly first: number;
  readonly count: number;
  readonly lon: Float64Array;
  readonly lat: Float64Array;
  /** A point within innerM of the centre is inside; beyond outerM it is outside. */
  readonly innerM: Float32Array;
  readonly outerM: Float32Array;
}

export interface WorldCounts {
  zones: number;
  ownZones: number;
  schoolZones: number;
  backgroundZones: number;
  layers: number;
  conditions: number;
  exclusion: number;
  curfew: number;
  proximity: number;
  layerExclusion: number;
  polygonExclusion: number;
  townCentreExclusion: number;
  suspended: number;
  conditionsPerSubject: number[];
}

export interface World {
  readonly seed: number;
  readonly subjects: number;
  readonly victims: number;
  /** subjects + victims; device d < subjects is subject d's tag, the rest victims' devices. */
  readonly devices: number;
  readonly deviceIds: string[];
  readonly subjectIds: string[];
  /** Per device: city index and home (a victim's home is the protected address, if any). */
  readonly city: Uint8Array;
  readonly homeLon: Float64Array;
  readonly homeLat: Float64Array;
  /** Per subject: curfew circle radius, NaN without a curfew. */
  readonly curfewR: Float32Array;
  /** Per subject: victim-address exclusion circle, NaN without one. */
  readonly exclLon: Float64Array;
  readonly exclLat: Float64Array;
  readonly exclR: Float32Array;
  /** Per subject: device index of the victim watched by a proximity condition, -1 without. */
  readonly victimDevice: Int32Array;
  readonly proxDistM: Float32Array;
  readonly proxWarnM: Float32Array;
  /** Per subject: index into layers, -1 without a layer exclusion. */
  readonly layer: Int16Array;
  /** Per subject: polygon exclusion zone as an index into config.zones, -1 without; centre and reach. */
  readonly polyZone: Int32Array;
  readonly polyLon: Float64Array;
  readonly polyLat: Float64Array;
  /**
   * The outline's nominal radius R (m): a point 0.26–0.34 R from the centre is surely inside
   * (outline >= 0.37 R, holes within 0.25 R of the centre or 0.11–0.25 R out for town centres).
   */
  readonly polyR: Float32Array;
  /** Radius (m) from the centre beyond which the polygon surely does not. */
  readonly polyOuterM: Float32Array;
  readonly layers: SchoolLayer[];
  readonly config: ConfigInput & { zones: Feature<Point | Polygon | MultiPolygon>[]; subjects: SubjectInput[] };
  readonly counts: WorldCounts;
  /** Wall time to generate everything here (not the compile). */
  readonly buildMs: number;
}

// ---------------------------------------------------------------------------------------------


/** Six decimals (~0.1 m), as a tag or a case worker would write them. */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * A point around the city's centre: gaussian with the city's spread (or sigmaM), a quarter twice
 * as wide (suburbs).
 */
export function placeInCity(rng: Rng, city: number, out: Float64Array, sigmaM0 = citySigmaKm(UK_CITIES[city]!) * 1000): void {
  const c = UK_CITIES[city]!;
  const sigmaM = sigmaM0 * (rng() < 0.25 ? 2 : 1);
  out[1] = c.lat + (gaussian(rng) * sigmaM) / M_PER_DEG;
  out[0] = c.lon + (gaussian(rng) * sigmaM) / (M_PER_DEG * Math.cos(c.lat * (Math.PI / 180)));
}

/** Moves (lon, lat) by dx east and dy north metres (flat approximation, fine below ~50 km). */
export function offset(lon: number, lat: number, dxM: number, dyM: number, out: Float64Array): void {
  out[1] = lat + dyM / M_PER_DEG;
  out[0] = lon + dxM / (M_PER_DEG * Math.cos(lat * (Math.PI / 180)));
}

/** Flat-earth distance in metres: good to well under 1 % at city scale, and cheap. */
export function flatM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dy = (lat2 - lat1) * M_PER_DEG;
  const dx = (lon2 - lon1) * M_PER_DEG * Math.cos(((lat1 + lat2) / 2) * (Math.PI / 180));
  return Math.sqrt(dx * dx + dy * dy);
}

/** Metres from (lon, lat) to the nearest school's outer reach in the layer (negative: maybe on its grounds). */
export function nearestSchoolGapM(layer: SchoolLayer, lon: number, lat: number): number {
  let best = Infinity;
  for (let k = 0; k < layer.count; k++) {
    const g = flatM(lon, lat, layer.lon[k]!, layer.lat[k]!) - layer.outerM[k]!;
    if (g < best) best = g;
  }
  return best;
}

function pad(i: number, width: number): string {
  return String(i).padStart(width, '0');
}

function circleFeature(id: string, lon: number, lat: number, radiusM: number, props: Record<string, unknown>): Feature<Point> {
  return { type: 'Feature', id, geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { radiusM, ...props } };
}

/** A school's grounds as a rotated rectangle, counter-clockwise, closed. */
function rectangleFeature(id: string, lon: number, lat: number, wM: number, hM: number, angle: number, props: Record<string, unknown>): Feature<Polygon> {
  const ring: Position[] = [];
  const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]] as const;
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const p = new Float64Array(2);
  for (const [sx, sy] of corners) {
    const x = (sx * wM) / 2, y = (sy * hM) / 2;
    offset(lon, lat, x * cos - y * sin, x * sin + y * cos, p);
    ring.push([round6(p[0]!), round6(p[1]!)]);
  }
  ring.push([ring[0]![0]!, ring[0]![1]!]);
  return { type: 'Feature', id, geometry: { type: 'Polygon', coordinates: [ring] }, properties: props };
}

// ---------------------------------------------------------------------------------------------

export function buildWorld(options: WorldOptions): World {
  const t0 = nowNs();
  const seed = options.seed >>> 0;
  const S = options.subjects;
  if (!Number.isInteger(S) || S < 1) throw new RangeError(`subjects must be a positive integer, got ${S}`);
  const shares = { ...DEFAULT_SHARES, ...options.shares };
  const totalZones = options.zones ?? S * 10;
  const width = Math.max(6, String(S).length);
  const rng = mulberry32(mixSeed(seed, 1));
  const p = new Float64Array(2);

  const schoolZoneList: Feature<Point | Polygon>[] = [];
  // Schools first (their places do not depend on the subjects): one layer per city, ~300 each.
  // Spread at least 6 km (sigma) so that small cities are not paved with school grounds.
  const layers: SchoolLayer[] = [];
  const srng = mulberry32(mixSeed(seed, 2));
  for (let c = 0; c < UK_CITIES.length; c++) {
    const name = `schools-${slug(UK_CITIES[c]!.name)}`;
    const count = intBetween(srng, SCHOOLS_PER_CITY - 20, SCHOOLS_PER_CITY + 20);
    const first = schoolZoneList.length;
    const lon = new Float64Array(count), lat = new Float64Array(count);
    const innerM = new Float32Array(count), outerM = new Float32Array(count);
    for (let k = 0; k < count; k++) {
      placeInCity(srng, c, p, Math.max(citySigmaKm(UK_CITIES[c]!) * 1000, 6000));
      const x = round6(p[0]!), y = round6(p[1]!);
      lon[k] = x;
      lat[k] = y;
      const id = `SCH-${slug(UK_CITIES[c]!.name)}-${pad(k + 1, 3)}`;
      const props = { layer: name, name: `School ${k + 1}` };
      if (srng() < 0.7) {
        const r = Math.round(logUniform(srng, 40, 150));
        schoolZoneList.push(circleFeature(id, x, y, r, props));
        innerM[k] = r;
        outerM[k] = r;
      } else {
        const w = logUniform(srng, 60, 200), h = logUniform(srng, 60, 200);
        schoolZoneList.push(rectangleFeature(id, x, y, w, h, srng() * Math.PI, props));
        innerM[k] = Math.min(w, h) / 2 - 1;
        outerM[k] = Math.hypot(w, h) / 2 + 1;
      }
    }
    layers.push({ name, city: c, first, count, lon, lat, innerM, outerM });
  }

  // --- subjects' places and which conditions they carry ----------------------------------------
  const city = new Uint8Array(S); // victims appended below
  const homeLon = new Float64Array(S), homeLat = new Float64Array(S);
  const curfewR = new Float32Array(S).fill(NaN);
  const exclLon = new Float64Array(S).fill(NaN), exclLat = new Float64Array(S).fill(NaN);
  const exclR = new Float32Array(S).fill(NaN);
  const victimOf = new Int32Array(S).fill(-1); // victim number, turned into a device index later
  const proxDistM = new Float32Array(S).fill(NaN), proxWarnM = new Float32Array(S).fill(NaN);
  const layer = new Int16Array(S).fill(-1);
  const wantsPoly = new Uint8Array(S);
  const victimHomeLon: number[] = [], victimHomeLat: number[] = [], victimCity: number[] = [];

  for (let i = 0; i < S; i++) {
    const c = pickCity(rng);
    city[i] = c;
    let excl = rng() < shares.exclusion;
    const curfew = rng() < shares.curfew;
    const prox = rng() < shares.proximity;
    const lay = rng() < shares.layer;
    const poly = rng() < shares.polygon;
    if (!excl && !curfew && !prox && !lay && !poly) excl = true;
    // A court would not exclude someone from their own home: a subject with a schools exclusion
    // lives off school grounds (re-drawn up to 20 times).
    for (let attempt = 0; ; attempt++) {
      placeInCity(rng, c, p);
      if (!lay || attempt === 20 || nearestSchoolGapM(layers[c]!, p[0]!, p[1]!) > 100) break;
    }
    homeLon[i] = round6(p[0]!);
    homeLat[i] = round6(p[1]!);
    if (curfew) curfewR[i] = intBetween(rng, 50, 100);
    const r = Math.round(logUniform(rng, 100, 500));
    const d = [200, 500, 500, 1000][intBetween(rng, 0, 3)]!;
    // The victim's address: log-normal around 4 km from the home (at most 20 km), and never so
    // close that the home is in the exclusion's buffer or the proximity warning distance.
    let dist = Math.min(20_000, 4_000 * Math.exp(0.7 * gaussian(rng)));
    dist = Math.max(dist, excl ? r + EXCLUSION_BUFFER_M + 1_000 : 0, prox ? 2 * d + 500 : 0, 600);
    const bearing = rng() * 2 * Math.PI;
    offset(homeLon[i]!, homeLat[i]!, dist * Math.cos(bearing), dist * Math.sin(bearing), p);
    const vLon = round6(p[0]!), vLat = round6(p[1]!);
    if (excl) {
      exclLon[i] = vLon;
      exclLat[i] = vLat;
      exclR[i] = r;
    }
    if (prox) {
      victimOf[i] = victimHomeLon.length;
      victimHomeLon.push(vLon);
      victimHomeLat.push(vLat);
      victimCity.push(c);
      proxDistM[i] = d;
      proxWarnM[i] = 2 * d;
    }
    if (lay) layer[i] = c; // layer k is the schools of city k
    if (poly) wantsPoly[i] = 1;
  }
  const V = victimHomeLon.length;
  const D = S + V;

  // --- zones -----------------------------------------------------------------------------------
  const zones: Feature<Point | Polygon | MultiPolygon>[] = [];
  const subjectIds: string[] = new Array<string>(S);
  const deviceIds: string[] = new Array<string>(D);
  for (let i = 0; i < S; i++) {
    subjectIds[i] = `S-${pad(i + 1, width)}`;
    deviceIds[i] = `TAG-${pad(i + 1, width)}`;
  }
  for (let v = 0; v < V; v++) deviceIds[S + v] = `VIC-${pad(v + 1, width)}`;

  let ownZones = 0;
  for (let i = 0; i < S; i++) {
    if (exclR[i] === exclR[i]) {
      zones.push(circleFeature(`V-${pad(i + 1, width)}`, exclLon[i]!, exclLat[i]!, exclR[i]!, { name: 'Victim address area' }));
      ownZones++;
    }
    if (curfewR[i] === curfewR[i]) {
      zones.push(circleFeature(`H-${pad(i + 1, width)}`, homeLon[i]!, homeLat[i]!, curfewR[i]!, { name: 'Curfew address' }));
      ownZones++;
    }
  }

  // Schools after the subjects' own zones: layer.first is an index into config.zones.
  const schoolFirst = zones.length;
  for (const f of schoolZoneList) zones.push(f);
  for (let c = 0; c < layers.length; c++) layers[c] = { ...layers[c]!, first: schoolFirst + layers[c]!.first };
  const schoolZones = schoolZoneList.length;

  // Everyone else's zones.
  const bgCount = Math.max(totalZones - zones.length, Math.ceil(totalZones * 0.1), 1000);
  const bg = new ZoneSet(bgCount, { seed: mixSeed(seed, 3), idPrefix: 'Z-' });
  const bgFirst = zones.length;
  const polyByCity: number[][] = UK_CITIES.map(() => []);
  const areaByCity: number[][] = UK_CITIES.map(() => []);
  for (let i = 0; i < bgCount; i++) {
    const f = bg.featureAt(i);
    const props = f.properties as Record<string, unknown>;
    if (typeof props['layer'] === 'string' && props['layer'].startsWith('schools-')) delete props['layer'];
    zones.push(f);
    const kind = bg.kind[i] as ZoneKind;
    if (kind === ZoneKind.Area) areaByCity[bg.city[i]!]!.push(i);
    else if ((kind === ZoneKind.Polygon || kind === ZoneKind.MultiPolygon) && bg.layer[i] === -1) polyByCity[bg.city[i]!]!.push(i);
  }

  // Polygon exclusions: a polygon of the subject's city (4 % a town-centre area when there is one).
  const polyZone = new Int32Array(S).fill(-1);
  const polyLon = new Float64Array(S).fill(NaN), polyLat = new Float64Array(S).fill(NaN);
  const polyR = new Float32Array(S).fill(NaN), polyOuterM = new Float32Array(S).fill(NaN);
  const allPolys = polyByCity.flat();
  let townCentre = 0;
  const prng = mulberry32(mixSeed(seed, 4));
  for (let i = 0; i < S; i++) {
    if (wantsPoly[i] === 0) continue;
    const areas = areaByCity[city[i]!]!;
    const polys = polyByCity[city[i]!]!.length > 0 ? polyByCity[city[i]!]! : allPolys;
    let z: number;
    if (areas.length > 0 && prng() < 0.04) {
      z = areas[intBetween(prng, 0, areas.length - 1)]!;
      townCentre++;
    } else if (polys.length > 0) {
      z = polys[intBetween(prng, 0, polys.length - 1)]!;
    } else continue;
    polyZone[i] = bgFirst + z;
    polyLon[i] = bg.lon[z]!;
    polyLat[i] = bg.lat[z]!;
    // Outlines are star-shaped around the centre with radius factor in [0.37, 1.47] of R; a
    // MultiPolygon's first part is centred there, the others further along a line (zones.ts).
    const kind = bg.kind[z] as ZoneKind;
    const parts = bg.parts[z]!;
    const R = kind === ZoneKind.MultiPolygon ? bg.sizeM[z]! / (2.9 + 3.2 * (parts - 1)) : bg.sizeM[z]! / 2.9;
    polyR[i] = R;
    polyOuterM[i] = kind === ZoneKind.MultiPolygon ? bg.sizeM[z]! : 1.5 * R;
  }

  // --- subjects' JSON --------------------------------------------------------------------------
  const subjects: SubjectInput[] = new Array<SubjectInput>(S);
  const jrng = mulberry32(mixSeed(seed, 5));
  const RISKS = ['low', 'medium', 'high', 'very_high'] as const;
  const COHORTS = ['fixed', 'flex', 'free'] as const;
  let conditionsTotal = 0, nExcl = 0, nCurfew = 0, nProx = 0, nLayer = 0, nPoly = 0, suspended = 0;
  const perSubject = [0, 0, 0, 0, 0, 0];
  const DAY = 86_400_000;
  const ref = Date.UTC(2026, 10, 23);
  for (let i = 0; i < S; i++) {
    const conditions: NonNullable<SubjectInput['conditions']> = [];
    let k = 0;
    if (exclR[i] === exclR[i]) {
      conditions.push({ id: `c${++k}`, type: 'exclusion', zone: `V-${pad(i + 1, width)}`, bufferM: EXCLUSION_BUFFER_M });
      nExcl++;
    }
    if (curfewR[i] === curfewR[i]) {
      conditions.push({
        id: `c${++k}`, type: 'curfew', zone: `H-${pad(i + 1, width)}`, graceS: CURFEW_GRACE_S,
        schedule: { windows: [{ days: [...WEEK], start: '19:00', end: '07:00' }] },
      });
      nCurfew++;
    }
    if (victimOf[i]! >= 0) {
      conditions.push({
        id: `c${++k}`, type: 'proximity', victimDeviceId: deviceIds[S + victimOf[i]!]!,
        distanceM: proxDistM[i]!, warnM: proxWarnM[i]!,
      });
      nProx++;
    }
    if (layer[i]! >= 0) {
      conditions.push({ id: `c${++k}`, type: 'exclusion', layer: layers[layer[i]!]!.name });
      nLayer++;
    }
    if (polyZone[i]! >= 0) {
      conditions.push({ id: `c${++k}`, type: 'exclusion', zone: String(zones[polyZone[i]!]!.id), bufferM: POLYGON_BUFFER_M });
      nPoly++;
    }
    conditionsTotal += k;
    perSubject[k]!++;
    const u = jrng();
    const risk = RISKS[u < 0.2 ? 0 : u < 0.65 ? 1 : u < 0.93 ? 2 : 3];
    const m = jrng();
    const mappaLevel = m < 0.1 ? 1 : m < 0.14 ? 2 : m < 0.15 ? 3 : undefined;
    const status = jrng() < 0.01 ? 'suspended' : 'active';
    if (status === 'suspended') suspended++;
    const from = ref - intBetween(jrng, 1, 300) * DAY;
    const to = ref + intBetween(jrng, 10, 365) * DAY;
    const s: SubjectInput = {
      id: subjectIds[i]!,
      deviceId: deviceIds[i]!,
      team: `iom-${slug(UK_CITIES[city[i]!]!.name)}`,
      cohort: COHORTS[jrng() < 0.6 ? 0 : jrng() < 0.6 ? 1 : 2],
      risk,
      timezone: 'Europe/London',
      validFrom: new Date(from).toISOString().slice(0, 10) + 'T00:00:00Z',
      validTo: new Date(to).toISOString().slice(0, 10) + 'T00:00:00Z',
      status,
      conditions,
    };
    if (mappaLevel !== undefined) s.mappaLevel = mappaLevel;
    if (jrng() < 0.03) s.wisdom = true;
    if (victimOf[i]! >= 0 || jrng() < 0.3) s.domesticAbuse = true;
    subjects[i] = s;
  }

  // --- devices: subjects then victims ------------------------------------------------------------
  const dCity = new Uint8Array(D), dHomeLon = new Float64Array(D), dHomeLat = new Float64Array(D);
  dCity.set(city);
  dHomeLon.set(homeLon);
  dHomeLat.set(homeLat);
  for (let v = 0; v < V; v++) {
    dCity[S + v] = victimCity[v]!;
    dHomeLon[S + v] = victimHomeLon[v]!;
    dHomeLat[S + v] = victimHomeLat[v]!;
  }
  const victimDevice = new Int32Array(S).fill(-1);
  for (let i = 0; i < S; i++) if (victimOf[i]! >= 0) victimDevice[i] = S + victimOf[i]!;

  return {
    seed, subjects: S, victims: V, devices: D, deviceIds, subjectIds,
    city: dCity, homeLon: dHomeLon, homeLat: dHomeLat, curfewR, exclLon, exclLat, exclR,
    victimDevice, proxDistM, proxWarnM, layer, polyZone, polyLon, polyLat, polyR, polyOuterM, layers,
    config: { settings: { ...SETTINGS }, zones, subjects },
    counts: {
      zones: zones.length, ownZones, schoolZones, backgroundZones: bgCount, layers: layers.length,
      conditions: conditionsTotal, exclusion: nExcl, curfew: nCurfew, proximity: nProx, layerExclusion: nLayer,
      polygonExclusion: nPoly, townCentreExclusion: townCentre, suspended, conditionsPerSubject: perSubject.slice(1),
    },
    buildMs: Number(nowNs() - t0) / 1e6,
  };
}
