import { gaussian, mulberry32, type Rng } from '../common/prng.js';
import { ApiClient, mapLimit } from '../../src/demo/api-client.js';

/**
 * The benchmark's monitored population: subjects spread over UK cities by population, each with
 * a curfew address (circle, 80 %), an exclusion zone around a victim's address (circle or a small
 * polygon with a 200 m band, 85 %), and every 20th device a victim's own device watched by the
 * subject before it (a proximity condition). Built as the API's JSON (contract section 2) and
 * seeded through the API, as an operator would.
 *
 * Device ids are `<prefix>-T<n>` (subjects' tags) and `<prefix>-V<n>` (victims' devices); the
 * prefix is unique per run so several runs can share a service.
 */

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;

/** [name, lat, lon, weight (population share), spread km] */
export const UK_CITIES: [string, number, number, number, number][] = [
  ['london', 51.5074, -0.1278, 9, 12], ['birmingham', 52.4862, -1.8904, 2.5, 6], ['manchester', 53.4808, -2.2426, 2.5, 6],
  ['leeds', 53.7997, -1.5492, 1.8, 5], ['liverpool', 53.4084, -2.9916, 1.5, 5], ['sheffield', 53.3811, -1.4701, 1.2, 4],
  ['bristol', 51.4545, -2.5879, 1.2, 4], ['newcastle', 54.9783, -1.6178, 1.1, 4], ['nottingham', 52.9548, -1.1581, 1, 4],
  ['leicester', 52.6369, -1.1398, 0.9, 3], ['cardiff', 51.4816, -3.1791, 0.9, 3], ['coventry', 52.4068, -1.5197, 0.8, 3],
  ['bradford', 53.795, -1.7594, 0.9, 3], ['hull', 53.7676, -0.3274, 0.7, 3], ['stoke', 53.0027, -2.1794, 0.7, 3],
  ['plymouth', 50.3755, -4.1427, 0.6, 3], ['southampton', 50.9097, -1.4044, 0.7, 3], ['portsmouth', 50.8198, -1.088, 0.6, 2],
  ['swansea', 51.6214, -3.9436, 0.5, 3], ['middlesbrough', 54.5742, -1.235, 0.5, 3],
];

export interface CurfewWindow {
  start: string;
  end: string;
  /** Local minutes of day. */
  startMin: number;
  endMin: number;
}

export interface BenchWorld {
  prefix: string;
  devices: number;
  deviceIds: string[];
  /** Subject id per device ('' for victims' devices). */
  subjectIds: string[];
  isVictim: Uint8Array;
  homeLat: Float64Array;
  homeLon: Float64Array;
  /** Exclusion zone centre per subject (NaN: none). */
  exclLat: Float64Array;
  exclLon: Float64Array;
  hasCurfew: Uint8Array;
  /** 1: out for 50 minutes after curfew starts; 2: at the victim's address 18:00-18:25. */
  misbehaves: Uint8Array;
  curfew: CurfewWindow;
  zones: object[];
  subjects: object[];
}

function pickCity(rng: Rng, total: number): (typeof UK_CITIES)[number] {
  let r = rng() * total;
  for (const c of UK_CITIES) {
    r -= c[3];
    if (r <= 0) return c;
  }
  return UK_CITIES[0] as (typeof UK_CITIES)[number];
}

