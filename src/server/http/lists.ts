import { z } from 'zod';
import { redactTeamConfig, TeamConfigSchema } from '../../alerts/team-config.js';
import { ApiError } from '../errors.js';
import { byCodeUnit, lexPage } from '../list-index.js';
import type { HttpContext } from './context.js';
import { cursorOf, ListParams, pageOfSorted, QueryId } from './list-query.js';
import { audit, routeOn, teamOf } from './route.js';
import type { Principal } from '../auth.js';

/**
 * The collection lists (GET on subjects, zones and teams), registered by their resource's
 * plugin. Each reads one page through the list indexes (list-index.ts), id order, with the
 * filter's total and the next page's cursor. A team token's filter is forced to its own team.
 */

type Route = ReturnType<typeof routeOn>;

/** The team a list is limited to: a team token's own (asking for another is refused), else the query's. */
function listTeam(p: Principal, asked: string | undefined, what: string): string | undefined {
  const own = teamOf(p);
  if (own !== null && asked !== undefined && asked !== own) throw new ApiError('FORBIDDEN', `team ${own} may not list team ${asked}'s ${what}`);
  return own ?? asked;
}

const SubjectsQuery = z.object({
  team: QueryId.optional(),
  cohort: z.enum(['fixed', 'flex', 'free']).optional(),
  risk: z.enum(['low', 'medium', 'high', 'very_high']).optional(),
  status: z.enum(['active', 'suspended']).optional(),
  q: z.string().min(1).max(200).optional(),
  ...ListParams,
});

export function subjectList(route: Route, ctx: HttpContext): void {
  route({ method: 'GET', url: '/v1/subjects', summary: 'Subjects by id, filtered (team, cohort, risk, status) and searched (q: prefix of id or name), a page at a time; a team sees only its own', roles: ['operator', 'admin', 'team'], query: SubjectsQuery }, async (_req, _reply, { query, principal }) => {
    const team = listTeam(principal, query.team, 'subjects');
    const facets: [string, string][] = [];
    if (team !== undefined) facets.push(['team', team]);
    if (query.cohort !== undefined) facets.push(['cohort', query.cohort]);
    if (query.risk !== undefined) facets.push(['risk', query.risk]);
    if (query.status !== undefined) facets.push(['status', query.status]);
    const page = await lexPage(ctx.redis, ctx.keys.listIndex('subjects'), { facets, ...(query.q === undefined ? {} : { search: query.q }) }, cursorOf(query), query.limit);
    const ids = page.items.map((c) => c.id);
    const rows = ids.length === 0 ? [] : await ctx.redis.hmget(ctx.keys.subjects, ...ids);
    const subjects = rows.flatMap((r) => (r === null ? [] : [JSON.parse(r) as unknown]));
    await audit(ctx, 'subjects.list', team ?? '*', principal);
    return { subjects, total: page.total, nextCursor: page.nextCursor };
  });
}

const ZonesQuery = z.object({
  layer: z.string().min(1).max(128).optional(),
  subject: QueryId.optional(),
  q: z.string().min(1).max(200).optional(),
  ...ListParams,
});

/** Zones named by conditions of these subjects (the engine's view), sorted. */
function zonesUsedBy(ctx: HttpContext, subjectIds: Iterable<string>): string[] {
  const ids = new Set<string>();
  for (const sid of subjectIds) {
    for (const c of ctx.host.view.getSubject(sid)?.conditions ?? []) if (c.zone !== null) ids.add(c.zone.id);
  }
  return [...ids].sort(byCodeUnit);
}

export function zoneList(route: Route, ctx: HttpContext): void {
  route({ method: 'GET', url: '/v1/zones', summary: 'Zones by id (summaries), filtered (layer; subject: the zones its conditions name) and searched (q: prefix of id or name); a team sees the zones its subjects use', roles: ['operator', 'admin', 'team'], query: ZonesQuery }, async (_req, _reply, { query, principal }) => {
    const own = teamOf(principal);
    const engine = ctx.host.view;
    let within: string[] | undefined;
    if (query.subject !== undefined) {
      const s = engine.getSubject(query.subject);
      if (s === undefined || (own !== null && s.team !== own)) throw new ApiError('NOT_FOUND', `no subject ${JSON.stringify(query.subject)}`);
      within = zonesUsedBy(ctx, [query.subject]);
    } else if (own !== null) {
      within = zonesUsedBy(ctx, await ctx.redis.zrange(`${ctx.keys.listIndex('subjects')}:team:${own}`, 0, -1));
    }
    const facets: [string, string][] = query.layer === undefined ? [] : [['layer', query.layer]];
    const page = await lexPage(ctx.redis, ctx.keys.listIndex('zones'), { facets, ...(query.q === undefined ? {} : { search: query.q }), ...(within === undefined ? {} : { within }) }, cursorOf(query), query.limit);
    const zones = page.items.map(({ id }) => {
      const z = engine.zones.get(id);
      return z === undefined ? { id } : { id, name: z.name, layer: z.layer, kind: z.kind, vertexCount: z.vertexCount, bbox: [z.minLon, z.minLat, z.maxLon, z.maxLat] };
    });
    return { zones, total: page.total, nextCursor: page.nextCursor };
  });
}

const TeamsQuery = z.object({ ...ListParams });

export function teamList(route: Route, ctx: HttpContext): void {
  route({ method: 'GET', url: '/v1/teams', summary: 'Teams with alert routing, by id (secrets never shown); a team sees only itself', roles: ['operator', 'admin', 'team'], query: TeamsQuery }, async (_req, _reply, { query, principal }) => {
    const own = teamOf(principal);
    // Teams are few (one per IOM team): the hash's keys, sorted in memory.
    const all = own === null ? (await ctx.redis.hkeys(ctx.keys.teams)).sort(byCodeUnit) : (await ctx.redis.hexists(ctx.keys.teams, own)) === 1 ? [own] : [];
    const page = pageOfSorted(all, cursorOf(query), query.limit);
    const rows = page.ids.length === 0 ? [] : await ctx.redis.hmget(ctx.keys.teams, ...page.ids);
    const teams = page.ids.flatMap((id, i) => {
      const r = rows[i];
      return r === null ? [] : [{ id, ...(redactTeamConfig(TeamConfigSchema.parse(JSON.parse(r))) as object) }];
    });
    return { teams, total: page.total, nextCursor: page.nextCursor };
  });
}
