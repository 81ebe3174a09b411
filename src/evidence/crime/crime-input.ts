import { parse as parseCsv } from 'csv-parse/sync';
import { bngToWgs84, isOnGrid, wgs84ToBng } from './bng.js';
import { parseCrimeTime } from './local-time.js';

/**
 * A batch of crimes to match, as police send it: CSV (a header row, one crime per row) or JSON.
 * Each crime is checked on its own; the good ones are kept beside the bad ones, and each bad
 * one is reported by row and field (like the zone bulk import).
 */

/** Most crimes in one batch. */
export const MAX_CRIMES = 5000;
/** Largest body of POST /v1/crime-matches (CSV or JSON). */
export const CRIME_BATCH_LIMIT_BYTES = 4 << 20;
/** Longest crime window. */
export const MAX_WINDOW_MS = 12 * 3_600_000;
/** Radius bounds, metres. */
export const MIN_RADIUS_M = 1;
export const MAX_RADIUS_M = 2000;
/** A row giving both lat/lon and easting/northing must agree within this (metres). */
export const BOTH_AGREE_M = 25;
const REF_RE = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

export interface Crime {
  /** 1-based position in the batch (CSV data row, or JSON `crimes` element + 1). */
  row: number;
  ref: string;
  type: string;
  fromMs: number;
  toMs: number;
  lat: number;
  lon: number;
  /** The location as sent, when it was a grid reference. */
  bng: { easting: number; northing: number } | null;
  radiusM: number;
  /** Remarks on how the row was read (a clock-change reading). */
  notes: string[];
}

export interface RowError {
  row: number;
  /** The CSV column (as named in the header) or JSON field at fault; null for the row as a whole. */
  field: string | null;
  message: string;
}

export interface ParsedBatch {
  crimes: Crime[];
  rejected: RowError[];
}

/** A fault in the batch as a whole (no header, bad CSV quoting, too many rows…). */
export class BatchError extends Error {
  constructor(message: string, readonly path?: string) {
    super(message);
  }
}

type Field = 'ref' | 'type' | 'from' | 'to' | 'lat' | 'lon' | 'easting' | 'northing' | 'radius';

/** Header names forces use, normalised (lower case, letters and digits only) → field. */
const HEADER_ALIASES: Record<string, Field> = {
  ref: 'ref', reference: 'ref', crimeref: 'ref', crimereference: 'ref', crimeno: 'ref', crimenumber: 'ref', urn: 'ref', id: 'ref',
  type: 'type', crimetype: 'type', offence: 'type', offencetype: 'type', category: 'type',
  from: 'from', datefrom: 'from', fromdatetime: 'from', start: 'from', committedfrom: 'from', earliest: 'from', windowfrom: 'from',
  to: 'to', dateto: 'to', todatetime: 'to', end: 'to', committedto: 'to', latest: 'to', windowto: 'to',
  lat: 'lat', latitude: 'lat',
  lon: 'lon', lng: 'lon', long: 'lon', longitude: 'lon',
  easting: 'easting', eastings: 'easting', east: 'easting', x: 'easting',
  northing: 'northing', northings: 'northing', north: 'northing', y: 'northing',
  radius: 'radius', radiusm: 'radius', radiusmetres: 'radius', radiusmeters: 'radius',
};

/** JSON crime field → its name in the API (radiusM). */
const JSON_FIELDS: Record<string, Field> = {
  ref: 'ref', type: 'type', from: 'from', to: 'to', lat: 'lat', lon: 'lon', easting: 'easting', northing: 'northing', radiusM: 'radius',
};

class RowFault extends Error {
  constructor(readonly field: string | null, message: string) {
    super(message);
  }
}

type Raw = Partial<Record<Field, unknown>>;

