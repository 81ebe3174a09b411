/**
 * The UK cities the synthetic worlds (bench/geo zones, bench/engine subjects) are built around,
 * weighted by population, and the seeded pick of one of them.
 */
import type { Rng } from './prng.js';

export interface City {
  readonly name: string;
  readonly lon: number;
  readonly lat: number;
  /** Built-up-area population (approximate; only the ratios matter). */
  readonly population: number;
}

export const UK_CITIES: readonly City[] = [
  { name: 'London', lon: -0.1278, lat: 51.5074, population: 9_800_000 },
  { name: 'Manchester', lon: -2.2426, lat: 53.4808, population: 2_800_000 },
  { name: 'Birmingham', lon: -1.8904, lat: 52.4862, population: 2_600_000 },
  { name: 'Leeds', lon: -1.5491, lat: 53.8008, population: 1_800_000 },
  { name: 'Glasgow', lon: -4.2518, lat: 55.8642, population: 1_000_000 },
  { name: 'Liverpool', lon: -2.9916, lat: 53.4084, population: 900_000 },
  { name: 'Newcastle', lon: -1.6178, lat: 54.9783, population: 800_000 },
  { name: 'Nottingham', lon: -1.1581, lat: 52.9548, population: 730_000 },
  { name: 'Sheffield', lon: -1.4701, lat: 53.3811, population: 700_000 },
  { name: 'Bristol', lon: -2.5879, lat: 51.4545, population: 670_000 },
  { name: 'Belfast', lon: -5.9301, lat: 54.5973, population: 600_000 },
  { name: 'Edinburgh', lon: -3.1883, lat: 55.9533, population: 530_000 },
  { name: 'Leicester', lon: -1.1398, lat: 52.6369, population: 510_000 },
  { name: 'Brighton', lon: -0.1372, lat: 50.8225, population: 470_000 },
  { name: 'Cardiff', lon: -3.1791, lat: 51.4816, population: 450_000 },
  { name: 'Portsmouth', lon: -1.088, lat: 50.8198, population: 400_000 },
  { name: 'Southampton', lon: -1.4044, lat: 50.9097, population: 390_000 },
  { name: 'Stoke-on-Trent', lon: -2.1794, lat: 53.0027, population: 370_000 },
  { name: 'Middlesbrough', lon: -1.235, lat: 54.5742, population: 370_000 },
  { name: 'Coventry', lon: -1.5197, lat: 52.4068, population: 360_000 },
  { name: 'Bradford', lon: -1.7594, lat: 53.796, population: 350_000 },
  { name: 'Hull', lon: -0.3274, lat: 53.7676, population: 300_000 },
  { name: 'Swansea', lon: -3.9436, lat: 51.6214, population: 300_000 },
  { name: 'Plymouth', lon: -4.1427, lat: 50.3755, population: 260_000 },
];

/** Spread of a city's zones and people: grows with the square root of its population. */
export function citySigmaKm(city: City): number {
  return Math.max(2, 3.6 * Math.sqrt(city.population / 500_000));
}

const CITY_CUMULATIVE: Float64Array = (() => {
  const total = UK_CITIES.reduce((s, c) => s + c.population, 0);
  const cum = new Float64Array(UK_CITIES.length);
  let acc = 0;
  UK_CITIES.forEach((c, k) => {
    acc += c.population / total;
    cum[k] = acc;
  });
  cum[cum.length - 1] = 1;
  return cum;
})();

export function pickCity(rng: Rng): number {
  const u = rng();
  let k = 0;
  while (k < CITY_CUMULATIVE.length - 1 && u >= CITY_CUMULATIVE[k]!) k++;
  return k;
}

export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
