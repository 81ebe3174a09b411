import { z } from 'zod';
import {
  compileSubject, ConfigError, fromZod, parseStoredSubject, strictErrorMap, SubjectSchema, type CompiledSubject, type SubjectParsed,
} from '../../engine/config.js';
import { STRAP_NAMES } from '../../engine/fix.js';
import { decodeFix } from '../../engine/fix-codec.js';
import { parseTime } from '../../engine/time.js';
import type { Principal } from '../auth.js';
import type { EngineView } from '../engine-host.js';
import { ApiError } from '../errors.js';
import type { HttpContext } from './context.js';
import { stageSubjectIndex } from '../collection-indexes.js';
import { devicesOf, rolesOf, stageAssignments, subjectPeriods, type Role } from '../device-assignments.js';
import { subjectList } from './lists.js';
import { archivedTrail } from '../../archive/trail.js';
import { audit, IdParam, mustBeReady, routeOn, teamOf, type ResourcePlugin } from './route.js';

/** Longest stated purpose of an archive read (kept in the audit log). */
export const PURPOSE_MAX_CHARS = 500;

const TrailQuery = z.strictObject({
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(50_000).default(10_000),
  purpose: z.string().trim().min(1, 'must not be blank').max(PURPOSE_MAX_CHARS).optional()
    .describe('why the trail is read: required when the period reaches into the archive (older than Redis holds); audited'),
});

/** PUT's body: a subject; its id comes from the path (if given in the body, it must match). */
const SubjectBody = SubjectSchema.extend({ id: SubjectSchema.shape.id.optional() });

/** A time in a PATCH: RFC 3339 or epoch ms; null removes the bound. */
const patchTime = z.union([z.string(), z.number(), z.null()]);
/** PATCH's body: only status and validity, without resending the subject. */
const SubjectPatch = z.strictObject({
  status: z.enum(['active', 'suspended']).optional().describe('suspended: no alerts (e.g. in custody); active again when reactivated'),
  validFrom: patchTime.optional(),
  validTo: patchTime.optional(),
}).refine((p) => Object.keys(p).length > 0, { message: 'send at least one of status, validFrom, validTo' });

/** Most subjects in one bulk import. */
const MAX_IMPORT = 10_000;
const ImportBody = z.strictObject({ subjects: z.array(z.unknown()).max(MAX_IMPORT) });
const ImportDoc = z.strictObject({ subjects: z.array(SubjectSchema).max(MAX_IMPORT) });
const ImportResult = z.object({
  accepted: z.number(),
  rejected: z.array(z.object({ index: z.number(), id: z.string().nullable(), code: z.string(), message: z.string(), path: z.string().optional() })),
});

/** A trail: GeoJSON Points (null geometry for a fix without a position), in time order. */
const TrailResponse = z.object({
  type: z.literal('FeatureCollection'),
  subjectId: z.string(),
  deviceId: z.string(),
  features: z.array(z.object({
    type: z.literal('Feature'),
    geometry: z.object({ type: z.literal('Point'), coordinates: z.array(z.number()).length(2) }).nullable(),
    properties: z.object({ seq: z.number(), ts: z.string(), receivedAt: z.string(), accuracy: z.number().optional(), battery: z.number().optional(), strap: z.string().optional() }),
  })),
});

/** A subject as stored (the body accepted), with its id. */
const SubjectResponse = SubjectSchema;

const noSubject = (id: string): string => `no subject ${JSON.stringify(id)}`;

/** The stored subject; another team's answers exactly as a missing one. */
async function subjectOrThrow(ctx: HttpContext, id: string, p: Principal): Promise<Record<string, unknown>> {
  const raw = await ctx.redis.hget(ctx.keys.subjects, id);
  if (raw === null) throw new ApiError('NOT_FOUND', noSubject(id));
  const subject = JSON.parse(raw) as Record<string, unknown>;
  const team = teamOf(p);
  if (team !== null && subject.team !== team) throw new ApiError('NOT_FOUND', noSubject(id));
  return subject;
}

