import { z } from 'zod';
import type { AlertResource } from '../../alerts/alert-record.js';
import { roleName, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import { audit, limitQuery, routeOn, teamOf, type ResourcePlugin } from './route.js';

const EpisodeParam = z.object({ episodeId: z.string().min(1).max(400) });

/**
 * The episode-id form: 2 to 4 parts without ":" (subject, condition or type, zone, warning
 * type), then the start time (RFC 3339 UTC, as the engine writes it). Since no id part may hold
 * ":", anything else (e.g. `<episodeId>:acks`, the key of the acknowledgement list) is no
 * episode, and is answered 404 without touching Redis.
 */
export const EPISODE_ID_RE = /^[^:]+(?::[^:]+){1,3}:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/;
const AlertsQuery = z.object({
  team: z.string().min(1).max(128).optional(),
  state: z.enum(['open', 'closed', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
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
    const a = EPISODE_ID_RE.test(episodeId) ? await records.read(episodeId) : null;
    if (a === null) throw new ApiError('NOT_FOUND', `no alert ${JSON.stringify(episodeId)}`);
    return a;
  };
  route({ method: 'GET', url: '/v1/alerts', summary: 'Episodes (alerts), newest first; a team sees only its own', roles: ['operator', 'admin', 'team'], query: AlertsQuery }, async (_req, _reply, { query, principal }) => {
    const own = teamOf(principal);
    if (own !== null && query.team !== undefined && query.team !== own) throw new ApiError('FORBIDDEN', `team ${own} may not read team ${query.team}'s alerts`);
    const team = own ?? query.team ?? null;
    const list = await records.list(team, query.state, query.limit);
    await audit(ctx, 'alerts.read', team ?? '*', principal);
    return { alerts: list };
  });
  route({ method: 'GET', url: '/v1/alerts/:episodeId', summary: 'One episode with its events and acknowledgements', roles: ['operator', 'admin', 'team'], params: EpisodeParam }, async (_req, _reply, { params, principal }) => {
    const a = await readOrThrow(params.episodeId);
    mayRead(a, principal);
    await audit(ctx, 'alert.read', params.episodeId, principal);
    return a;
  });
  route({ method: 'POST', url: '/v1/alerts/:episodeId/ack', summary: 'Acknowledge an episode: who decided, a note and an outcome (audit record)', roles: ['operator', 'admin', 'team'], params: EpisodeParam, body: AckBody, ackLimited: true }, async (_req, _reply, { params, body, principal }) => {
    mayRead(await readOrThrow(params.episodeId), principal);
    await records.ack(params.episodeId, { ...body, at: new Date().toISOString(), role: roleName(principal.role), tokenId: principal.tokenId });
    await audit(ctx, 'alert.ack', params.episodeId, principal);
    return records.read(params.episodeId);
  });
  route({ method: 'GET', url: '/v1/deliveries/dead', summary: 'Dead-lettered deliveries (retries exhausted), newest first', roles: ['operator', 'admin'], query: limitQuery(100, 1000) }, async (_req, _reply, { query, principal }) => {
    const dead = await records.deadLetters(query.limit);
    await audit(ctx, 'deadletters.read', String(dead.deadLetters.length), principal);
    return dead;
  });
};
