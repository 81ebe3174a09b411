import type { Condition, Schedule, Severity, Subject } from './types.js';

/**
 * Times as officers read them: UK local time (Europe/London, GMT or BST), with the UTC instant
 * for a title attribute (hover); severities, types and outcomes in words; conditions as
 * sentences.
 */
const UK_TIME = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const UK_DATE_TIME = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short' });

export function ukTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : UK_TIME.format(d);
}

export function ukDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : UK_DATE_TIME.format(d);
}

/** The UTC form for hover: "2026-11-23 19:02:11 UTC". */
export function utcTitle(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A <time> element: UK local time shown, UTC on hover, machine time in datetime. */
export function timeEl(iso: string, long = true): HTMLTimeElement {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.title = utcTitle(iso);
  t.textContent = long ? ukDateTime(iso) : ukTime(iso);
  return t;
}

export function ago(iso: string, now = Date.now()): string {
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 3, high: 2, medium: 1, low: 0 };
export const SEVERITY_WORD: Record<Severity, string> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };

const TYPE_WORDS: Record<string, string> = {
  exclusion: 'Entered exclusion zone',
  exclusion_buffer: 'Near exclusion zone',
  curfew: 'Curfew breach',
  inclusion: 'Left required area',
  proximity: 'Too close to victim',
  proximity_warning: 'Approaching victim',
  tamper: 'Strap tamper',
  battery_low: 'Battery low',
  no_fix: 'No location fix',
  device_offline: 'Device offline',
};
export function typeWords(t: string): string {
  return TYPE_WORDS[t] ?? t;
}

export const OUTCOMES: [string, string][] = [
  ['no_action', 'No further action'],
  ['warning', 'Warning given'],
  ['positive_action_letter', 'Positive action letter'],
  ['breach', 'Breach proceedings'],
  ['recall', 'Recall to custody'],
  ['arrest', 'Arrest'],
];
export function outcomeWords(o: string): string {
  return OUTCOMES.find(([k]) => k === o)?.[1] ?? o;
}

const DAY_NAMES: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "daily", "Mon–Fri", "Sat, Sun", "Tue". */
export function daysWords(days: string[]): string {
  const set = new Set(days.map((d) => d.toLowerCase()));
  if (WEEK.every((d) => set.has(d))) return 'daily';
  const idx = WEEK.map((d, i) => (set.has(d) ? i : -1)).filter((i) => i >= 0);
  const runs: number[][] = [];
  for (const i of idx) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[last.length - 1] === i - 1) last.push(i);
    else runs.push([i]);
  }
  return runs.map((r) => (r.length >= 3 ? `${DAY_NAMES[WEEK[r[0]]]}–${DAY_NAMES[WEEK[r[r.length - 1]]]}` : r.map((i) => DAY_NAMES[WEEK[i]]).join(', '))).join(', ');
}

export function scheduleWords(s: Schedule | undefined): string {
  if (s === undefined || s.windows.length === 0) return 'at all times';
  const parts = s.windows.map((w) => `${w.start}–${w.end} ${daysWords(w.days)}`);
  let out = parts.join(' and ');
  if (s.except !== undefined && s.except.length > 0) {
    out += ` (suspended ${s.except.map((e) => `${ukDateTime(e.from)} to ${ukDateTime(e.to)}`).join('; ')})`;
  }
  return out;
}

function metres(m: number): string {
  return m >= 1000 ? `${(m / 1000).toLocaleString('en-GB', { maximumFractionDigits: 2 })} km` : `${m} m`;
}

function grace(s: number | undefined): string {
  if (s === undefined || s === 0) return '';
  if (s % 60 === 0) {
    const m = s / 60;
    return `, ${m} minute${m === 1 ? '' : 's'}' grace`;
  }
  return `, ${s} seconds' grace`;
}

/**
 * A condition as a sentence, e.g. "Must be at 12 Acacia Road 19:00–07:00 daily, 5 minutes'
 * grace". `zoneName` gives the zone's name when it is known.
 */
export function conditionWords(c: Condition, zoneName: (id: string) => string = (id) => id): string {
  const place = c.zone !== undefined ? zoneName(c.zone) : c.layer !== undefined ? `any zone of layer "${c.layer}"` : 'the zone';
  const when = scheduleWords(c.schedule);
  switch (c.type) {
    case 'curfew':
      return `Must be at ${place} ${when}${grace(c.graceS)}.`;
    case 'inclusion':
      return c.schedule === undefined
        ? `Must stay within ${c.layer !== undefined ? `the zones of layer "${c.layer}"` : place} at all times.`
        : `Must be at ${place} ${when}${grace(c.graceS)}.`;
    case 'exclusion':
      return `Must not enter ${place}${c.schedule === undefined ? '' : ` ${when}`}${c.bufferM !== undefined && c.bufferM > 0 ? `; warning within ${metres(c.bufferM)} of it` : ''}.`;
    case 'proximity':
      return `Must stay more than ${metres(c.distanceM ?? 0)} from the victim${c.warnM !== undefined ? `; warning within ${metres(c.warnM)}` : ''} (the victim's position is never shown).`;
    default:
      return `${String(c.type)} condition.`;
  }
}

export function subjectLine(s: Subject): string {
  const parts = [s.risk === undefined ? null : `risk ${s.risk.replace('_', ' ')}`, s.cohort === undefined ? null : `${s.cohort} cohort`, s.mappaLevel === undefined ? null : `MAPPA level ${s.mappaLevel}`];
  return parts.filter((p) => p !== null).join(' · ');
}

export function percent(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${Math.round(x * 100)}%`;
}
