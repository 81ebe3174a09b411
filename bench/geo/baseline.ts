/**
 * The baseline a careful developer would write without a prepared-geometry engine: an rbush of
 * zone bounding boxes, then turf on each candidate. Circles become 64-step turf.circle polygons
 * once, when the zone is added; nothing is done per query that could be done ahead of time,
 * except what turf itself does.
 */
import { bbox, booleanPointInPolygon, circle, pointToPolygonDistance } from '@turf/turf';
import type { Feature, MultiPolygon, Point, Polygon } from 'geojson';
import RBush from 'rbush';

export interface BaselineEntry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  id: string;
  feature: Feature<Polygon | MultiPolygon>;
}

const M_PER_DEG = (6371008.8 * Math.PI) / 180;

export class BaselineIndex {
  private readonly tree = new RBush<BaselineEntry>();
  private readonly byId = new Map<string, BaselineEntry>();
  /** Candidates (bbox hits) of the last query. */
  lastCandidates = 0;

  /** Converts a zone Feature into an entry (turf.circle for Point zones). Done at build time. */
  static entry(feature: Feature<Point | Polygon | MultiPolygon>): BaselineEntry {
    const id = String(feature.id);
    let poly: Feature<Polygon | MultiPolygon>;
    if (feature.geometry.type === 'Point') {
      const radiusM = (feature.properties as { radiusM: number }).radiusM;
      poly = circle(feature.geometry.coordinates, radiusM, { units: 'meters', steps: 64 });
    } else {
      poly = feature as Feature<Polygon | MultiPolygon>;
    }
    const [minX, minY, maxX, maxY] = bbox(poly);
    return { minX: minX!, minY: minY!, maxX: maxX!, maxY: maxY!, id, feature: poly };
  }

  load(entries: BaselineEntry[]): void {
    for (const e of entries) this.byId.set(e.id, e);
    this.tree.load(entries);
  }

  get size(): number {
    return this.byId.size;
  }

  set(entry: BaselineEntry): void {
    this.delete(entry.id);
    this.byId.set(entry.id, entry);
    this.tree.insert(entry);
  }

  delete(id: string): boolean {
    const old = this.byId.get(id);
    if (old === undefined) return false;
    this.byId.delete(id);
    this.tree.remove(old);
    return true;
  }

  /** Entries whose polygon contains the point (boundary included, as in turf). */
  containing(lon: number, lat: number, out: BaselineEntry[]): number {
    const candidates = this.tree.search({ minX: lon, minY: lat, maxX: lon, maxY: lat });
    this.lastCandidates = candidates.length;
    out.length = 0;
    const pt = [lon, lat];
    for (const c of candidates) {
      if (booleanPointInPolygon(pt, c.feature)) out.push(c);
    }
    return out.length;
  }

  /** Entries whose polygon is within maxDistM of the point, containing it included. */
  near(lon: number, lat: number, maxDistM: number, out: BaselineEntry[]): number {
    const dLat = maxDistM / M_PER_DEG;
    const dLon = maxDistM / (M_PER_DEG * Math.cos((Math.min(89, Math.abs(lat)) * Math.PI) / 180));
    const candidates = this.tree.search({ minX: lon - dLon, minY: lat - dLat, maxX: lon + dLon, maxY: lat + dLat });
    this.lastCandidates = candidates.length;
    out.length = 0;
    const pt = [lon, lat];
    for (const c of candidates) {
      if (booleanPointInPolygon(pt, c.feature) || pointToPolygonDistance(pt, c.feature, { units: 'meters' }) <= maxDistM) {
        out.push(c);
      }
    }
    return out.length;
  }
}
