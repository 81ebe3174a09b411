import { z } from 'zod';
import { redactTeamConfig, TeamConfigSchema } from '../../alerts/team-config.js';
import { ApiError } from '../errors.js';
import { teamList } from './lists.js';
import { audit, IdParam, routeOn, teamOf, type ResourcePlugin } from './route.js';

/** A team's routing as shown: secrets replaced by "[set]". */
const TeamResponse = z.object({ id: z.string() }).and(TeamConfigSchema);

/** Teams: alert routing (webhooks, escalation); secrets are never shown. */
export const teams: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  teamList(route, ctx);
  route({ method: 'PUT', url: '/v1/teams/:id', summary: 'Set a team\'s alert routing: webhooks (URL + signing secret) and escalation', roles: ['operator', 'admin'], params: IdParam, body: TeamConfigSchema, response: TeamResponse }, async (_req, _reply, { params, body, principal }) => {
    await ctx.redis.hset(ctx.keys.teams, params.id, JSON.stringify(body));
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
    return { id: params.id, ...(redactTeamConfig(TeamConfigSchema.parse(JSON.parse(raw))) as object) };
  });
};