/**
 * The subject as a team sees it: a proximity condition's victim device id names the victim's
 * tag, which the managing team has no need of (and which would let it follow that device).
 */
function withoutVictimDevices(subject: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(subject.conditions)) return subject;
  return {
    ...subject,
    conditions: subject.conditions.map((c: unknown) => {
      if (c === null || typeof c !== 'object' || !Object.hasOwn(c, 'victimDeviceId')) return c;
      const { victimDeviceId: _hidden, ...rest } = c as Record<string, unknown>;
      return rest;
    }),
  };
}

/** Orders two stream ids ("ms-seq"). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/** XRANGE's exclusive lower bound: after the period's start id, and not before `startMs`. */
function streamIdAfter(after: string, startMs: number): string {
  return compareIds(after, `${startMs}-0`) >= 0 ? `(${after}` : `(${Math.max(0, startMs - 1)}-18446744073709551615`;
}

/** A query time: RFC 3339, or epoch milliseconds as digits. */
const queryTime = (s: string): number => parseTime(/^\d+$/.test(s) ? Number(s) : s);

/** A subject refused: the code a client keys on, the message, the JSON path. */
class Refusal extends Error {
  constructor(readonly code: 'VALIDATION' | 'SUBJECT_CONFLICT', readonly detailCode: string, message: string, readonly path?: string) {
    super(message);
  }

  toApiError(): ApiError {
    return this.code === 'VALIDATION'
      ? new ApiError('VALIDATION', this.message, { path: this.path, code: this.detailCode })
      : new ApiError('SUBJECT_CONFLICT', this.message);
  }
}

/**
 * Compiles a parsed subject against the engine's zones and checks its devices: its tag is
 * nobody else's, and no victim device it watches is a subject's tag. `batch` holds the devices
 * of subjects earlier in the same bulk import (tag → subject id, and victim devices).
 */
interface Batch { tags: Map<string, string>; victims: Set<string> }

function admit(parsed: SubjectParsed, engine: EngineView, at: string, batch?: Batch): CompiledSubject {
  let compiled: CompiledSubject;
  try {
    compiled = compileSubject(parsed, engine.zones, engine.settings, at);
  } catch (e) {
    if (e instanceof ConfigError) throw new Refusal('VALIDATION', e.code, e.message, e.path);
    throw e;
  }
  const worn = engine.deviceRole(compiled.deviceId);
  if (worn !== null && 'subjectId' in worn && worn.subjectId !== compiled.id) throw new Refusal('SUBJECT_CONFLICT', 'CONFIG_DUPLICATE_DEVICE', `device ${compiled.deviceId} is worn by subject ${worn.subjectId}`);
  if (worn !== null && 'victimOf' in worn) throw new Refusal('SUBJECT_CONFLICT', 'CONFIG_VICTIM_IS_SUBJECT', `device ${compiled.deviceId} is a victim's device watched by proximity conditions`);
  if (batch?.victims.has(compiled.deviceId) === true) throw new Refusal('SUBJECT_CONFLICT', 'CONFIG_VICTIM_IS_SUBJECT', `device ${compiled.deviceId} is a victim's device watched by a subject earlier in this import`);
  const other = batch?.tags.get(compiled.deviceId);
  if (other !== undefined && other !== compiled.id) throw new Refusal('SUBJECT_CONFLICT', 'CONFIG_DUPLICATE_DEVICE', `device ${compiled.deviceId} is worn by subject ${other} (earlier in this import)`);
  for (const c of compiled.conditions) {
    if (c.victimDeviceId === null) continue;
    const v = engine.deviceRole(c.victimDeviceId);
    if (v !== null && 'subjectId' in v) throw new Refusal('SUBJECT_CONFLICT', 'CONFIG_VICTIM_IS_SUBJECT', `condition ${c.id}: victimDeviceId ${c.victimDeviceId} is subject ${v.subjectId}'s tag`);
    const t = batch?.tags.get(c.victimDeviceId);
    if (t !== undefined) throw new Refusal('SUBJECT_CONFLICT', 'CONFIG_VICTIM_IS_SUBJECT', `condition ${c.id}: victimDeviceId ${c.victimDeviceId} is subject ${t}'s tag (earlier in this import)`);
  }
  return compiled;
}

