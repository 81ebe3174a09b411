/**
 * The demo's cities: a centre, the lean of the street grid, and districts where people live and
 * go. Positions inside a city are local metres (x east, y north) from its centre, converted to
 * WGS84 on a local tangent plane: over a city's 15 km the error is far below GPS noise.
 */

import { M_PER_DEG, mPerDegLon } from '../../geo/index.js';

export interface District {
  name: string;
  lat: number;
  lon: number;
}

export interface City {
  name: string;
  lat: number;
  lon: number;
  /** Street grid lean from north, degrees (streets run along it and across it). */
  gridDeg: number;
  districts: District[];
}

export const CITIES: Record<string, City> = {
  leeds: {
    name: 'Leeds', lat: 53.7997, lon: -1.5492, gridDeg: 17,
    districts: [
      { name: 'City Centre', lat: 53.7997, lon: -1.5492 },
      { name: 'Headingley', lat: 53.8195, lon: -1.5773 },
      { name: 'Chapel Allerton', lat: 53.829, lon: -1.537 },
      { name: 'Harehills', lat: 53.809, lon: -1.515 },
      { name: 'Beeston', lat: 53.775, lon: -1.564 },
      { name: 'Armley', lat: 53.797, lon: -1.59 },
      { name: 'Hunslet', lat: 53.783, lon: -1.533 },
      { name: 'Roundhay', lat: 53.836, lon: -1.497 },
      { name: 'Seacroft', lat: 53.819, lon: -1.457 },
      { name: 'Kirkstall', lat: 53.816, lon: -1.604 },
      { name: 'Burley', lat: 53.806, lon: -1.576 },
      { name: 'Holbeck', lat: 53.79, lon: -1.556 },
      { name: 'Richmond Hill', lat: 53.796, lon: -1.525 },
      { name: 'Meanwood', lat: 53.836, lon: -1.565 },
      { name: 'Bramley', lat: 53.806, lon: -1.633 },
      { name: 'Middleton', lat: 53.748, lon: -1.547 },
      { name: 'Osmondthorpe', lat: 53.793, lon: -1.5 },
      { name: 'Gipton', lat: 53.818, lon: -1.487 },
    ],
  },
  manchester: {
    name: 'Manchester', lat: 53.4808, lon: -2.2426, gridDeg: 31,
    districts: [
      { name: 'City Centre', lat: 53.4808, lon: -2.2426 },
      { name: 'Hulme', lat: 53.468, lon: -2.252 },
      { name: 'Moss Side', lat: 53.459, lon: -2.237 },
      { name: 'Ancoats', lat: 53.485, lon: -2.226 },
      { name: 'Salford', lat: 53.488, lon: -2.274 },
      { name: 'Cheetham Hill', lat: 53.505, lon: -2.238 },
      { name: 'Longsight', lat: 53.46, lon: -2.2 },
      { name: 'Rusholme', lat: 53.453, lon: -2.222 },
      { name: 'Fallowfield', lat: 53.442, lon: -2.22 },
      { name: 'Gorton', lat: 53.465, lon: -2.178 },
      { name: 'Levenshulme', lat: 53.444, lon: -2.192 },
      { name: 'Openshaw', lat: 53.476, lon: -2.175 },
      { name: 'Harpurhey', lat: 53.513, lon: -2.215 },
      { name: 'Chorlton', lat: 53.442, lon: -2.276 },
      { name: 'Withington', lat: 53.433, lon: -2.229 },
      { name: 'Old Trafford', lat: 53.459, lon: -2.284 },
      { name: 'Miles Platting', lat: 53.493, lon: -2.207 },
      { name: 'Ardwick', lat: 53.472, lon: -2.219 },
    ],
  },
};

/** Local metres around a city centre ↔ WGS84 degrees. */
export class LocalFrame {
  private readonly mPerDegLat: number;
  private readonly mPerDegLon: number;

  constructor(readonly lat0: number, readonly lon0: number) {
    this.mPerDegLat = M_PER_DEG;
    this.mPerDegLon = mPerDegLon(lat0);
  }

  lat(y: number): number {
    return this.lat0 + y / this.mPerDegLat;
  }

  lon(x: number): number {
    return this.lon0 + x / this.mPerDegLon;
  }

  x(lon: number): number {
    return (lon - this.lon0) * this.mPerDegLon;
  }

  y(lat: number): number {
    return (lat - this.lat0) * this.mPerDegLat;
  }
}

/** Degrees rounded to 6 places (~0.1 m): what a tag reports. */
export function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
