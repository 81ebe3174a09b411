import { api, ApiFailure, enc, errorText, get, getOrNull, q } from '../api.js';
import { field, fill, h, notice, select, setFieldError } from '../dom.js';
import { conditionWords } from '../format.js';
import type { Condition, Subject, ZoneSummary } from '../types.js';
import type { View } from './view.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
const DEVICE_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Create or edit a subject and its conditions. The API's 400 names the field (`details.path`,
 * e.g. body.conditions[1].zone); the message is shown under that field and focus moves to it.
 * Fields the form does not edit (schedule exceptions, confirmFixes…) are kept as they were.
 */
export const subjectFormView = (id: string | null): View => (root, ctx) => {
  let alive = true;
  const status = h('div', { class: 'form-status', role: 'status' });
  const form = h('form', { class: 'subject-form', novalidate: true, 'aria-labelledby': 'sf-h' });
  root.append(h('div', { class: 'view-head' }, h('p', { class: 'crumbs' }, h('a', { href: id === null ? '#/subjects' : `#/subjects/${enc(id)}` }, '← Back')), h('h1', { id: 'sf-h' }, id === null ? 'New subject' : `Edit subject ${id}`)), status, form);
  if (!ctx.canAdminister) {
    fill(form, notice('error', 'Only operators and administrators change subjects.'));
    return;
  }
  (async () => {
    const original: Subject = id === null ? { id: '', deviceId: '', team: '', conditions: [] } : await get<Subject>(`/v1/subjects/${enc(id)}`);
    const zones = await get<{ zones: ZoneSummary[] }>(`/v1/zones${q({ limit: 1000 })}`).then((r) => r.zones).catch(() => []);
    if (!alive) return;
    build(original, zones);
  })().catch((e: unknown) => status.replaceChildren(notice('error', errorText(e))));

  function build(s: Subject, zones: ZoneSummary[]): void {
    const inp = (name: string, value: string | number | undefined, attrs: Record<string, string> = {}): HTMLInputElement =>
      h('input', { type: 'text', name, value: value === undefined ? '' : String(value), ...attrs }) as HTMLInputElement;
    const fId = inp('id', s.id, id === null ? { required: '' } : { readonly: '' });
    const fName = inp('name', s.name);
    const fDevice = inp('deviceId', s.deviceId, { required: '' });
    const fTeam = inp('team', s.team, { required: '' });
    const fCohort = select('cohort', [['', '—'], ['fixed', 'Fixed'], ['flex', 'Flex'], ['free', 'Free']], s.cohort ?? '');
    const fRisk = select('risk', [['low', 'Low'], ['medium', 'Medium'], ['high', 'High'], ['very_high', 'Very high']], s.risk ?? 'medium');
    const fMappa = select('mappaLevel', [['', 'None'], ['1', '1'], ['2', '2'], ['3', '3']], s.mappaLevel === undefined ? '' : String(s.mappaLevel));
    const fTz = inp('timezone', s.timezone ?? 'Europe/London');
    const fStatus = select('status', [['active', 'Active'], ['suspended', 'Suspended (e.g. in custody): no alerts']], s.status ?? 'active');
    const fFrom = inp('validFrom', s.validFrom, { placeholder: '2026-11-01T00:00:00Z' });
    const fTo = inp('validTo', s.validTo, { placeholder: '2027-05-01T00:00:00Z' });
    const condList = h('ol', { class: 'cond-list' });
    const editors: ConditionEditor[] = [];
    const addCondition = (c: Condition): void => {
      const ed = new ConditionEditor(c, zones, () => {
        editors.splice(editors.indexOf(ed), 1);
        ed.el.remove();
        renumber();
      });
      editors.push(ed);
      condList.append(ed.el);
      renumber();
    };
    const renumber = (): void => editors.forEach((e, i) => e.setIndex(i));
    for (const c of s.conditions) addCondition(c);
    const nextId = (): string => {
      let n = editors.length + 1;
      while (editors.some((e) => e.idInput.value === `c${n}`)) n++;
      return `c${n}`;
    };
    const addBtn = h('button', { type: 'button', class: 'secondary', onclick: () => { addCondition({ id: nextId(), type: 'exclusion', zone: zones[0]?.id ?? '' }); editors[editors.length - 1].idInput.focus(); } }, 'Add a condition');
    fill(form,
      h('fieldset', {}, h('legend', {}, 'Subject'),
        h('div', { class: 'grid' },
          field('Id', fId, { path: 'id', hint: 'Letters, digits, . _ - (up to 128)' }), field('Name', fName, { path: 'name' }),
          field('Tag (device id)', fDevice, { path: 'deviceId' }), field('Team', fTeam, { path: 'team' }),
          field('Cohort', fCohort, { path: 'cohort' }), field('Risk of serious harm', fRisk, { path: 'risk' }),
          field('MAPPA level', fMappa, { path: 'mappaLevel' }), field('Time zone', fTz, { path: 'timezone', hint: 'IANA name; schedules are in this zone' }),
          field('Status', fStatus, { path: 'status' }), field('Valid from (RFC 3339, optional)', fFrom, { path: 'validFrom' }), field('Valid until (optional)', fTo, { path: 'validTo' }),
        )),
      h('fieldset', {}, h('legend', {}, 'Conditions'), condList, addBtn),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save subject'), h('a', { class: 'button secondary', href: id === null ? '#/subjects' : `#/subjects/${enc(id)}` }, 'Cancel')),
    );
    form.onsubmit = (e) => {
      e.preventDefault();
      for (const w of form.querySelectorAll('.field')) setFieldError(w, null);
      status.replaceChildren();
      const out: Record<string, unknown> = { ...s };
      delete out.id;
      const setOpt = (k: string, v: string): void => {
        if (v.trim() === '') delete out[k];
        else out[k] = v.trim();
      };
      out.deviceId = fDevice.value.trim();
      out.team = fTeam.value.trim();
      setOpt('name', fName.value);
      setOpt('cohort', fCohort.value);
      out.risk = fRisk.value;
      if (fMappa.value === '') delete out.mappaLevel;
      else out.mappaLevel = Number(fMappa.value);
      out.timezone = fTz.value.trim() || 'Europe/London';
      out.status = fStatus.value;
      setOpt('validFrom', fFrom.value);
      setOpt('validTo', fTo.value);
      out.conditions = editors.map((ed) => ed.value());
      const sid = id ?? fId.value.trim();
      // The checks a person can fix at once; the API checks everything else and names the field.
      const local: [string, string][] = [];
      if (!ID_RE.test(sid)) local.push(['id', 'Give an id of letters, digits, ".", "_" or "-".']);
      if (!DEVICE_RE.test(String(out.deviceId))) local.push(['deviceId', 'Give the tag\'s device id (letters, digits, . _ : -).']);
      if (!ID_RE.test(String(out.team))) local.push(['team', 'Give the managing team\'s id.']);
      editors.forEach((ed, i) => local.push(...ed.check().map(([p, m]): [string, string] => [`conditions[${i}].${p}`, m])));
      if (local.length > 0) {
        for (const [p, m] of local) showError(p, m);
        return;
      }
      api<Subject>('PUT', `/v1/subjects/${enc(sid)}`, out).then(() => {
        location.hash = `#/subjects/${enc(sid)}`;
      }).catch((err: unknown) => {
        const path = err instanceof ApiFailure ? (err.details as { path?: string } | undefined)?.path : undefined;
        if (path !== undefined && path !== null) {
          const rel = path.replace(/^body\.?/, '');
          const msg = err instanceof Error ? err.message.replace(/^body\.[^\s:]*:\s*/, '') : String(err);
          if (showError(rel, msg)) return;
        }
        status.replaceChildren(notice('error', errorText(err)));
      });
    };
    function showError(path: string, message: string): boolean {
      // The most specific field whose path is a prefix of the error's.
      let best: Element | null = null;
      let bestLen = -1;
      for (const w of form.querySelectorAll('[data-path]')) {
        const p = w.getAttribute('data-path') ?? '';
        if ((path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) && p.length > bestLen) {
          best = w;
          bestLen = p.length;
        }
      }
      if (best === null) return false;
      setFieldError(best, message);
      const control = best.querySelector('input, select, textarea') as HTMLElement | null;
      if (form.querySelector('[aria-invalid="true"]') === control) control?.focus();
      status.replaceChildren(notice('error', 'The subject was not saved: see the marked field.'));
      return true;
    }
  }
  return () => { alive = false; };
};