function admitOrThrow(parsed: SubjectParsed, engine: EngineView, at: string): CompiledSubject {
  try {
    return admit(parsed, engine, at);
  } catch (e) {
    if (e instanceof Refusal) throw e.toApiError();
    throw e;
  }
}

/** Subjects with their conditions, and each subject's trail. */
export const subjects: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  subjectList(route, ctx);
  /** Stores a subject and applies it to the engine in one change. */
  // Every subject write records the new role of each device it touches (device-assignments.ts).
  const save = async (subject: CompiledSubject, stored: Record<string, unknown>): Promise<void> => {
    let roles = new Map<string, Role>();
    await ctx.host.change((e) => {
      const before = devicesOf(e.getSubject(subject.id));
      e.setSubject(subject);
      roles = rolesOf(e, new Set([...before, ...devicesOf(subject)]));
    }, (m) => {
      m.hset(ctx.keys.subjects, subject.id, JSON.stringify(stored));
      stageSubjectIndex(m, ctx.keys, subject.id, { ...stored, id: subject.id });
      stageAssignments(m, ctx.keys, roles);
      ctx.archiveFeed.config(m, 'subject', subject.id, stored);
    });
  };
  route({ method: 'PUT', url: '/v1/subjects/:id', summary: 'Create or replace a subject with its conditions', roles: ['operator', 'admin'], params: IdParam, body: SubjectBody, response: SubjectResponse }, async (req, _reply, { params, body, principal }) => {
    mustBeReady(ctx);
    if (body.id !== undefined && body.id !== params.id) throw new ApiError('VALIDATION', `body id differs from the path's ${JSON.stringify(params.id)}`);
    // Stored as sent (times as written), checked strictly above: no field the schema does not know.
    const input = { ...(req.body as Record<string, unknown>), id: params.id };
    const subject = admitOrThrow({ ...body, id: params.id }, ctx.host.view, 'body');
    await save(subject, input);
    await audit(ctx, 'subject.put', subject.id, principal);
    return input;
  });
  route({ method: 'GET', url: '/v1/subjects/:id', summary: 'A subject with its conditions (a team does not see victim device ids)', roles: ['operator', 'admin', 'team'], params: IdParam, response: SubjectResponse }, async (_req, _reply, { params, principal }) => {
    const subject = await subjectOrThrow(ctx, params.id, principal);
    await audit(ctx, 'subject.read', params.id, principal);
    return teamOf(principal) === null ? subject : withoutVictimDevices(subject);
  });
  route({ method: 'DELETE', url: '/v1/subjects/:id', summary: 'Delete a subject (open episodes close now)', roles: ['operator', 'admin'], params: IdParam, status: 204 }, async (_req, reply, { params, principal }) => {
    mustBeReady(ctx);
    if ((await ctx.redis.hexists(ctx.keys.subjects, params.id)) === 0) throw new ApiError('NOT_FOUND', noSubject(params.id));
    let roles = new Map<string, Role>();
    await ctx.host.change((engine) => {
      const before = devicesOf(engine.getSubject(params.id));
      engine.deleteSubject(params.id);
      roles = rolesOf(engine, before);
    }, (m) => {
      m.hdel(ctx.keys.subjects, params.id);
      stageSubjectIndex(m, ctx.keys, params.id, null);
      stageAssignments(m, ctx.keys, roles);
      ctx.archiveFeed.config(m, 'subject', params.id, null);
    });
    await audit(ctx, 'subject.delete', params.id, principal);
    return reply.code(204).send();
  });
  partialUpdates(route, ctx, save);
  route({ method: 'GET', url: '/v1/subjects/:id/trail', summary: 'The subject\'s fixes as GeoJSON (from/to: RFC 3339 or epoch ms; from not after to); a period older than Redis holds comes from the archive and needs a stated purpose', roles: ['operator', 'admin', 'team'], params: IdParam, query: TrailQuery, response: TrailResponse }, async (_req, _reply, { params, query, principal }) => {
    const subject = await subjectOrThrow(ctx, params.id, principal);
    const from = query.from === undefined ? 0 : queryTime(query.from);
    const to = query.to === undefined ? Infinity : queryTime(query.to);
    if (Number.isNaN(from) || Number.isNaN(to)) throw new ApiError('VALIDATION', 'from and to must be RFC 3339 date-times or epoch milliseconds');
    if (from > to) throw new ApiError('VALIDATION', 'query.from: is later than to', { path: 'query.from' });
    const deviceId = String(subject.deviceId);
    const recent = await redisTrail(ctx, params.id, deviceId, from, query.limit);
    // The archive is read when the period reaches past what Redis holds: older than the trail
    // retention, or a stretch of one of the subject's trails that Redis has trimmed.
    const archiveDb = ctx.archiveDb;
    const reachesArchive = archiveDb !== null && (from < Date.now() - ctx.settings.trailRetentionS * 1000 || recent.trimmed);
    let features = recent.features.filter((f) => f.ts >= from && f.ts <= to);
    let archived = 0;
    if (reachesArchive) {
      if (query.purpose === undefined) {
        throw new ApiError('VALIDATION', `query.purpose: required: the period reaches into the archive (older than the ${Math.round(ctx.settings.trailRetentionS / 86400 * 10) / 10} days of trail kept in Redis, or trimmed there); state why the trail is read (at most ${PURPOSE_MAX_CHARS} characters)`, { path: 'query.purpose' });
      }
      let rows;
      try {
        rows = await archivedTrail(archiveDb, params.id, from, to, query.limit);
      } catch (e) {
        throw new ApiError('ARCHIVE_UNAVAILABLE', `the archive could not be read (${(e as Error).message}); try again`);
      }
      // One answer: the archive's fixes and Redis's, each fix once (a fix is its device and seq).
      const seen = new Set(features.map((f) => `${f.deviceId}\u0000${f.seq}`));
      for (const r of rows) {
        if (seen.has(`${r.deviceId}\u0000${r.seq}`)) continue;
        seen.add(`${r.deviceId}\u0000${r.seq}`);
        features.push({ deviceId: r.deviceId, seq: r.seq, ts: r.ts, receivedAt: r.receivedAt, lat: r.lat, lon: r.lon, accuracy: r.accuracyM, battery: r.battery, strap: r.strap });
        archived++;
      }
    }
    features.sort((a, b) => a.ts - b.ts || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.seq - b.seq));
    features = features.slice(0, query.limit);
    await audit(ctx, 'trail.read', params.id, principal, { from: query.from ?? null, to: query.to ?? null, limit: query.limit });
    if (reachesArchive) {
      // Who (the entry's role and token id), when (its time), why, what period, how many fixes.
      await audit(ctx, 'trail.archive.read', params.id, principal, {
        purpose: query.purpose, from: new Date(from).toISOString(), to: Number.isFinite(to) ? new Date(to).toISOString() : null,
        fixes: features.length, fromArchive: archived,
      });
    }
    return {
      type: 'FeatureCollection', subjectId: params.id, deviceId,
      features: features.map((f) => ({
        type: 'Feature',
        geometry: f.lat !== null && f.lon !== null ? { type: 'Point', coordinates: [f.lon, f.lat] } : null,
        properties: {
          seq: f.seq, ts: new Date(f.ts).toISOString(), receivedAt: new Date(f.receivedAt).toISOString(),
          ...(f.accuracy !== null ? { accuracy: f.accuracy } : {}), ...(f.battery !== null ? { battery: f.battery } : {}),
          ...(f.strap !== null ? { strap: f.strap } : {}),
        },
      })),
    };
  });
};

