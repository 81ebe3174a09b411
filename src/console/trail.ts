import type { GeoJSONSource, Map as MlMap } from './maplibre.js';
import { h, uid } from './dom.js';
import { duration, percent, timeEl, ukDateTime, utcTitle } from './format.js';
import { bearing, boundsOf, circleRing, fit } from './map.js';
import type { TrailFeature } from './types.js';

/**
 * A subject's trail on a map, with a time slider: accuracy circles, direction arrows between
 * fixes, gaps in reporting dashed red and listed, the breaching fix ringed; the slider (or Play)
 * walks fix by fix, the readout gives the UK time (UTC on hover). The fix table under it says
 * the same for keyboard and screen-reader users.
 */
export interface TrailOptions {
  /** The fix that opened the episode, ringed and announced when playback reaches it. */
  breachSeq?: number;
}

interface Fix { seq: number; ts: string; tMs: number; lon: number; lat: number; accuracy: number | null; battery: number | null; strap: string | null }

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

function arrowImage(): ImageData {
  const c = document.createElement('canvas');
  c.width = c.height = 20;
  const g = c.getContext('2d')!;
  g.fillStyle = '#0b3d91';
  g.strokeStyle = '#ffffff';
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(10, 2);
  g.lineTo(17, 17);
  g.lineTo(10, 13);
  g.lineTo(3, 17);
  g.closePath();
  g.stroke();
  g.fill();
  return g.getImageData(0, 0, 20, 20);
}

export class TrailPlayer {
  readonly el: HTMLElement;
  private fixes: Fix[] = [];
  private gaps: { from: number; to: number; ms: number }[] = [];
  private index = 0;
  private timer: number | null = null;
  private readonly slider: HTMLInputElement;
  private readonly play: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly readout: HTMLElement;
  private readonly table: HTMLElement;
  private breachSeq: number | undefined;

  constructor(private readonly map: MlMap | null) {
    const sid = uid('slider');
    this.slider = h('input', { type: 'range', id: sid, min: '0', max: '0', value: '0', step: '1', disabled: true, 'aria-describedby': `${sid}-out` }) as HTMLInputElement;
    this.play = h('button', { type: 'button', disabled: true, 'aria-pressed': 'false' }, 'Play') as HTMLButtonElement;
    this.speed = h('select', { 'aria-label': 'Playback speed' }, h('option', { value: '1000' }, '1 fix/s'), h('option', { value: '250', selected: true }, '4 fixes/s'), h('option', { value: '60' }, '16 fixes/s')) as HTMLSelectElement;
    this.readout = h('div', { class: 'readout', id: `${sid}-out`, 'aria-live': 'polite' }, 'No trail loaded.');
    this.table = h('div', { class: 'fix-table' });
    this.el = h('section', { class: 'trail', 'aria-label': 'Trail playback' },
      h('div', { class: 'player' },
        this.play,
        h('label', { for: sid }, 'Time'),
        this.slider,
        this.speed,
      ),
      this.readout,
      h('details', { class: 'fixes' }, h('summary', {}, 'Every fix, with gaps'), this.table),
    );
    this.slider.addEventListener('input', () => this.show(Number(this.slider.value)));
    this.play.addEventListener('click', () => (this.timer === null ? this.start() : this.pause()));
    if (map !== null) this.addLayers(map);
  }