/** One condition's fields. */
class ConditionEditor {
  readonly el: HTMLLIElement;
  readonly idInput: HTMLInputElement;
  private readonly type: HTMLSelectElement;
  private readonly zone: HTMLSelectElement;
  private readonly layer: HTMLInputElement;
  private readonly bufferM: HTMLInputElement;
  private readonly graceS: HTMLInputElement;
  private readonly victim: HTMLInputElement;
  private readonly distanceM: HTMLInputElement;
  private readonly warnM: HTMLInputElement;
  private readonly scheduled: HTMLInputElement;
  private readonly windows: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly parts: Record<string, HTMLElement> = {};
  private index = 0;

  constructor(private readonly original: Condition, zones: ZoneSummary[], remove: () => void) {
    const c = original;
    const num = (name: string, v: number | undefined): HTMLInputElement => h('input', { type: 'number', name, min: '0', step: 'any', value: v === undefined ? '' : String(v) }) as HTMLInputElement;
    this.idInput = h('input', { type: 'text', name: 'cid', value: c.id }) as HTMLInputElement;
    this.type = select('type', [['exclusion', 'Exclusion (must not enter)'], ['curfew', 'Curfew (must be at, on a schedule)'], ['inclusion', 'Inclusion (must stay within)'], ['proximity', 'Proximity (must keep away from victim)']], c.type);
    const zoneOpts: [string, string][] = [['', '— none (use a layer) —'], ...zones.map((z): [string, string] => [z.id, z.name === undefined || z.name === z.id ? z.id : `${z.name} (${z.id})`])];
    if (c.zone !== undefined && !zones.some((z) => z.id === c.zone)) zoneOpts.push([c.zone, c.zone]);
    this.zone = select('zone', zoneOpts, c.zone ?? '');
    this.layer = h('input', { type: 'text', name: 'layer', value: c.layer ?? '' }) as HTMLInputElement;
    this.bufferM = num('bufferM', c.bufferM);
    this.graceS = num('graceS', c.graceS === undefined ? undefined : c.graceS / 60);
    this.victim = h('input', { type: 'text', name: 'victimDeviceId', value: c.victimDeviceId ?? '', autocomplete: 'off' }) as HTMLInputElement;
    this.distanceM = num('distanceM', c.distanceM);
    this.warnM = num('warnM', c.warnM);
    this.scheduled = h('input', { type: 'checkbox', name: 'scheduled', checked: c.schedule !== undefined }) as HTMLInputElement;
    this.windows = h('div', { class: 'windows' });
    for (const w of c.schedule?.windows ?? []) this.addWindow(w);
    this.summary = h('p', { class: 'cond-summary', 'aria-live': 'polite' });
    const p = (k: string, el: HTMLElement): HTMLElement => (this.parts[k] = el);
    this.el = h('li', { class: 'cond' },
      h('div', { class: 'grid' },
        p('id', field('Condition id', this.idInput)), p('type', field('Type', this.type)),
        p('zone', field('Zone', this.zone)), p('layer', field('Or a layer', this.layer, { hint: 'every zone of a shared layer' })),
        p('bufferM', field('Warning band (m)', this.bufferM)), p('graceS', field('Grace (minutes)', this.graceS)),
        p('victimDeviceId', field('Victim\'s device id', this.victim)), p('distanceM', field('Keep-away distance (m)', this.distanceM)), p('warnM', field('Warning distance (m)', this.warnM)),
      ),
      p('schedule', h('div', { class: 'field', 'data-path': '' }, h('label', {}, this.scheduled, ' On a schedule'), this.windows,
        h('button', { type: 'button', class: 'secondary small', onclick: () => this.addWindow({ days: [...DAYS], start: '19:00', end: '07:00' }) }, 'Add a time window'),
        h('div', { class: 'field-error', role: 'alert' }))),
      this.summary,
      h('button', { type: 'button', class: 'secondary small danger', onclick: remove }, 'Remove this condition'),
    );
    this.el.addEventListener('input', () => this.refresh());
    this.el.addEventListener('change', () => this.refresh());
    this.refresh();
  }