/** One trail point, from Redis or the archive. */
interface TrailFix {
  deviceId: string; seq: number; ts: number; receivedAt: number;
  lat: number | null; lon: number | null; accuracy: number | null; battery: number | null; strap: string | null;
}

/**
 * The subject's fixes Redis holds from `from` on: only the periods each device was this
 * subject's (never a victim unit's, nor a previous or later wearer's: device-assignments.ts).
 * `trimmed`: some of those periods' stream was trimmed inside the range asked (Redis remembers
 * the newest id it deleted), so older fixes must come from the archive.
 */
async function redisTrail(ctx: HttpContext, subjectId: string, deviceId: string, from: number, limit: number): Promise<{ features: TrailFix[]; trimmed: boolean }> {
  // Stream ids are arrival times, and a fix arrives after it is taken (bar clock skew).
  const start = Math.max(0, from - ctx.settings.ingestMaxFutureS * 1000);
  const features: TrailFix[] = [];
  let trimmed = false;
  for (const [device, periods] of await subjectPeriods(ctx.redis, ctx.keys, subjectId, deviceId)) {
    let kept: string | null = null;
    for (const p of periods) {
      const lower = streamIdAfter(p.after, start);
      if (p.to !== '+' && compareIds(lower.slice(1), p.to) >= 0) continue;
      if (ctx.archiveDb !== null) {
        kept ??= await keptFrom(ctx, device);
        if (compareIds(kept, lower.slice(1)) > 0) trimmed = true;
      }
      const got = await ctx.redis.xrange(ctx.keys.trail(device), lower, p.to, 'COUNT', limit * 2);
      for (const [id, fields] of got) {
        const f = decodeFix(device, fields);
        features.push({
          deviceId: device, seq: f.seq, ts: f.ts, receivedAt: Number(id.split('-')[0]),
          lat: f.hasPosition ? f.lat : null, lon: f.hasPosition ? f.lon : null,
          accuracy: f.accuracy === f.accuracy ? f.accuracy : null, battery: f.battery === f.battery ? f.battery : null,
          strap: f.strap >= 0 ? STRAP_NAMES[f.strap] : null,
        });
      }
    }
  }
  return { features, trimmed };
}

