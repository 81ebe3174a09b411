import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { compileZone, ZoneError, type PreparedZone } from '../../geo/index.js';
import type { AlertEvent } from '../engine/alert.js';
import { clip, compileSubject, fromZod, SubjectSchema, type ConfigError } from '../engine/config.js';
import type { Engine } from '../engine/engine.js';
import { parseTime } from '../engine/time.js';
import { bearer, roleName, type Principal, type TokenTable } from './auth.js';
import { decodeFix, StorageUnavailableError, type Committer } from './committer.js';
import { redactTeamConfig, TeamConfigSchema } from '../alerts/team-config.js';
import { API_ERRORS, ApiError } from './errors.js';
import type { Keys } from './keys.js';
import type { Metrics } from './metrics.js';
import type { ServiceSettings } from './settings.js';

export interface HttpContext {
  settings: ServiceSettings;
  tokens: TokenTable;
  redis: Redis;
  keys: Keys;
  metrics: Metrics;
  engine: () => Engine;
  committer: () => Committer;
  /** Loaded and not recovering. */
  ready: () => boolean;
  log: { level: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

// ---------------------------------------------------------------------------------------------
// Schemas (validation and the OpenAPI document come from the same objects)

/** Ids are stored as Redis keys (UTF-8): a lone surrogate would collapse two ids into one. */
const IdParam = z.object({ id: z.string().min(1).max(128).refine((s) => s.isWellFormed(), 'must be well-formed Unicode') });
const EpisodeParam = z.object({ episodeId: z.string().min(1).max(400) });
const AlertsQuery = z.object({
  team: z.string().min(1).max(128).optional(),
  state: z.enum(['open', 'closed', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const TrailQuery = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(50_000).default(10_000),
});
export const AckBody = z.object({
  by: z.string().min(1).max(200),
  note: z.string().max(4000).default(''),
  outcome: z.enum(['no_action', 'warning', 'positive_action_letter', 'breach', 'recall', 'arrest']),
});
const FeatureBody = z.object({ type: z.literal('Feature') }).passthrough();
const FeatureCollectionBody = z.object({ type: z.literal('FeatureCollection'), features: z.array(z.unknown()) });
const ErrorBody = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });

type Kind = Principal['role']['kind'];

interface RouteDoc {
  method: string;
  url: string;
  summary: string;
  roles: Kind[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

export async function buildHttp(ctx: HttpContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: ctx.log.level,
      // Tokens never reach the log; bodies (positions) are never logged at all.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
      serializers: {
        req: (req: { method: string; routeOptions?: { url?: string }; url: string }) => ({ method: req.method, route: req.routeOptions?.url ?? req.url.split('?')[0] }),
      },
    },
    bodyLimit: ctx.settings.httpBodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Ids may be 128 characters and episode ids several of those.
    routerOptions: { maxParamLength: 512 },
    // Router faults (a malformed percent-encoding in the path…) get a registered code too.
    frameworkErrors: (error, _req, reply) => {
      void (reply as FastifyReply).code(400).send({ code: 'VALIDATION', message: error.message });
    },
    // Faults before a request exists (an oversize request line or headers): still {code, message}.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify(tooLarge ? { code: 'HEADERS_TOO_LARGE', message: 'request line and headers are larger than the server accepts' } : { code: 'VALIDATION', message: 'malformed HTTP request' });
      socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
  });
  // JSON bodies: refuse nesting deeper than MAX_JSON_DEPTH before parsing (nothing the API takes
  // is deeper than ~10; very deep values would overflow the stack wherever they are walked),
  // then fastify's own parser with its prototype-poisoning checks.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const depth = jsonDepth(body as string);
    if (depth > MAX_JSON_DEPTH) {
      done(new ApiError('VALIDATION', `JSON nested ${depth} levels deep; at most ${MAX_JSON_DEPTH}`), undefined);
      return;
    }
    defaultJson(req, body as string, done);
  });
  app.decorateRequest('principal', null);
  const docs: RouteDoc[] = [];
  const buckets = new Map<string, { tokens: number; at: number }>();

  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url === '/healthz') return;
    const token = bearer(req.headers.authorization);
    if (token === null) throw new ApiError('AUTH_REQUIRED', 'send "Authorization: Bearer <token>"');
    const principal = ctx.tokens.lookup(token);
    if (principal === null) throw new ApiError('AUTH_INVALID', 'the bearer token is not valid');
    req.principal = principal;
    // Per-token token bucket: rate per second, burst of two seconds' worth.
    const now = Date.now();
    const rate = ctx.settings.rateLimitPerS;
    const b = buckets.get(principal.tokenId) ?? { tokens: rate * 2, at: now };
    b.tokens = Math.min(rate * 2, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) throw new ApiError('RATE_LIMITED', `more than ${rate} requests per second from this token`);
    b.tokens -= 1;
    buckets.set(principal.tokenId, b);
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send({ code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) });
    if (err instanceof StorageUnavailableError) return reply.code(503).send({ code: 'STORAGE_UNAVAILABLE', message: err.message });
    if (isRedisUnavailable(err)) return reply.code(503).send({ code: 'STORAGE_UNAVAILABLE', message: 'Redis is unavailable; nothing was changed; try again' });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ code: 'PAYLOAD_TOO_LARGE', message: err.message });
    if (err.statusCode === 415) return reply.code(415).send({ code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ code: 'VALIDATION', message: err.message });
    }
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: 'no such route' }));

  const route = <P, Q, B>(
    def: { method: 'GET' | 'PUT' | 'POST' | 'DELETE'; url: string; summary: string; roles: Kind[]; params?: z.ZodType<P>; query?: z.ZodType<Q>; body?: z.ZodType<B>; bodyLimit?: number },
    handler: (req: FastifyRequest, reply: FastifyReply, input: { params: P; query: Q; body: B; principal: Principal }) => Promise<unknown>,
  ): void => {
    docs.push(def);
    app.route({
      method: def.method,
      url: def.url,
      ...(def.bodyLimit === undefined ? {} : { bodyLimit: def.bodyLimit }),
      handler: async (req, reply) => {
        const principal = req.principal as Principal;
        if (!def.roles.includes(principal.role.kind)) {
          throw new ApiError('FORBIDDEN', `role ${roleName(principal.role)} may not ${def.method} ${def.url}`);
        }
        const parse = <T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T => {
          if (schema === undefined) return undefined as T;
          const r = schema.safeParse(value ?? {});
          if (!r.success) {
            const e = fromZod(r.error, where);
            throw new ApiError('VALIDATION', e.message, { path: e.path });
          }
          return r.data;
        };
        const input = {
          params: parse(def.params, req.params, ''),
          query: parse(def.query, req.query, 'query'),
          body: parse(def.body, req.body, 'body'),
          principal,
        };
        return handler(req, reply, input);
      },
    });
  };

  const teamOf = (p: Principal): string | null => (p.role.kind === 'team' ? p.role.team : null);
  const mustBeReady = (): void => {
    if (!ctx.ready()) throw new ApiError('NOT_READY', 'the service is loading or recovering its state; try again shortly');
  };
  const subjectOrThrow = async (id: string, p: Principal): Promise<Record<string, unknown>> => {
    const raw = await ctx.redis.hget(ctx.keys.subjects, id);
    if (raw === null) throw new ApiError('NOT_FOUND', `no subject ${JSON.stringify(id)}`);
    const subject = JSON.parse(raw) as Record<string, unknown>;
    const team = teamOf(p);
    if (team !== null && subject.team !== team) throw new ApiError('FORBIDDEN', `subject ${JSON.stringify(id)} is not managed by team ${team}`);
    return subject;
  };

  // --- operations ---------------------------------------------------------------------------
  app.get('/healthz', async () => ({ status: 'ok' }));
  route({ method: 'GET', url: '/readyz', summary: 'Ready: Redis reachable and engine state loaded', roles: ['ingest', 'operator', 'admin', 'team'] }, async (_req, reply) => {
    let redisOk = false;
    try {
      redisOk = (await ctx.redis.ping()) === 'PONG';
    } catch {
      redisOk = false;
    }
    const ready = redisOk && ctx.ready();
    return reply.code(ready ? 200 : 503).send({ ready, redis: redisOk, state: ctx.ready() ? 'loaded' : 'loading' });
  });
  route({ method: 'GET', url: '/metrics', summary: 'Prometheus metrics', roles: ['operator', 'admin'] }, async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  route({ method: 'GET', url: '/docs/json', summary: 'This OpenAPI document', roles: ['operator', 'admin', 'team'] }, async () => openApi(docs));

  // --- zones --------------------------------------------------------------------------------
  const zoneSummary = (z: PreparedZone): object => ({ id: z.id, kind: z.kind, layer: z.layer, vertexCount: z.vertexCount, bbox: [z.minLon, z.minLat, z.maxLon, z.maxLat] });
  const compile = (feature: unknown): PreparedZone => {
    try {
      return compileZone(feature);
    } catch (e) {
      if (e instanceof ZoneError) throw new ApiError('ZONE_INVALID', e.message, { zoneCode: e.code, zoneId: e.zoneId === null ? null : clip(e.zoneId) });
      throw e;
    }
  };
  route({ method: 'PUT', url: '/v1/zones/:id', summary: 'Create or replace a zone (GeoJSON Feature)', roles: ['operator', 'admin'], params: IdParam, body: FeatureBody }, async (_req, _reply, { params, body, principal }) => {
    mustBeReady();
    if (body.id !== undefined && (typeof body.id !== 'string' && typeof body.id !== 'number' || String(body.id) !== params.id)) throw new ApiError('VALIDATION', `body id differs from the path's ${JSON.stringify(params.id)}`);
    const feature = { ...body, id: params.id };
    const zone = compile(feature);
    await ctx.committer().change(() => ctx.engine().setZone(zone), (m) => m.hset(ctx.keys.zones, zone.id, JSON.stringify(feature)));
    await audit(ctx, 'zone.put', zone.id, principal);
    return zoneSummary(zone);
  });
  route({ method: 'POST', url: '/v1/zones', summary: 'Bulk import: a FeatureCollection; good features are kept beside bad ones', roles: ['operator', 'admin'], body: FeatureCollectionBody, bodyLimit: ctx.settings.zoneImportLimitBytes }, async (_req, _reply, { body, principal }) => {
    mustBeReady();
    const rejected: { index: number; id: string | null; code: string; message: string }[] = [];
    const good: { zone: PreparedZone; json: string }[] = [];
    const seen = new Set<string>();
    body.features.forEach((f, index) => {
      try {
        const zone = compileZone(f);
        if (seen.has(zone.id)) throw new ZoneError('ZONE_BAD_ID', zone.id, 'the same id appears earlier in this collection');
        seen.add(zone.id);
        good.push({ zone, json: JSON.stringify(f) });
      } catch (e) {
        if (!(e instanceof ZoneError)) throw e;
        rejected.push({ index, id: e.zoneId === null ? null : clip(e.zoneId), code: e.code, message: e.message });
      }
    });
    if (good.length > 0) {
      await ctx.committer().change(
        () => {
          const engine = ctx.engine();
          for (const g of good) engine.setZone(g.zone);
        },
        (m) => {
          for (let i = 0; i < good.length; i += 1000) {
            const args: string[] = [];
            for (const g of good.slice(i, i + 1000)) args.push(g.zone.id, g.json);
            m.hset(ctx.keys.zones, ...args);
          }
        },
      );
    }
    await audit(ctx, 'zone.import', `${good.length} zones`, principal);
    return { accepted: good.length, rejected };
  });
  route({ method: 'GET', url: '/v1/zones/:id', summary: 'A zone as stored', roles: ['operator', 'admin', 'team'], params: IdParam }, async (_req, _reply, { params, principal }) => {
    const raw = await ctx.redis.hget(ctx.keys.zones, params.id);
    if (raw === null) throw new ApiError('NOT_FOUND', `no zone ${JSON.stringify(params.id)}`);
    const team = teamOf(principal);
    if (team !== null) {
      const engine = ctx.engine();
      const usedByTeam = engine.zoneUsersOf(params.id).some((s) => engine.getSubject(s)?.team === team);
      if (!usedByTeam) throw new ApiError('FORBIDDEN', `zone ${JSON.stringify(params.id)} is not used by team ${team}'s subjects`);
    }
    return JSON.parse(raw) as unknown;
  });
  route({ method: 'DELETE', url: '/v1/zones/:id', summary: 'Delete a zone no condition names', roles: ['operator', 'admin'], params: IdParam }, async (_req, reply, { params, principal }) => {
    mustBeReady();
    const engine = ctx.engine();
    const users = engine.zoneUsersOf(params.id);
    if (users.length > 0) throw new ApiError('ZONE_IN_USE', `zone ${JSON.stringify(params.id)} is named by conditions of ${users.length} subject(s)`, { subjects: users });
    if ((await ctx.redis.hexists(ctx.keys.zones, params.id)) === 0) throw new ApiError('NOT_FOUND', `no zone ${JSON.stringify(params.id)}`);
    await ctx.committer().change(() => {
      if (!ctx.engine().deleteZone(params.id)) throw new ApiError('ZONE_IN_USE', `zone ${JSON.stringify(params.id)} is in use`);
    }, (m) => m.hdel(ctx.keys.zones, params.id));
    await audit(ctx, 'zone.delete', params.id, principal);
    return reply.code(204).send();
  });

  // --- subjects -----------------------------------------------------------------------------
  route({ method: 'PUT', url: '/v1/subjects/:id', summary: 'Create or replace a subject with its conditions', roles: ['operator', 'admin'], params: IdParam, body: z.record(z.string(), z.unknown()) }, async (_req, _reply, { params, body, principal }) => {
    mustBeReady();
    if (body.id !== undefined && body.id !== params.id) throw new ApiError('VALIDATION', `body id differs from the path's ${JSON.stringify(params.id)}`);
    const input = { ...body, id: params.id };
    const parsed = SubjectSchema.safeParse(input);
    if (!parsed.success) {
      const e = fromZod(parsed.error, 'body');
      throw new ApiError('VALIDATION', e.message, { path: e.path });
    }
    const engine = ctx.engine();
    let compiled;
    try {
      compiled = compileSubject(parsed.data, engine.zones, engine.settings, 'body');
    } catch (e) {
      const ce = e as ConfigError;
      if (ce.name === 'ConfigError') throw new ApiError('VALIDATION', ce.message, { path: ce.path, code: ce.code });
      throw e;
    }
    const worn = engine.deviceRole(compiled.deviceId);
    if (worn !== null && 'subjectId' in worn && worn.subjectId !== compiled.id) throw new ApiError('SUBJECT_CONFLICT', `device ${compiled.deviceId} is worn by subject ${worn.subjectId}`);
    if (worn !== null && 'victimOf' in worn) throw new ApiError('SUBJECT_CONFLICT', `device ${compiled.deviceId} is a victim's device watched by proximity conditions`);
    for (const c of compiled.conditions) {
      const v = c.victimDeviceId === null ? null : engine.deviceRole(c.victimDeviceId);
      if (v !== null && 'subjectId' in v) throw new ApiError('SUBJECT_CONFLICT', `condition ${c.id}: victimDeviceId ${c.victimDeviceId} is subject ${v.subjectId}'s tag`);
    }
    await ctx.committer().change(() => engine.setSubject(compiled), (m) => m.hset(ctx.keys.subjects, compiled.id, JSON.stringify(input)));
    await audit(ctx, 'subject.put', compiled.id, principal);
    return input;
  });
  route({ method: 'GET', url: '/v1/subjects/:id', summary: 'A subject with its conditions', roles: ['operator', 'admin', 'team'], params: IdParam }, async (_req, _reply, { params, principal }) => subjectOrThrow(params.id, principal));
  route({ method: 'DELETE', url: '/v1/subjects/:id', summary: 'Delete a subject (open episodes close now)', roles: ['operator', 'admin'], params: IdParam }, async (_req, reply, { params, principal }) => {
    mustBeReady();
    if ((await ctx.redis.hexists(ctx.keys.subjects, params.id)) === 0) throw new ApiError('NOT_FOUND', `no subject ${JSON.stringify(params.id)}`);
    await ctx.committer().change(() => void ctx.engine().deleteSubject(params.id), (m) => m.hdel(ctx.keys.subjects, params.id));
    await audit(ctx, 'subject.delete', params.id, principal);
    return reply.code(204).send();
  });
  route({ method: 'GET', url: '/v1/subjects/:id/trail', summary: 'The subject\'s fixes as GeoJSON (from/to: RFC 3339 or epoch ms)', roles: ['operator', 'admin', 'team'], params: IdParam, query: TrailQuery }, async (_req, _reply, { params, query, principal }) => {
    const subject = await subjectOrThrow(params.id, principal);
    const from = query.from === undefined ? 0 : parseTime(/^\d+$/.test(query.from) ? Number(query.from) : query.from);
    const to = query.to === undefined ? Infinity : parseTime(/^\d+$/.test(query.to) ? Number(query.to) : query.to);
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
          ...(f.strap >= 0 ? { strap: ['ok', 'open', 'tampered'][f.strap] } : {}),
        },
      });
      if (features.length >= query.limit) break;
    }
    features.sort((a, b) => a.properties.ts.localeCompare(b.properties.ts));
    await audit(ctx, 'trail.read', params.id, principal);
    return { type: 'FeatureCollection', subjectId: params.id, deviceId, features };
  });

  // --- alerts -------------------------------------------------------------------------------
  const loadAlert = async (episodeId: string): Promise<Record<string, unknown> | null> => {
    const h = await ctx.redis.hgetall(ctx.keys.alert(episodeId));
    return Object.keys(h).length === 0 ? null : alertResource(episodeId, h);
  };
  route({ method: 'GET', url: '/v1/alerts', summary: 'Episodes (alerts), newest first; a team sees only its own', roles: ['operator', 'admin', 'team'], query: AlertsQuery }, async (_req, _reply, { query, principal }) => {
    const own = teamOf(principal);
    if (own !== null && query.team !== undefined && query.team !== own) throw new ApiError('FORBIDDEN', `team ${own} may not read team ${query.team}'s alerts`);
    const team = own ?? query.team ?? null;
    let ids: string[];
    if (query.state === 'open') {
      ids = await ctx.redis.smembers(team === null ? ctx.keys.openAll : ctx.keys.openOfTeam(team));
    } else {
      ids = await ctx.redis.zrevrange(team === null ? ctx.keys.alertsAll : ctx.keys.alertsOfTeam(team), 0, query.limit * 4 - 1);
    }
    const pipe = ctx.redis.pipeline();
    for (const id of ids) pipe.hgetall(ctx.keys.alert(id));
    const rows = (await pipe.exec()) ?? [];
    const alerts = [];
    for (let i = 0; i < ids.length; i++) {
      const h = rows[i][1] as Record<string, string>;
      if (Object.keys(h).length === 0) continue;
      const a = alertResource(ids[i], h);
      if (query.state === 'closed' && a.state !== 'closed') continue;
      alerts.push(a);
    }
    alerts.sort((a, b) => String(b.openedAt).localeCompare(String(a.openedAt)) || String(a.episodeId).localeCompare(String(b.episodeId)));
    await audit(ctx, 'alerts.read', team ?? '*', principal);
    return { alerts: alerts.slice(0, query.limit) };
  });
  route({ method: 'GET', url: '/v1/alerts/:episodeId', summary: 'One episode with its events and acknowledgements', roles: ['operator', 'admin', 'team'], params: EpisodeParam }, async (_req, _reply, { params, principal }) => {
    const a = await loadAlert(params.episodeId);
    if (a === null) throw new ApiError('NOT_FOUND', `no alert ${JSON.stringify(params.episodeId)}`);
    const team = teamOf(principal);
    if (team !== null && a.team !== team) throw new ApiError('FORBIDDEN', `alert belongs to team ${String(a.team)}`);
    return a;
  });
  route({ method: 'POST', url: '/v1/alerts/:episodeId/ack', summary: 'Acknowledge an episode: who decided, a note and an outcome (audit record)', roles: ['operator', 'admin', 'team'], params: EpisodeParam, body: AckBody }, async (_req, _reply, { params, body, principal }) => {
    const a = await loadAlert(params.episodeId);
    if (a === null) throw new ApiError('NOT_FOUND', `no alert ${JSON.stringify(params.episodeId)}`);
    const team = teamOf(principal);
    if (team !== null && a.team !== team) throw new ApiError('FORBIDDEN', `alert belongs to team ${String(a.team)}`);
    const ack = { ...body, at: new Date().toISOString(), role: roleName(principal.role), tokenId: principal.tokenId };
    await ctx.redis.rpush(`${ctx.keys.alert(params.episodeId)}:acks`, JSON.stringify(ack));
    await ctx.redis.hset(ctx.keys.alert(params.episodeId), 'acked', JSON.stringify(ack));
    await audit(ctx, 'alert.ack', params.episodeId, principal);
    return loadAlert(params.episodeId);
  });

  // --- teams: alert routing (webhooks, escalation) --------------------------------------------
  route({ method: 'PUT', url: '/v1/teams/:id', summary: 'Set a team\'s alert routing: webhooks (URL + signing secret) and escalation', roles: ['operator', 'admin'], params: IdParam, body: TeamConfigSchema }, async (_req, _reply, { params, body, principal }) => {
    await ctx.redis.hset(ctx.keys.teams, params.id, JSON.stringify(body));
    await audit(ctx, 'team.set', params.id, principal);
    return { id: params.id, ...(redactTeamConfig(body) as object) };
  });
  route({ method: 'GET', url: '/v1/teams/:id', summary: 'A team\'s alert routing (secrets never shown)', roles: ['operator', 'admin', 'team'], params: IdParam }, async (_req, _reply, { params, principal }) => {
    const own = teamOf(principal);
    if (own !== null && own !== params.id) throw new ApiError('FORBIDDEN', `team ${own} may not read team ${params.id}'s routing`);
    const raw = await ctx.redis.hget(ctx.keys.teams, params.id);
    if (raw === null) throw new ApiError('NOT_FOUND', `no routing configured for team ${JSON.stringify(params.id)}`);
    return { id: params.id, ...(redactTeamConfig(TeamConfigSchema.parse(JSON.parse(raw))) as object) };
  });
  route({ method: 'GET', url: '/v1/deliveries/dead', summary: 'Dead-lettered deliveries (retries exhausted), newest first', roles: ['operator', 'admin'], query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) }, async (_req, _reply, { query }) => {
    const rows = await ctx.redis.zrevrange(ctx.keys.deadLetters, 0, query.limit - 1);
    return { total: await ctx.redis.zcard(ctx.keys.deadLetters), deadLetters: rows.map((r) => JSON.parse(r) as unknown) };
  });

  route({ method: 'GET', url: '/v1/audit', summary: 'The audit log: who changed zones, subjects or routing, who read trails or alerts, who acknowledged', roles: ['admin'], query: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(500) }) }, async (_req, _reply, { query }) => {
    const rows = await ctx.redis.xrevrange(`${ctx.keys.p}:audit`, '+', '-', 'COUNT', query.limit);
    return { entries: rows.map(([, f]) => JSON.parse(f[1]) as unknown) };
  });

  await app.ready();
  return app;
}

