import { z } from 'zod';
import { CircleZone, compileZone, mPerDegLon, M_PER_DEG, ZoneError, type PreparedZone, type ZoneIndex } from '../../geo/index.js';
import { ConfigError } from './config-error.js';
import { fastSubject } from './config-fast.js';
import { DEVICE_ID_RE, ID_SEPARATOR } from './id-rules.js';
import { strictErrorMap, withoutUnknownFields } from './unknown-field.js';
import { buildLayerIndexes } from './layer-index.js';
import { CompiledSchedule, isValidTimeZone, ScheduleError } from './schedule.js';
import { parseTime } from './time.js';

/**
 * Configuration (contract section 2): settings, zones and subjects with their conditions.
 * The schemas here are the single source for the replay CLI and the HTTP API.
 */

export { DEVICE_ID_RE, ID_SEPARATOR } from './id-rules.js';
const deviceId = z.string().regex(DEVICE_ID_RE, 'must be 1..64 characters of [A-Za-z0-9._:-]');
/** Ids become Redis keys (UTF-8): a lone surrogate would collapse two ids into one. */
const ident = z.string().min(1).max(128).refine((s) => s.isWellFormed(), 'must be well-formed Unicode');
const idPart = ident.refine((s) => !s.includes(ID_SEPARATOR), `must not contain "${ID_SEPARATOR}" (it separates the parts of episode ids)`);
const time = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const t = parseTime(v);
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 date-time or epoch milliseconds' });
    return z.NEVER;
  }
  return t;
});
const metres = z.number().finite().nonnegative();
const seconds = z.number().finite().nonnegative();

export const SettingsSchema = z.strictObject({
  /** battery_low opens below this charge (0..1). */
  batteryLowBelow: z.number().min(0).max(1).default(0.2),
  /** no_fix opens after this long with messages but no position. */
  noFixAfterS: z.number().positive().default(900),
  /** device_offline opens after this long with no message at all. */
  offlineAfterS: z.number().positive().default(1800),
  /** Accuracy assumed for a fix that gives none. */
  defaultAccuracyM: metres.default(10),
  /**
   * Anti-flap margin: a fix is clearly on the safe side when its accuracy circle is clear of the
   * boundary by this many metres (see closeAfterS).
   */
  hysteresisM: metres.default(10),
  /**
   * Debounced closing: an episode closes once the subject has stayed clearly on the safe side for
   * this long (from the first such fix, which is when the breach ended). Two fix intervals at the
   * usual one-a-minute rate: GPS excursions of a person standing at an edge last seconds to a
   * minute, and a person who walks away is closed within three minutes.
   */
  closeAfterS: seconds.default(120),
  /** battery_low closes only once the charge is back above batteryLowBelow + this. */
  batteryHysteresis: z.number().min(0).max(1).default(0.05),
  /** A victim position older than this (relative to the subject's fix) makes a proximity alert at most "possible". */
  victimStaleS: z.number().positive().default(600),
  /** Live service: a subject timer (curfew deadline, window end, validTo) its device has not passed yet fires this long after its due time. */
  timerWaitS: seconds.default(60),
});
export type Settings = z.infer<typeof SettingsSchema>;

const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export const ScheduleSchema = z.strictObject({
  windows: z.array(z.strictObject({
    days: z.array(weekday).min(1),
    start: z.string(),
    end: z.string(),
  })).min(1),
  except: z.array(z.strictObject({ from: z.union([z.string(), z.number()]), to: z.union([z.string(), z.number()]) })).optional(),
});

const common = {
  id: idPart,
  /** Metres on the safe side a fix must reach to close an episode; default settings.hysteresisM. */
  hysteresisM: metres.optional(),
  /** Opt-in: a breach must last this long (between fixes) before the episode opens. Default 0. */
  dwellS: seconds.optional(),
  /** Opt-in: this many consecutive breaching fixes before the episode opens (low-risk zones). Default 1. */
  confirmFixes: z.number().int().min(1).max(100).optional(),
  /** How long the subject must stay clearly on the safe side before an episode closes; default settings.closeAfterS. */
  closeAfterS: seconds.optional(),
};

