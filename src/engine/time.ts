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
  if (typeof v !== 'string' || !RFC3339.test(v)) return NaN;
  // Date.parse rolls impossible dates over (Feb 30 becomes Mar 2): check the calendar first.
  const y = +v.slice(0, 4), mo = +v.slice(5, 7), d = +v.slice(8, 10);
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return NaN;
  if (+v.slice(11, 13) > 23 || +v.slice(14, 16) > 59 || +v.slice(17, 19) > 60) return NaN;
  const t = Date.parse(v.length > 10 && v[10] !== 'T' ? `${v.slice(0, 10)}T${v.slice(11)}` : v);
  return Number.isFinite(t) && t >= 0 ? t : NaN;
}

/** Epoch ms as an RFC 3339 UTC string: seconds precision unless there are milliseconds. */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}
