import { z } from 'zod';
import type { AlertResource } from '../../alerts/alert-record.js';
import { roleName, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import { cursorOf, ListParams, QueryBool, QueryId, timeRange } from './list-query.js';
import { audit, routeOn, teamOf, type ResourcePlugin } from './route.js';

const EpisodeParam = z.object({ episodeId: z.string().min(1).max(400) });
const AlertsQuery = z.object({
  team: QueryId.optional(),
  subject: QueryId.optional(),
  type: z.enum(['exclusion', 'exclusion_buffer', 'curfew', 'proximity', 'proximity_warning', 'tamper', 'battery_low', 'no_fix', 'device_offline']).optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  state: z.enum(['open', 'closed', 'all']).default('open'),
  acknowledged: QueryBool.optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  ...ListParams,
});
const DeadLettersQuery = z.object({ channel: z.string().min(1).max(200).optional(), ...ListParams });
export const AckBody = z.object({
  by: z.string().min(1).max(200),
  note: z.string().max(4000).default(''),
  outcome: z.enum(['no_action', 'warning', 'positive_action_letter', 'breach', 'recall', 'arrest']),
});

function mayRead(a: AlertResource, principal: Principal): void {
  const team = teamOf(principal);
  if (team !== null && a.team !== team) throw new ApiError('FORBIDDEN', `alert belongs to team ${String(a.team)}`);
}

/** Alerts (episodes), their acknowledgements, and the dead-lettered deliveries. */
export const alerts: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  const { records } = ctx;
  const readOrThrow = async (episodeId: string): Promise<AlertResource> => {
    const a = await records.read(episodeId);
    if (a === null) throw new ApiError('NOT_FOUND', `no alert ${JSON.stringify(episodeId)}`);
    return a;
  };
  route({ method: 'GET', url: '/v1/alerts', summary: 'Episodes (alerts), newest first, filtered (team, subject, type, severity, state, acknowledged, from/to on openedAt), a page at a time; a team sees only its own', roles: ['operator', 'admin', 'team'], query: AlertsQuery }, async (_req, _reply, { query, principal }) => {
    const own = teamOf(principal);
    if (own !== null && query.team !== undefined && query.team !== own) throw new ApiError('FORBIDDEN', `team ${own} may not read team ${query.team}'s alerts`);
    const team = own ?? query.team;
    const { subject, type, severity, acknowledged } = query;
    const page = await records.page({
      state: query.state, ...timeRange(query),
      ...(team === undefined ? {} : { team }), ...(subject === undefined ? {} : { subject }), ...(type === undefined ? {} : { type }),
      ...(severity === undefined ? {} : { severity }), ...(acknowledged === undefined ? {} : { acknowledged }),
    }, cursorOf(query), query.limit);
    await audit(ctx, 'alerts.read', team ?? '*', principal);
    return page;
  });
  route({ method: 'GET', url: '/v1/alerts/:episodeId', summary: 'One episode with its events and acknowledgements', roles: ['operator', 'admin', 'team'], params: EpisodeParam }, async (_req, _reply, { params, principal }) => {
    const a = await readOrThrow(params.episodeId);
    mayRead(a, principal);
    return a;
  });
  route({ method: 'POST', url: '/v1/alerts/:episodeId/ack', summary: 'Acknowledge an episode: who decided, a note and an outcome (audit record)', roles: ['operator', 'admin', 'team'], params: EpisodeParam, body: AckBody }, async (_req, _reply, { params, body, principal }) => {
    mayRead(await readOrThrow(params.episodeId), principal);
    await records.ack(params.episodeId, { ...body, at: new Date().toISOString(), role: roleName(principal.role), tokenId: principal.tokenId });
    await audit(ctx, 'alert.ack', params.episodeId, principal);
    return records.read(params.episodeId);
  });
  route({ method: 'GET', url: '/v1/deliveries/dead', summary: 'Dead-lettered deliveries (retries exhausted), newest first, a page at a time (filter: channel)', roles: ['operator', 'admin'], query: DeadLettersQuery }, async (_req, _reply, { query }) => records.deadLetters(query.limit, cursorOf(query), query.channel));
};