export const ExclusionSchema = z.strictObject({
  ...common,
  type: z.literal('exclusion'),
  zone: idPart.optional(),
  layer: ident.optional(),
  bufferM: metres.optional(),
  schedule: ScheduleSchema.optional(),
}).refine((c) => (c.zone === undefined) !== (c.layer === undefined), {
  message: 'an exclusion names exactly one of "zone" or "layer"',
});

export const CurfewSchema = z.strictObject({
  ...common,
  type: z.literal('curfew'),
  zone: idPart,
  graceS: seconds.default(0),
  schedule: ScheduleSchema,
});

export const InclusionSchema = z.strictObject({
  ...common,
  type: z.literal('inclusion'),
  zone: idPart.optional(),
  layer: ident.optional(),
  graceS: seconds.default(0),
  schedule: ScheduleSchema.optional(),
}).refine((c) => (c.zone === undefined) !== (c.layer === undefined), {
  message: 'an inclusion names exactly one of "zone" or "layer"',
});

export const ProximitySchema = z.strictObject({
  ...common,
  type: z.literal('proximity'),
  victimDeviceId: deviceId,
  distanceM: z.number().finite().positive(),
  warnM: z.number().finite().positive().optional(),
}).refine((c) => c.warnM === undefined || c.warnM > c.distanceM, {
  message: 'warnM must be greater than distanceM', path: ['warnM'],
});

export const ConditionSchema = z.discriminatedUnion('type', [ExclusionSchema, CurfewSchema, InclusionSchema, ProximitySchema]);

export const SubjectSchema = z.strictObject({
  id: idPart,
  deviceId,
  team: idPart,
  cohort: z.enum(['fixed', 'flex', 'free']).optional(),
  risk: z.enum(['low', 'medium', 'high', 'very_high']).default('medium'),
  mappaLevel: z.number().int().min(1).max(3).optional(),
  wisdom: z.boolean().optional(),
  domesticAbuse: z.boolean().optional(),
  timezone: z.string().default('Europe/London').refine(isValidTimeZone, 'is not a known IANA time zone'),
  validFrom: time.optional(),
  validTo: time.optional(),
  status: z.enum(['active', 'suspended']).default('active'),
  /** A display name (searchable in the subject list; not used by the rules). */
  name: z.string().min(1).max(200).optional(),
  conditions: z.array(ConditionSchema).default([]),
});

export const ConfigSchema = z.strictObject({
  settings: SettingsSchema.default(SettingsSchema.parse({})),
  zones: z.array(z.unknown()).default([]),
  subjects: z.array(SubjectSchema).default([]),
});

/** Engine settings from JSON text (the service's ENGINE_SETTINGS); a fault names its path. */
export function parseSettings(json: string, where = 'settings'): Settings {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new ConfigError('CONFIG_INVALID', where, `not JSON: ${clip((e as Error).message, 200)}`);
  }
  const r = SettingsSchema.safeParse(value, { error: strictErrorMap });
  if (!r.success) throw fromZod(r.error, where);
  return r.data;
}

/**
 * A subject as stored in Redis: parsed strictly, except that fields unknown to this version
 * (stored before input was strict, when they were silently ignored) are dropped and named, so
 * the subject loads as it behaved.
 */
export function parseStoredSubject(value: unknown): { subject: z.output<typeof SubjectSchema>; dropped: string[]; cleaned: unknown } {
  const fast = fastSubject(value);
  if (fast !== null) return { subject: fast, dropped: [], cleaned: value };
  const r = SubjectSchema.safeParse(value, { error: strictErrorMap });
  if (r.success) return { subject: r.data, dropped: [], cleaned: value };
  const stripped = withoutUnknownFields(value, r.error);
  if (stripped === null) throw fromZod(r.error, '');
  const again = SubjectSchema.safeParse(stripped.value, { error: strictErrorMap });
  if (!again.success) throw fromZod(again.error, '');
  return { subject: again.data, dropped: stripped.dropped, cleaned: stripped.value };
}

