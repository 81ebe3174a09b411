import { api, enc, errorText, get, getOrNull } from '../api.js';
import { fill, h, notice } from '../dom.js';
import { SEVERITY_WORD, timeEl } from '../format.js';
import type { DeadLetter, OpsSummary, Severity } from '../types.js';
import type { View } from './view.js';

/** Operations: the service's own figures (GET /v1/ops/summary), refreshed every 5 s; dead letters. */
export const opsView = (): View => (root, ctx) => {
  const tiles = h('div', { class: 'tiles', 'aria-live': 'polite' }, notice('info', 'Loading…'));
  const ready = h('p', { role: 'status' });
  const dead = h('section', { class: 'panel', 'aria-labelledby': 'dl-h' });
  root.append(h('div', { class: 'view-head' }, h('h1', {}, 'Operations')), ready, tiles);
  if (ctx.canAdminister) root.append(dead);
  const tile = (label: string, value: string, cls = ''): HTMLElement => h('div', { class: `tile ${cls}` }, h('div', { class: 'tile-value' }, value), h('div', { class: 'tile-label' }, label));
  const refresh = async (): Promise<void> => {
    try {
      const r = await api<{ ready: boolean; redis: boolean; state: string }>('GET', '/readyz').catch(() => ({ ready: false, redis: false, state: 'unknown' }));
      ready.textContent = r.ready ? 'Service ready: Redis reachable, engine state loaded.' : `Service not ready (Redis ${r.redis ? 'reachable' : 'unreachable'}, state ${r.state}).`;
      ready.className = r.ready ? 'notice notice-ok' : 'notice notice-error';
      const s = await getOrNull<OpsSummary>('/v1/ops/summary');
      if (s === null) {
        fill(tiles, notice('info', 'This service does not provide /v1/ops/summary, so the figures cannot be shown.'));
        return;
      }
      fill(tiles,
        tile('Fixes per second', s.fixesPerSec.toLocaleString('en-GB', { maximumFractionDigits: 1 })),
        tile('Connected tags', s.connectedTags.toLocaleString('en-GB')),
        ...(['critical', 'high', 'medium', 'low'] as Severity[]).map((k) => tile(`Open ${SEVERITY_WORD[k].toLowerCase()} alerts`, (s.openAlerts[k] ?? 0).toLocaleString('en-GB'), `sev-tile-${k}`)),
        tile('Delivery backlog', s.deliveryBacklog.toLocaleString('en-GB')),
        tile('Dead letters', s.deadLetters.toLocaleString('en-GB'), s.deadLetters > 0 ? 'warn' : ''),
        h('p', { class: 'meta as-of' }, 'As of ', timeEl(s.at)),
      );
    } catch (e) {
      fill(tiles, notice('error', errorText(e)));
    }
  };
  const loadDead = async (): Promise<void> => {
    try {
      const r = await get<{ total: number; deadLetters: DeadLetter[] }>('/v1/deliveries/dead?limit=100');
      fill(dead, h('h2', { id: 'dl-h' }, `Dead letters (${r.total})`),
        r.deadLetters.length === 0 ? h('p', {}, 'None: every delivery got through or is still being retried.') : h('table', {},
          h('thead', {}, h('tr', {}, ...['When', 'Team', 'Channel', 'Attempts', 'Error', ''].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, ...r.deadLetters.map((d) => h('tr', {}, h('td', {}, timeEl(d.at)), h('td', {}, d.team), h('td', {}, d.channel), h('td', {}, String(d.attempts)), h('td', {}, d.error),
            h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => void api('POST', `/v1/deliveries/dead/${enc(d.jobId)}/resend`).then(() => loadDead()).catch((e: unknown) => dead.append(notice('error', errorText(e)))) }, 'Re-send')))))));
    } catch (e) {
      fill(dead, notice('error', errorText(e)));
    }
  };
  void refresh();
  if (ctx.canAdminister) void loadDead();
  const timer = window.setInterval(() => void refresh(), 5000);
  return () => clearInterval(timer);
};
