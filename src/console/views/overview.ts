import { enc, errorText, getOrNull } from '../api.js';
import { fill, h, notice } from '../dom.js';
import { ago, percent, SEVERITY_RANK, SEVERITY_WORD, ukDateTime, utcTitle } from '../format.js';
import { boundsOf, createMap, fit, maplibregl } from '../map.js';
import type { GeoJSONSource, Map as MlMap, Marker, Popup } from '../maplibre.js';
import type { Position } from '../types.js';
import type { View } from './view.js';

const SEV_COLOURS = ['#5b6b7a', '#a15c00', '#c2410c', '#b00020'];

/**
 * Every tag's latest position: clustered when zoomed out (the count on each cluster, red when
 * any tag in it has an open alert), tags with open alerts larger and coloured by their worst
 * severity, stale positions hollow and grey. The list beside it names the alerted tags for
 * keyboard use.
 */
export const overviewView = (): View => (root) => {
  let alive = true;
  const mapBox = h('div', { class: 'map-box tall' });
  const side = h('div', { class: 'overview-side' });
  const status = h('p', { class: 'map-status', role: 'status', 'aria-live': 'polite' }, 'Loading positions…');
  root.append(h('div', { class: 'view-head' }, h('h1', {}, 'Map of tags'), status), h('div', { class: 'zones-grid overview' }, h('div', { class: 'zones-main' }, mapBox), side));
  const handle = createMap(mapBox, 'Map of every tag\'s latest position');
  let positions: Position[] = [];
  let popup: Popup | null = null;
  const clusterMarkers = new Map<number, Marker>();

  const toGeoJson = (ps: Position[]): GeoJSON.FeatureCollection => ({
    type: 'FeatureCollection',
    features: ps.map((p, i) => ({ type: 'Feature', id: i, properties: { i, sev: p.openAlerts > 0 && p.maxSeverity !== null ? SEVERITY_RANK[p.maxSeverity] : -1, alerted: p.openAlerts > 0 ? 1 : 0, stale: p.stale ? 1 : 0 }, geometry: { type: 'Point', coordinates: [p.lon, p.lat] } })),
  });

  const popupFor = (m: MlMap, p: Position): void => {
    popup?.remove();
    const el = h('div', { class: 'pos-popup' },
      h('strong', {}, p.deviceId), p.subjectId === null ? h('div', {}, 'Not worn by a subject') : h('div', {}, 'Subject ', h('a', { href: `#/subjects/${enc(p.subjectId)}` }, p.subjectId), p.team === null ? '' : ` · ${p.team}`),
      h('div', {}, h('time', { dateTime: p.ts, title: utcTitle(p.ts) }, ukDateTime(p.ts)), ` (${ago(p.ts)})${p.stale ? ' — STALE' : ''}`),
      h('div', {}, `Accuracy ${p.accuracy === null ? '—' : `${Math.round(p.accuracy)} m`} · battery ${percent(p.battery)} · strap ${p.strap ?? '—'}`),
      p.openAlerts > 0 ? h('div', { class: 'alerted' }, `${p.openAlerts} open alert${p.openAlerts === 1 ? '' : 's'}, worst ${SEVERITY_WORD[p.maxSeverity ?? 'low']}`) : null,
      p.openAlerts > 0 && p.subjectId !== null ? h('a', { href: '#/queue' }, 'Open the queue') : null);
    popup = new maplibregl.Popup({ closeButton: true, maxWidth: '320px' }).setLngLat([p.lon, p.lat]).setDOMContent(el).addTo(m);
  };

  const drawSide = (m: MlMap | null): void => {
    const alerted = positions.filter((p) => p.openAlerts > 0).sort((a, b) => SEVERITY_RANK[b.maxSeverity ?? 'low'] - SEVERITY_RANK[a.maxSeverity ?? 'low'] || a.deviceId.localeCompare(b.deviceId, 'en', { numeric: true }));
    const stale = positions.filter((p) => p.stale).length;
    fill(side,
      h('section', { class: 'panel' }, h('h2', {}, 'Legend'), h('ul', { class: 'legend' },
        h('li', {}, h('span', { class: 'dot sev-dot-3' }), 'Open critical alert'), h('li', {}, h('span', { class: 'dot sev-dot-2' }), 'Open high alert'),
        h('li', {}, h('span', { class: 'dot sev-dot-1' }), 'Open medium/low alert'), h('li', {}, h('span', { class: 'dot ok-dot' }), 'No open alert'),
        h('li', {}, h('span', { class: 'dot stale-dot' }), 'Stale position (not heard from recently): hollow, or a thick grey ring round an alert colour'), h('li', {}, h('span', { class: 'dot cluster-dot' }), 'Cluster (count shown; red ring: alerts inside)'))),
      h('section', { class: 'panel' }, h('h2', {}, `Tags with open alerts (${alerted.length})`),
        alerted.length === 0 ? h('p', {}, 'None.') : h('ul', { class: 'zone-list' }, ...alerted.slice(0, 300).map((p) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => {
          if (m === null) return;
          m.jumpTo({ center: [p.lon, p.lat], zoom: Math.max(m.getZoom(), 15) });
          popupFor(m, p);
        } }, h('span', { class: `badge sev-${p.maxSeverity ?? 'low'}` }, SEVERITY_WORD[p.maxSeverity ?? 'low']), ` ${p.deviceId}${p.subjectId === null ? '' : ` (${p.subjectId})`}${p.stale ? ' · stale' : ''}`))))),
      h('p', { class: 'meta' }, `${positions.length.toLocaleString('en-GB')} tags, ${stale.toLocaleString('en-GB')} stale.`));
  };

  const updateClusterLabels = (m: MlMap): void => {
    const seen = new Set<number>();
    for (const f of m.querySourceFeatures('positions')) {
      const p = f.properties as { cluster?: boolean; cluster_id?: number; point_count?: number; alerted?: number };
      if (p.cluster !== true || p.cluster_id === undefined || seen.has(p.cluster_id)) continue;
      seen.add(p.cluster_id);
      if (clusterMarkers.has(p.cluster_id)) continue;
      const coords = (f.geometry as GeoJSON.Point).coordinates as [number, number];
      const el = h('div', { class: `cluster-label${(p.alerted ?? 0) > 0 ? ' alerted' : ''}`, 'aria-hidden': 'true' }, (p.point_count ?? 0).toLocaleString('en-GB'));
      clusterMarkers.set(p.cluster_id, new maplibregl.Marker({ element: el }).setLngLat(coords).addTo(m));
    }
    for (const [id, mk] of clusterMarkers) if (!seen.has(id)) { mk.remove(); clusterMarkers.delete(id); }
  };

  const load = async (m: MlMap | null): Promise<void> => {
    try {
      const r = await getOrNull<{ positions: Position[]; at: string }>('/v1/positions');
      if (!alive) return;
      if (r === null) {
        status.replaceChildren(notice('info', 'This service does not provide /v1/positions, so tag positions cannot be shown.'));
        return;
      }
      const first = positions.length === 0;
      positions = r.positions;
      // The first answer frames the map on the tags (later refreshes leave the view alone).
      if (first && m !== null && positions.length > 0) fit(m, boundsOf(positions.map((p) => [p.lon, p.lat])), 14);
      status.textContent = `${positions.length.toLocaleString('en-GB')} tags; updated ${ukDateTime(r.at)}.`;
      (m?.getSource('positions') as GeoJSONSource | undefined)?.setData(toGeoJson(positions));
      for (const mk of clusterMarkers.values()) mk.remove();
      clusterMarkers.clear();
      drawSide(m);
    } catch (e) {
      status.replaceChildren(notice('error', errorText(e)));
    }
  };

  let timer = 0;
  void handle.ready.then(async (m) => {
    if (!alive) return;
    if (m !== null) {
      m.addSource('positions', {
        type: 'geojson', data: { type: 'FeatureCollection', features: [] }, cluster: true, clusterRadius: 45, clusterMaxZoom: 14,
        clusterProperties: { alerted: ['+', ['get', 'alerted']], sev: ['max', ['get', 'sev']] },
      });
      m.addLayer({ id: 'clusters', type: 'circle', source: 'positions', filter: ['has', 'point_count'], paint: {
        'circle-color': '#1d3f6e', 'circle-opacity': 0.85,
        'circle-radius': ['step', ['get', 'point_count'], 14, 50, 18, 500, 24, 5000, 30],
        'circle-stroke-width': ['case', ['>', ['get', 'alerted'], 0], 4, 1.5],
        'circle-stroke-color': ['case', ['>', ['get', 'alerted'], 0], '#d4351c', '#ffffff'],
      } });
      m.addLayer({ id: 'tags', type: 'circle', source: 'positions', filter: ['!', ['has', 'point_count']], layout: { 'circle-sort-key': ['get', 'sev'] }, paint: {
        'circle-radius': ['case', ['==', ['get', 'alerted'], 1], ['+', 7, ['get', 'sev']], 4.5],
        // An open alert always shows its colour; staleness is the thick grey ring (hollow when there is no alert).
        'circle-color': ['case', ['==', ['get', 'alerted'], 1], ['match', ['get', 'sev'], 3, SEV_COLOURS[3], 2, SEV_COLOURS[2], 1, SEV_COLOURS[1], SEV_COLOURS[0]], ['==', ['get', 'stale'], 1], '#ffffff', '#1d70b8'],
        'circle-stroke-color': ['case', ['==', ['get', 'stale'], 1], '#505a5f', '#ffffff'],
        'circle-stroke-width': ['case', ['==', ['get', 'stale'], 1], 3, 1.5],
      } });
      m.on('click', 'tags', (e) => {
        const i = e.features?.[0]?.properties?.i as number | undefined;
        if (i !== undefined && positions[i] !== undefined) popupFor(m, positions[i]);
      });
      m.on('click', 'clusters', (e) => {
        const f = e.features?.[0];
        if (f === undefined) return;
        void (m.getSource('positions') as GeoJSONSource).getClusterExpansionZoom(f.properties.cluster_id as number).then((z) => m.easeTo({ center: (f.geometry as GeoJSON.Point).coordinates as [number, number], zoom: z }));
      });
      for (const l of ['tags', 'clusters']) {
        m.on('mouseenter', l, () => { m.getCanvas().style.cursor = 'pointer'; });
        m.on('mouseleave', l, () => { m.getCanvas().style.cursor = ''; });
      }
      m.on('idle', () => updateClusterLabels(m));
    }
    await load(m);
    timer = window.setInterval(() => void load(m), 10_000);
  });
  return () => {
    alive = false;
    clearInterval(timer);
    popup?.remove();
    handle.destroy();
  };
};
