import { enc, errorText, get, q } from '../api.js';
import { field, h, notice, select } from '../dom.js';
import type { Subject } from '../types.js';
import type { View } from './view.js';

/** Subjects: search (id or name prefix) and filters, a page at a time. */
export const subjectsView = (): View => (root, ctx) => {
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Id or name (starts with)' }) as HTMLInputElement;
  const team = h('input', { type: 'text', name: 'team', placeholder: 'any', value: ctx.session.role === 'team' ? ctx.session.team ?? '' : '', disabled: ctx.session.role === 'team' }) as HTMLInputElement;
  const cohort = select('cohort', [['', 'Any'], ['fixed', 'Fixed'], ['flex', 'Flex'], ['free', 'Free']], '');
  const risk = select('risk', [['', 'Any'], ['low', 'Low'], ['medium', 'Medium'], ['high', 'High'], ['very_high', 'Very high']], '');
  const status = select('status', [['', 'Any'], ['active', 'Active'], ['suspended', 'Suspended']], '');
  const tbody = h('tbody');
  const info = h('p', { role: 'status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  let cursor: string | null = null;
  let seq = 0;
  const load = async (reset: boolean): Promise<void> => {
    const mine = ++seq;
    if (reset) cursor = null;
    try {
      const page = await get<{ subjects: Subject[]; total: number; nextCursor: string | null }>(`/v1/subjects${q({ q: search.value.trim(), team: ctx.session.role === 'team' ? undefined : team.value.trim(), cohort: cohort.value, risk: risk.value, status: status.value, limit: 100, cursor })}`);
      if (mine !== seq) return;
      if (reset) tbody.replaceChildren();
      for (const s of page.subjects) {
        tbody.append(h('tr', {},
          h('td', {}, h('a', { href: `#/subjects/${enc(s.id)}` }, s.id)),
          h('td', {}, s.name ?? ''), h('td', {}, s.deviceId), h('td', {}, s.team ?? ''), h('td', {}, s.cohort ?? ''), h('td', {}, (s.risk ?? '').replace('_', ' ')),
          h('td', {}, s.status === 'suspended' ? 'Suspended' : 'Active'), h('td', {}, String(s.conditions.length)),
        ));
      }
      cursor = page.nextCursor;
      more.hidden = cursor === null || tbody.children.length >= page.total;
      info.textContent = `${page.total.toLocaleString('en-GB')} subject${page.total === 1 ? '' : 's'} match; ${tbody.children.length} shown.`;
    } catch (e) {
      info.replaceChildren(notice('error', errorText(e)));
    }
  };
  more.addEventListener('click', () => void load(false));
  let t: number | undefined;
  for (const c of [search, team, cohort, risk, status]) c.addEventListener('input', () => { clearTimeout(t); t = window.setTimeout(() => void load(true), 250); });
  root.append(
    h('div', { class: 'view-head' }, h('h1', {}, 'Subjects'), ctx.canAdminister ? h('a', { class: 'button', href: '#/subjects/new' }, 'New subject') : null),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Search subjects', onsubmit: (e: Event) => e.preventDefault() },
      field('Search', search), field('Team', team), field('Cohort', cohort), field('Risk', risk), field('Status', status)),
    info,
    h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ...['Id', 'Name', 'Tag', 'Team', 'Cohort', 'Risk', 'Status', 'Conditions'].map((x) => h('th', { scope: 'col' }, x)))), tbody),
    more,
  );
  void load(true);
};