const MAX_JSON_DEPTH = 64;

/** Deepest nesting of objects and arrays in a JSON text (strings skipped). O(n), no parsing. */
export function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** ioredis refuses commands at once while disconnected (no offline queue): that is a 503, not a 500. */
function isRedisUnavailable(err: Error): boolean {
  return err.name === 'MaxRetriesPerRequestError' || /Stream isn't writeable|Connection is closed|ECONNREFUSED|enableOfflineQueue/.test(err.message);
}

/** Appends to the audit log (who changed or read what, when); kept in Redis, read by admin. */
export async function audit(ctx: HttpContext, action: string, target: string, who?: Principal): Promise<void> {
  const entry = { at: new Date().toISOString(), action, target, ...(who === undefined ? {} : { role: roleName(who.role), tokenId: who.tokenId }) };
  await ctx.redis.xadd(`${ctx.keys.p}:audit`, 'MAXLEN', '~', 1_000_000, '*', 'e', JSON.stringify(entry));
}

/** The REST alert resource: the episode, from its stored events. */
function alertResource(episodeId: string, h: Record<string, string>): Record<string, unknown> {
  const ev = (k: string): AlertEvent | null => (h[k] === undefined ? null : (JSON.parse(h[k]) as AlertEvent));
  const opened = ev('opened');
  const updated = ev('updated');
  const closed = ev('closed');
  const first = (opened ?? updated ?? closed) as AlertEvent;
  const latest = closed ?? updated ?? opened ?? first;
  return {
    episodeId,
    type: first.type,
    severity: first.severity,
    confidence: latest.confidence,
    state: closed === null ? 'open' : 'closed',
    subjectId: first.subjectId,
    deviceId: first.deviceId,
    ...(first.conditionId === undefined ? {} : { conditionId: first.conditionId }),
    ...(first.zoneId === undefined ? {} : { zoneId: first.zoneId }),
    team: first.team,
    openedAt: opened?.at ?? first.at,
    ...(closed === null ? {} : { closedAt: closed.at }),
    late: first.late,
    events: [opened, updated, closed].filter((e) => e !== null),
    ...(h.acked === undefined ? {} : { acknowledged: JSON.parse(h.acked) as unknown }),
    ...(h.escalations === undefined ? {} : { escalations: Number(h.escalations) }),
    delivery: Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('delivered:') || k.startsWith('dead:')).map(([k, v]) => [k, k.startsWith('dead:') ? (JSON.parse(v) as unknown) : v])),
  };
}