  private addLayers(m: MlMap): void {
    if (!m.hasImage('trail-arrow')) m.addImage('trail-arrow', arrowImage(), { pixelRatio: 2 });
    for (const s of ['trail-acc', 'trail-line', 'trail-gap', 'trail-pts', 'trail-current']) m.addSource(s, { type: 'geojson', data: EMPTY });
    m.addLayer({ id: 'trail-acc', type: 'fill', source: 'trail-acc', paint: { 'fill-color': '#1d70b8', 'fill-opacity': 0.08 } });
    m.addLayer({ id: 'trail-acc-line', type: 'line', source: 'trail-acc', paint: { 'line-color': '#1d70b8', 'line-opacity': 0.35, 'line-width': 0.8 } });
    m.addLayer({ id: 'trail-line', type: 'line', source: 'trail-line', paint: { 'line-color': '#0b3d91', 'line-width': 2.5 } });
    m.addLayer({ id: 'trail-gap', type: 'line', source: 'trail-gap', paint: { 'line-color': '#b00020', 'line-width': 2.5, 'line-dasharray': [2, 2] } });
    m.addLayer({ id: 'trail-arrows', type: 'symbol', source: 'trail-line', layout: { 'symbol-placement': 'line', 'symbol-spacing': 60, 'icon-image': 'trail-arrow', 'icon-rotate': 90, 'icon-rotation-alignment': 'map', 'icon-allow-overlap': true } });
    m.addLayer({ id: 'trail-pts', type: 'circle', source: 'trail-pts', paint: {
      'circle-radius': ['case', ['get', 'breach'], 8, 3.5],
      'circle-color': ['case', ['get', 'breach'], '#b00020', '#0b3d91'],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': ['case', ['get', 'breach'], 3, 1],
    } });
    m.addLayer({ id: 'trail-current', type: 'circle', source: 'trail-current', paint: { 'circle-radius': 9, 'circle-color': '#ffbf47', 'circle-stroke-color': '#0b0c0c', 'circle-stroke-width': 3 } });
  }

  setTrail(features: TrailFeature[], opts: TrailOptions = {}): void {
    this.pause();
    this.breachSeq = opts.breachSeq;
    this.fixes = features.filter((f) => f.geometry !== null).map((f) => ({
      seq: f.properties.seq, ts: f.properties.ts, tMs: Date.parse(f.properties.ts),
      lon: f.geometry!.coordinates[0], lat: f.geometry!.coordinates[1],
      accuracy: f.properties.accuracy ?? null, battery: f.properties.battery ?? null, strap: f.properties.strap ?? null,
    }));
    const dts = this.fixes.slice(1).map((f, i) => f.tMs - this.fixes[i].tMs).sort((a, b) => a - b);
    const median = dts.length === 0 ? 0 : dts[Math.floor(dts.length / 2)];
    const gapMs = Math.max(5 * 60_000, 3 * median);
    this.gaps = [];
    for (let i = 1; i < this.fixes.length; i++) {
      const ms = this.fixes[i].tMs - this.fixes[i - 1].tMs;
      if (ms > gapMs) this.gaps.push({ from: i - 1, to: i, ms });
    }
    const n = this.fixes.length;
    this.slider.max = String(Math.max(0, n - 1));
    this.slider.disabled = n === 0;
    this.play.disabled = n < 2;
    this.drawMap();
    this.drawTable();
    const breachAt = this.fixes.findIndex((f) => f.seq === this.breachSeq);
    this.show(n === 0 ? 0 : 0);
    if (n === 0) this.readout.textContent = 'No fixes in this period.';
    if (this.map !== null && n > 0) fit(this.map, boundsOf(this.fixes.map((f) => [f.lon, f.lat])));
    this.el.dataset.breachIndex = String(breachAt);
  }

