import { gaussian, mulberry32 } from '../common/prng.js';
import type { ApiClient } from '../../src/demo/api-client.js';
import { round6, UK_CITIES } from './world.js';

/**
 * The bulk import: one POST /v1/zones with a FeatureCollection of `count` zones, 70 % circles
 * (Point + radiusM, 30-300 m) and 30 % small polygons (5-8 corners, 40-250 m across), spread
 * over UK cities, the way a schools or licensed-premises layer arrives. Timed from the first
 * byte sent to the answer, which comes once the zones are compiled, in the engine and in Redis.
 */

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;

export interface ZoneImportResult {
  zones: number;
  polygons: number;
  payloadMB: number;
  seconds: number;
  accepted: number;
  rejected: number;
  zonesPerSec: number;
}

export function zoneCollection(prefix: string, count: number, seed: number): { body: string; polygons: number } {
  const rng = mulberry32(seed);
  const parts: string[] = [];
  let polygons = 0;
  for (let i = 0; i < count; i++) {
    const c = UK_CITIES[i % UK_CITIES.length] as (typeof UK_CITIES)[number];
    const lat = c[1] + (gaussian(rng) * c[4] * 1000) / M_PER_DEG;
    const k = M_PER_DEG * Math.cos((lat * Math.PI) / 180);
    const lon = c[2] + (gaussian(rng) * c[4] * 1000) / k;
    const id = `${prefix}-IMP-${String(i).padStart(6, '0')}`;
    if (rng() < 0.7) {
      parts.push(`{"type":"Feature","id":"${id}","geometry":{"type":"Point","coordinates":[${round6(lon)},${round6(lat)}]},"properties":{"radiusM":${Math.round(30 + rng() * 270)},"layer":"${prefix}-import","name":"imported ${i}"}}`);
    } else {
      polygons++;
      const sides = 5 + Math.floor(rng() * 4), r = 20 + rng() * 105, rot = rng() * 2 * Math.PI;
      const ring: string[] = [];
      for (let s = 0; s < sides; s++) {
        const a = rot + (s * 2 * Math.PI) / sides;
        const rr = r * (0.8 + rng() * 0.2);
        ring.push(`[${round6(lon + (Math.cos(a) * rr) / k)},${round6(lat + (Math.sin(a) * rr) / M_PER_DEG)}]`);
      }
      ring.push(ring[0] as string);
      parts.push(`{"type":"Feature","id":"${id}","geometry":{"type":"Polygon","coordinates":[[${ring.join(',')}]]},"properties":{"layer":"${prefix}-import","name":"imported ${i}"}}`);
    }
  }
  return { body: `{"type":"FeatureCollection","features":[${parts.join(',')}]}`, polygons };
}

export async function timeZoneImport(api: ApiClient, prefix: string, count: number, seed: number): Promise<ZoneImportResult> {
  const { body, polygons } = zoneCollection(prefix, count, seed);
  const t0 = performance.now();
  const r = await api.request<{ accepted: number; rejected: unknown[] }>('POST', '/v1/zones', body);
  const seconds = (performance.now() - t0) / 1000;
  return {
    zones: count, polygons, payloadMB: Math.round((Buffer.byteLength(body) / 2 ** 20) * 10) / 10, seconds,
    accepted: r.accepted, rejected: r.rejected.length, zonesPerSec: count / seconds,
  };
}
