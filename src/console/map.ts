import maplibregl, { type GeoJSONSource, type LngLatBoundsLike, type Map as MlMap, type StyleSpecification } from './maplibre.js';
import { h } from './dom.js';
import type { ZoneFeature } from './types.js';

/**
 * The map every view uses. With no basemap configured (MAP_STYLE_URL unset) the style is a plain
 * background with a graticule and a scale: no tiles, glyphs or sprites, so the map asks no host
 * for anything. Labels are HTML (markers, popups), never symbol text, for the same reason.
 */
let mapStyleUrl: string | null = null;
export function setMapStyleUrl(url: string | null): void {
  mapStyleUrl = url;
}

const BLANK_STYLE: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } }],
};

export const UK_BOUNDS: LngLatBoundsLike = [[-8.6, 49.8], [1.9, 59.0]];

export interface MapHandle {
  map: MlMap | null;
  /** Resolves once the style is loaded (or at once with null when WebGL is unavailable). */
  ready: Promise<MlMap | null>;
  destroy(): void;
}

/** Creates a map in `container`; on a browser without WebGL it says so and the view goes on without it. */
export function createMap(container: HTMLElement, label: string): MapHandle {
  container.classList.add('map');
  container.setAttribute('role', 'region');
  container.setAttribute('aria-label', label);
  let map: MlMap | null = null;
  try {
    map = new maplibregl.Map({
      container,
      style: mapStyleUrl ?? BLANK_STYLE,
      bounds: UK_BOUNDS,
      attributionControl: mapStyleUrl === null ? false : { compact: true },
      dragRotate: false,
      pitchWithRotate: false,
      maxPitch: 0,
      fadeDuration: 0,
      cooperativeGestures: false,
    });
  } catch (e) {
    container.append(h('p', { class: 'notice notice-error', role: 'status' }, `The map cannot be shown in this browser (${(e as Error).message}); the lists and tables below have everything.`));
    return { map: null, ready: Promise.resolve(null), destroy: () => undefined };
  }
  const m = map;
  m.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  m.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 160 }), 'bottom-left');
  m.keyboard.enable();
  const ready = new Promise<MlMap>((done) => {
    m.once('load', () => {
      addGraticule(m);
      done(m);
    });
  });
  return { map: m, ready, destroy: () => m.remove() };
}

// ------------------------------------------------------------------------------------------
// Graticule: lines at a step that suits the view, regenerated as the view moves.

const STEPS = [10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];

export function graticule(west: number, south: number, east: number, north: number): GeoJSON.FeatureCollection {
  const span = Math.max(east - west, (north - south) * 1.5);
  const step = STEPS.find((s) => span / s >= 4) ?? STEPS[STEPS.length - 1];
  const features: GeoJSON.Feature[] = [];
  const s = Math.max(-85, south - step), n = Math.min(85, north + step);
  for (let x = Math.floor(west / step) * step; x <= east + step; x += step) {
    const lon = Number(x.toFixed(6));
    features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[lon, s], [lon, n]] } });
  }
  for (let y = Math.floor(s / step) * step; y <= n; y += step) {
    const lat = Number(y.toFixed(6));
    features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[west - step, lat], [east + step, lat]] } });
  }
  return { type: 'FeatureCollection', features };
}

function addGraticule(m: MlMap): void {
  const data = (): GeoJSON.FeatureCollection => {
    const b = m.getBounds();
    return graticule(b.getWest(), b.getSouth(), b.getEast(), b.getNorth());
  };
  m.addSource('graticule', { type: 'geojson', data: data() });
  // Under everything the views add.
  m.addLayer({ id: 'graticule', type: 'line', source: 'graticule', paint: { 'line-color': '#9aa8b5', 'line-width': 0.7, 'line-opacity': mapStyleUrl === null ? 0.8 : 0.35 } });
  m.on('moveend', () => (m.getSource('graticule') as GeoJSONSource | undefined)?.setData(data()));
}

// ------------------------------------------------------------------------------------------
// Geometry helpers

const R = 6371008.8;

/** A circle of `radiusM` around [lon, lat] as a polygon ring. */
export function circleRing(lon: number, lat: number, radiusM: number, n = 48): number[][] {
  const ring: number[][] = [];
  const dLat = (radiusM / R) * (180 / Math.PI);
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  for (let i = 0; i <= n; i++) {
    const a = (i / n) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return ring;
}

/** Metres between two points (haversine). */
export function distanceM(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad, dLon = (b[0] - a[0]) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(s));
}

/** Bearing from a to b in degrees clockwise from north. */
export function bearing(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const y = Math.sin((b[0] - a[0]) * rad) * Math.cos(b[1] * rad);
  const x = Math.cos(a[1] * rad) * Math.sin(b[1] * rad) - Math.sin(a[1] * rad) * Math.cos(b[1] * rad) * Math.cos((b[0] - a[0]) * rad);
  return ((Math.atan2(y, x) / rad) + 360) % 360;
}

/** A zone as a drawable feature: a circle zone (Point + radiusM) becomes its polygon. */
export function zoneShape(z: ZoneFeature): GeoJSON.Feature {
  const props = { id: String(z.id ?? ''), name: String(z.properties?.name ?? z.id ?? '') };
  if (z.geometry.type === 'Point') {
    const [lon, lat] = z.geometry.coordinates;
    return { type: 'Feature', properties: props, geometry: { type: 'Polygon', coordinates: [circleRing(lon, lat, Number(z.properties?.radiusM ?? 0))] } };
  }
  return { type: 'Feature', properties: props, geometry: z.geometry as GeoJSON.Geometry };
}

/** [west, south, east, north] of a set of coordinates, or null. */
export function boundsOf(coords: Iterable<number[]>): [number, number, number, number] | null {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const [x, y] of coords) {
    if (x < w) w = x;
    if (x > e) e = x;
    if (y < s) s = y;
    if (y > n) n = y;
  }
  return w === Infinity ? null : [w, s, e, n];
}

export function* coordsOf(g: GeoJSON.Geometry | null): Generator<number[]> {
  if (g === null) return;
  switch (g.type) {
    case 'Point': yield g.coordinates; break;
    case 'LineString': case 'MultiPoint': yield* g.coordinates; break;
    case 'Polygon': case 'MultiLineString': for (const r of g.coordinates) yield* r; break;
    case 'MultiPolygon': for (const p of g.coordinates) for (const r of p) yield* r; break;
    case 'GeometryCollection': for (const x of g.geometries) yield* coordsOf(x); break;
  }
}

export function fit(m: MlMap, b: [number, number, number, number] | null, maxZoom = 16): void {
  if (b === null) return;
  const pad = 0.0005;
  m.fitBounds([[b[0] - pad, b[1] - pad], [b[2] + pad, b[3] + pad]], { padding: 40, maxZoom, duration: 0 });
}

/** Adds the zone layers (fill + outline) to a map; returns a setter for the zones shown. */
export function zoneLayers(m: MlMap, id = 'zones'): (zones: GeoJSON.Feature[]) => void {
  m.addSource(id, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  m.addLayer({ id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': '#7b2cbf', 'fill-opacity': 0.15 } });
  m.addLayer({ id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': '#5a189a', 'line-width': 2 } });
  return (zones) => (m.getSource(id) as GeoJSONSource).setData({ type: 'FeatureCollection', features: zones });
}

export { maplibregl };
