import { parseTime } from '../../engine/time.js';

/**
 * Crime times as forces send them: RFC 3339 (with Z or an offset), or UK local wall-clock time
 * without an offset — `DD/MM/YYYY HH:MM[:SS]` or `YYYY-MM-DD HH:MM[:SS]` (a `T` may stand for the
 * space) — read in Europe/London, so GMT in winter and BST in summer.
 *
 * The two clock changes: in October the hour 01:00–02:00 happens twice; in March 01:00–02:00 does
 * not happen at all. A window is never narrowed by guessing: an ambiguous or missing local time
 * is read as the earlier instant when it opens a window and as the later one when it closes it,
 * and the crime carries a note saying so.
 */
export const UK_ZONE = 'Europe/London';
const DAY_MS = 86_400_000;

const UK_DMY = /^(\d{1,2})\/(\d{1,2})\/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ Tt](\d{2}):(\d{2})(?::(\d{2}))?$/;

const fmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: UK_ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** The London wall reading of instant t, as epoch-style ms of that reading. */
function wallOf(t: number): number {
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour === 24 ? 0 : p.hour, p.minute, p.second);
}

const offsetAt = (t: number): number => wallOf(t) - t;

export interface ParsedTime {
  ms: number;
  /** Set when the local time was ambiguous or did not exist (the clocks changed). */
  note?: string;
}

/**
 * A crime time. `edge` says which end of the window it is (the reading that widens the window
 * wins at a clock change). Returns null when the text is neither form, or not a real date.
 */
export function parseCrimeTime(text: string, edge: 'from' | 'to'): ParsedTime | null {
  const s = text.trim();
  let m = UK_DMY.exec(s);
  let y: number, mo: number, d: number, h: number, mi: number, sec: number;
  if (m !== null) {
    [d, mo, y, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
    sec = m[6] === undefined ? 0 : Number(m[6]);
  } else if ((m = ISO_LOCAL.exec(s)) !== null) {
    [y, mo, d, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
    sec = m[6] === undefined ? 0 : Number(m[6]);
  } else {
    const t = parseTime(s);
    return Number.isNaN(t) ? null : { ms: t };
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  const before = offsetAt(wall - DAY_MS);
  const after = offsetAt(wall + DAY_MS);
  const candidates = before === after ? [wall - before] : [wall - before, wall - after];
  const real = candidates.filter((t) => wallOf(t) === wall);
  const pick = (list: number[]): number => (edge === 'from' ? Math.min(...list) : Math.max(...list));
  if (real.length === 1) return { ms: real[0] };
  if (real.length > 1) {
    const ms = pick(real);
    return { ms, note: `${s} happened twice in ${UK_ZONE} (clocks went back); read as ${new Date(ms).toISOString()}, the ${edge === 'from' ? 'earlier' : 'later'} of the two, to widen the window` };
  }
  const ms = pick(candidates);
  return { ms, note: `${s} did not exist in ${UK_ZONE} (clocks went forward); read as ${new Date(ms).toISOString()} to widen the window` };
}