  private drawMap(): void {
    const m = this.map;
    if (m === null) return;
    const gapSet = new Set(this.gaps.map((g) => g.to));
    const solid: GeoJSON.Feature[] = [];
    const dashed: GeoJSON.Feature[] = [];
    for (let i = 1; i < this.fixes.length; i++) {
      const a = this.fixes[i - 1], b = this.fixes[i];
      const f: GeoJSON.Feature = { type: 'Feature', properties: { bearing: bearing([a.lon, a.lat], [b.lon, b.lat]) }, geometry: { type: 'LineString', coordinates: [[a.lon, a.lat], [b.lon, b.lat]] } };
      (gapSet.has(i) ? dashed : solid).push(f);
    }
    const acc = this.fixes.filter((f) => f.accuracy !== null && f.accuracy > 0).map((f): GeoJSON.Feature => ({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circleRing(f.lon, f.lat, f.accuracy!, 32)] } }));
    const pts = this.fixes.map((f): GeoJSON.Feature => ({ type: 'Feature', properties: { seq: f.seq, breach: f.seq === this.breachSeq }, geometry: { type: 'Point', coordinates: [f.lon, f.lat] } }));
    const set = (id: string, features: GeoJSON.Feature[]): void => {
      (m.getSource(id) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features });
    };
    set('trail-acc', acc);
    set('trail-line', solid);
    set('trail-gap', dashed);
    set('trail-pts', pts);
  }

  private drawTable(): void {
    const rows: HTMLElement[] = [];
    const gapAfter = new Map(this.gaps.map((g) => [g.from, g.ms]));
    const shown = this.fixes.slice(0, 2000);
    shown.forEach((f, i) => {
      rows.push(h('tr', { class: f.seq === this.breachSeq ? 'breach' : null },
        h('td', {}, String(i + 1)), h('td', {}, timeEl(f.ts)), h('td', {}, `${f.lat.toFixed(5)}, ${f.lon.toFixed(5)}`),
        h('td', {}, f.accuracy === null ? '—' : `${Math.round(f.accuracy)} m`), h('td', {}, percent(f.battery)), h('td', {}, f.strap ?? '—'),
        h('td', {}, f.seq === this.breachSeq ? 'Breaching fix' : ''),
      ));
      const gap = gapAfter.get(i);
      if (gap !== undefined) rows.push(h('tr', { class: 'gap' }, h('td', { colspan: '7' }, `Gap: no fixes for ${duration(gap)}`)));
    });
    this.table.replaceChildren(
      h('p', {}, `${this.fixes.length} fixes${this.gaps.length > 0 ? `, ${this.gaps.length} gap${this.gaps.length === 1 ? '' : 's'} in reporting (dashed red on the map)` : ', no gaps in reporting'}${this.fixes.length > shown.length ? `; the first ${shown.length} listed` : ''}.`),
      h('table', {}, h('thead', {}, h('tr', {}, ...['#', 'Time (UK)', 'Position', 'Accuracy', 'Battery', 'Strap', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...rows)),
    );
  }

  /** The trail's coordinates (to fit a map to it together with other things). */
  coords(): number[][] {
    return this.fixes.map((f) => [f.lon, f.lat]);
  }

  show(i: number): void {
    const f = this.fixes[i];
    this.index = i;
    this.slider.value = String(i);
    if (f === undefined) return;
    const breach = f.seq === this.breachSeq;
    const gapBefore = this.gaps.find((g) => g.to === i);
    this.slider.setAttribute('aria-valuetext', `${ukDateTime(f.ts)}, fix ${i + 1} of ${this.fixes.length}${breach ? ', breaching fix' : ''}`);
    this.readout.replaceChildren(...[
      h('span', { class: 'pos' }, `Fix ${i + 1} of ${this.fixes.length}: `),
      h('time', { dateTime: f.ts, title: utcTitle(f.ts) }, ukDateTime(f.ts)),
      ` · accuracy ${f.accuracy === null ? '—' : `${Math.round(f.accuracy)} m`} · battery ${percent(f.battery)}${f.strap === null ? '' : ` · strap ${f.strap}`}`,
      gapBefore === undefined ? null : h('span', { class: 'pill gap' }, `after a ${duration(gapBefore.ms)} gap`),
      breach ? h('span', { class: 'pill breach', 'data-breach': 'true' }, 'Breaching fix') : null,
    ].filter((x) => x !== null));
    const src = this.map?.getSource('trail-current') as GeoJSONSource | undefined;
    src?.setData({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [f.lon, f.lat] } }] });
  }

  private start(): void {
    if (this.fixes.length < 2) return;
    if (this.index >= this.fixes.length - 1) this.show(0);
    this.play.textContent = 'Pause';
    this.play.setAttribute('aria-pressed', 'true');
    const step = (): void => {
      if (this.index >= this.fixes.length - 1) return this.pause();
      this.show(this.index + 1);
      // Playback stops at the breaching fix so nobody has to catch it on the fly.
      if (this.fixes[this.index].seq === this.breachSeq) return this.pause();
      this.timer = window.setTimeout(step, Number(this.speed.value));
    };
    this.timer = window.setTimeout(step, Number(this.speed.value));
  }

  private pause(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.play.textContent = 'Play';
    this.play.setAttribute('aria-pressed', 'false');
  }

  destroy(): void {
    this.pause();
  }
}