export type SubjectInput = z.input<typeof SubjectSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type SubjectParsed = z.output<typeof SubjectSchema>;
type ConditionParsed = z.output<typeof ConditionSchema>;
type ScheduleParsed = z.output<typeof ScheduleSchema>;

export type Risk = SubjectParsed['risk'];

export { CONFIG_ERROR_CODES, ConfigError, type ConfigErrorCode } from './config-error.js';
export { strictErrorMap } from './unknown-field.js';

// ---------------------------------------------------------------------------------------------
// Compiled forms: what the engine reads per fix.

/**
 * A condition compiled for the engine. One class, fields always in this order: every condition
 * has the same hidden class, so the per-fix code reads its fields without polymorphic lookups.
 */
export class CompiledCondition {
  /** Curfew and inclusion: the subject must be inside (the breach side is outside). */
  readonly inside: boolean;
  /**
   * Inside conditions over one zone: the most clearance inside its edge that closing may ask for
   * (half the zone's inner size, so a small address can always close); Infinity otherwise.
   */
  readonly clearCapM: number;

  constructor(
    readonly id: string,
    readonly type: 'exclusion' | 'curfew' | 'inclusion' | 'proximity',
    readonly index: number,
    readonly zone: PreparedZone | null,
    readonly layer: string | null,
    /** exclusion: bufferM; proximity: warnM - distanceM; 0 = no warning band. */
    readonly warnBandM: number,
    readonly hysteresisM: number,
    readonly dwellMs: number,
    readonly schedule: CompiledSchedule | null,
    readonly graceMs: number,
    readonly victimDeviceId: string | null,
    readonly distanceM: number,
    /** Consecutive breaching fixes needed to open (1 = the first). */
    readonly confirmFixes: number,
    /** How long the subject must stay clearly safe before an episode closes. */
    readonly closeAfterMs: number,
  ) {
    this.inside = type === 'curfew' || type === 'inclusion';
    this.clearCapM = this.inside && zone !== null ? innerSizeM(zone) / 2 : Infinity;
  }

  /** The same condition over a replaced zone (zones change through the API). */
  withZone(zone: PreparedZone): CompiledCondition {
    return new CompiledCondition(this.id, this.type, this.index, zone, this.layer, this.warnBandM, this.hysteresisM,
      this.dwellMs, this.schedule, this.graceMs, this.victimDeviceId, this.distanceM, this.confirmFixes, this.closeAfterMs);
  }
}

export interface CompiledSubject {
  readonly id: string;
  readonly deviceId: string;
  readonly team: string;
  readonly risk: Risk;
  /** Risk after MAPPA level 3 / WISDOM cases are raised to at least "high". */
  readonly effectiveRisk: Risk;
  readonly timezone: string;
  readonly validFromMs: number;
  readonly validToMs: number;
  readonly active: boolean;
  readonly conditions: readonly CompiledCondition[];
  readonly input: SubjectParsed;
}

export interface CompiledConfig {
  readonly settings: Settings;
  readonly zones: Map<string, PreparedZone>;
  /** One index per shared layer, for layer-wide exclusions. */
  readonly layers: Map<string, ZoneIndex>;
  readonly subjects: CompiledSubject[];
  /**
   * Devices in the device register that no subject need wear (the live service's register):
   * their fixes are recorded (trail, duplicates dropped) but raise nothing until a subject wears them.
   */
  readonly devices?: readonly string[];
}

const RISK_ORDER: Risk[] = ['low', 'medium', 'high', 'very_high'];

