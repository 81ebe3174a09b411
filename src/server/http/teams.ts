import { z } from 'zod';
import { redactTeamConfig, TeamConfigSchema } from '../../alerts/team-config.js';
import { checkWebhookUrl, WebhookAllowList, WebhookRefused } from '../../alerts/webhook-guard.js';
import { ApiError } from '../errors.js';
import { teamList } from './lists.js';
import { audit, IdParam, routeOn, teamOf, type ResourcePlugin } from './route.js';

/** A team's routing as shown: secrets replaced by "[set]". */
const TeamResponse = z.object({ id: z.string() }).and(TeamConfigSchema);

/** Teams: alert routing (webhooks, escalation); secrets are never shown. */
export const teams: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  teamList(route, ctx);
  const allow = WebhookAllowList.parse(ctx.settings.webhookAllowHosts);
  route({ method: 'PUT', url: '/v1/teams/:id', summary: 'Set a team\'s alert routing: webhooks (URL + signing secret) and escalation', roles: ['operator', 'admin'], params: IdParam, body: TeamConfigSchema, response: TeamResponse }, async (_req, _reply, { params, body, principal }) => {
    // SSRF: every destination must be public, or listed in WEBHOOK_ALLOW_HOSTS (checked again
    // before each delivery, as DNS answers change).
    const hooks = [...body.webhooks.map((w, i) => ({ w, path: `body.webhooks[${i}].url` })), ...(body.escalation === undefined ? [] : [{ w: body.escalation.webhook, path: 'body.escalation.webhook.url' }])];
    for (const { w, path } of hooks) {
      try {
        await checkWebhookUrl(w.url, allow);
      } catch (e) {
        if (e instanceof WebhookRefused) throw new ApiError('WEBHOOK_URL_REFUSED', `${path}: ${e.message}`, { path });
        throw e;
      }
    }
    if (!ctx.archiveFeed.on) await ctx.redis.hset(ctx.keys.teams, params.id, JSON.stringify(body));
    else {
      // The archive keeps the routing as shown (signing secrets replaced): history, not keys.
      const m = ctx.redis.multi().hset(ctx.keys.teams, params.id, JSON.stringify(body));
      ctx.archiveFeed.config(m, 'team', params.id, redactTeamConfig(body));
      const res = (await m.exec()) ?? [];
      for (const [err] of res) if (err) throw err;
    }
    await audit(ctx, 'team.set', params.id, principal);
    return { id: params.id, ...(redactTeamConfig(body) as object) };
  });
  route({ method: 'GET', url: '/v1/teams/:id', summary: 'A team\'s alert routing (secrets never shown)', roles: ['operator', 'admin', 'team'], params: IdParam, response: TeamResponse }, async (_req, _reply, { params, principal }) => {
    const own = teamOf(principal);
    const missing = `no routing configured for team ${JSON.stringify(params.id)}`;
    // Another team's routing answers exactly as a missing one.
    if (own !== null && own !== params.id) throw new ApiError('NOT_FOUND', missing);
    const raw = await ctx.redis.hget(ctx.keys.teams, params.id);
    if (raw === null) throw new ApiError('NOT_FOUND', missing);
    await audit(ctx, 'team.read', params.id, principal);
    return { id: params.id, ...(redactTeamConfig(TeamConfigSchema.parse(JSON.parse(raw))) as object) };
  });
};