/** One crime from its raw fields; `name` gives the field's name as the sender wrote it. */
function crimeOf(row: number, raw: Raw, name: (f: Field) => string): Crime {
  const text = (f: Field): string | undefined => {
    const v = raw[f];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw new RowFault(name(f), 'must be a string or number');
    const t = v.trim();
    return t === '' ? undefined : t;
  };
  const num = (f: Field): number | undefined => {
    const v = raw[f];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new RowFault(name(f), 'must be a finite number');
      return v;
    }
    const t = text(f);
    if (t === undefined) return undefined;
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) throw new RowFault(name(f), `must be a number, got ${JSON.stringify(t.slice(0, 40))}`);
    return Number(t);
  };

  const ref = text('ref');
  if (ref === undefined) throw new RowFault(name('ref'), 'the crime reference is missing');
  if (!REF_RE.test(ref)) throw new RowFault(name('ref'), 'a crime reference is 1..64 printable ASCII characters');
  const type = text('type');
  if (type === undefined) throw new RowFault(name('type'), 'the crime type is missing');
  if (type.length > 100) throw new RowFault(name('type'), 'a crime type is at most 100 characters');

  const notes: string[] = [];
  const time = (f: 'from' | 'to'): number => {
    const t = text(f);
    if (t === undefined) throw new RowFault(name(f), 'the time is missing');
    const p = parseCrimeTime(t, f);
    if (p === null) throw new RowFault(name(f), `${JSON.stringify(t.slice(0, 40))} is not a time: send RFC 3339 (2026-11-23T19:02:00Z) or UK local time (23/11/2026 19:02 or 2026-11-23 19:02, Europe/London)`);
    if (p.note !== undefined) notes.push(p.note);
    return p.ms;
  };
  const fromMs = time('from');
  const toMs = time('to');
  if (!(fromMs < toMs)) throw new RowFault(name('to'), 'the window must end after it starts');
  if (toMs - fromMs > MAX_WINDOW_MS) throw new RowFault(name('to'), `the window is ${((toMs - fromMs) / 3_600_000).toFixed(2)} h; at most 12 h is matched (split a longer one)`);

  const radiusM = num('radius');
  if (radiusM === undefined) throw new RowFault(name('radius'), 'the radius is missing');
  if (!(radiusM >= MIN_RADIUS_M && radiusM <= MAX_RADIUS_M)) throw new RowFault(name('radius'), `the radius must be ${MIN_RADIUS_M}..${MAX_RADIUS_M} metres, got ${radiusM}`);

  const lat = num('lat'), lon = num('lon'), easting = num('easting'), northing = num('northing');
  const hasLatLon = lat !== undefined || lon !== undefined;
  const hasGrid = easting !== undefined || northing !== undefined;
  if (!hasLatLon && !hasGrid) throw new RowFault(null, 'give the location as lat/lon (WGS84) or easting/northing (British National Grid)');
  let grid: { easting: number; northing: number } | null = null;
  if (hasGrid) {
    if (easting === undefined) throw new RowFault(name('easting'), 'the easting is missing (northing given)');
    if (northing === undefined) throw new RowFault(name('northing'), 'the northing is missing (easting given)');
    if (!(easting >= 0 && easting <= 700_000)) throw new RowFault(name('easting'), `an easting on the British National Grid is 0..700000 m, got ${easting}`);
    if (!(northing >= 0 && northing <= 1_300_000)) throw new RowFault(name('northing'), `a northing on the British National Grid is 0..1300000 m, got ${northing}`);
    if (!isOnGrid(easting, northing)) throw new RowFault(name('easting'), 'not on the British National Grid');
    grid = { easting, northing };
  }
  let pos: { lat: number; lon: number };
  if (hasLatLon) {
    if (lat === undefined) throw new RowFault(name('lat'), 'the latitude is missing (longitude given)');
    if (lon === undefined) throw new RowFault(name('lon'), 'the longitude is missing (latitude given)');
    if (!(lat >= -90 && lat <= 90)) throw new RowFault(name('lat'), `a latitude is -90..90, got ${lat}`);
    if (!(lon >= -180 && lon <= 180)) throw new RowFault(name('lon'), `a longitude is -180..180, got ${lon}`);
    pos = { lat, lon };
    if (grid !== null) {
      const g = wgs84ToBng(lat, lon);
      const off = Math.hypot(g.easting - grid.easting, g.northing - grid.northing);
      if (!(off <= BOTH_AGREE_M)) throw new RowFault(name('easting'), `lat/lon and easting/northing are ${Math.round(off)} m apart; send one, or both for the same place`);
    }
  } else {
    pos = bngToWgs84(grid!.easting, grid!.northing);
  }
  return { row, ref, type, fromMs, toMs, lat: pos.lat, lon: pos.lon, bng: grid, radiusM, notes };
}