function openApi(docs: RouteDoc[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  const schema = (s: z.ZodType): unknown => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  for (const d of docs) {
    const path = d.url.replace(/:(\w+)/g, '{$1}');
    const parameters: object[] = [];
    for (const [where, s] of [['path', d.params], ['query', d.query]] as const) {
      if (s === undefined) continue;
      const js = schema(s) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, p] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: p });
      }
    }
    (paths[path] ??= {})[d.method.toLowerCase()] = {
      summary: d.summary,
      description: `Roles: ${d.roles.map((r) => (r === 'team' ? 'team:<id>' : r)).join(', ')}`,
      security: [{ bearer: [] }],
      parameters,
      ...(d.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schema(d.body) } } } }),
      responses: {
        200: { description: 'OK' },
        default: { description: 'Error', content: { 'application/json': { schema: schema(ErrorBody) } } },
      },
    };
  }
  paths['/healthz'] = { get: { summary: 'Liveness (no token needed)', responses: { 200: { description: 'OK' } } } };
  paths['/v1/ingest'] = { get: { summary: 'WebSocket: send a fix or a JSON array of fixes per message; replies {"ack":[[deviceId,seq],...],"errors":[...]} once recorded', description: 'Roles: ingest, operator, admin', responses: { 101: { description: 'Switching protocols' } } } };
  paths['/v1/alerts/stream'] = { get: { summary: 'WebSocket: live alert events (a team token sees its own team only)', description: 'Roles: operator, admin, team:<id>', responses: { 101: { description: 'Switching protocols' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'iom-geofence', version: '0.1.0', description: 'Electronic monitoring and exclusion-zone alerts. Error codes: ' + Object.keys(API_ERRORS).join(', ') },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