/** Parses and compiles a whole configuration. Throws ConfigError naming the first fault's path. */
export function compileConfig(input: unknown): CompiledConfig {
  const cfg = parseConfig(input);

  const zones = new Map<string, PreparedZone>();
  cfg.zones.forEach((feature, i) => {
    let zone: PreparedZone;
    try {
      zone = compileZone(feature);
    } catch (e) {
      if (e instanceof ZoneError) throw new ConfigError(e.code, `zones[${i}]`, e.message);
      throw e;
    }
    if (zones.has(zone.id)) throw new ConfigError('CONFIG_DUPLICATE_ID', `zones[${i}].id`, `zone id ${JSON.stringify(zone.id)} is used twice`);
    zones.set(zone.id, zone);
  });
  const layers = buildLayerIndexes(zones.values());

  const subjects = compileSubjects(cfg.subjects, zones, cfg.settings, '');
  return { settings: cfg.settings, zones, layers, subjects };
}

/**
 * ConfigSchema's output: subjects through the bulk path (config-fast.ts) when it is sure of all
 * of them, else the whole input through zod, which names the first fault as it always has.
 */
function parseConfig(input: unknown): z.output<typeof ConfigSchema> {
  const o = input as Record<string, unknown>;
  if (typeof o === 'object' && o !== null && !Array.isArray(o) && Object.keys(o).every((k) => k === 'settings' || k === 'zones' || k === 'subjects')
    && (o.zones === undefined || Array.isArray(o.zones)) && (o.subjects === undefined || Array.isArray(o.subjects))) {
    const settings = SettingsSchema.safeParse(o.settings === undefined ? {} : o.settings, { error: strictErrorMap });
    const list = (o.subjects ?? []) as unknown[];
    const subjects: SubjectParsed[] = new Array(list.length);
    let sure = settings.success;
    for (let i = 0; sure && i < list.length; i++) {
      const s = fastSubject(list[i]);
      if (s === null) sure = false;
      else subjects[i] = s;
    }
    if (sure && settings.success) return { settings: settings.data, zones: ((o.zones ?? []) as unknown[]).slice(), subjects };
  }
  const parsed = ConfigSchema.safeParse(input, { error: strictErrorMap });
  if (!parsed.success) throw fromZod(parsed.error, '');
  return parsed.data;
}

export function compileSubjects(
  list: SubjectParsed[], zones: Map<string, PreparedZone>, settings: Settings, base: string,
): CompiledSubject[] {
  const seenIds = new Set<string>();
  const seenDevices = new Map<string, string>();
  const subjects = list.map((s, i) => {
    if (seenIds.has(s.id)) throw new ConfigError('CONFIG_DUPLICATE_ID', `${base}subjects[${i}].id`, `subject id ${JSON.stringify(s.id)} is used twice`);
    seenIds.add(s.id);
    const other = seenDevices.get(s.deviceId);
    if (other !== undefined) {
      throw new ConfigError('CONFIG_DUPLICATE_DEVICE', `${base}subjects[${i}].deviceId`, `device ${JSON.stringify(s.deviceId)} is already worn by subject ${JSON.stringify(other)}`);
    }
    seenDevices.set(s.deviceId, s.id);
    return compileSubjectAt(s, zones, settings, base, i);
  });
  for (const [i, s] of subjects.entries()) {
    for (const c of s.conditions) {
      if (c.victimDeviceId !== null && seenDevices.has(c.victimDeviceId)) {
        throw new ConfigError('CONFIG_VICTIM_IS_SUBJECT', `${base}subjects[${i}].conditions[${c.index}].victimDeviceId`,
          `device ${JSON.stringify(c.victimDeviceId)} is a subject's tag, not a victim's device`);
      }
    }
  }
  return subjects;
}

export function compileSubject(s: SubjectParsed, zones: ReadonlyMap<string, PreparedZone>, settings: Settings, at: string): CompiledSubject {
  return compileSubjectAt(s, zones, settings, at, -1);
}