  setIndex(i: number): void {
    this.index = i;
    for (const [k, el] of Object.entries(this.parts)) el.setAttribute('data-path', k === 'schedule' ? `conditions[${i}].schedule` : `conditions[${i}].${k}`);
    this.el.setAttribute('aria-label', `Condition ${i + 1}`);
    this.el.setAttribute('data-path', `conditions[${i}]`);
  }

  private addWindow(w: { days: string[]; start: string; end: string }): void {
    const row = h('div', { class: 'window', role: 'group', 'aria-label': 'Time window' },
      h('span', { class: 'days' }, ...DAYS.map((d) => h('label', {}, h('input', { type: 'checkbox', name: 'day', value: d, checked: w.days.includes(d) }), ` ${d[0].toUpperCase()}${d.slice(1)}`))),
      h('label', {}, 'From ', h('input', { type: 'time', name: 'start', value: w.start })),
      h('label', {}, 'to ', h('input', { type: 'time', name: 'end', value: w.end })),
      h('button', { type: 'button', class: 'secondary small', onclick: () => { row.remove(); this.refresh(); } }, 'Remove window'),
    );
    this.windows.append(row);
    this.scheduled.checked = true;
    if (this.summary !== undefined) this.refresh();
  }

  private refresh(): void {
    const t = this.type.value;
    const show: Record<string, boolean> = {
      zone: t !== 'proximity', layer: t === 'exclusion' || t === 'inclusion', bufferM: t === 'exclusion', graceS: t === 'curfew' || t === 'inclusion',
      victimDeviceId: t === 'proximity', distanceM: t === 'proximity', warnM: t === 'proximity', schedule: t !== 'proximity',
    };
    for (const [k, on] of Object.entries(show)) this.parts[k].hidden = !on;
    // A curfew always has a schedule: start from the usual overnight window.
    if (t === 'curfew' && this.windows.children.length === 0) this.addWindow({ days: [...DAYS], start: '19:00', end: '07:00' });
    if (t === 'curfew') this.scheduled.checked = true;
    this.windows.hidden = !this.scheduled.checked;
    try {
      this.summary.textContent = conditionWords(this.value());
    } catch {
      this.summary.textContent = '';
    }
  }

