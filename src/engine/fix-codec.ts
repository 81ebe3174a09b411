import { Fix } from './fix.js';

/**
 * Every encoding of a Fix the service stores, in one place: the trail stream entry (compact
 * field list) and the ingest log item (a positional array). The wire form a tag sends is
 * `FixInput` (fix.ts), validated by `parseFix`.
 */

/** Compact trail encoding of a fix: same fields every time, integers where possible. */
export function encodeFix(f: Fix): (string | number)[] {
  return [
    's', f.seq, 't', f.ts,
    'y', f.hasPosition ? Math.round(f.lat * 1e7) : '', 'x', f.hasPosition ? Math.round(f.lon * 1e7) : '',
    'a', f.accuracy === f.accuracy ? f.accuracy : '', 'b', f.battery === f.battery ? f.battery : '', 'p', f.strap,
  ];
}

/** Inverse of encodeFix for one stream entry's field list. */
export function decodeFix(deviceId: string, fields: string[]): Fix {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i], fields[i + 1]);
  const num = (k: string): number => {
    const v = m.get(k);
    return v === undefined || v === '' ? NaN : Number(v);
  };
  return new Fix(deviceId, num('s'), num('t'), num('y') / 1e7, num('x') / 1e7, num('a'), num('b'), num('p'));
}

/** Log entries: a fix as a compact array, or a clock tick. */
export type LogItem = [deviceId: string, seq: number, ts: number, lat: number | null, lon: number | null, accuracy: number | null, battery: number | null, strap: number] | { tick: number };

export function logFix(f: Fix): LogItem {
  const n = (x: number): number | null => (x === x ? x : null);
  return [f.deviceId, f.seq, f.ts, n(f.lat), n(f.lon), n(f.accuracy), n(f.battery), f.strap];
}

export function fixFromLog(item: LogItem): Fix | null {
  if (!Array.isArray(item)) return null;
  const d = (x: number | null): number => (x === null ? NaN : x);
  return new Fix(item[0], item[1], item[2], d(item[3]), d(item[4]), d(item[5]), d(item[6]), item[7]);
}

export function tickFromLog(item: LogItem): number | null {
  return Array.isArray(item) ? null : item.tick;
}