export function buildWorld(prefix: string, devices: number, seed: number, curfew: CurfewWindow): BenchWorld {
  const rng = mulberry32(seed);
  const total = UK_CITIES.reduce((s, c) => s + c[3], 0);
  const w: BenchWorld = {
    prefix, devices, deviceIds: new Array<string>(devices), subjectIds: new Array<string>(devices),
    isVictim: new Uint8Array(devices), homeLat: new Float64Array(devices), homeLon: new Float64Array(devices),
    exclLat: new Float64Array(devices).fill(NaN), exclLon: new Float64Array(devices).fill(NaN),
    hasCurfew: new Uint8Array(devices), misbehaves: new Uint8Array(devices), curfew, zones: [], subjects: [],
  };
  const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  for (let i = 0; i < devices; i++) {
    const n = String(i).padStart(6, '0');
    // Every 20th device is the victim's device of the subject just before it.
    if (i % 20 === 19) {
      w.isVictim[i] = 1;
      w.deviceIds[i] = `${prefix}-V${n}`;
      w.subjectIds[i] = '';
      continue;
    }
    const city = pickCity(rng, total);
    const lat = city[1] + (gaussian(rng) * city[4] * 1000) / M_PER_DEG;
    const lon = city[2] + (gaussian(rng) * city[4] * 1000) / (M_PER_DEG * Math.cos((lat * Math.PI) / 180));
    w.homeLat[i] = lat;
    w.homeLon[i] = lon;
    w.deviceIds[i] = `${prefix}-T${n}`;
    const id = `${prefix}-S${n}`;
    w.subjectIds[i] = id;
    // The victim lives 4-10 km away: beyond where the subject's day takes them (2.5 km at most).
    const vd = 4000 + rng() * 6000, va = rng() * 2 * Math.PI;
    const vLat = lat + (Math.sin(va) * vd) / M_PER_DEG;
    const vLon = lon + (Math.cos(va) * vd) / (M_PER_DEG * Math.cos((lat * Math.PI) / 180));
    const conditions: object[] = [];
    const roll = rng();
    w.misbehaves[i] = roll < 0.004 ? 1 : roll < 0.007 ? 2 : 0;
    if (rng() < 0.85 || w.misbehaves[i] === 2) {
      const zid = `${prefix}-X${n}`;
      w.zones.push(rng() < 0.6
        ? { type: 'Feature', id: zid, geometry: { type: 'Point', coordinates: [round6(vLon), round6(vLat)] }, properties: { radiusM: Math.round(100 + rng() * 200), name: 'Victim address' } }
        : { type: 'Feature', id: zid, geometry: { type: 'Polygon', coordinates: [ngon(rng, vLat, vLon, 80 + rng() * 120, 4 + Math.floor(rng() * 3))] }, properties: { name: 'Victim address area' } });
      conditions.push({ id: 'c1', type: 'exclusion', zone: zid, bufferM: 200 });
      w.exclLat[i] = vLat;
      w.exclLon[i] = vLon;
    }
    if (rng() < 0.8 || w.misbehaves[i] === 1 || conditions.length === 0) {
      const zid = `${prefix}-H${n}`;
      w.zones.push({ type: 'Feature', id: zid, geometry: { type: 'Point', coordinates: [round6(lon), round6(lat)] }, properties: { radiusM: Math.round(50 + rng() * 50), name: 'Curfew address' } });
      conditions.push({ id: 'c2', type: 'curfew', zone: zid, graceS: 300, schedule: { windows: [{ days, start: curfew.start, end: curfew.end }] } });
      w.hasCurfew[i] = 1;
    }
    if (i + 1 < devices && (i + 1) % 20 === 19) {
      // The victim's device lives at the victim's address.
      w.homeLat[i + 1] = vLat;
      w.homeLon[i + 1] = vLon;
      conditions.push({ id: 'c3', type: 'proximity', victimDeviceId: `${prefix}-V${String(i + 1).padStart(6, '0')}`, distanceM: 500, warnM: 1000 });
    }
    const r = rng();
    w.subjects.push({
      id, deviceId: w.deviceIds[i], team: `iom-${city[0]}`, cohort: 'fixed',
      risk: r < 0.2 ? 'low' : r < 0.65 ? 'medium' : r < 0.93 ? 'high' : 'very_high', timezone: 'Europe/London', conditions,
    });
  }
  return w;
}

/** A small convex polygon (closed ring, anticlockwise) of `sides` corners around a point. */
function ngon(rng: Rng, lat: number, lon: number, radiusM: number, sides: number): number[][] {
  const ring: number[][] = [];
  const rot = rng() * 2 * Math.PI;
  const k = M_PER_DEG * Math.cos((lat * Math.PI) / 180);
  for (let s = 0; s < sides; s++) {
    const a = rot + (s * 2 * Math.PI) / sides;
    ring.push([round6(lon + (Math.cos(a) * radiusM) / k), round6(lat + (Math.sin(a) * radiusM) / M_PER_DEG)]);
  }
  ring.push(ring[0] as number[]);
  return ring;
}

export function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

export interface SeedTimes {
  zones: number;
  zonesSeconds: number;
  subjects: number;
  subjectsSeconds: number;
}

/**
 * Creates the world's zones (bulk POSTs of 5,000) and subjects (one PUT each, spread over the
 * clients' tokens, 256 in flight: every configuration change makes the service snapshot its whole
 * engine in that group commit, so the more changes share a group the fewer snapshots). Throws if
 * the service refuses any of them.
 */
export async function seedWorld(clients: ApiClient[], w: BenchWorld, onProgress: (done: number, total: number) => void): Promise<SeedTimes> {
  const t0 = performance.now();
  for (let i = 0; i < w.zones.length; i += 5000) {
    const r = await (clients[0] as ApiClient).post<{ accepted: number; rejected: { id: string | null; message: string }[] }>(
      '/v1/zones', { type: 'FeatureCollection', features: w.zones.slice(i, i + 5000) });
    if (r.rejected.length > 0) throw new Error(`zone ${r.rejected[0]?.id ?? '?'} refused: ${r.rejected[0]?.message ?? ''}`);
  }
  const t1 = performance.now();
  let done = 0;
  await mapLimit(w.subjects, 256, async (s, i) => {
    await (clients[i % clients.length] as ApiClient).put(`/v1/subjects/${encodeURIComponent((s as { id: string }).id)}`, s);
    if (++done % 1000 === 0) onProgress(done, w.subjects.length);
  });
  const t2 = performance.now();
  return { zones: w.zones.length, zonesSeconds: (t1 - t0) / 1000, subjects: w.subjects.length, subjectsSeconds: (t2 - t1) / 1000 };
}
