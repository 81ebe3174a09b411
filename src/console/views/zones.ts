import { api, ApiFailure, enc, errorText, get, getOrNull, q } from '../api.js';
import { field, fill, h, notice } from '../dom.js';
import { boundsOf, circleRing, coordsOf, createMap, distanceM, fit, maplibregl, zoneLayers, zoneShape } from '../map.js';
import type { GeoJSONSource, Map as MlMap, MapMouseEvent, Marker } from '../maplibre.js';
import type { ZoneFeature, ZoneSummary } from '../types.js';
import { parseZoneFile } from '../zone-import.js';
import type { View } from './view.js';

type Mode = 'idle' | 'polygon' | 'circle';

/**
 * Zones: the list, one zone on the map, drawing and editing polygons and circles (click to add
 * vertices, drag them to move; or type the coordinates), and importing GeoJSON or KML files
 * with each refused feature named.
 */
export const zonesView = (selected: string | null): View => (root, ctx) => {
  let alive = true;
  const admin = ctx.canAdminister;
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Id or name (starts with)' }) as HTMLInputElement;
  const layerF = h('input', { type: 'text', name: 'layer', placeholder: 'any' }) as HTMLInputElement;
  const list = h('ul', { class: 'zone-list' });
  const info = h('p', { role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const panel = h('section', { class: 'panel zone-panel', 'aria-live': 'polite' });
  const importBox = h('section', { class: 'panel', 'aria-labelledby': 'imp-h' });
  const mapBox = h('div', { class: 'map-box zones-map' });
  root.append(
    h('div', { class: 'view-head' }, h('h1', {}, 'Zones'),
      admin ? h('div', { class: 'toolbar' },
        h('button', { type: 'button', onclick: () => startDraw('polygon') }, 'Draw a polygon'),
        h('button', { type: 'button', onclick: () => startDraw('circle') }, 'Draw a circle')) : null),
    h('div', { class: 'zones-grid' },
      h('div', { class: 'zones-side' },
        h('form', { class: 'filters', role: 'search', 'aria-label': 'Search zones', onsubmit: (e: Event) => e.preventDefault() }, field('Search', search), field('Layer', layerF)),
        info, list, more, admin ? importBox : null),
      h('div', { class: 'zones-main' }, mapBox, panel)),
  );
  const handle = createMap(mapBox, 'Zones map');
  let map: MlMap | null = null;
  let setZones: (z: GeoJSON.Feature[]) => void = () => undefined;

  // ---------------------------------------------------------------- list
  let cursor: string | null = null;
  let seq = 0;
  const loadList = async (reset: boolean): Promise<void> => {
    const mine = ++seq;
    if (reset) cursor = null;
    try {
      const page = await get<{ zones: ZoneSummary[]; total: number; nextCursor: string | null }>(`/v1/zones${q({ q: search.value.trim(), layer: layerF.value.trim(), limit: 200, cursor })}`);
      if (mine !== seq) return;
      if (reset) list.replaceChildren();
      for (const z of page.zones) {
        list.append(h('li', {}, h('a', { href: `#/zones/${enc(z.id)}`, 'aria-current': z.id === selected ? 'true' : null },
          h('strong', {}, z.name ?? z.id), h('span', { class: 'meta' }, ` ${z.id}${z.layer === null || z.layer === undefined ? '' : ` · layer ${z.layer}`} · ${z.kind === 'circle' ? 'circle' : `${z.vertexCount ?? '?'} vertices`}`))));
      }
      cursor = page.nextCursor;
      more.hidden = cursor === null || list.children.length >= page.total;
      info.textContent = `${page.total.toLocaleString('en-GB')} zone${page.total === 1 ? '' : 's'}${ctx.session.role === 'team' ? ' used by your team\'s subjects' : ''}.`;
    } catch (e) {
      info.replaceChildren(notice('error', errorText(e)));
    }
  };
  more.addEventListener('click', () => void loadList(false));
  let t: number | undefined;
  for (const c of [search, layerF]) c.addEventListener('input', () => { clearTimeout(t); t = window.setTimeout(() => void loadList(true), 250); });
  void loadList(true);

  // ---------------------------------------------------------------- one zone
  let current: ZoneFeature | null = null;
  const showZone = async (id: string): Promise<void> => {
    fill(panel, notice('info', 'Loading…'));
    const z = await getOrNull<ZoneFeature>(`/v1/zones/${enc(id)}`);
    if (!alive) return;
    if (z === null) {
      fill(panel, notice('error', `No zone ${id}.`));
      return;
    }
    current = z;
    const shape = zoneShape(z);
    setZones([shape]);
    if (map !== null) fit(map, boundsOf(coordsOf(shape.geometry)));
    const msg = h('div');
    fill(panel, h('h2', {}, String(z.properties?.name ?? z.id)),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Id'), h('dd', {}, String(z.id)),
        h('dt', {}, 'Shape'), h('dd', {}, z.geometry.type === 'Point' ? `Circle, radius ${z.properties?.radiusM ?? '?'} m` : z.geometry.type === 'Polygon' ? `Polygon, ${z.geometry.coordinates[0].length - 1} vertices${z.geometry.coordinates.length > 1 ? `, ${z.geometry.coordinates.length - 1} hole(s)` : ''}` : 'Multipolygon'),
        h('dt', {}, 'Layer'), h('dd', {}, String(z.properties?.layer ?? '—'))),
      admin ? h('div', { class: 'actions' },
        z.geometry.type !== 'MultiPolygon' ? h('button', { type: 'button', onclick: () => editZone(z) }, 'Edit shape') : null,
        h('button', { type: 'button', class: 'secondary danger', onclick: () => {
          if (!confirm(`Delete zone ${String(z.id)}?`)) return;
          api('DELETE', `/v1/zones/${enc(String(z.id))}`).then(() => { location.hash = '#/zones'; void loadList(true); })
            .catch((e: unknown) => msg.replaceChildren(notice('error', errorText(e))));
        } }, 'Delete')) : null,
      msg);
  };

  // ---------------------------------------------------------------- drawing
  let mode: Mode = 'idle';
  let vertices: [number, number][] = [];
  let centre: [number, number] | null = null;
  let radiusM = 100;
  let markers: Marker[] = [];
  let editingId: string | null = null;
  let baseProps: Record<string, unknown> = {};
  const draftData = (): GeoJSON.FeatureCollection => {
    const features: GeoJSON.Feature[] = [];
    if (mode === 'polygon' && vertices.length > 0) {
      features.push(vertices.length >= 3
        ? { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...vertices, vertices[0]]] } }
        : { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: vertices } });
    } else if (mode === 'circle' && centre !== null) {
      features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circleRing(centre[0], centre[1], radiusM)] } });
    }
    return { type: 'FeatureCollection', features };
  };
  const coordsText = h('textarea', { name: 'vertices', rows: '6', spellcheck: 'false' }) as HTMLTextAreaElement;
  const cLat = h('input', { type: 'number', step: 'any', name: 'lat' }) as HTMLInputElement;
  const cLon = h('input', { type: 'number', step: 'any', name: 'lon' }) as HTMLInputElement;
  const cRadius = h('input', { type: 'number', step: 'any', min: '1', name: 'radiusM', value: '100' }) as HTMLInputElement;
  const zId = h('input', { type: 'text', name: 'zoneId', required: true }) as HTMLInputElement;
  const zName = h('input', { type: 'text', name: 'zoneName' }) as HTMLInputElement;
  const zLayer = h('input', { type: 'text', name: 'zoneLayer' }) as HTMLInputElement;
  const drawMsg = h('div', { role: 'status' });

  const redraw = (fromText = false): void => {
    (map?.getSource('draft') as GeoJSONSource | undefined)?.setData(draftData());
    if (!fromText) {
      coordsText.value = vertices.map(([x, y]) => `${x.toFixed(6)}, ${y.toFixed(6)}`).join('\n');
      if (centre !== null) {
        cLon.value = centre[0].toFixed(6);
        cLat.value = centre[1].toFixed(6);
      }
      cRadius.value = String(Math.round(radiusM));
    }
    syncMarkers();
  };
  const syncMarkers = (): void => {
    for (const m of markers) m.remove();
    markers = [];
    if (map === null) return;
    const pts: [number, number][] = mode === 'polygon' ? vertices : mode === 'circle' && centre !== null ? [centre] : [];
    pts.forEach((p, i) => {
      const el = h('div', { class: 'vertex', title: mode === 'circle' ? 'Centre (drag to move)' : `Vertex ${i + 1} (drag to move)` });
      const mk = new maplibregl.Marker({ element: el, draggable: true }).setLngLat(p).addTo(map!);
      mk.on('drag', () => {
        const ll = mk.getLngLat();
        if (mode === 'polygon') vertices[i] = [ll.lng, ll.lat];
        else centre = [ll.lng, ll.lat];
        (map?.getSource('draft') as GeoJSONSource | undefined)?.setData(draftData());
      });
      mk.on('dragend', () => redraw());
      markers.push(mk);
    });
  };
  const onMapClick = (e: MapMouseEvent): void => {
    if (mode === 'polygon') {
      vertices.push([e.lngLat.lng, e.lngLat.lat]);
      redraw();
    } else if (mode === 'circle') {
      if (centre === null) centre = [e.lngLat.lng, e.lngLat.lat];
      else radiusM = Math.max(1, distanceM(centre, [e.lngLat.lng, e.lngLat.lat]));
      redraw();
    }
  };
  coordsText.addEventListener('input', () => {
    const pts = coordsText.value.split('\n').map((l) => l.split(/[,\s]+/).filter((x) => x !== '').map(Number)).filter((p) => p.length === 2 && p.every(Number.isFinite));
    vertices = pts.map((p) => [p[0], p[1]]);
    redraw(true);
  });
  for (const el of [cLat, cLon, cRadius]) el.addEventListener('input', () => {
    const lat = Number(cLat.value), lon = Number(cLon.value), r = Number(cRadius.value);
    if (cLat.value !== '' && cLon.value !== '' && Number.isFinite(lat) && Number.isFinite(lon)) centre = [lon, lat];
    if (Number.isFinite(r) && r > 0) radiusM = r;
    redraw(true);
  });

  const startDraw = (m: Exclude<Mode, 'idle'>, existing?: ZoneFeature): void => {
    mode = m;
    editingId = existing === undefined ? null : String(existing.id);
    baseProps = { ...(existing?.properties ?? {}) };
    vertices = existing?.geometry.type === 'Polygon' ? existing.geometry.coordinates[0].slice(0, -1).map((p) => [p[0], p[1]]) : [];
    centre = existing?.geometry.type === 'Point' ? [existing.geometry.coordinates[0], existing.geometry.coordinates[1]] : null;
    radiusM = Number(existing?.properties?.radiusM ?? 100);
    zId.value = editingId ?? '';
    zId.readOnly = editingId !== null;
    zName.value = String(existing?.properties?.name ?? '');
    zLayer.value = String(existing?.properties?.layer ?? '');
    if (existing === undefined) setZones([]);
    mapBox.classList.add('drawing');
    // Clicks place vertices: a quick second click must not zoom.
    map?.doubleClickZoom.disable();
    fill(panel,
      h('h2', {}, editingId === null ? (m === 'polygon' ? 'New polygon zone' : 'New circle zone') : `Editing ${editingId}`),
      h('p', { class: 'hint' }, m === 'polygon'
        ? 'Click the map to add vertices (at least 3); drag a vertex to move it. Or type one "longitude, latitude" pair per line below.'
        : 'Click the map for the centre, click again to set the radius; drag the centre to move it. Or type the centre and radius below.'),
      h('form', { class: 'zone-form', 'aria-label': 'Zone', novalidate: true, onsubmit: (e: Event) => { e.preventDefault(); void save(); } },
        h('div', { class: 'grid' }, field('Zone id', zId, { hint: 'Letters, digits, . _ -' }), field('Name', zName), field('Layer (optional)', zLayer)),
        m === 'polygon' ? field('Vertices (longitude, latitude per line)', coordsText) : h('div', { class: 'grid' }, field('Centre latitude', cLat), field('Centre longitude', cLon), field('Radius (m)', cRadius)),
        h('div', { class: 'actions' },
          h('button', { type: 'submit' }, 'Save zone'),
          m === 'polygon' ? h('button', { type: 'button', class: 'secondary', onclick: () => { vertices.pop(); redraw(); } }, 'Undo last vertex') : null,
          h('button', { type: 'button', class: 'secondary', onclick: () => { stopDraw(); if (editingId !== null) void showZone(editingId); else fill(panel); } }, 'Cancel')),
        drawMsg),
    );
    redraw();
    if (editingId === null) zId.focus();
  };
  const editZone = (z: ZoneFeature): void => startDraw(z.geometry.type === 'Point' ? 'circle' : 'polygon', z);
  const stopDraw = (): void => {
    mode = 'idle';
    vertices = [];
    centre = null;
    mapBox.classList.remove('drawing');
    map?.doubleClickZoom.enable();
    redraw();
  };
  const save = async (): Promise<void> => {
    const id = zId.value.trim();
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(id)) return void drawMsg.replaceChildren(notice('error', 'Give the zone an id of letters, digits, ".", "_" or "-".'));
    const props: Record<string, unknown> = { ...baseProps };
    if (zName.value.trim() !== '') props.name = zName.value.trim(); else delete props.name;
    if (zLayer.value.trim() !== '') props.layer = zLayer.value.trim(); else delete props.layer;
    let geometry: ZoneFeature['geometry'];
    if (mode === 'polygon') {
      if (vertices.length < 3) return void drawMsg.replaceChildren(notice('error', 'A polygon needs at least 3 vertices.'));
      geometry = { type: 'Polygon', coordinates: [[...vertices, vertices[0]].map(([x, y]) => [Number(x.toFixed(7)), Number(y.toFixed(7))])] };
      delete props.radiusM;
    } else {
      if (centre === null) return void drawMsg.replaceChildren(notice('error', 'Click the map (or type a centre) for the circle\'s centre.'));
      geometry = { type: 'Point', coordinates: [Number(centre[0].toFixed(7)), Number(centre[1].toFixed(7))] };
      props.radiusM = Math.round(radiusM);
    }
    try {
      await api('PUT', `/v1/zones/${enc(id)}`, { type: 'Feature', geometry, properties: props });
      stopDraw();
      drawMsg.replaceChildren();
      void loadList(true);
      if (location.hash === `#/zones/${enc(id)}`) void showZone(id);
      else location.hash = `#/zones/${enc(id)}`;
    } catch (e) {
      drawMsg.replaceChildren(notice('error', e instanceof ApiFailure ? `Not saved: ${e.message}` : errorText(e)));
    }
  };

  // ---------------------------------------------------------------- import
  if (admin) {
    const file = h('input', { type: 'file', name: 'zonefile', accept: '.geojson,.json,.kml,application/geo+json,application/vnd.google-earth.kml+xml' }) as HTMLInputElement;
    const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
    fill(importBox, h('h2', { id: 'imp-h' }, 'Import zones'), h('p', { class: 'hint' }, 'A GeoJSON FeatureCollection or a KML file (converted here). Good features are kept; each refused one is listed with the reason.'),
      field('GeoJSON or KML file', file), result);
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f === undefined) return;
      result.replaceChildren(notice('info', `Reading ${f.name}…`));
      void (async () => {
        try {
          const features = parseZoneFile(f.name, await f.text());
          const r = await api<{ accepted: number; rejected: { index: number; id: string | null; code: string; message: string }[] }>('POST', '/v1/zones', { type: 'FeatureCollection', features });
          const bad = new Set(r.rejected.map((x) => x.index));
          setZones(features.filter((_, i) => !bad.has(i)).map(zoneShape));
          if (map !== null) fit(map, boundsOf(features.filter((_, i) => !bad.has(i)).flatMap((x) => [...coordsOf(zoneShape(x).geometry)])));
          result.replaceChildren(
            notice(r.rejected.length === 0 ? 'ok' : 'info', `${f.name}: ${r.accepted} zone${r.accepted === 1 ? '' : 's'} imported, ${r.rejected.length} refused.`),
            r.rejected.length === 0 ? '' : h('ul', { class: 'import-errors', role: 'alert' }, ...r.rejected.map((x) => h('li', {}, h('strong', {}, `Feature ${x.index + 1}${x.id === null ? '' : ` (${x.id})`}: `), `${x.message} [${x.code}]`))),
          );
          void loadList(true);
        } catch (e) {
          result.replaceChildren(notice('error', errorText(e)));
        }
        file.value = '';
      })();
    });
  }

  void handle.ready.then((m) => {
    if (m === null || !alive) return;
    map = m;
    setZones = zoneLayers(m);
    m.addSource('draft', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    m.addLayer({ id: 'draft-fill', type: 'fill', source: 'draft', paint: { 'fill-color': '#ffbf47', 'fill-opacity': 0.3 } });
    m.addLayer({ id: 'draft-line', type: 'line', source: 'draft', paint: { 'line-color': '#b45309', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
    m.on('click', onMapClick);
    if (selected !== null) void showZone(selected);
  });
  if (handle.map === null && selected !== null) void showZone(selected);
  return () => {
    alive = false;
    for (const mk of markers) mk.remove();
    handle.destroy();
  };
};
