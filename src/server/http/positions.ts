import { z } from 'zod';
import type { DeviceStatus } from '../../engine/device-view.js';
import { formatTime } from '../../engine/time.js';
import type { Principal } from '../auth.js';
import type { EngineView } from '../engine-host.js';
import { ApiError } from '../errors.js';
import { facetKey } from '../list-index.js';
import type { HttpContext } from './context.js';
import { audit, routeOn, teamOf, type ResourcePlugin } from './route.js';

/**
 * The console's overview map: every tag's latest position, from the engine's own memory (no
 * Redis read per device), with its wearer, whether it is stale and the episodes open for its
 * wearer. Tags only: a victim's unit (watched by a proximity condition, or registered as
 * `victim_unit`) is never listed, for any role.
 */

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

const PositionsQuery = z.object({
  team: z.string().min(1).max(128).optional().describe('only this team\'s subjects\' tags (a team token sees only its own anyway)'),
  bbox: z.string().max(200).optional().describe('minLon,minLat,maxLon,maxLat (WGS84 degrees): only positions inside'),
});

export const PositionDoc = z.object({
  deviceId: z.string(),
  subjectId: z.string().nullable().describe('the subject wearing the tag; null for a registered tag nobody wears'),
  team: z.string().nullable(),
  ts: z.string().describe('time of the latest position fix (RFC 3339)'),
  lat: z.number(),
  lon: z.number(),
  accuracy: z.number().nullable().describe('metres; null when the fix gave none'),
  battery: z.number().nullable().describe('0..1, latest reported (heartbeats included)'),
  strap: z.enum(['ok', 'open', 'tampered']).nullable(),
  stale: z.boolean().describe('the latest position fix is older than POSITION_STALE_S'),
  openAlerts: z.number().int().describe('episodes open for the wearer'),
  maxSeverity: z.enum(SEVERITIES).nullable(),
});

const PositionsResponse = z.object({ positions: z.array(PositionDoc), at: z.string().describe('the service clock when the answer was made') });

export type Bbox = [minLon: number, minLat: number, maxLon: number, maxLat: number];

export function parseBbox(raw: string): Bbox {
  const parts = raw.split(',');
  const v = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  const bad = (why: string): never => {
    throw new ApiError('VALIDATION', `query.bbox: ${why}; expected minLon,minLat,maxLon,maxLat in WGS84 degrees, got ${JSON.stringify(raw)}`, { path: 'query.bbox' });
  };
  if (v.length !== 4 || v.some((x) => !Number.isFinite(x))) bad('four numbers separated by commas');
  const [minLon, minLat, maxLon, maxLat] = v as Bbox;
  if (minLon < -180 || maxLon > 180 || minLat < -90 || maxLat > 90) bad('longitudes must be within -180..180 and latitudes within -90..90');
  if (minLon > maxLon || minLat > maxLat) bad('the minimum must not exceed the maximum');
  return [minLon, minLat, maxLon, maxLat];
}

/** Registered victim units (the device register's kind facet): one small set read per request. */
export async function registeredVictimUnits(ctx: HttpContext): Promise<Set<string>> {
  return new Set(await ctx.redis.zrange(facetKey(ctx.keys.listIndex('devices'), 'kind', 'victim_unit'), 0, -1));
}

/** Is this device a victim's unit (never shown on the map; its position never shown to a team)? */
export function isVictimUnit(d: DeviceStatus, registeredVictims: ReadonlySet<string>): boolean {
  return d.watchedAsVictim || registeredVictims.has(d.deviceId);
}

export type Position = z.output<typeof PositionDoc>;

/**
 * The positions to show: each device with a position fix that is not a victim unit, of `team`
 * (null: all) and inside `bbox` (null: anywhere), as plain objects. Plain objects for
 * JSON.stringify rather than JSON text written by hand: with 20,000 tags the text is 4-6x
 * slower (template strings joined), `npm run bench:positions`.
 */
export function collectPositions(
  view: Pick<EngineView, 'eachDeviceStatus'>,
  o: { team: string | null; bbox: Bbox | null; staleBefore: number; victims: ReadonlySet<string> },
): Position[] {
  const out: Position[] = [];
  const { bbox, staleBefore, victims } = o;
  view.eachDeviceStatus((d) => {
    const f = d.lastFix;
    if (f === null || isVictimUnit(d, victims)) return;
    if (bbox !== null && (f.lon < bbox[0] || f.lat < bbox[1] || f.lon > bbox[2] || f.lat > bbox[3])) return;
    out.push({
      deviceId: d.deviceId,
      subjectId: d.subjectId,
      team: d.team,
      ts: formatTime(f.tsMs),
      lat: f.lat,
      lon: f.lon,
      accuracy: f.accuracy === f.accuracy ? f.accuracy : null,
      battery: d.battery === d.battery ? d.battery : null,
      strap: d.strap,
      stale: f.tsMs < staleBefore,
      openAlerts: d.openAlerts,
      maxSeverity: d.maxSeverity,
    });
  }, o.team);
  return out;
}

/** Reading every position is audited at most once a minute per token (a console polls). */
const AUDIT_EVERY_MS = 60_000;

export const positions: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  const lastAudit = new Map<string, number>();
  const auditRead = async (p: Principal, n: number): Promise<void> => {
    const now = Date.now();
    if ((lastAudit.get(p.tokenId) ?? -Infinity) > now - AUDIT_EVERY_MS) return;
    lastAudit.set(p.tokenId, now);
    if (lastAudit.size > 10_000) lastAudit.clear();
    await audit(ctx, 'positions.read', String(n), p);
  };

  route({
    method: 'GET', url: '/v1/positions',
    summary: 'Every tag\'s latest position (never a victim\'s unit), with its wearer, staleness and open episodes; a team sees its own subjects\' tags',
    roles: ['operator', 'admin', 'team'], query: PositionsQuery, response: PositionsResponse,
  }, async (_req, _reply, { query, principal }) => {
    const own = teamOf(principal);
    const bbox = query.bbox === undefined ? null : parseBbox(query.bbox);
    // As with the lists: a team may not ask for another team's (403); without ?team= its own applies.
    if (own !== null && query.team !== undefined && query.team !== own) throw new ApiError('FORBIDDEN', `team ${own} may not read team ${query.team}'s positions`);
    const team = own ?? query.team ?? null;
    const [victims] = await Promise.all([registeredVictimUnits(ctx), ctx.host.refreshRemote()]);
    const now = ctx.host.now();
    const staleBefore = now - ctx.settings.positionStaleS * 1000;
    const out = collectPositions(ctx.host.view, { team, bbox, staleBefore, victims });
    await auditRead(principal, out.length);
    return { positions: out, at: formatTime(now) };
  });
};
