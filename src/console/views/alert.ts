import { api, enc, errorText, get, getOrNull, q } from '../api.js';
import { field, fill, h, notice, select } from '../dom.js';
import { conditionWords, OUTCOMES, outcomeWords, percent, SEVERITY_WORD, timeEl, typeWords, ukDateTime } from '../format.js';
import { createMap, zoneLayers, zoneShape, coordsOf, boundsOf, fit } from '../map.js';
import { TrailPlayer } from '../trail.js';
import type { Alert, DeadLetter, Device, Subject, Trail, ZoneFeature } from '../types.js';
import type { View } from './view.js';

const BEFORE_MS = 30 * 60_000;
const AFTER_MS = 30 * 60_000;

/**
 * One alert: what happened and where (the zone, or for proximity only the distance band: the
 * victim's position is never shown), the subject's trail around it with playback, claim and
 * decision, its history, delivery state and the tag's health.
 */
export const alertView = (episodeId: string): View => (root, ctx) => {
  let alive = true;
  const head = h('div', { class: 'view-head' }, h('h1', {}, 'Alert'), notice('info', 'Loading…'));
  const mapBox = h('div', { class: 'map-box' });
  const where = h('div', { class: 'where' });
  const actions = h('section', { class: 'panel', 'aria-labelledby': 'act-h' });
  const history = h('section', { class: 'panel', 'aria-labelledby': 'hist-h' });
  const delivery = h('section', { class: 'panel', 'aria-labelledby': 'del-h' });
  const health = h('section', { class: 'panel', 'aria-labelledby': 'health-h' });
  const trailBox = h('div');
  root.append(head, h('div', { class: 'alert-grid' },
    h('div', { class: 'alert-main' }, where, mapBox, trailBox),
    h('div', { class: 'alert-side' }, actions, history, delivery, health),
  ));
  const handle = createMap(mapBox, 'Map of the alert: zone and the subject\'s trail');
  let player: TrailPlayer | null = null;

  const render = (a: Alert): void => {
    ctx.feed.put(a);
    fill(head,
      h('p', { class: 'crumbs' }, h('a', { href: '#/queue' }, '← Alert queue')),
      h('h1', {}, h('span', { class: `badge sev-${a.severity}` }, SEVERITY_WORD[a.severity]), ` ${typeWords(a.type)}`),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Subject'), h('dd', {}, h('a', { href: `#/subjects/${enc(a.subjectId)}` }, a.subjectId)),
        h('dt', {}, 'Tag'), h('dd', {}, a.deviceId),
        h('dt', {}, 'Team'), h('dd', {}, a.team),
        h('dt', {}, 'State'), h('dd', { 'data-state': a.state }, a.state === 'open' ? 'Open' : 'Closed'),
        h('dt', {}, 'Opened'), h('dd', {}, timeEl(a.openedAt)),
        a.closedAt === undefined ? null : h('dt', {}, 'Closed'), a.closedAt === undefined ? null : h('dd', {}, timeEl(a.closedAt)),
        h('dt', {}, 'Confidence'), h('dd', {}, a.confidence === 'confirmed' ? 'Confirmed (accuracy circle wholly on the breach side)' : 'Possible (accuracy circle crosses the boundary)'),
        a.late ? h('dt', {}, 'Upload') : null, a.late ? h('dd', {}, 'Late (stored on the tag and uploaded after newer fixes)') : null,
      ),
    );
    renderActions(a);
    renderHistory(a);
    renderDelivery(a);
  };

  const renderActions = (a: Alert): void => {
    const msg = h('div', { class: 'msg' });
    const claimBy = h('input', { type: 'text', name: 'claimBy', value: ctx.session.name, required: true, maxlength: '200' }) as HTMLInputElement;
    const claimForm = h('form', { class: 'claim-form', 'aria-label': 'Claim this alert', novalidate: true },
      a.claim === undefined ? h('p', {}, 'Nobody is working this alert yet.') : h('p', { class: 'claimed' }, `Being worked by ${a.claim.by}${a.claim.assignedBy === undefined ? '' : ` (assigned by ${a.claim.assignedBy})`} since `, timeEl(a.claim.at)),
      field('Name', claimBy),
      h('button', { type: 'submit' }, a.claim === undefined ? 'Claim' : a.claim.by === ctx.session.name ? 'Claim again' : ctx.canAdminister ? 'Take over' : 'Claim'),
    );
    claimForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const force = a.claim !== undefined && a.claim.by !== claimBy.value && ctx.canAdminister;
      api<Alert>('POST', `/v1/alerts/${enc(a.episodeId)}/claim`, { by: claimBy.value.trim(), ...(force ? { force: true } : {}) })
        .then((r) => { render(r); (actions.querySelector('.msg') as HTMLElement).replaceChildren(notice('ok', `Claimed by ${claimBy.value.trim()}.`)); })
        .catch((err: unknown) => msg.replaceChildren(notice('error', errorText(err))));
    });
    const outcome = select('outcome', [['', 'Choose an outcome…'], ...OUTCOMES], '', { required: true });
    const note = h('textarea', { name: 'note', rows: '3', maxlength: '2000' }) as HTMLTextAreaElement;
    const by = h('input', { type: 'text', name: 'by', value: ctx.session.name, required: true, maxlength: '200' }) as HTMLInputElement;
    const outcomeField = field('Outcome', outcome);
    const decide = h('form', { class: 'decision-form', 'aria-label': 'Record a decision', novalidate: true },
      h('h3', {}, 'Record a decision'),
      outcomeField, field('Note', note, { hint: 'What was done and why (kept for good; visible to police and probation).' }), field('Decided by', by),
      h('button', { type: 'submit' }, 'Record decision'),
    );
    decide.addEventListener('submit', (e) => {
      e.preventDefault();
      if (outcome.value === '') {
        outcomeField.querySelector('.field-error')!.textContent = 'Choose an outcome.';
        outcome.setAttribute('aria-invalid', 'true');
        outcome.focus();
        return;
      }
      api<Alert>('POST', `/v1/alerts/${enc(a.episodeId)}/ack`, { by: by.value.trim(), note: note.value, outcome: outcome.value })
        .then((r) => { render(r); (actions.querySelector('.msg') as HTMLElement).replaceChildren(notice('ok', `Decision recorded: ${outcomeWords(outcome.value)}.`)); })
        .catch((err: unknown) => msg.replaceChildren(notice('error', errorText(err))));
    });
    fill(actions, h('h2', { id: 'act-h' }, 'Work this alert'), msg, claimForm, decide);
  };

  const renderHistory = (a: Alert): void => {
    type Item = { at: string; text: (Node | string)[]; kind: string };
    const items: Item[] = [];
    for (const ev of a.events ?? []) {
      items.push({ at: ev.at, kind: ev.event, text: [`${ev.event === 'opened' ? 'Opened' : ev.event === 'closed' ? 'Closed' : 'Updated'}: ${SEVERITY_WORD[ev.severity]}, ${ev.confidence}${ev.withinM === undefined ? '' : `, within ${ev.withinM} m`}`] });
    }
    if (a.claim !== undefined) items.push({ at: a.claim.at, kind: 'claim', text: [`Claimed by ${a.claim.by} (${a.claim.role})`] });
    for (const d of a.decisions ?? (a.acknowledged === undefined ? [] : [a.acknowledged])) {
      items.push({ at: d.at, kind: 'decision', text: [h('strong', {}, outcomeWords(d.outcome)), ` — ${d.by} (${d.role})`, d.note === '' ? '' : `: “${d.note}”`] });
    }
    items.sort((x, y) => (x.at < y.at ? -1 : 1));
    fill(history, h('h2', { id: 'hist-h' }, 'History'),
      items.length === 0 ? h('p', {}, 'Nothing yet.') : h('ol', { class: 'history' }, ...items.map((it) => h('li', { 'data-kind': it.kind }, timeEl(it.at), ' ', ...it.text))));
  };

  const renderDelivery = (a: Alert): void => {
    const rows: HTMLElement[] = [];
    const d = a.delivery ?? {};
    const channels = new Set(Object.keys(d).map((k) => k.slice(k.indexOf(':') + 1)));
    for (const ch of channels) {
      const delivered = d[`delivered:${ch}`] as string | undefined;
      const dead = d[`dead:${ch}`] as { error?: string; at?: string } | undefined;
      const resent = d[`resent:${ch}`] as string | undefined;
      const state = delivered !== undefined ? 'Delivered' : resent !== undefined ? 'Re-sent, retrying' : dead !== undefined ? 'Dead letter' : 'Retrying';
      const cell = h('td', {}, state, dead?.error === undefined || delivered !== undefined ? null : h('div', { class: 'meta' }, dead.error));
      const resend = dead !== undefined && delivered === undefined && ctx.canAdminister
        ? h('button', { type: 'button', class: 'secondary', onclick: () => void resendFor(a, ch) }, 'Re-send') : null;
      rows.push(h('tr', {}, h('td', {}, ch), cell, h('td', {}, delivered === undefined ? '' : ukDateTime(delivered)), h('td', {}, resend)));
    }
    fill(delivery, h('h2', { id: 'del-h' }, 'Delivery'),
      rows.length === 0 ? h('p', {}, 'No webhook deliveries recorded for this alert (the team may have no webhooks, or delivery is still queued).')
        : h('table', {}, h('thead', {}, h('tr', {}, ...['Channel', 'State', 'Delivered', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...rows)),
      h('div', { class: 'msg' }));
  };

  const resendFor = async (a: Alert, channel: string): Promise<void> => {
    const msg = delivery.querySelector('.msg') as HTMLElement;
    try {
      const dead = await get<{ deadLetters: DeadLetter[] }>(`/v1/deliveries/dead${q({ limit: 1000, channel })}`);
      const hits = dead.deadLetters.filter((x) => x.key.startsWith(a.episodeId));
      if (hits.length === 0) throw new Error('no dead letter of this alert is held for that channel');
      for (const hit of hits) await api('POST', `/v1/deliveries/dead/${enc(hit.jobId)}/resend`);
      msg.replaceChildren(notice('ok', `Re-sent ${hits.length} delivery${hits.length === 1 ? '' : 'ies'}.`));
    } catch (e) {
      msg.replaceChildren(notice('error', errorText(e)));
    }
  };

  const renderHealth = async (a: Alert): Promise<void> => {
    fill(health, h('h2', { id: 'health-h' }, 'Tag health'), notice('info', 'Loading…'));
    try {
      const d = await getOrNull<Device>(`/v1/devices/${enc(a.deviceId)}`);
      if (!alive) return;
      if (d === null || d.health === undefined) {
        fill(health, h('h2', { id: 'health-h' }, 'Tag health'), h('p', {}, d === null ? `Tag ${a.deviceId} is not in the device register, so no health is shown.` : 'This service does not report device health.'));
        return;
      }
      const hl = d.health;
      fill(health, h('h2', { id: 'health-h' }, 'Tag health'), h('dl', { class: 'facts' },
        h('dt', {}, 'Last heard'), h('dd', {}, hl.lastSeen === null ? '—' : timeEl(hl.lastSeen)),
        h('dt', {}, 'Battery'), h('dd', {}, percent(hl.battery)),
        h('dt', {}, 'Strap'), h('dd', {}, hl.strap ?? '—'),
        h('dt', {}, 'Last fix'), h('dd', {}, hl.lastFix === null || hl.lastFix === undefined ? '—' : timeEl(hl.lastFix.ts)),
      ));
    } catch (e) {
      fill(health, h('h2', { id: 'health-h' }, 'Tag health'), notice('error', errorText(e)));
    }
  };

  const renderWhere = async (a: Alert): Promise<void> => {
    const subject = await getOrNull<Subject>(`/v1/subjects/${enc(a.subjectId)}`);
    const condition = subject?.conditions.find((c) => c.id === a.conditionId);
    const zoneId = a.zoneId ?? condition?.zone;
    const zone = zoneId === undefined ? null : await getOrNull<ZoneFeature>(`/v1/zones/${enc(zoneId)}`);
    if (!alive) return;
    const withinM = a.events?.find((e) => e.withinM !== undefined)?.withinM;
    fill(where,
      condition === undefined ? null : h('p', { class: 'condition' }, h('strong', {}, 'Condition: '), conditionWords(condition, (id) => (zone !== null && zone.id === id ? String(zone.properties?.name ?? id) : id))),
      a.type.startsWith('proximity') ? h('p', { class: 'proximity' }, h('strong', {}, 'Distance: '), `the subject came within ${withinM ?? condition?.distanceM ?? '?'} m of the victim. The victim's position is never shown.`) : null,
    );
    const m = await handle.ready;
    if (m === null || !alive) return;
    const setZones = zoneLayers(m);
    if (zone !== null) setZones([zoneShape(zone)]);
    player = new TrailPlayer(m);
    trailBox.append(player.el);
    const fromMs = Date.parse(a.openedAt) - BEFORE_MS;
    const toMs = Math.min(Date.now() + 60_000, (a.closedAt === undefined ? Date.now() : Date.parse(a.closedAt)) + AFTER_MS);
    const trail = await getOrNull<Trail>(`/v1/subjects/${enc(a.subjectId)}/trail${q({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), limit: 5000 })}`);
    if (!alive) return;
    const breachSeq = a.events?.find((e) => e.event === 'opened')?.fix?.seq;
    player.setTrail(trail?.features ?? [], breachSeq === undefined ? {} : { breachSeq });
    // The zone and the whole trail in view together.
    fit(m, boundsOf([...player.coords(), ...(zone === null ? [] : coordsOf(zoneShape(zone).geometry))]));
  };

  api<Alert>('GET', `/v1/alerts/${enc(episodeId)}`).then((a) => {
    if (!alive) return;
    render(a);
    void renderWhere(a).catch((e: unknown) => where.append(notice('error', errorText(e))));
    void renderHealth(a);
  }).catch((e: unknown) => {
    fill(head, h('p', { class: 'crumbs' }, h('a', { href: '#/queue' }, '← Alert queue')), h('h1', {}, 'Alert'), notice('error', errorText(e)));
  });
  return () => {
    alive = false;
    player?.destroy();
    handle.destroy();
  };
};