  value(): Condition {
    const t = this.type.value as Condition['type'];
    // Start from what was stored for the fields this form does not show (except, confirmFixes…).
    const base: Record<string, unknown> = { ...this.original };
    for (const k of ['zone', 'layer', 'bufferM', 'graceS', 'victimDeviceId', 'distanceM', 'warnM', 'schedule']) delete base[k];
    if (this.original.type !== t) for (const k of Object.keys(base)) if (k !== 'id' && k !== 'type') delete base[k];
    const c: Condition = { ...base, id: this.idInput.value.trim(), type: t } as Condition;
    const n = (el: HTMLInputElement): number | undefined => (el.value.trim() === '' ? undefined : Number(el.value));
    if (t !== 'proximity') {
      if (this.zone.value !== '') c.zone = this.zone.value;
      else if (this.layer.value.trim() !== '' && t !== 'curfew') c.layer = this.layer.value.trim();
      if (t === 'exclusion' && n(this.bufferM) !== undefined) c.bufferM = n(this.bufferM);
      if ((t === 'curfew' || t === 'inclusion') && n(this.graceS) !== undefined) c.graceS = Math.round(n(this.graceS)! * 60);
      if (this.scheduled.checked || t === 'curfew') {
        const windows = [...this.windows.querySelectorAll('.window')].map((w) => ({
          days: [...w.querySelectorAll<HTMLInputElement>('input[name=day]:checked')].map((x) => x.value),
          start: (w.querySelector('input[name=start]') as HTMLInputElement).value,
          end: (w.querySelector('input[name=end]') as HTMLInputElement).value,
        }));
        c.schedule = { windows, ...(this.original.schedule?.except === undefined ? {} : { except: this.original.schedule.except }) };
      }
    } else {
      c.victimDeviceId = this.victim.value.trim();
      c.distanceM = n(this.distanceM);
      if (n(this.warnM) !== undefined) c.warnM = n(this.warnM);
    }
    return c;
  }

  /** Problems to show before sending: [field, message]. */
  check(): [string, string][] {
    const c = this.value();
    const out: [string, string][] = [];
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(c.id)) out.push(['id', 'Give the condition an id (e.g. c1).']);
    if (c.type !== 'proximity' && c.zone === undefined && c.layer === undefined) out.push(['zone', 'Choose a zone (or give a layer).']);
    if (c.type === 'curfew' && (c.schedule?.windows.length ?? 0) === 0) out.push(['schedule', 'A curfew needs at least one time window.']);
    c.schedule?.windows.forEach((w) => {
      if (w.days.length === 0) out.push(['schedule', 'Tick at least one day for each window.']);
      if (w.start === '' || w.end === '') out.push(['schedule', 'Give each window a start and an end time.']);
    });
    if (c.type === 'proximity') {
      if (c.victimDeviceId === '') out.push(['victimDeviceId', 'Give the victim\'s device id.']);
      if (c.distanceM === undefined || !(c.distanceM > 0)) out.push(['distanceM', 'Give a distance in metres greater than 0.']);
      else if (c.warnM !== undefined && c.warnM <= c.distanceM) out.push(['warnM', 'The warning distance must be greater than the keep-away distance.']);
    }
    return out;
  }
}

export { getOrNull };
