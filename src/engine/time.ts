/** RFC 3339 date-time: date, 'T' (or 't' / space), time with optional fraction, then Z or an offset. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Largest epoch milliseconds JavaScript dates can hold. */
const MAX_MS = 8.64e15;

/**
 * An input time (RFC 3339 string or epoch milliseconds) as epoch ms; NaN when it is neither.
 * Fractions below a millisecond are truncated.
 */
export function parseTime(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && v <= MAX_MS ? Math.floor(v) : NaN;
  if (typeof v !== 'string') return NaN;
  const fast = parseUtcFast(v);
  if (fast === fast) return fast;
  if (!RFC3339.test(v)) return NaN;
  // Date.parse rolls impossible dates over (Feb 30 becomes Mar 2): check the calendar first.
  const y = +v.slice(0, 4), mo = +v.slice(5, 7), d = +v.slice(8, 10);
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return NaN;
  if (+v.slice(11, 13) > 23 || +v.slice(14, 16) > 59 || +v.slice(17, 19) > 60) return NaN;
  const t = Date.parse(v.length > 10 && v[10] !== 'T' ? `${v.slice(0, 10)}T${v.slice(11)}` : v);
  return Number.isFinite(t) && t >= 0 ? t : NaN;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, from: number, n: number): number {
  let x = 0;
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    x = x * 10 + d;
  }
  return x;
}

/**
 * The shapes tags send almost always, "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DDTHH:MM:SS.sssZ",
 * parsed by hand (replay reads millions): no regular expression, no Date. NaN for anything
 * else, which then takes the general path.
 */
function parseUtcFast(s: string): number {
  const n = s.length;
  if ((n !== 20 && n !== 24) || s.charCodeAt(n - 1) !== 90 /* Z */) return NaN;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return NaN;
  let ms = 0;
  if (n === 24) {
    if (s[19] !== '.') return NaN;
    ms = digits(s, 20, 3);
  }
  const y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!(mo >= 1 && mo <= 12 && h <= 23 && mi <= 59 && sec <= 59 && d >= 1)) return NaN;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS[mo - 1] + (leap ? 1 : 0)) return NaN;
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  return t >= 0 ? t : NaN;
}

/** Epoch ms as an RFC 3339 UTC string: seconds precision unless there are milliseconds. */
export function formatTime(ms: number): string {
  // Events come in runs at one instant (a curfew wave: thousands of episodes at 19:05:00), and
  // an opening's `at` is often its start: the last answer is kept.
  if (ms === lastFormattedMs) return lastFormatted;
  const iso = new Date(ms).toISOString();
  lastFormatted = ms % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
  lastFormattedMs = ms;
  return lastFormatted;
}

let lastFormattedMs = NaN;
let lastFormatted = '';
