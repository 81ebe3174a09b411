import { DEVICE_ID_RE } from './config.js';
import { parseTime } from './time.js';

export const STRAP_NONE = -1;
export const STRAP_OK = 0;
export const STRAP_OPEN = 1;
export const STRAP_TAMPERED = 2;
const STRAPS: Record<string, number> = { ok: STRAP_OK, open: STRAP_OPEN, tampered: STRAP_TAMPERED };
export const STRAP_NAMES = ['ok', 'open', 'tampered'] as const;

/**
 * A fix as a tag sends it (contract section 1): the wire type of ingest, replay input, the demo
 * fleet, the benches and the tests. `parseFix` turns one into a `Fix` or says why not.
 */
export interface FixInput {
  deviceId: string;
  seq: number;
  /** RFC 3339 string or epoch milliseconds (device time). */
  ts: string | number;
  /** Degrees; both present or both absent (a heartbeat). */
  lat?: number;
  lon?: number;
  /** Metres. */
  accuracy?: number;
  /** 0..1. */
  battery?: number;
  strap?: (typeof STRAP_NAMES)[number];
}

/**
 * A validated fix (contract section 1). Absent optional numbers are NaN and an absent strap is
 * STRAP_NONE, so every Fix has the same shape (one hidden class on the hot path).
 */
export class Fix {
  constructor(
    readonly deviceId: string,
    readonly seq: number,
    /** Device time of the fix, epoch ms. */
    readonly ts: number,
    /** NaN for a heartbeat (no position). */
    readonly lat: number,
    readonly lon: number,
    readonly accuracy: number,
    readonly battery: number,
    readonly strap: number,
  ) {}

  get hasPosition(): boolean {
    return this.lat === this.lat;
  }
}

/** Why an input is not a fix: the field and the rule. */
export class FixError extends Error {
  override readonly name = 'FixError';
  constructor(readonly field: string, detail: string) {
    super(`${field} ${detail}`);
  }
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * Validates one decoded JSON value as a fix. Hand-written rather than a zod schema: it runs
 * once per fix at national rates, and needs no allocation beyond the Fix itself.
 * Throws FixError naming the first bad field.
 */
export function parseFix(v: unknown): Fix {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FixError('fix', 'must be a JSON object');
  const o = v as Record<string, unknown>;
  const deviceId = o.deviceId;
  if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) {
    throw new FixError('deviceId', 'must be 1..64 characters of [A-Za-z0-9._:-]');
  }
  const seq = o.seq;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) {
    throw new FixError('seq', 'must be an integer from 0 to 2^53-1');
  }
  const ts = parseTime(o.ts);
  if (Number.isNaN(ts)) throw new FixError('ts', 'must be an RFC 3339 date-time or epoch milliseconds');
  const rawLat = o.lat ?? undefined, rawLon = o.lon ?? undefined;
  let lat = NaN, lon = NaN;
  if ((rawLat === undefined) !== (rawLon === undefined)) throw new FixError('lat/lon', 'must both be present or both absent');
  if (rawLat !== undefined) {
    if (typeof rawLat !== 'number' || !(rawLat >= -90 && rawLat <= 90)) throw new FixError('lat', 'must be a number of degrees in [-90, 90]');
    if (typeof rawLon !== 'number' || !(rawLon >= -180 && rawLon <= 180)) throw new FixError('lon', 'must be a number of degrees in [-180, 180]');
    lat = rawLat;
    lon = rawLon;
  }
  let accuracy = NaN;
  const a = o.accuracy ?? undefined;
  if (a !== undefined) {
    if (typeof a !== 'number' || !(a >= 0 && a <= 1e6)) throw new FixError('accuracy', 'must be a number of metres from 0 to 1000000');
    accuracy = a;
  }
  let battery = NaN;
  const b = o.battery ?? undefined;
  if (b !== undefined) {
    if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw new FixError('battery', 'must be a number from 0 to 1');
    battery = b;
  }
  let strap = STRAP_NONE;
  const s = o.strap ?? undefined;
  if (s !== undefined) {
    const code = typeof s === 'string' && Object.hasOwn(STRAPS, s) ? STRAPS[s] : undefined;
    if (code === undefined) throw new FixError('strap', 'must be "ok", "open" or "tampered"');
    strap = code;
  }
  return new Fix(deviceId, seq, ts, lat, lon, accuracy, battery, strap);
}
