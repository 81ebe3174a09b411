/**
 * The pack's map as vector primitives in a box (y downwards), shared by the HTML (SVG) and PDF
 * renderers: zone outlines or a crime radius, the trail as a line, accuracy circles, numbered
 * positions, a scale bar and a north arrow. Positions are projected with spherical Web Mercator
 * (the projection of web maps, so the shapes look as readers expect); the view is fitted to the
 * trail and the areas, no tiles are fetched. Distances on the map are true to the scale bar at
 * the centre of the view (Mercator's scale varies by 1/cos(latitude): under 0.1% over 10 km in
 * England).
 */
import { DEG, EARTH_RADIUS_M } from '../../../geo/index.js';
import type { PackDocument } from './model.js';

export type Pt = [number, number];

export interface MapLayout {
  width: number;
  height: number;
  areas: ({ kind: 'polygon'; role: 'zone' | 'crime'; label: string; rings: Pt[][] } | { kind: 'circle'; role: 'zone' | 'crime'; label: string; cx: number; cy: number; r: number })[];
  trail: Pt[];
  fixes: { no: number; x: number; y: number; r: number; highlight: boolean; labelled: boolean }[];
  marker: { x: number; y: number; label: string } | null;
  scaleBar: { x: number; y: number; lengthPx: number; label: string };
  north: { x: number; y: number; size: number };
  /** Ground metres per box unit at the view's centre. */
  metresPerUnit: number;
  /** Said under the map when some numbers were left off to keep it legible. */
  note: string | null;
}

const mx = (lon: number): number => lon * DEG;
const my = (lat: number): number => Math.log(Math.tan(Math.PI / 4 + (Math.max(-85, Math.min(85, lat)) * DEG) / 2));

/** A view larger than this (ground metres) is narrowed to the trail when the trail is smaller. */
const MAX_VIEW_M = 20_000;
const MIN_VIEW_M = 300;
const MAX_LABELS = 60;

class Box {
  x0 = Infinity; y0 = Infinity; x1 = -Infinity; y1 = -Infinity;
  add(x: number, y: number, r = 0): void {
    this.x0 = Math.min(this.x0, x - r); this.x1 = Math.max(this.x1, x + r);
    this.y0 = Math.min(this.y0, y - r); this.y1 = Math.max(this.y1, y + r);
  }
  union(b: Box): Box {
    const u = new Box();
    if (this.ok) { u.add(this.x0, this.y0); u.add(this.x1, this.y1); }
    if (b.ok) { u.add(b.x0, b.y0); u.add(b.x1, b.y1); }
    return u;
  }
  get ok(): boolean { return this.x0 <= this.x1; }
  get span(): number { return Math.max(this.x1 - this.x0, this.y1 - this.y0); }
}

function niceMetres(target: number): number {
  const p = 10 ** Math.floor(Math.log10(target));
  for (const k of [5, 2, 1]) if (k * p <= target) return k * p;
  return p;
}

/**
 * `labelH` is the height of a number label in box units (the renderer's font size): labels that
 * would overlap one already placed are left off (bold positions are placed first, then the rest
 * in time order), so the map stays legible where a person stood still.
 */