/**
 * compileSubject, with the subject's path in error messages given as `where` (index < 0) or as
 * `${where}subjects[${index}]`: paths are made only for an error, not for each of a national
 * configuration's 100,000 subjects and 200,000 conditions.
 */
function compileSubjectAt(s: SubjectParsed, zones: ReadonlyMap<string, PreparedZone>, settings: Settings, where: string, index: number): CompiledSubject {
  const validFromMs = s.validFrom ?? -Infinity;
  const validToMs = s.validTo ?? Infinity;
  if (validFromMs >= validToMs) throw new ConfigError('CONFIG_INVALID', `${subjectPath(where, index)}.validTo`, 'validTo must be later than validFrom');
  const list = s.conditions;
  const conditions: CompiledCondition[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const c = list[k];
    // Duplicate ids: conditions are few per subject, so a scan of the earlier ones (no Set each).
    for (let j = 0; j < k; j++) {
      if (list[j].id === c.id) {
        throw new ConfigError('CONFIG_DUPLICATE_ID', `${subjectPath(where, index)}.conditions[${k}].id`, `condition id ${JSON.stringify(c.id)} is used twice in this subject`);
      }
    }
    conditions[k] = compileCondition(c, k, zones, settings, s.timezone, where, index);
  }
  let effectiveRisk = s.risk;
  if ((s.mappaLevel === 3 || s.wisdom === true) && RISK_ORDER.indexOf(effectiveRisk) < RISK_ORDER.indexOf('high')) effectiveRisk = 'high';
  return subjectRecord(s, effectiveRisk, validFromMs, validToMs, conditions);
}

function subjectPath(where: string, index: number): string {
  return index < 0 ? where : `${where}subjects[${index}]`;
}

/** The one way a CompiledSubject is built, so they all share a hidden class. */
export function subjectRecord(
  s: SubjectParsed, effectiveRisk: Risk, validFromMs: number, validToMs: number, conditions: readonly CompiledCondition[],
): CompiledSubject {
  return {
    id: s.id, deviceId: s.deviceId, team: s.team, risk: s.risk, effectiveRisk, timezone: s.timezone,
    validFromMs, validToMs, active: s.status === 'active', conditions, input: s,
  };
}

function compileCondition(
  c: ConditionParsed, index: number, zones: ReadonlyMap<string, PreparedZone>, settings: Settings, tz: string, where: string, subjectIndex: number,
): CompiledCondition {
  const h = c.hysteresisM ?? settings.hysteresisM;
  const dwellMs = (c.dwellS ?? 0) * 1000;
  const n = c.confirmFixes ?? 1;
  const closeMs = (c.closeAfterS ?? settings.closeAfterS) * 1000;
  switch (c.type) {
    case 'exclusion':
      return new CompiledCondition(c.id, 'exclusion', index, c.zone === undefined ? null : zoneAt(zones, c.zone, where, subjectIndex, index), c.layer ?? null,
        c.bufferM ?? 0, h, dwellMs, c.schedule === undefined ? null : scheduleAt(c.schedule, tz, where, subjectIndex, index), 0, null, 0, n, closeMs);
    case 'curfew':
    case 'inclusion': {
      // A curfew is an inclusion at the curfew address with a schedule: one rule serves both.
      const zone = c.zone === undefined ? null : zoneAt(zones, c.zone, where, subjectIndex, index);
      // Coming back must be able to close the episode: at most half the zone's inner size.
      return new CompiledCondition(c.id, c.type, index, zone, c.type === 'inclusion' ? (c.layer ?? null) : null, 0,
        zone === null ? h : Math.min(h, innerSizeM(zone) / 2), dwellMs, c.schedule === undefined ? null : scheduleAt(c.schedule, tz, where, subjectIndex, index), c.graceS * 1000, null, 0, n, closeMs);
    }
    case 'proximity':
      return new CompiledCondition(c.id, 'proximity', index, null, null, c.warnM === undefined ? 0 : c.warnM - c.distanceM, h, dwellMs,
        null, 0, c.victimDeviceId, c.distanceM, n, closeMs);
  }
}

