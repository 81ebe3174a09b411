import { enc, errorText, get, getOrNull, q } from '../api.js';
import { field, fill, h, notice } from '../dom.js';
import { conditionWords, SEVERITY_WORD, subjectLine, timeEl, typeWords } from '../format.js';
import { boundsOf, coordsOf, createMap, fit, zoneLayers, zoneShape } from '../map.js';
import { TrailPlayer } from '../trail.js';
import type { Subject, Trail, ZoneFeature } from '../types.js';
import type { View } from './view.js';

/** datetime-local value (UK local) of an instant, and back. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A subject: conditions in words, zones on the map, open alerts, the trail for a chosen period. */
export const subjectView = (id: string): View => (root, ctx) => {
  let alive = true;
  const head = h('div', { class: 'view-head' }, h('h1', {}, `Subject ${id}`));
  const body = h('div', {}, notice('info', 'Loading…'));
  const mapBox = h('div', { class: 'map-box' });
  const from = h('input', { type: 'datetime-local', name: 'from', value: localInput(Date.now() - 24 * 3600_000) }) as HTMLInputElement;
  const to = h('input', { type: 'datetime-local', name: 'to', value: localInput(Date.now() + 60_000) }) as HTMLInputElement;
  const trailMsg = h('div', { role: 'status' });
  const trailBox = h('div');
  const periodForm = h('form', { class: 'filters', 'aria-label': 'Trail period' }, field('From (this computer\'s local time)', from), field('To', to), h('button', { type: 'submit' }, 'Show trail'));
  root.append(head, h('div', { class: 'alert-grid' },
    h('div', { class: 'alert-main' }, mapBox, h('section', { 'aria-labelledby': 'trail-h' }, h('h2', { id: 'trail-h' }, 'Trail'), periodForm, trailMsg, trailBox)),
    h('div', { class: 'alert-side' }, body)));
  const handle = createMap(mapBox, `Map of subject ${id}: zones and trail`);
  let player: TrailPlayer | null = null;
  const loadTrail = async (): Promise<void> => {
    const fromMs = new Date(from.value).getTime();
    const toMs = new Date(to.value).getTime();
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs > toMs) {
      trailMsg.replaceChildren(notice('error', 'Choose a start before the end.'));
      return;
    }
    trailMsg.replaceChildren(notice('info', 'Loading the trail…'));
    try {
      const trail = await get<Trail>(`/v1/subjects/${enc(id)}/trail${q({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), limit: 10000 })}`);
      if (!alive) return;
      trailMsg.replaceChildren();
      player?.setTrail(trail.features);
    } catch (e) {
      trailMsg.replaceChildren(notice('error', errorText(e)));
    }
  };
  periodForm.addEventListener('submit', (e) => { e.preventDefault(); void loadTrail(); });

  (async () => {
    const s = await get<Subject>(`/v1/subjects/${enc(id)}`);
    const zoneIds = [...new Set(s.conditions.map((c) => c.zone).filter((z): z is string => z !== undefined))];
    const zones = (await Promise.all(zoneIds.map((z) => getOrNull<ZoneFeature>(`/v1/zones/${enc(z)}`)))).filter((z): z is ZoneFeature => z !== null);
    if (!alive) return;
    const zoneName = (zid: string): string => String(zones.find((z) => z.id === zid)?.properties?.name ?? zid);
    fill(head, h('p', { class: 'crumbs' }, h('a', { href: '#/subjects' }, '← Subjects')),
      h('h1', {}, `Subject ${s.id}${s.name === undefined ? '' : ` — ${s.name}`}`),
      h('p', { class: 'sub' }, subjectLine(s)),
      ctx.canAdminister ? h('a', { class: 'button', href: `#/subjects/${enc(s.id)}/edit` }, 'Edit subject') : null);
    const open = ctx.feed.sorted().filter((a) => a.subjectId === s.id);
    fill(body,
      h('section', { class: 'panel' }, h('h2', {}, 'Details'), h('dl', { class: 'facts' },
        h('dt', {}, 'Tag'), h('dd', {}, s.deviceId), h('dt', {}, 'Team'), h('dd', {}, s.team ?? '—'),
        h('dt', {}, 'Status'), h('dd', {}, s.status === 'suspended' ? 'Suspended (no alerts)' : 'Active'),
        h('dt', {}, 'Time zone'), h('dd', {}, s.timezone ?? 'Europe/London'),
        s.validFrom === undefined ? null : h('dt', {}, 'From'), s.validFrom === undefined ? null : h('dd', {}, timeEl(s.validFrom)),
        s.validTo === undefined ? null : h('dt', {}, 'Until'), s.validTo === undefined ? null : h('dd', {}, timeEl(s.validTo)))),
      h('section', { class: 'panel' }, h('h2', {}, 'Conditions'),
        s.conditions.length === 0 ? h('p', {}, 'No conditions.') : h('ul', { class: 'conditions' }, ...s.conditions.map((c) => h('li', { 'data-condition': c.id }, conditionWords(c, zoneName))))),
      h('section', { class: 'panel' }, h('h2', {}, 'Open alerts'),
        open.length === 0 ? h('p', {}, 'None.') : h('ul', {}, ...open.map((a) => h('li', {}, h('a', { href: `#/alerts/${enc(a.episodeId)}` }, `${SEVERITY_WORD[a.severity]}: ${typeWords(a.type)}`), ' since ', timeEl(a.openedAt))))),
    );
    const m = await handle.ready;
    if (m === null || !alive) return;
    const setZones = zoneLayers(m);
    const shapes = zones.map(zoneShape);
    setZones(shapes);
    fit(m, boundsOf(shapes.flatMap((f) => [...coordsOf(f.geometry)])));
    player = new TrailPlayer(m);
    trailBox.append(player.el);
    await loadTrail();
  })().catch((e: unknown) => fill(body, notice('error', errorText(e))));
  return () => {
    alive = false;
    player?.destroy();
    handle.destroy();
  };
};
