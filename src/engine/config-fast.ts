import type { SubjectParsed } from './config.js';
import { DEVICE_ID_RE, ID_SEPARATOR } from './id-rules.js';
import { isValidTimeZone } from './schedule.js';
import { parseTime } from './time.js';

/**
 * The bulk path of subject validation: a hand-written check of exactly what SubjectSchema
 * (config.ts) accepts, building exactly the object it outputs (same keys, same order, same
 * defaults), for the common case only. Anything it is not sure of (an unknown field, a wrong
 * type, a value out of range, a refinement that fails) returns null and the caller parses
 * with zod, so every error message still comes from the schema. A national configuration
 * (100,000 subjects) is validated here in a fraction of zod's time and allocation.
 * test/engine/config-fast.test.ts checks it against zod on valid and invalid input.
 */

type Obj = Record<string, unknown>;
type Out = Obj;

const SUBJECT_KEYS = new Set(['id', 'deviceId', 'team', 'cohort', 'risk', 'mappaLevel', 'wisdom', 'domesticAbuse', 'timezone', 'validFrom', 'validTo', 'status', 'name', 'conditions']);
const COMMON_KEYS = ['id', 'hysteresisM', 'dwellS', 'confirmFixes', 'closeAfterS', 'type'];
const CONDITION_KEYS: Record<string, Set<string>> = {
  exclusion: new Set([...COMMON_KEYS, 'zone', 'layer', 'bufferM', 'schedule']),
  curfew: new Set([...COMMON_KEYS, 'zone', 'graceS', 'schedule']),
  inclusion: new Set([...COMMON_KEYS, 'zone', 'layer', 'graceS', 'schedule']),
  proximity: new Set([...COMMON_KEYS, 'victimDeviceId', 'distanceM', 'warnM']),
};
const COHORTS = new Set(['fixed', 'flex', 'free']);
const RISKS = new Set(['low', 'medium', 'high', 'very_high']);
const STATUSES = new Set(['active', 'suspended']);
const WEEKDAYS = new Set(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

/** Thrown inside the fast path: "not sure, ask zod". Never leaves this module. */
const NOT_SURE = Symbol('not sure');

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function onlyKeys(o: Obj, allowed: Set<string>): void {
  for (const k in o) if (!allowed.has(k)) throw NOT_SURE;
}

function ident(v: unknown): string {
  if (typeof v !== 'string' || v.length < 1 || v.length > 128 || !v.isWellFormed()) throw NOT_SURE;
  return v;
}

function idPart(v: unknown): string {
  const s = ident(v);
  if (s.includes(ID_SEPARATOR)) throw NOT_SURE;
  return s;
}

function finite(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw NOT_SURE;
  return v;
}

function nonNegative(v: unknown): number {
  const n = finite(v);
  if (n < 0) throw NOT_SURE;
  return n;
}

function positive(v: unknown): number {
  const n = finite(v);
  if (!(n > 0)) throw NOT_SURE;
  return n;
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw NOT_SURE;
  return v;
}

function strOrNum(v: unknown): string | number {
  if (typeof v === 'string') return v;
  return finite(v);
}

function bool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw NOT_SURE;
  return v;
}

function time(v: unknown): number {
  if (typeof v !== 'string' && typeof v !== 'number') throw NOT_SURE;
  if (typeof v === 'number') finite(v);
  const t = parseTime(v);
  if (Number.isNaN(t)) throw NOT_SURE;
  return t;
}

const WINDOW_KEYS = new Set(['days', 'start', 'end']);
const EXCEPT_KEYS = new Set(['from', 'to']);
const SCHEDULE_KEYS = new Set(['windows', 'except']);

function schedule(v: unknown): Out {
  if (!isObj(v)) throw NOT_SURE;
  onlyKeys(v, SCHEDULE_KEYS);
  const ws = v.windows;
  if (!Array.isArray(ws) || ws.length < 1) throw NOT_SURE;
  const windows = ws.map((w: unknown) => {
    if (!isObj(w)) throw NOT_SURE;
    onlyKeys(w, WINDOW_KEYS);
    const days = w.days;
    if (!Array.isArray(days) || days.length < 1) throw NOT_SURE;
    for (const d of days) if (typeof d !== 'string' || !WEEKDAYS.has(d)) throw NOT_SURE;
    return { days: days.slice(), start: str(w.start), end: str(w.end) };
  });
  const out: Out = { windows };
  if ('except' in v) {
    const ex = v.except;
    if (ex === undefined) throw NOT_SURE;
    if (!Array.isArray(ex)) throw NOT_SURE;
    out.except = ex.map((x: unknown) => {
      if (!isObj(x)) throw NOT_SURE;
      onlyKeys(x, EXCEPT_KEYS);
      return { from: strOrNum(x.from), to: strOrNum(x.to) };
    });
  }
  return out;
}