export function layoutMap(doc: Pick<PackDocument, 'map' | 'positions'>, width: number, height: number, labelH = 8): MapLayout {
  const { map, positions } = doc;
  // Metres per projected unit at a latitude: R·cos(lat).
  const lats = [...positions.map((p) => p.lat), ...map.areas.map((a) => (a.kind === 'circle' ? a.lat : a.polygons[0]?.[0]?.[0]?.[1] ?? 0)), ...(map.marker ? [map.marker.lat] : [])];
  const midLat = lats.length === 0 ? 0 : (Math.min(...lats) + Math.max(...lats)) / 2;
  const unitM = EARTH_RADIUS_M * Math.cos(midLat * DEG);

  const fixBox = new Box();
  for (const p of positions) fixBox.add(mx(p.lon), my(p.lat), p.accuracyM / unitM);
  if (map.marker) fixBox.add(mx(map.marker.lon), my(map.marker.lat));
  const areaBox = new Box();
  for (const a of map.areas) {
    if (a.kind === 'circle') areaBox.add(mx(a.lon), my(a.lat), a.radiusM / unitM);
    else for (const poly of a.polygons) for (const [lon, lat] of poly[0] ?? []) areaBox.add(mx(lon), my(lat));
  }
  let view = fixBox.union(areaBox);
  if (fixBox.ok && view.span * unitM > MAX_VIEW_M && fixBox.span * unitM < MAX_VIEW_M) view = fixBox;
  if (!view.ok) view.add(0, 0);
  // At least MIN_VIEW_M across, and a margin.
  const cx = (view.x0 + view.x1) / 2, cy = (view.y0 + view.y1) / 2;
  let halfW = Math.max((view.x1 - view.x0) / 2, MIN_VIEW_M / 2 / unitM) * 1.12;
  let halfH = Math.max((view.y1 - view.y0) / 2, MIN_VIEW_M / 2 / unitM) * 1.12;
  if (halfW / halfH > width / height) halfH = halfW * height / width;
  else halfW = halfH * width / height;
  const s = width / (2 * halfW);
  const px = (lon: number, lat: number): Pt => [(mx(lon) - cx) * s + width / 2, height / 2 - (my(lat) - cy) * s];

  const areas: MapLayout['areas'] = map.areas.map((a) => a.kind === 'circle'
    ? (() => { const [x, y] = px(a.lon, a.lat); return { kind: 'circle' as const, role: a.role, label: a.label, cx: x, cy: y, r: (a.radiusM / unitM) * s }; })()
    : { kind: 'polygon' as const, role: a.role, label: a.label, rings: a.polygons.flatMap((poly) => poly.map((ring) => ring.map(([lon, lat]) => px(lon, lat)))) });

  const trail = positions.map((p) => px(p.lon, p.lat));
  const step = positions.length <= MAX_LABELS ? 1 : Math.ceil(positions.length / MAX_LABELS);
  const fixes = positions.map((p, i) => {
    const [x, y] = trail[i];
    return { no: p.no, x, y, r: (p.accuracyM / unitM) * s, highlight: p.highlight, labelled: false };
  });
  // Labels sit up and right of their point: [x + 3, y - labelH, width by digits, labelH].
  const placed: number[][] = [];
  // Bold positions first, then the first and the last, then the rest in time order.
  const ends = fixes.filter((f, i) => !f.highlight && (i === 0 || i === fixes.length - 1));
  const order = [...fixes.filter((f) => f.highlight), ...ends, ...fixes.filter((f, i) => !f.highlight && i !== 0 && i !== fixes.length - 1 && (step === 1 || i % step === 0))];
  let skipped = fixes.length - order.length;
  for (const f of order) {
    const w = String(f.no).length * labelH * 0.6 + 2;
    const box = [f.x + 2, f.y - labelH - 1, f.x + 2 + w, f.y];
    if (!f.highlight && placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) {
      skipped++;
      continue;
    }
    placed.push(box);
    f.labelled = true;
  }
  const metresPerUnit = unitM / s;
  const barM = niceMetres(metresPerUnit * width * 0.22);
  const marker = map.marker ? (() => { const [x, y] = px(map.marker.lon, map.marker.lat); return { x, y, label: map.marker.label }; })() : null;
  return {
    width, height, areas, trail, fixes, marker,
    scaleBar: { x: 12, y: height - 16, lengthPx: barM / metresPerUnit, label: barM >= 1000 ? `${barM / 1000} km` : `${barM} m` },
    north: { x: width - 22, y: 14, size: 18 },
    metresPerUnit,
    note: skipped === 0 ? null : `${skipped} of ${positions.length} numbers are left off the map where they would overlap others (or to keep it legible); every position is in the table.`,
  };
}