function conditionPath(where: string, subjectIndex: number, index: number): string {
  return `${subjectPath(where, subjectIndex)}.conditions[${index}]`;
}

function zoneAt(zones: ReadonlyMap<string, PreparedZone>, id: string, where: string, subjectIndex: number, index: number): PreparedZone {
  const z = zones.get(id);
  if (z === undefined) throw new ConfigError('CONFIG_UNKNOWN_ZONE', `${conditionPath(where, subjectIndex, index)}.zone`, `no zone with id ${JSON.stringify(id)}`);
  return z;
}

function scheduleAt(spec: ScheduleParsed, tz: string, where: string, subjectIndex: number, index: number): CompiledSchedule {
  try {
    return sharedSchedule(spec, tz);
  } catch (e) {
    if (e instanceof ScheduleError) throw new ConfigError('CONFIG_BAD_SCHEDULE', `${conditionPath(where, subjectIndex, index)}.schedule`, clip(e.message, 300));
    throw e;
  }
}

/**
 * Identical schedules in the same time zone compile once and are shared by every condition (and
 * every engine of the process) that has them: a national configuration's 70,000 curfews are a
 * handful of distinct "19:00-07:00 every day" specs, and each CompiledSchedule costs a 10 KB week
 * bitmap to build and 2 KB of scratch to keep. Sharing is safe: its answers are pure functions
 * of t whatever order queries come in (schedule.ts; test/engine/schedule.test.ts), and its
 * caches only remember the last answer. Bounded: cleared when it holds MAX_SHARED_SCHEDULES.
 */
const sharedSchedules = new Map<string, CompiledSchedule>();
const MAX_SHARED_SCHEDULES = 10_000;

function sharedSchedule(spec: ScheduleParsed, tz: string): CompiledSchedule {
  const key = `${tz}\u0000${JSON.stringify(spec)}`;
  let s = sharedSchedules.get(key);
  if (s === undefined) {
    s = new CompiledSchedule(spec, tz);
    if (sharedSchedules.size >= MAX_SHARED_SCHEDULES) sharedSchedules.clear();
    sharedSchedules.set(key, s);
  }
  return s;
}

/** Radius of a circle, or half the smaller side of a polygon's bounding box, in metres. */
export function innerSizeM(z: PreparedZone): number {
  if (z instanceof CircleZone) return z.radiusM;
  const w = (z.maxLon - z.minLon) * mPerDegLon((z.minLat + z.maxLat) / 2);
  const h = (z.maxLat - z.minLat) * M_PER_DEG;
  return Math.min(w, h) / 2;
}

/** A message part never longer than max characters (a bad value is not echoed whole). */
export function clip(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}

/**
 * The one mapping of a zod failure to a ConfigError naming the JSON path. An unknown field is
 * reported first (it is usually the cause of the other faults: a misspelt required field) and
 * its path names the field itself: `subjects[0].conditions[0].bufferm: unknown field; did you
 * mean bufferM?` (the message comes from strictErrorMap, passed to the parse).
 */
export function fromZod(error: z.ZodError, base: string): ConfigError {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  let path = base.endsWith('.') ? base.slice(0, -1) : base;
  const parts: PropertyKey[] = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  for (const p of parts) path += typeof p === 'number' ? `[${p}]` : `${path === '' ? '' : '.'}${String(p)}`;
  const message = issue.code === 'unrecognized_keys' && !issue.message.startsWith('unknown field') ? 'unknown field' : issue.message;
  return new ConfigError('CONFIG_INVALID', path === '' ? '(root)' : clip(path, 200), clip(message, 300));
}