/**
 * From where a device's trail stream is whole: '0-0' when nothing was ever trimmed from it (or
 * it has no stream); else its first entry's id (trims only ever remove the oldest entries), or
 * the largest id when everything was trimmed.
 */
async function keptFrom(ctx: HttpContext, device: string): Promise<string> {
  const info = await ctx.redis.xinfo('STREAM', ctx.keys.trail(device)).catch(() => null) as unknown[] | null;
  if (info === null) return '0-0';
  const field = (name: string): unknown => info[info.indexOf(name) + 1];
  const length = Number(field('length'));
  if (!(Number(field('entries-added')) > length)) return '0-0';
  return length === 0 ? '18446744073709551615-18446744073709551615' : String(field('recorded-first-entry-id'));
}

type Route = ReturnType<typeof routeOn>;
type Save = (subject: CompiledSubject, stored: Record<string, unknown>) => Promise<void>;

/** PATCH (status, validity) and the bulk import: changes without resending whole subjects one by one. */
function partialUpdates(route: Route, ctx: HttpContext, save: Save): void {
  route({ method: 'PATCH', url: '/v1/subjects/:id', summary: 'Change a subject\'s status (suspend, reactivate) or validity (validFrom/validTo; null removes) without resending it', roles: ['operator', 'admin'], params: IdParam, body: SubjectPatch, response: SubjectResponse }, async (_req, _reply, { params, body, principal }) => {
    mustBeReady(ctx);
    const raw = await ctx.redis.hget(ctx.keys.subjects, params.id);
    if (raw === null) throw new ApiError('NOT_FOUND', noSubject(params.id));
    const stored = JSON.parse(raw) as Record<string, unknown>;
    for (const [k, v] of Object.entries(body)) {
      if (v === null) delete stored[k];
      else stored[k] = v;
    }
    let parsed: SubjectParsed;
    let cleaned: Record<string, unknown>;
    try {
      // A subject stored before input was strict is saved back without its unknown fields.
      const p = parseStoredSubject(stored);
      parsed = p.subject;
      cleaned = p.cleaned as Record<string, unknown>;
    } catch (e) {
      if (e instanceof ConfigError) throw new ApiError('VALIDATION', `body.${e.message}`, { path: `body.${e.path}`, code: e.code });
      throw e;
    }
    const subject = admitOrThrow(parsed, ctx.host.view, 'body');
    await save(subject, cleaned);
    await audit(ctx, 'subject.patch', params.id, principal, { changed: body });
    return cleaned;
  });
  route({ method: 'POST', url: '/v1/subjects', summary: `Bulk import: {"subjects": [...]} (at most ${MAX_IMPORT}); good subjects are kept beside bad ones, applied in one change`, roles: ['operator', 'admin'], body: ImportBody, docBody: ImportDoc, response: ImportResult, bodyLimit: ctx.settings.zoneImportLimitBytes }, async (_req, _reply, { body, principal }) => {
    mustBeReady(ctx);
    const engine = ctx.host.view;
    const rejected: z.infer<typeof ImportResult>['rejected'] = [];
    const good: { subject: CompiledSubject; stored: unknown }[] = [];
    const seen = new Set<string>();
    const batch: Batch = { tags: new Map(), victims: new Set() };
    body.subjects.forEach((item, index) => {
      const at = `subjects[${index}]`;
      const id = typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string' ? String((item as { id: string }).id).slice(0, 128) : null;
      try {
        const r = SubjectSchema.safeParse(item, { error: strictErrorMap });
        if (!r.success) {
          const e = fromZod(r.error, at);
          throw new Refusal('VALIDATION', e.code, e.message, e.path);
        }
        if (seen.has(r.data.id)) throw new Refusal('VALIDATION', 'CONFIG_DUPLICATE_ID', `${at}.id: subject id ${JSON.stringify(r.data.id)} appears earlier in this import`, `${at}.id`);
        const subject = admit(r.data, engine, at, batch);
        seen.add(subject.id);
        batch.tags.set(subject.deviceId, subject.id);
        for (const c of subject.conditions) if (c.victimDeviceId !== null) batch.victims.add(c.victimDeviceId);
        good.push({ subject, stored: item });
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        rejected.push({ index, id, code: e.detailCode, message: e.message, ...(e.path === undefined ? {} : { path: e.path }) });
      }
    });
    if (good.length > 0) {
      let roles = new Map<string, Role>();
      await ctx.host.change(
        (e) => {
          const touched = new Set<string>();
          for (const g of good) for (const d of [...devicesOf(e.getSubject(g.subject.id)), ...devicesOf(g.subject)]) touched.add(d);
          for (const g of good) e.setSubject(g.subject);
          roles = rolesOf(e, touched);
        },
        (m) => {
          for (let i = 0; i < good.length; i += 1000) {
            const args: string[] = [];
            for (const g of good.slice(i, i + 1000)) args.push(g.subject.id, JSON.stringify(g.stored));
            m.hset(ctx.keys.subjects, ...args);
          }
          for (const g of good) stageSubjectIndex(m, ctx.keys, g.subject.id, { ...(g.stored as object), id: g.subject.id });
          stageAssignments(m, ctx.keys, roles);
          ctx.archiveFeed.configs(m, 'subject', good.map((g) => [g.subject.id, g.stored]));
        },
      );
    }
    await audit(ctx, 'subject.import', `${good.length} subjects`, principal, { accepted: good.length, rejected: rejected.length });
    return { accepted: good.length, rejected };
  });
}
