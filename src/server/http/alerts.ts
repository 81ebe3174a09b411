import { z } from 'zod';
import type { AlertResource } from '../../alerts/alert-record.js';
import { DeadLetterResender } from '../../alerts/dead-letter-resend.js';
import { roleName, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { PluginContext } from './context.js';
import { cursorOf, ListParams, QueryBool, QueryId, timeRange } from './list-query.js';
import { audit, routeOn, teamOf, type ResourcePlugin } from './route.js';

const EpisodeParam = z.object({ episodeId: z.string().min(1).max(400) });

/**
 * The episode-id form: 2 to 4 parts without ":" (subject, condition or type, zone, warning
 * type), then the start time (RFC 3339 UTC, as the engine writes it). Since no id part may hold
 * ":", anything else (e.g. `<episodeId>:acks`, the key of the acknowledgement list) is no
 * episode, and is answered 404 without touching Redis.
 */
export const EPISODE_ID_RE = /^[^:]+(?::[^:]+){1,3}:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/;
const AlertsQuery = z.object({
  team: QueryId.optional(),
  subject: QueryId.optional(),
  type: z.enum(['exclusion', 'exclusion_buffer', 'curfew', 'inclusion', 'proximity', 'proximity_warning', 'tamper', 'battery_low', 'no_fix', 'device_offline']).optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  state: z.enum(['open', 'closed', 'all']).default('open'),
  acknowledged: QueryBool.optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  ...ListParams,
});
const DeadLettersQuery = z.object({ channel: z.string().min(1).max(200).optional(), ...ListParams });

/** Decisions kept per alert: a bound on what one alert may cost (409 DECISION_LIMIT beyond). */
export const MAX_DECISIONS = 100;
/** The longest decision note, in characters. */
export const MAX_NOTE_CHARS = 2000;

const OUTCOMES = ['no_action', 'warning', 'positive_action_letter', 'breach', 'recall', 'arrest'] as const;
const person = z.string().min(1).max(200);

export const AckBody = z.strictObject({
  by: person.describe('who decided (name, rank, service)'),
  note: z.string().max(MAX_NOTE_CHARS).default(''),
  outcome: z.enum(OUTCOMES),
});
export const ClaimBody = z.strictObject({
  by: person.describe('who takes the alert'),
  force: z.boolean().default(false).describe('take it from someone else (operator or admin only)'),
});
export const AssignBody = z.strictObject({
  to: person.describe('who is to work the alert'),
  by: person.describe('who assigns it'),
});

const Decision = z.object({ by: z.string(), role: z.string(), tokenId: z.string(), outcome: z.enum(OUTCOMES), note: z.string(), at: z.string() });
const Claim = z.object({ by: z.string(), role: z.string(), tokenId: z.string(), at: z.string(), assignedBy: z.string().optional() });
const AlertEventDoc = z.looseObject({ episodeId: z.string(), event: z.enum(['opened', 'updated', 'closed']), type: z.string(), severity: z.string(), at: z.string() });
export const AlertResponse = z.object({
  episodeId: z.string(),
  type: z.string().describe('exclusion, curfew, proximity, or a device-health type (contract section 3)'),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  confidence: z.string(),
  state: z.enum(['open', 'closed']),
  subjectId: z.string(),
  deviceId: z.string(),
  conditionId: z.string().optional(),
  zoneId: z.string().optional(),
  team: z.string(),
  openedAt: z.string(),
  closedAt: z.string().optional(),
  late: z.boolean(),
  events: z.array(AlertEventDoc),
  acknowledged: Decision.optional().describe('the latest decision'),
  decisions: z.array(Decision).optional().describe('every decision, oldest first (never overwritten)'),
  claim: Claim.optional().describe('who works the alert'),
  escalations: z.number().optional(),
  delivery: z.record(z.string(), z.unknown()).describe('delivered:<channel> times, dead:<channel> dead letters, resent:<channel> times'),
});

const DeadLetterDoc = z.object({ jobId: z.string(), key: z.string(), team: z.string(), channel: z.string(), kind: z.string(), attempts: z.number(), error: z.string(), at: z.string() });
const DeadLetterParam = z.object({ id: z.string().min(1).max(512).describe('the dead letter\'s jobId') });
const ResendTeamQuery = z.strictObject({
  team: z.string().min(1).max(128),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});
const ResendResult = z.object({ jobId: z.string(), key: z.string(), outcome: z.enum(['requeued', 'already queued', 'already delivered', 'gone']) });

/** Another team's alert answers exactly as a missing one: a team token cannot learn it exists. */
function mayRead(a: AlertResource, principal: Principal, episodeId: string): void {
  const team = teamOf(principal);
  if (team !== null && a.team !== team) throw new ApiError('NOT_FOUND', noAlert(episodeId));
}

const noAlert = (episodeId: string): string => `no alert ${JSON.stringify(episodeId)}`;

/** Alerts (episodes), their acknowledgements, and the dead-lettered deliveries. */
export const alerts: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  const { records } = ctx;
  const readOrThrow = async (episodeId: string): Promise<AlertResource> => {
    const a = EPISODE_ID_RE.test(episodeId) ? await records.read(episodeId) : null;
    if (a === null) throw new ApiError('NOT_FOUND', noAlert(episodeId));
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
  route({ method: 'GET', url: '/v1/alerts/:episodeId', summary: 'One episode with its events, its decisions (append-only) and who works it', roles: ['operator', 'admin', 'team'], params: EpisodeParam, response: AlertResponse }, async (_req, _reply, { params, principal }) => {
    const a = await readOrThrow(params.episodeId);
    mayRead(a, principal, params.episodeId);
    await audit(ctx, 'alert.read', params.episodeId, principal);
    return a;
  });
  route({ method: 'POST', url: '/v1/alerts/:episodeId/ack', summary: `Record a decision: who decided, a note and an outcome; appended to the alert's history (at most ${MAX_DECISIONS}) and the audit log`, roles: ['operator', 'admin', 'team'], params: EpisodeParam, body: AckBody, response: AlertResponse, ackLimited: true }, async (_req, _reply, { params, body, principal }) => {
    mayRead(await readOrThrow(params.episodeId), principal, params.episodeId);
    const decision = { ...body, at: new Date().toISOString(), role: roleName(principal.role), tokenId: principal.tokenId };
    const r = await records.decide(params.episodeId, decision, MAX_DECISIONS);
    if (r === 'missing') throw new ApiError('NOT_FOUND', noAlert(params.episodeId));
    if (r === 'full') throw new ApiError('DECISION_LIMIT', `alert already has ${MAX_DECISIONS} decisions; no more are kept`);
    await audit(ctx, 'alert.ack', params.episodeId, principal, { by: body.by, outcome: body.outcome, note: body.note });
    return records.read(params.episodeId);
  });
  claims(route, ctx, readOrThrow);
  deadLetters(route, app, ctx);
};

type Route = ReturnType<typeof routeOn>;

/** Claim and assign: one person works an alert at a time, and everyone sees who. */
function claims(route: Route, ctx: PluginContext, readOrThrow: (id: string) => Promise<AlertResource>): void {
  const { records } = ctx;
  route({ method: 'POST', url: '/v1/alerts/:episodeId/claim', summary: 'Take an alert to work it; 409 ALERT_CLAIMED if someone else has it (force: operator or admin)', roles: ['operator', 'admin', 'team'], params: EpisodeParam, body: ClaimBody, response: AlertResponse }, async (_req, _reply, { params, body, principal }) => {
    mayRead(await readOrThrow(params.episodeId), principal, params.episodeId);
    if (body.force && principal.role.kind === 'team') throw new ApiError('FORBIDDEN', 'only an operator or admin may take an alert from someone else (force)');
    const claim = { by: body.by, role: roleName(principal.role), tokenId: principal.tokenId, at: new Date().toISOString() };
    const r = await records.claim(params.episodeId, body.by, claim, body.force);
    if (r.result === 'missing') throw new ApiError('NOT_FOUND', noAlert(params.episodeId));
    if (r.result === 'held') {
      const by = (r.current as { by?: string } | null)?.by ?? '?';
      throw new ApiError('ALERT_CLAIMED', `alert is being worked by ${by}; an operator may take it over with "force": true`, { claim: r.current });
    }
    await audit(ctx, 'alert.claim', params.episodeId, principal, { by: body.by, ...(body.force ? { force: true } : {}) });
    return records.read(params.episodeId);
  });
  route({ method: 'POST', url: '/v1/alerts/:episodeId/assign', summary: 'Give an alert to someone to work (replaces any claim)', roles: ['operator', 'admin'], params: EpisodeParam, body: AssignBody, response: AlertResponse }, async (_req, _reply, { params, body, principal }) => {
    await readOrThrow(params.episodeId);
    const claim = { by: body.to, assignedBy: body.by, role: roleName(principal.role), tokenId: principal.tokenId, at: new Date().toISOString() };
    const r = await records.claim(params.episodeId, body.to, claim, true);
    if (r.result === 'missing') throw new ApiError('NOT_FOUND', noAlert(params.episodeId));
    await audit(ctx, 'alert.assign', params.episodeId, principal, { to: body.to, by: body.by });
    return records.read(params.episodeId);
  });
}

/** Dead-lettered deliveries: the list, and re-sending one or all of a team's. */
function deadLetters(route: Route, app: Parameters<ResourcePlugin>[0], ctx: PluginContext): void {
  const { records } = ctx;
  const resender = new DeadLetterResender(ctx.redis, ctx.keys);
  app.addHook('onClose', async () => resender.close());
  route({ method: 'GET', url: '/v1/deliveries/dead', summary: 'Dead-lettered deliveries (retries exhausted), newest first, a page at a time (filter: channel)', roles: ['operator', 'admin'], query: DeadLettersQuery, response: z.object({ total: z.number(), deadLetters: z.array(DeadLetterDoc), nextCursor: z.string().nullable() }) }, async (_req, _reply, { query, principal }) => {
    const dead = await records.deadLetters(query.limit, cursorOf(query), query.channel);
    await audit(ctx, 'deadletters.read', String(dead.deadLetters.length), principal);
    return dead;
  });
  route({ method: 'POST', url: '/v1/deliveries/dead/:id/resend', summary: 'Re-send one dead-lettered delivery (same idempotency key, attempts reset)', roles: ['operator', 'admin'], params: DeadLetterParam, response: ResendResult }, async (_req, _reply, { params, principal }) => {
    const [hit] = await resender.find((d) => d.jobId === params.id, 1);
    if (hit === undefined) throw new ApiError('NOT_FOUND', `no dead letter ${JSON.stringify(params.id)}`);
    const outcome = await resender.resend(hit.member, hit.entry);
    await audit(ctx, 'delivery.resend', hit.entry.jobId, principal, { key: hit.entry.key, team: hit.entry.team, channel: hit.entry.channel, outcome });
    if (outcome === 'gone') throw new ApiError('RESEND_UNAVAILABLE', 'the failed delivery is no longer held and cannot be rebuilt; it stays in the dead-letter list');
    return { jobId: hit.entry.jobId, key: hit.entry.key, outcome };
  });
  route({ method: 'POST', url: '/v1/deliveries/dead/resend', summary: 'Re-send a team\'s dead-lettered deliveries (oldest first, up to limit)', roles: ['operator', 'admin'], query: ResendTeamQuery, response: z.object({ team: z.string(), resent: z.array(ResendResult), remaining: z.number() }) }, async (_req, _reply, { query, principal }) => {
    const hits = await resender.find((d) => d.team === query.team);
    const resent: z.infer<typeof ResendResult>[] = [];
    for (const hit of hits.slice(0, query.limit)) {
      const outcome = await resender.resend(hit.member, hit.entry);
      await audit(ctx, 'delivery.resend', hit.entry.jobId, principal, { key: hit.entry.key, team: hit.entry.team, channel: hit.entry.channel, outcome });
      resent.push({ jobId: hit.entry.jobId, key: hit.entry.key, outcome });
    }
    await audit(ctx, 'delivery.resend.team', query.team, principal, { count: resent.length });
    return { team: query.team, resent, remaining: hits.length - resent.length };
  });
}