/** Keeps the good rows; a later row repeating a crime reference is refused. */
function collect(rows: { row: number; build: () => Crime }[]): ParsedBatch {
  const crimes: Crime[] = [];
  const rejected: RowError[] = [];
  const seen = new Map<string, number>();
  for (const r of rows) {
    try {
      const c = r.build();
      const first = seen.get(c.ref);
      if (first !== undefined) throw new RowFault('ref', `crime reference ${JSON.stringify(c.ref)} repeats row ${first}`);
      seen.set(c.ref, c.row);
      crimes.push(c);
    } catch (e) {
      if (!(e instanceof RowFault)) throw e;
      rejected.push({ row: r.row, field: e.field, message: e.message });
    }
  }
  return { crimes, rejected };
}

const normalise = (h: string): string => h.toLowerCase().replace(/[^a-z0-9]/g, '');

/** A CSV batch: a header row naming the columns (see HEADER_ALIASES), then one crime per row. */
export function parseCrimesCsv(text: string): ParsedBatch {
  let records: string[][];
  try {
    records = parseCsv(text, { bom: true, skip_empty_lines: true, relax_column_count: false, trim: true }) as string[][];
  } catch (e) {
    throw new BatchError(`the CSV cannot be read: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new BatchError('the CSV is empty: send a header row, then one crime per row');
  const header = records[0];
  const columns = new Map<Field, number>();
  header.forEach((h, i) => {
    const f = HEADER_ALIASES[normalise(h)];
    if (f === undefined) {
      throw new BatchError(`CSV column ${JSON.stringify(h.slice(0, 60))} is not one this service reads; columns: crime reference, crime type, from, to, lat and lon or easting and northing, radius`, `header.${h.slice(0, 60)}`);
    }
    if (columns.has(f)) throw new BatchError(`CSV columns ${JSON.stringify(header[columns.get(f)!])} and ${JSON.stringify(h)} both give the ${f}`, `header.${h.slice(0, 60)}`);
    columns.set(f, i);
  });
  for (const f of ['ref', 'type', 'from', 'to', 'radius'] as const) {
    if (!columns.has(f)) throw new BatchError(`the CSV header has no ${f === 'ref' ? 'crime reference' : f === 'type' ? 'crime type' : f} column`, 'header');
  }
  if (!((columns.has('lat') && columns.has('lon')) || (columns.has('easting') && columns.has('northing')))) {
    throw new BatchError('the CSV header needs lat and lon columns, or easting and northing columns (or both pairs)', 'header');
  }
  const data = records.slice(1);
  if (data.length > MAX_CRIMES) throw new BatchError(`the batch has ${data.length} crimes; at most ${MAX_CRIMES} per request`);
  const name = (f: Field): string => (columns.has(f) ? header[columns.get(f)!] : f);
  return collect(data.map((rec, i) => ({
    row: i + 1,
    build: () => {
      const raw: Raw = {};
      for (const [f, col] of columns) raw[f] = rec[col];
      return crimeOf(i + 1, raw, name);
    },
  })));
}

const JSON_NAME: Record<Field, string> = { ref: 'ref', type: 'type', from: 'from', to: 'to', lat: 'lat', lon: 'lon', easting: 'easting', northing: 'northing', radius: 'radiusM' };

/** The JSON form's `crimes` array: objects with ref, type, from, to, lat+lon or easting+northing, radiusM. */
export function parseCrimesJson(crimes: unknown): ParsedBatch {
  if (!Array.isArray(crimes)) throw new BatchError('crimes must be an array of crimes', 'body.crimes');
  if (crimes.length > MAX_CRIMES) throw new BatchError(`the batch has ${crimes.length} crimes; at most ${MAX_CRIMES} per request`, 'body.crimes');
  return collect(crimes.map((item: unknown, i) => ({
    row: i + 1,
    build: () => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new RowFault(null, 'a crime is an object');
      const raw: Raw = {};
      for (const [k, v] of Object.entries(item)) {
        const f = JSON_FIELDS[k];
        if (f === undefined) throw new RowFault(k.slice(0, 60), `unknown field; a crime has ${Object.keys(JSON_FIELDS).join(', ')}`);
        raw[f] = v;
      }
      return crimeOf(i + 1, raw, (f) => JSON_NAME[f]);
    },
  })));
}
