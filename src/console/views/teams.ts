import { api, ApiFailure, enc, errorText, get, getOrNull } from '../api.js';
import { field, fill, h, notice, setFieldError } from '../dom.js';
import type { TeamRouting, Webhook } from '../types.js';
import type { View } from './view.js';

/**
 * Team routing: each team's webhooks and escalation. Stored secrets are never shown (the API
 * answers "[set]"); saving needs every secret entered again, since the service keeps none it
 * could fill in, and a routing change is rare and deliberate.
 */
export const teamsView = (): View => (root, ctx) => {
  const list = h('ul', { class: 'zone-list' });
  const panel = h('section', { class: 'panel' });
  const info = h('p', { role: 'status' });
  root.append(h('div', { class: 'view-head' }, h('h1', {}, 'Teams and alert routing'),
    ctx.canAdminister ? h('button', { type: 'button', onclick: () => edit({ id: '', webhooks: [] }, true) }, 'Set up a team') : null),
  h('div', { class: 'zones-grid' }, h('div', { class: 'zones-side' }, info, list), h('div', { class: 'zones-main' }, panel)));

  const load = async (): Promise<void> => {
    try {
      const r = await get<{ teams: TeamRouting[]; total: number }>('/v1/teams?limit=1000');
      list.replaceChildren(...r.teams.map((t) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => show(t) }, h('strong', {}, t.id), h('span', { class: 'meta' }, ` ${t.webhooks.length} webhook${t.webhooks.length === 1 ? '' : 's'}${t.escalation === undefined ? '' : ' · escalation'}`)))));
      info.textContent = r.total === 0 ? 'No team has routing configured yet.' : `${r.total} team${r.total === 1 ? '' : 's'} with routing.`;
    } catch (e) {
      info.replaceChildren(notice('error', errorText(e)));
    }
  };

  const show = (t: TeamRouting): void => {
    fill(panel, h('h2', {}, `Team ${t.id}`),
      h('h3', {}, 'Webhooks'),
      t.webhooks.length === 0 ? h('p', {}, 'None: alerts reach this team only in the console and the alert stream.') : h('table', {}, h('thead', {}, h('tr', {}, ...['Id', 'URL', 'Secret', 'Timeout'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, ...t.webhooks.map((w) => h('tr', {}, h('td', {}, w.id ?? 'default'), h('td', {}, w.url), h('td', {}, 'stored, not shown'), h('td', {}, `${w.timeoutMs ?? 5000} ms`))))),
      h('h3', {}, 'Escalation'),
      t.escalation === undefined ? h('p', {}, 'None.') : h('p', {}, `To ${t.escalation.webhook.url} when a critical alert is not acknowledged within ${Math.round(t.escalation.afterS.critical / 60)} min (high: ${Math.round(t.escalation.afterS.high / 60)} min), repeated every ${Math.round(t.escalation.repeatS / 60)} min, at most ${t.escalation.max} times.`),
      ctx.canAdminister ? h('button', { type: 'button', onclick: () => edit(t, false) }, 'Change routing') : null);
  };

  const edit = (t: TeamRouting, isNew: boolean): void => {
    const idIn = h('input', { type: 'text', name: 'teamId', value: t.id, readonly: !isNew, required: true }) as HTMLInputElement;
    const hooks = h('div', { class: 'hooks' });
    const hookRow = (w: Partial<Webhook>, path: string): HTMLElement => {
      const row = h('fieldset', { class: 'hook', 'data-path': path }, h('legend', {}, 'Webhook'),
        h('div', { class: 'grid' },
          field('Id', h('input', { type: 'text', name: 'hid', value: w.id ?? 'default' }) as HTMLInputElement, { path: `${path}.id` }),
          field('URL', h('input', { type: 'url', name: 'url', value: w.url ?? '', required: true }) as HTMLInputElement, { path: `${path}.url` }),
          field('Signing secret', h('input', { type: 'password', name: 'secret', autocomplete: 'new-password', required: true, placeholder: w.secret === '[set]' ? 'stored — enter it again to save' : 'at least 16 characters' }) as HTMLInputElement, { path: `${path}.secret`, hint: 'Write-only: never shown again.' }),
          field('Timeout (ms)', h('input', { type: 'number', name: 'timeoutMs', value: String(w.timeoutMs ?? 5000), min: '100', max: '60000' }) as HTMLInputElement, { path: `${path}.timeoutMs` })),
        path.startsWith('webhooks') ? h('button', { type: 'button', class: 'secondary small danger', onclick: () => { row.remove(); renumber(); } }, 'Remove webhook') : null);
      return row;
    };
    const renumber = (): void => {
      [...hooks.children].forEach((row, i) => {
        row.setAttribute('data-path', `webhooks[${i}]`);
        for (const f of row.querySelectorAll('.field')) f.setAttribute('data-path', (f.getAttribute('data-path') ?? '').replace(/^webhooks\[\d+\]/, `webhooks[${i}]`));
      });
    };
    t.webhooks.forEach((w, i) => hooks.append(hookRow(w, `webhooks[${i}]`)));
    const escOn = h('input', { type: 'checkbox', name: 'escalate', checked: t.escalation !== undefined }) as HTMLInputElement;
    const esc = t.escalation;
    const escHook = hookRow(esc?.webhook ?? {}, 'escalation.webhook');
    const afterC = h('input', { type: 'number', name: 'afterCritical', min: '1', value: String(Math.round((esc?.afterS.critical ?? 300) / 60)) }) as HTMLInputElement;
    const afterH = h('input', { type: 'number', name: 'afterHigh', min: '1', value: String(Math.round((esc?.afterS.high ?? 900) / 60)) }) as HTMLInputElement;
    const repeat = h('input', { type: 'number', name: 'repeat', min: '1', value: String(Math.round((esc?.repeatS ?? 900) / 60)) }) as HTMLInputElement;
    const max = h('input', { type: 'number', name: 'max', min: '1', max: '20', value: String(esc?.max ?? 3) }) as HTMLInputElement;
    const escBox = h('div', { class: 'esc', hidden: !escOn.checked }, escHook, h('div', { class: 'grid' },
      field('Critical: escalate after (min)', afterC, { path: 'escalation.afterS.critical' }), field('High: escalate after (min)', afterH, { path: 'escalation.afterS.high' }),
      field('Repeat every (min)', repeat, { path: 'escalation.repeatS' }), field('At most (times)', max, { path: 'escalation.max' })));
    escOn.addEventListener('change', () => { escBox.hidden = !escOn.checked; });
    const msg = h('div', { role: 'status' });
    const form = h('form', { class: 'team-form', 'aria-label': 'Team routing', novalidate: true },
      h('h2', {}, isNew ? 'Set up a team' : `Routing of ${t.id}`),
      field('Team id', idIn, { path: 'id' }),
      h('h3', {}, 'Webhooks'), hooks,
      h('button', { type: 'button', class: 'secondary', onclick: () => { hooks.append(hookRow({}, `webhooks[${hooks.children.length}]`)); } }, 'Add a webhook'),
      h('h3', {}, 'Escalation'), h('label', {}, escOn, ' Escalate unacknowledged critical and high alerts'), escBox,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save routing')), msg);
    const hookValue = (row: Element): Webhook => {
      const v = (n: string): string => (row.querySelector(`[name=${n}]`) as HTMLInputElement).value.trim();
      return { id: v('hid') || 'default', url: v('url'), secret: v('secret'), timeoutMs: Number(v('timeoutMs') || 5000) };
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      for (const f of form.querySelectorAll('.field')) setFieldError(f, null);
      const id = idIn.value.trim();
      const body: Record<string, unknown> = { webhooks: [...hooks.children].map(hookValue) };
      if (escOn.checked) body.escalation = { webhook: hookValue(escHook), afterS: { critical: Number(afterC.value) * 60, high: Number(afterH.value) * 60 }, repeatS: Number(repeat.value) * 60, max: Number(max.value) };
      const missing = [...form.querySelectorAll<HTMLInputElement>('input[name=secret]')].filter((i) => !(i.closest('.esc')?.hasAttribute('hidden') ?? false) && i.value.length < 16);
      for (const i of missing) setFieldError(i.closest('.field')!, 'Enter the signing secret (at least 16 characters); stored secrets are never shown, so each must be given again.');
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(id)) setFieldError(idIn.closest('.field')!, 'Give the team id.');
      const firstBad = form.querySelector<HTMLElement>('[aria-invalid=true]');
      if (firstBad !== null) return firstBad.focus();
      api<TeamRouting>('PUT', `/v1/teams/${enc(id)}`, body).then((r) => { show(r); void load(); panel.prepend(notice('ok', 'Routing saved.')); })
        .catch((err: unknown) => {
          const path = err instanceof ApiFailure ? ((err.details as { path?: string } | undefined)?.path ?? '').replace(/^body\.?/, '') : '';
          const target = path === '' ? null : [...form.querySelectorAll('.field[data-path]')].find((f) => path === f.getAttribute('data-path') || path.startsWith(`${f.getAttribute('data-path')}.`));
          if (target !== null && target !== undefined) {
            setFieldError(target, (err as Error).message.replace(/^body\.[^\s:]*:\s*/, ''));
            (target.querySelector('input') as HTMLElement | null)?.focus();
          } else msg.replaceChildren(notice('error', errorText(err)));
        });
    });
    fill(panel, form);
    (isNew ? idIn : hooks.querySelector('input') ?? idIn).focus();
  };

  void load().then(async () => {
    if (ctx.session.role === 'team' && ctx.session.team !== null) {
      const own = await getOrNull<TeamRouting>(`/v1/teams/${enc(ctx.session.team)}`);
      if (own !== null) show(own);
    }
  });
};
