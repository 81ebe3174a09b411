// The bulk zone import compiles zones in a worker thread and sends back flat arrays; the main
// thread rebuilds each zone from its offsets into them. Every zone rebuilt must be the zone
// compiled directly: same parts and rings, so the same points are inside (a wrong offset moves
// a zone onto another zone's coordinates).
import { describe, expect, it } from 'vitest';
import { compileZone, PolygonZone } from '../../geo/index.js';
import { rebuild } from '../../src/server/zone-import.js';
import { importZones } from '../../src/server/zone-import-worker.js';
import { mulberry32 } from '../../bench/common/prng.js';

type Ring = [number, number][];
const square = (lon: number, lat: number, d: number): Ring => [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]];

describe('bulk zone import: zones rebuilt from the worker thread', () => {
  it('are the zones compiled directly: polygons, multipolygons with holes and circles, in any mix', () => {
    const rnd = mulberry32(7);
    const features: object[] = [];
    for (let i = 0; i < 600; i++) {
      const lon = -3 + rnd() * 2, lat = 51 + rnd() * 2, d = 0.005 + rnd() * 0.02;
      const kind = i % 4;
      if (kind === 0) {
        features.push({ type: 'Feature', id: `C-${i}`, geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { radiusM: 50 + rnd() * 500 } });
      } else if (kind === 1) {
        features.push({ type: 'Feature', id: `P-${i}`, geometry: { type: 'Polygon', coordinates: [square(lon, lat, d)] } });
      } else if (kind === 2) {
        const hole = square(lon + d / 4, lat + d / 4, d / 2).reverse();
        features.push({ type: 'Feature', id: `H-${i}`, geometry: { type: 'Polygon', coordinates: [square(lon, lat, d), hole] } });
      } else {
        const parts = 1 + Math.floor(rnd() * 3);
        const coordinates = Array.from({ length: parts }, (_, k) => [square(lon + k * 2 * d, lat, d)]);
        features.push({ type: 'Feature', id: `M-${i}`, geometry: { type: 'MultiPolygon', coordinates } });
      }
    }
    const { reply } = importZones(new TextEncoder().encode(JSON.stringify({ type: 'FeatureCollection', features })));
    if (!reply.ok) throw new Error(reply.message);
    expect(reply.rejected).toEqual([]);
    expect(reply.zones).toHaveLength(features.length);
    let checked = 0;
    reply.zones.forEach((shape, i) => {
      const direct = compileZone(features[i]);
      const rebuilt = rebuild(shape, reply.coords, reply.rings);
      expect(rebuilt.id).toBe(direct.id);
      if (direct instanceof PolygonZone) {
        const parts = (rebuilt as PolygonZone).parts;
        expect(parts.map((p) => [...p.coords]), direct.id).toEqual(direct.parts.map((p) => [...p.coords]));
        expect(parts.map((p) => [...p.ringStart]), direct.id).toEqual(direct.parts.map((p) => [...p.ringStart]));
      }
      // The same points inside: around and across the zone's box.
      for (let k = 0; k < 20; k++) {
        const x = direct.minLon + (rnd() * 1.4 - 0.2) * (direct.maxLon - direct.minLon);
        const y = direct.minLat + (rnd() * 1.4 - 0.2) * (direct.maxLat - direct.minLat);
        expect(rebuilt.contains(x, y), `${direct.id} at ${x},${y}`).toBe(direct.contains(x, y));
        checked++;
      }
    });
    expect(checked).toBe(12_000);
  });
});
