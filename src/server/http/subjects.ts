import { z } from 'zod';
import { compileSubject, ConfigError, SubjectSchema } from '../../engine/config.js';
import { STRAP_NAMES } from '../../engine/fix.js';
import { decodeFix } from '../../engine/fix-codec.js';
import { parseTime } from '../../engine/time.js';
import type { Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { HttpContext } from './context.js';
import { audit, IdParam, mustBeReady, parseOrThrow, routeOn, teamOf, type ResourcePlugin } from './route.js';

const TrailQuery = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(50_000).default(10_000),
});

async function subjectOrThrow(ctx: HttpContext, id: string, p: Principal): Promise<Record<string, unknown>> {
  const raw = await ctx.redis.hget(ctx.keys.subjects, id);
  if (raw === null) throw new ApiError('NOT_FOUND', `no subject ${JSON.stringify(id)}`);
  const subject = JSON.parse(raw) as Record<string, unknown>;
  const team = teamOf(p);
  if (team !== null && subject.team !== team) throw new ApiError('FORBIDDEN', `subject ${JSON.stringify(id)} is not managed by team ${team}`);
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

/** A query time: RFC 3339, or epoch milliseconds as digits. */
const queryTime = (s: string): number => parseTime(/^\d+$/.test(s) ? Number(s) : s);

/** Subjects with their conditions, and each subject's trail. */
export const subjects: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  route({ method: 'PUT', url: '/v1/subjects/:id', summary: 'Create or replace a subject with its conditions', roles: ['operator', 'admin'], params: IdParam, body: z.record(z.string(), z.unknown()) }, async (_req, _reply, { params, body, principal }) => {
    mustBeReady(ctx);
    if (body.id !== undefined && body.id !== params.id) throw new ApiError('VALIDATION', `body id differs from the path's ${JSON.stringify(params.id)}`);
    const input = { ...body, id: params.id };
    const parsed = parseOrThrow(SubjectSchema, input, 'body');
    const engine = ctx.host.view;
    let compiled;
    try {
      compiled = compileSubject(parsed, engine.zones, engine.settings, 'body');
    } catch (e) {
      if (e instanceof ConfigError) throw new ApiError('VALIDATION', e.message, { path: e.path, code: e.code });
      throw e;
    }
    const worn = engine.deviceRole(compiled.deviceId);
    if (worn !== null && 'subjectId' in worn && worn.subjectId !== compiled.id) throw new ApiError('SUBJECT_CONFLICT', `device ${compiled.deviceId} is worn by subject ${worn.subjectId}`);
    if (worn !== null && 'victimOf' in worn) throw new ApiError('SUBJECT_CONFLICT', `device ${compiled.deviceId} is a victim's device watched by proximity conditions`);
    for (const c of compiled.conditions) {
      const v = c.victimDeviceId === null ? null : engine.deviceRole(c.victimDeviceId);
      if (v !== null && 'subjectId' in v) throw new ApiError('SUBJECT_CONFLICT', `condition ${c.id}: victimDeviceId ${c.victimDeviceId} is subject ${v.subjectId}'s tag`);
    }
    const subject = compiled;
    await ctx.host.change((e) => e.setSubject(subject), (m) => m.hset(ctx.keys.subjects, subject.id, JSON.stringify(input)));
    await audit(ctx, 'subject.put', subject.id, principal);
    return input;
  });
  route({ method: 'GET', url: '/v1/subjects/:id', summary: 'A subject with its conditions (a team does not see victim device ids)', roles: ['operator', 'admin', 'team'], params: IdParam }, async (_req, _reply, { params, principal }) => {
    const subject = await subjectOrThrow(ctx, params.id, principal);
    await audit(ctx, 'subject.read', params.id, principal);
    return teamOf(principal) === null ? subject : withoutVictimDevices(subject);
  });
  route({ method: 'DELETE', url: '/v1/subjects/:id', summary: 'Delete a subject (open episodes close now)', roles: ['operator', 'admin'], params: IdParam }, async (_req, reply, { params, principal }) => {
    mustBeReady(ctx);
    if ((await ctx.redis.hexists(ctx.keys.subjects, params.id)) === 0) throw new ApiError('NOT_FOUND', `no subject ${JSON.stringify(params.id)}`);
    await ctx.host.change((engine) => void engine.deleteSubject(params.id), (m) => m.hdel(ctx.keys.subjects, params.id));
    await audit(ctx, 'subject.delete', params.id, principal);
    return reply.code(204).send();
  });
  route({ method: 'GET', url: '/v1/subjects/:id/trail', summary: 'The subject\'s fixes as GeoJSON (from/to: RFC 3339 or epoch ms)', roles: ['operator', 'admin', 'team'], params: IdParam, query: TrailQuery }, async (_req, _reply, { params, query, principal }) => {
    const subject = await subjectOrThrow(ctx, params.id, principal);
    const from = query.from === undefined ? 0 : queryTime(query.from);
    const to = query.to === undefined ? Infinity : queryTime(query.to);
    if (Number.isNaN(from) || Number.isNaN(to)) throw new ApiError('VALIDATION', 'from and to must be RFC 3339 date-times or epoch milliseconds');
    const deviceId = String(subject.deviceId);
    // Stream ids are arrival times, and a fix arrives after it is taken (bar clock skew).
    const start = Math.max(0, from - ctx.settings.ingestMaxFutureS * 1000);
    const entries = await ctx.redis.xrange(ctx.keys.trail(deviceId), String(start), '+', 'COUNT', query.limit * 2);
    const features = [];
    for (const [id, fields] of entries) {
      const f = decodeFix(deviceId, fields);
      if (f.ts < from || f.ts > to) continue;
      features.push({
        type: 'Feature',
        geometry: f.hasPosition ? { type: 'Point', coordinates: [f.lon, f.lat] } : null,
        properties: {
          seq: f.seq, ts: new Date(f.ts).toISOString(), receivedAt: new Date(Number(id.split('-')[0])).toISOString(),
          ...(f.accuracy === f.accuracy ? { accuracy: f.accuracy } : {}), ...(f.battery === f.battery ? { battery: f.battery } : {}),
          ...(f.strap >= 0 ? { strap: STRAP_NAMES[f.strap] } : {}),
        },
      });
      if (features.length >= query.limit) break;
    }
    features.sort((a, b) => a.properties.ts.localeCompare(b.properties.ts));
    await audit(ctx, 'trail.read', params.id, principal, { from: query.from ?? null, to: query.to ?? null, limit: query.limit });
    return { type: 'FeatureCollection', subjectId: params.id, deviceId, features };
  });
};