/** Sets out[key] from o[key] through f when present; an explicit undefined is left to zod. */
function opt(out: Out, o: Obj, key: string, f: (v: unknown) => unknown): void {
  if (!(key in o)) return;
  const v = o[key];
  if (v === undefined) throw NOT_SURE;
  out[key] = f(v);
}

function condition(c: unknown): Out {
  if (!isObj(c)) throw NOT_SURE;
  const type = c.type;
  if (typeof type !== 'string' || !Object.hasOwn(CONDITION_KEYS, type)) throw NOT_SURE;
  onlyKeys(c, CONDITION_KEYS[type]);
  const out: Out = { id: idPart(c.id) };
  opt(out, c, 'hysteresisM', nonNegative);
  opt(out, c, 'dwellS', nonNegative);
  opt(out, c, 'confirmFixes', (v) => {
    const n = finite(v);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw NOT_SURE;
    return n;
  });
  opt(out, c, 'closeAfterS', nonNegative);
  out.type = type;
  switch (type) {
    case 'exclusion':
    case 'inclusion':
      opt(out, c, 'zone', idPart);
      opt(out, c, 'layer', ident);
      if ((out.zone === undefined) === (out.layer === undefined)) throw NOT_SURE;
      if (type === 'exclusion') opt(out, c, 'bufferM', nonNegative);
      else out.graceS = 'graceS' in c ? nonNegative(c.graceS) : 0;
      opt(out, c, 'schedule', schedule);
      return out;
    case 'curfew':
      out.zone = idPart(c.zone);
      out.graceS = 'graceS' in c ? nonNegative(c.graceS) : 0;
      out.schedule = schedule(c.schedule);
      return out;
    default: {
      const victim = str(c.victimDeviceId);
      if (!DEVICE_ID_RE.test(victim)) throw NOT_SURE;
      out.victimDeviceId = victim;
      out.distanceM = positive(c.distanceM);
      opt(out, c, 'warnM', positive);
      if (out.warnM !== undefined && !((out.warnM as number) > (out.distanceM as number))) throw NOT_SURE;
      return out;
    }
  }
}

function subject(s: unknown): SubjectParsed {
  if (!isObj(s)) throw NOT_SURE;
  onlyKeys(s, SUBJECT_KEYS);
  const out: Out = { id: idPart(s.id) };
  const device = str(s.deviceId);
  if (!DEVICE_ID_RE.test(device)) throw NOT_SURE;
  out.deviceId = device;
  out.team = idPart(s.team);
  opt(out, s, 'cohort', (v) => {
    if (typeof v !== 'string' || !COHORTS.has(v)) throw NOT_SURE;
    return v;
  });
  const risk = 'risk' in s ? s.risk : 'medium';
  if (typeof risk !== 'string' || !RISKS.has(risk)) throw NOT_SURE;
  out.risk = risk;
  opt(out, s, 'mappaLevel', (v) => {
    const n = finite(v);
    if (!Number.isInteger(n) || n < 1 || n > 3) throw NOT_SURE;
    return n;
  });
  opt(out, s, 'wisdom', bool);
  opt(out, s, 'domesticAbuse', bool);
  const tz = 'timezone' in s ? s.timezone : 'Europe/London';
  if (typeof tz !== 'string' || !isValidTimeZone(tz)) throw NOT_SURE;
  out.timezone = tz;
  opt(out, s, 'validFrom', time);
  opt(out, s, 'validTo', time);
  const status = 'status' in s ? s.status : 'active';
  if (typeof status !== 'string' || !STATUSES.has(status)) throw NOT_SURE;
  out.status = status;
  opt(out, s, 'name', (v) => {
    const n = str(v);
    if (n.length < 1 || n.length > 200) throw NOT_SURE;
    return n;
  });
  if ('conditions' in s) {
    const cs = s.conditions;
    if (!Array.isArray(cs)) throw NOT_SURE;
    out.conditions = cs.map(condition);
  } else {
    out.conditions = [];
  }
  return out as SubjectParsed;
}

/**
 * SubjectSchema's output for `value` when the fast path is sure it is valid; null when zod must
 * decide (it then either accepts it, with the same output, or names the fault).
 */
export function fastSubject(value: unknown): SubjectParsed | null {
  try {
    return subject(value);
  } catch (e) {
    if (e === NOT_SURE) return null;
    throw e;
  }
}
