/** Text formats shared by the pack builders and renderers: UK local and UTC times, distances, directions. */

const UK = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', weekday: 'short', day: '2-digit', month: '2-digit', year: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
});

/** "Sun 06/12/2026 19:02:11 GMT" (BST in summer): the time as a UK reader's clock showed it. */
export function ukLocal(ms: number): string {
  const p: Record<string, string> = {};
  for (const part of UK.formatToParts(new Date(ms))) p[part.type] = part.value;
  const zone = p.timeZoneName === 'UTC' || p.timeZoneName === 'GMT+0' ? 'GMT' : p.timeZoneName === 'GMT+1' ? 'BST' : p.timeZoneName;
  return `${p.weekday} ${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second} ${zone}`;
}

/** "2026-12-06 19:02:11Z". */
export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** "19:02:11Z" (when the date is clear from context). */
export function utcTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)}Z`;
}

/** Both, for prose: "Sun 06/12/2026 19:02:11 GMT (2026-12-06 19:02:11Z)". */
export function when(ms: number): string {
  return `${ukLocal(ms)} (${utc(ms)})`;
}

/** Metres, rounded sensibly: "8 m", "1,250 m", "12.4 km". */
export function metres(m: number): string {
  if (!Number.isFinite(m)) return 'unknown';
  if (m >= 10_000) return `${(m / 1000).toFixed(1)} km`;
  return `${Math.round(m).toLocaleString('en-GB')} m`;
}

/** A length of time in words: "4 min 10 s", "2 h 05 min". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? '' : ` ${s % 60} s`}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

const POINTS = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'];

/** "NE 045°" from degrees clockwise from true north. */
export function compass(deg: number): string {
  const d = ((deg % 360) + 360) % 360;
  return `${POINTS[Math.round(d / 45) % 8]} ${String(Math.round(d) % 360).padStart(3, '0')}°`;
}

/** Degrees with 5 decimals (about 1 m). */
export function deg5(v: number): string {
  return v.toFixed(5);
}
