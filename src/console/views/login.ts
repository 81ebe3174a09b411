import { api, ApiFailure } from '../api.js';
import { field, h, notice } from '../dom.js';
import type { RoleKind, Session } from '../session.js';

/** What the token may do, learnt by asking the API (no endpoint of its own). */
async function detectRole(token: string): Promise<{ role: RoleKind; team: string | null }> {
  await api('GET', '/readyz', undefined, token).catch((e: unknown) => {
    // 503 (loading) still proves the token; 401 does not.
    if (e instanceof ApiFailure && e.status === 503) return null;
    throw e;
  });
  try {
    await api('GET', '/metrics', undefined, token);
    try {
      await api('GET', '/v1/audit?limit=1', undefined, token);
      return { role: 'admin', team: null };
    } catch {
      return { role: 'operator', team: null };
    }
  } catch (e) {
    if (!(e instanceof ApiFailure) || e.status !== 403) throw e;
  }
  try {
    const alerts = await api<{ alerts: { team: string }[] }>('GET', '/v1/alerts?limit=1', undefined, token);
    const teams = await api<{ teams: { id: string }[] }>('GET', '/v1/teams?limit=1', undefined, token).catch(() => ({ teams: [] }));
    let team: string | null = teams.teams[0]?.id ?? alerts.alerts[0]?.team ?? null;
    if (team === null) {
      const subjects = await api<{ subjects: { team?: string }[] }>('GET', '/v1/subjects?limit=1', undefined, token).catch(() => ({ subjects: [] }));
      team = subjects.subjects[0]?.team ?? null;
    }
    return { role: 'team', team };
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 403) throw new Error('This token may only send fixes (ingest); the console needs an operator, admin or team token.');
    throw e;
  }
}

export function loginView(done: (s: Session) => Promise<void>, message?: string): HTMLElement {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' }) as HTMLInputElement;
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'name', required: true, maxlength: '200' }) as HTMLInputElement;
  const status = h('div', { class: 'login-status' }, message === undefined ? null : notice('info', message));
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'login-form', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'IOM monitoring console'),
    h('p', {}, 'Log in with the API token you were issued. It is kept for this browser tab only and is forgotten when the tab closes.'),
    field('API token', token),
    field('Your name (recorded on claims and decisions)', name, { hint: 'e.g. PC 1234 Smith, Leeds IOM' }),
    submit,
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = token.value.trim();
    const n = name.value.trim();
    if (t === '' || n === '') return;
    submit.disabled = true;
    status.replaceChildren(notice('info', 'Checking the token…'));
    detectRole(t).then(async ({ role, team }) => {
      token.value = '';
      await done({ token: t, role, team, name: n });
    }).catch((err: unknown) => {
      submit.disabled = false;
      const msg = err instanceof ApiFailure && err.status === 401 ? 'The service does not accept this token.' : (err as Error).message;
      status.replaceChildren(notice('error', msg));
      token.focus();
    });
  });
  queueMicrotask(() => token.focus());
  return h('div', { class: 'login-page' }, form);
}
