/**
 * Conditions and schedules in plain words, from the subject's configuration as archived (the API
 * body, contract section 2): "must not enter zone Z-1 (victim's home) at any time".
 * A proximity condition names no victim device and no place: only the distances.
 */
import type { SubjectParsed } from '../../engine/config.js';
import { duration, metres, when } from './format.js';

type Condition = SubjectParsed['conditions'][number];
type Schedule = NonNullable<Extract<Condition, { type: 'curfew' }>['schedule']>;

const DAY_NAMES: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function days(list: readonly string[]): string {
  const set = new Set(list);
  if (WEEK.every((d) => set.has(d))) return 'daily';
  if (set.size === 5 && WEEK.slice(0, 5).every((d) => set.has(d))) return 'Mondays to Fridays';
  if (set.size === 2 && set.has('sat') && set.has('sun')) return 'Saturdays and Sundays';
  return `on ${WEEK.filter((d) => set.has(d)).map((d) => DAY_NAMES[d]).join(', ')}`;
}

/** "19:00–07:00 daily (overnight); except …". Times are the subject's local time. */
export function scheduleText(s: Schedule, timezone: string): string {
  const windows = s.windows.map((w) => {
    const overnight = w.end <= w.start && w.end !== '24:00';
    return `${w.start}–${w.end} ${days(w.days)}${overnight ? ' (overnight, ending the next morning)' : ''}`;
  });
  let text = windows.join('; and ');
  if (timezone !== 'Europe/London') text += ` (${timezone} time)`;
  const except = (s.except ?? []).map((e) => `${when(typeof e.from === 'number' ? e.from : Date.parse(e.from))} to ${when(typeof e.to === 'number' ? e.to : Date.parse(e.to))}`);
  if (except.length > 0) text += `; suspended ${except.join(' and ')}`;
  return text;
}

/** How a zone is named in the pack: "zone Z-1 (Victim address area)". */
export type ZoneNamer = (zoneId: string) => string;

/** One condition in plain words. */
export function conditionText(c: Condition, timezone: string, zoneName: ZoneNamer): string {
  const place = (zone: string | undefined, layer: string | undefined, any: string): string =>
    zone !== undefined ? zoneName(zone) : `${any} zone of layer "${layer ?? ''}"`;
  const grace = (graceS: number): string => (graceS > 0 ? `, ${graceS % 60 === 0 ? `${graceS / 60} minute${graceS === 60 ? '' : 's'}'` : `${graceS} seconds'`} grace` : ', no grace period');
  switch (c.type) {
    case 'exclusion': {
      const when_ = c.schedule === undefined ? 'at any time' : scheduleText(c.schedule, timezone);
      const band = c.bufferM !== undefined && c.bufferM > 0 ? `; a warning is raised within ${metres(c.bufferM)} of its edge` : '';
      return `Must not enter ${place(c.zone, c.layer, 'any')} ${when_}${band}.`;
    }
    case 'curfew':
      return `Must be at ${zoneName(c.zone)} ${scheduleText(c.schedule, timezone)}${grace(c.graceS)}.`;
    case 'inclusion': {
      const when_ = c.schedule === undefined ? 'at all times' : scheduleText(c.schedule, timezone);
      const where = c.zone !== undefined ? `within ${zoneName(c.zone)}` : `within one of the zones of layer "${c.layer ?? ''}"`;
      return `Must stay ${where} ${when_}${c.schedule === undefined ? '' : grace(c.graceS)}.`;
    }
    case 'proximity': {
      const warn = c.warnM !== undefined ? `; a warning is raised within ${metres(c.warnM)}` : '';
      return `Must stay more than ${metres(c.distanceM)} from the protected person's device at all times${warn}. (The protected person's position is never shown in this pack.)`;
    }
  }
}

/** The subject's conditions, each as a sentence prefixed by its id; then validity and status. */
export function conditionsText(s: SubjectParsed, zoneName: ZoneNamer): string[] {
  const lines = s.conditions.map((c) => `Condition ${c.id} (${c.type}): ${conditionText(c, s.timezone, zoneName)}`);
  if (lines.length === 0) lines.push('No location conditions (device-health monitoring only).');
  const from = s.validFrom === undefined ? null : when(s.validFrom);
  const to = s.validTo === undefined ? null : when(s.validTo);
  if (from !== null || to !== null) lines.push(`Conditions apply ${from === null ? '' : `from ${from} `}${to === null ? 'with no end date' : `until ${to}`}.`);
  lines.push(s.status === 'active' ? 'Monitoring status: active.' : 'Monitoring status: suspended (no alerts are raised).');
  return lines;
}

/** "5 minutes" for the summary lines. */
export { duration };
