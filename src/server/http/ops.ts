import { z } from 'zod';
import { openApi } from './openapi.js';
import { limitQuery, routeOn, type ResourcePlugin } from './route.js';

/** An audit entry: when, what, on what, by which role and token; decisions add by/outcome/note. */
const AuditResponse = z.object({
  entries: z.array(z.looseObject({ at: z.string(), action: z.string(), target: z.string(), role: z.string().optional(), tokenId: z.string().optional() })),
});

/** Operations: liveness, readiness, metrics, the OpenAPI document and the audit log. */
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
};
