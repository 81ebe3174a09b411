import { field, h, select } from '../dom.js';
import { ago, SEVERITY_WORD, timeEl, typeWords } from '../format.js';
import type { Alert, Severity } from '../types.js';
import { VirtualList } from '../virtual-list.js';
import type { View } from './view.js';

/** The live queue of open alerts: critical first, then the oldest; filters; one keyboard stop. */
export const queueView = (): View => (root, { feed, session }) => {
  const sev = select('severity', [['', 'All severities'], ['critical', 'Critical'], ['high', 'High'], ['medium', 'Medium'], ['low', 'Low']], '');
  const type = select('type', [['', 'All types'], ...['exclusion', 'exclusion_buffer', 'curfew', 'inclusion', 'proximity', 'proximity_warning', 'tamper', 'battery_low', 'no_fix', 'device_offline'].map((t): [string, string] => [t, typeWords(t)])], '');
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Subject, device or team' }) as HTMLInputElement;
  const unacked = h('input', { type: 'checkbox', name: 'unacked' }) as HTMLInputElement;
  const counts = h('p', { class: 'counts', role: 'status', 'aria-live': 'polite' });
  const list = new VirtualList<Alert>('Open alerts, critical first then oldest', 64, (a) => a.episodeId, renderRow, (a) => {
    location.hash = `#/alerts/${encodeURIComponent(a.episodeId)}`;
  });
  const empty = h('p', { class: 'empty', hidden: true }, 'No open alerts match.');
  root.append(
    h('div', { class: 'view-head' },
      h('h1', {}, 'Alert queue'),
      h('p', { class: 'sub' }, session.role === 'team' ? 'Your team\'s open alerts, critical first, then the oldest.' : 'Open alerts across all teams, critical first, then the oldest.'),
    ),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the queue', onsubmit: (e: Event) => e.preventDefault() },
      field('Severity', sev), field('Type', type), field('Search', search),
      h('div', { class: 'field check' }, h('label', {}, unacked, ' Not yet acknowledged')),
    ),
    counts,
    list.el,
    empty,
  );
  const draw = (): void => {
    const needle = search.value.trim().toLowerCase();
    const all = feed.sorted();
    const shown = all.filter((a) => (sev.value === '' || a.severity === sev.value) && (type.value === '' || a.type === type.value) &&
      (!unacked.checked || a.acknowledged === undefined) &&
      (needle === '' || a.subjectId.toLowerCase().includes(needle) || a.deviceId.toLowerCase().includes(needle) || a.team.toLowerCase().includes(needle)));
    const by: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
    for (const a of all) by[a.severity]++;
    counts.replaceChildren(
      feed.loaded ? `${shown.length.toLocaleString('en-GB')} shown of ${all.length.toLocaleString('en-GB')} open: ` : 'Loading open alerts… ',
      ...(['critical', 'high', 'medium', 'low'] as Severity[]).map((s) => h('span', { class: `pill sev-${s}` }, `${SEVERITY_WORD[s]} ${by[s]}`)),
    );
    empty.hidden = !feed.loaded || shown.length > 0;
    list.setItems(shown);
  };
  for (const c of [sev, type, search, unacked]) c.addEventListener('input', draw);
  const off = feed.onChange(draw);
  const tick = window.setInterval(() => list.refresh(), 30_000);
  draw();
  return () => {
    off();
    clearInterval(tick);
  };
};

function renderRow(a: Alert, row: HTMLElement): void {
  row.classList.add(`sev-row-${a.severity}`);
  row.append(
    h('span', { class: `badge sev-${a.severity}` }, SEVERITY_WORD[a.severity]),
    h('span', { class: 'what' },
      h('strong', {}, typeWords(a.type)),
      h('span', { class: 'meta' }, `Subject ${a.subjectId} · ${a.deviceId} · ${a.team}${a.confidence === 'possible' ? ' · possible' : ''}${a.late ? ' · late upload' : ''}`),
    ),
    h('span', { class: 'when' }, timeEl(a.openedAt, false), h('span', { class: 'meta' }, ago(a.openedAt))),
    h('span', { class: 'state' },
      a.acknowledged !== undefined ? h('span', { class: 'pill ok' }, 'Acknowledged') : a.claim !== undefined ? h('span', { class: 'pill claim' }, `Worked by ${a.claim.by}`) : h('span', { class: 'pill new' }, 'Unclaimed'),
    ),
  );
}
