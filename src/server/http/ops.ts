import { Queue } from 'bullmq';
import { z } from 'zod';
import { ALERT_QUEUE, DELIVERY_QUEUE } from '../../alerts/queues.js';
import { formatTime } from '../../engine/time.js';
import { facetKey } from '../list-index.js';
import type { HttpContext } from './context.js';
import { openApi } from './openapi.js';
import { isVictimUnit, registeredVictimUnits } from './positions.js';
import { limitQuery, routeOn, teamOf, type ResourcePlugin } from './route.js';

/** An audit entry: when, what, on what, by which role and token; decisions add by/outcome/note. */
const AuditResponse = z.object({
  entries: z.array(z.looseObject({ at: z.string(), action: z.string(), target: z.string(), role: z.string().optional(), tokenId: z.string().optional() })),
});

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

const OpsSummary = z.object({
  at: z.string().describe('the service clock when the answer was made'),
  fixesPerSec: z.number().describe('fixes accepted per second over the last 10 s (a team: from its subjects\' tags)'),
  connectedTags: z.number().int().describe('tags heard within the engine\'s offlineAfterS (a team: its subjects\' tags); victim units are not counted'),
  openAlerts: z.object({ low: z.number().int(), medium: z.number().int(), high: z.number().int(), critical: z.number().int() }).describe('open episodes by severity (a team: its own)'),
  deliveryBacklog: z.number().int().describe('alert events not yet delivered: the outbox, and the alert and delivery queues (waiting, retrying, in progress); the whole service\'s'),
  deadLetters: z.number().int().describe('deliveries whose retries ran out, in the dead-letter set; the whole service\'s'),
});

/** Jobs not yet finished in a BullMQ queue: waiting, prioritised, delayed (retries), running. */
const BACKLOG_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'paused', 'waiting-children'] as const;

/** The operations view (GET /v1/ops/summary), from the service's own state: engine, Redis indexes, queues. */
function opsSummary(app: Parameters<ResourcePlugin>[0], ctx: HttpContext, route: ReturnType<typeof routeOn>): void {
  // The API's own connection, shared (BullMQ does not close it); counts only, no blocking commands.
  let queues: Queue[] | null = null;
  const backlogQueues = (): Queue[] => (queues ??= [ALERT_QUEUE, DELIVERY_QUEUE].map((name) => new Queue(name, { connection: ctx.redis, prefix: ctx.keys.bull })));
  app.addHook('onClose', async () => {
    await Promise.all((queues ?? []).map((q) => q.close().catch(() => undefined)));
  });
  route({ method: 'GET', url: '/v1/ops/summary', summary: 'The operations view: fixes/s, connected tags, open alerts by severity, delivery backlog, dead letters (a team: its own fixes, tags and alerts)', roles: ['operator', 'admin', 'team'], response: OpsSummary }, async (_req, _reply, { principal }) => {
    const team = teamOf(principal);
    const now = ctx.host.now();
    const base = ctx.keys.listIndex('alerts');
    const open = facetKey(base, 'state', 'open');
    const m = ctx.redis.multi();
    for (const sev of SEVERITIES) {
      const sets = [open, facetKey(base, 'severity', sev), ...(team === null ? [] : [facetKey(base, 'team', team)])];
      m.zintercard(sets.length, ...sets);
    }
    m.llen(ctx.keys.outbox).zcard(ctx.keys.deadLetters);
    const [rows, counts, victims] = await Promise.all([
      m.exec(),
      Promise.all(backlogQueues().map((q) => q.getJobCounts(...BACKLOG_STATES))),
      registeredVictimUnits(ctx),
      ctx.host.refreshRemote(),
    ]);
    const value = (i: number): number => {
      const [err, v] = (rows ?? [])[i] ?? [new Error('no reply'), null];
      if (err !== null) throw err;
      return Number(v);
    };
    const openAlerts = { low: value(0), medium: value(1), high: value(2), critical: value(3) };
    let backlog = value(4);
    for (const c of counts) for (const st of BACKLOG_STATES) backlog += c[st] ?? 0;
    const heardAfter = now - ctx.host.view.settings.offlineAfterS * 1000;
    let connectedTags = 0;
    ctx.host.view.eachDeviceStatus((d) => {
      if (d.lastHeardMs >= heardAfter && !isVictimUnit(d, victims)) connectedTags++;
    }, team);
    const rate = ctx.metrics.fixRate.perSecond(team, now);
    return {
      at: formatTime(now),
      fixesPerSec: Math.round(rate * 10) / 10,
      connectedTags,
      openAlerts,
      deliveryBacklog: backlog,
      deadLetters: value(5),
    };
  });
}

/** Operations: liveness, readiness, metrics, the OpenAPI document, the audit log and the operations summary. */
export const ops: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  app.get('/healthz', async () => ({ status: 'ok' }));
  route({ method: 'GET', url: '/readyz', summary: 'Ready: Redis reachable and engine state loaded', roles: ['ingest', 'operator', 'admin', 'team'], response: z.object({ ready: z.boolean(), redis: z.boolean(), state: z.enum(['loaded', 'loading']) }) }, async (_req, reply) => {
    let redisOk = false;
    try {
      redisOk = (await ctx.redis.ping()) === 'PONG';
    } catch {
      redisOk = false;
    }
    const loaded = ctx.host.ready;
    const ready = redisOk && loaded;
    return reply.code(ready ? 200 : 503).send({ ready, redis: redisOk, state: loaded ? 'loaded' : 'loading' });
  });
  route({ method: 'GET', url: '/metrics', summary: 'Prometheus metrics', roles: ['operator', 'admin'] }, async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  route({ method: 'GET', url: '/docs/json', summary: 'This OpenAPI document', roles: ['operator', 'admin', 'team'] }, async () => openApi(ctx.docs));
  route({ method: 'GET', url: '/v1/audit', summary: 'The audit log: who changed zones, subjects or routing, who read trails or alerts, who acknowledged', roles: ['admin'], query: limitQuery(500, 10_000), response: AuditResponse }, async (_req, _reply, { query }) => {
    const rows = await ctx.redis.xrevrange(ctx.keys.audit, '+', '-', 'COUNT', query.limit);
    return { entries: rows.map(([, f]) => JSON.parse(f[1]) as unknown) };
  });
  opsSummary(app, ctx, route);
};
