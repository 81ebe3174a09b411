/**
 * The synthetic day for bench:crime: `tags` subjects in the UK cities (weighted by population),
 * one fix a minute for `hours`, written in time order (as the archive copier writes them) as
 * COPY text rows with the point as hex EWKB. Each subject idles around home (a few tens of
 * metres a minute), sometimes makes a trip (walking or driving to a point up to 4 km away and
 * back), and its tag now and then goes silent for 5–40 minutes. Accuracy: mostly 5–15 m, some
 * 15–50 m, a few coarse fixes (50–400 m).
 */
import { UK_CITIES } from '../common/cities.js';
import { gaussian, mulberry32, type Rng } from '../common/prng.js';

const M_PER_DEG = (6371008.8 * Math.PI) / 180;
const MIN = 60_000;

export interface WorldOptions { tags: number; hours: number; dayStartMs: number; seed: number }

export interface CrimeSeed { tag: number; minute: number; lat: number; lon: number }

function pickCity(rng: Rng) {
  const total = UK_CITIES.reduce((s, c) => s + c.population, 0);
  let x = rng() * total;
  for (const c of UK_CITIES) if ((x -= c.population) <= 0) return c;
  return UK_CITIES[0];
}

/** Little-endian hex of a double. */
const buf = Buffer.alloc(8);
function hexDouble(v: number): string {
  buf.writeDoubleLE(v, 0);
  return buf.toString('hex');
}
const EWKB_POINT_4326 = '0101000020e6100000';

/**
 * Generates the day minute by minute; calls `write` with chunks of COPY text. `crimeAt` lists
 * (tag, minute) moments whose positions are returned (crimes happen where people are).
 */
export function generateDay(o: WorldOptions, crimeAt: readonly { tag: number; minute: number }[], write: (chunk: string) => void): { fixes: number; seeds: CrimeSeed[] } {
  const rng = mulberry32(o.seed);
  const n = o.tags;
  const homeLat = new Float64Array(n), homeLon = new Float64Array(n), lat = new Float64Array(n), lon = new Float64Array(n);
  const tripLat = new Float64Array(n), tripLon = new Float64Array(n), tripSpeed = new Float64Array(n);
  const silentUntil = new Int32Array(n), seq = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = pickCity(rng);
    const spread = 3000 + 9000 * Math.sqrt(c.population / 9_800_000); // metres
    homeLat[i] = c.lat + (gaussian(rng) * spread) / M_PER_DEG;
    homeLon[i] = c.lon + (gaussian(rng) * spread) / (M_PER_DEG * Math.cos((c.lat * Math.PI) / 180));
    lat[i] = homeLat[i]; lon[i] = homeLon[i];
  }
  const want = new Map<number, number[]>();
  crimeAt.forEach((c, k) => { const l = want.get(c.minute) ?? []; l.push(k); want.set(c.minute, l); });
  const seeds: CrimeSeed[] = new Array(crimeAt.length);
  let fixes = 0;
  const minutes = o.hours * 60;
  for (let m = 0; m < minutes; m++) {
    const tsText = new Date(o.dayStartMs + m * MIN).toISOString();
    let chunk = '';
    for (let i = 0; i < n; i++) {
      const kLat = M_PER_DEG, kLon = M_PER_DEG * Math.cos((lat[i] * Math.PI) / 180);
      if (tripSpeed[i] > 0) {
        const dy = (tripLat[i] - lat[i]) * kLat, dx = (tripLon[i] - lon[i]) * kLon;
        const d = Math.hypot(dx, dy), step = tripSpeed[i] * 60;
        if (d <= step) {
          lat[i] = tripLat[i]; lon[i] = tripLon[i];
          // back home next, or stop
          if (tripLat[i] !== homeLat[i]) { tripLat[i] = homeLat[i]; tripLon[i] = homeLon[i]; } else tripSpeed[i] = 0;
        } else {
          lat[i] += (dy / d) * step / kLat; lon[i] += (dx / d) * step / kLon;
        }
      } else {
        lat[i] += (gaussian(rng) * 25 + (homeLat[i] - lat[i]) * kLat * 0.05) / kLat;
        lon[i] += (gaussian(rng) * 25 + (homeLon[i] - lon[i]) * kLon * 0.05) / kLon;
        if (rng() < 1 / 240) {
          const far = 500 + rng() * 3500, a = rng() * 2 * Math.PI;
          tripLat[i] = lat[i] + (Math.cos(a) * far) / kLat; tripLon[i] = lon[i] + (Math.sin(a) * far) / kLon;
          tripSpeed[i] = rng() < 0.6 ? 1.4 : 9; // walking, or driving in town (m/s)
        }
      }
      seq[i]++;
      if (silentUntil[i] > m) continue;
      if (rng() < 0.002) { silentUntil[i] = m + 5 + Math.floor(rng() * 35); continue; }
      const u = rng();
      const acc = u < 0.7 ? 5 + rng() * 10 : u < 0.95 ? 15 + rng() * 35 : 50 + rng() * 350;
      const ts = tsText;
      chunk += `TAG-${i}\t${seq[i]}\t${ts}\t${ts}\tS-${i}\t${lat[i]}\t${lon[i]}\t${acc.toFixed(1)}\t${EWKB_POINT_4326}${hexDouble(lon[i])}${hexDouble(lat[i])}\n`;
      fixes++;
    }
    for (const k of want.get(m) ?? []) { const c = crimeAt[k]; seeds[k] = { tag: c.tag, minute: m, lat: lat[c.tag], lon: lon[c.tag] }; }
    write(chunk);
  }
  return { fixes, seeds };
}
