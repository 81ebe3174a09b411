import { z } from 'zod';
import type { Principal } from '../auth.js';
import { stageDeviceIndex } from '../collection-indexes.js';
import { formatTime } from '../../engine/time.js';
import { ApiError } from '../errors.js';
import { byCodeUnit, lexPage, type Facets } from '../list-index.js';
import type { HttpContext } from './context.js';
import { cursorOf, ListParams } from './list-query.js';
import { audit, IdParam, mustBeReady, routeOn, teamOf, type ResourcePlugin } from './route.js';

/**
 * The device register: tags and victim units the monitoring centre holds, in stock, fitted or
 * retired. A registered device that is not retired is known to the engine: its fixes are
 * accepted and recorded in its trail even while no subject wears it (they raise no alerts), and
 * that trail is the subject's history once a subject wears it. Unregistered devices that no
 * subject wears and no proximity condition watches stay refused.
 */

export const DeviceBody = z.strictObject({
  id: z.string().optional(),
  kind: z.enum(['tag', 'victim_unit']),
  status: z.enum(['in_stock', 'fitted', 'retired']),
  serial: z.string().min(1).max(128).optional(),
  note: z.string().max(2000).optional(),
});
export type Device = Omit<z.output<typeof DeviceBody>, 'id'> & { id: string };

const DevicesQuery = z.object({
  kind: z.enum(['tag', 'victim_unit']).optional(),
  status: z.enum(['in_stock', 'fitted', 'retired']).optional(),
  q: z.string().min(1).max(200).optional(),
  ...ListParams,
});

/**
 * The device as the API shows it: the register entry, the subject wearing it, if any, and its
 * health from the engine's memory. A victim's unit (registered as one, or watched by a proximity
 * condition) never shows a team where it is: its lastFix is null for a team token.
 */
function shown(ctx: HttpContext, d: Device, p: Principal): object {
  const role = ctx.host.view.deviceRole(d.id);
  return { ...d, ...(role !== null && 'subjectId' in role ? { subjectId: role.subjectId } : {}), health: health(ctx, d, p) };
}

export const HealthDoc = z.object({
  lastSeen: z.string().nullable().describe('when the service last heard from the device (RFC 3339)'),
  battery: z.number().nullable().describe('0..1, latest reported'),
  strap: z.enum(['ok', 'open', 'tampered']).nullable(),
  lastFix: z.object({ ts: z.string(), lat: z.number(), lon: z.number(), accuracy: z.number().nullable() }).nullable()
    .describe('latest position fix; always null for a victim\'s unit seen with a team token'),
});

const DeviceDoc = z.object({
  id: z.string(), kind: z.enum(['tag', 'victim_unit']), status: z.enum(['in_stock', 'fitted', 'retired']),
  serial: z.string().optional(), note: z.string().optional(), subjectId: z.string().optional(), health: HealthDoc,
});

function health(ctx: HttpContext, d: Device, p: Principal): z.output<typeof HealthDoc> {
  const st = ctx.host.view.deviceStatus(d.id);
  if (st === null) return { lastSeen: null, battery: null, strap: null, lastFix: null };
  const victim = d.kind === 'victim_unit' || st.watchedAsVictim;
  const f = st.lastFix;
  return {
    lastSeen: st.lastHeardMs > -Infinity ? formatTime(st.lastHeardMs) : null,
    battery: st.battery === st.battery ? st.battery : null,
    strap: st.strap,
    lastFix: f === null || (victim && teamOf(p) !== null) ? null : { ts: formatTime(f.tsMs), lat: f.lat, lon: f.lon, accuracy: f.accuracy === f.accuracy ? f.accuracy : null },
  };
}

/** A team sees a device only while one of its subjects wears it; otherwise it is missing. */
function visible(ctx: HttpContext, id: string, p: Principal): boolean {
  const team = teamOf(p);
  if (team === null) return true;
  const role = ctx.host.view.deviceRole(id);
  return role !== null && 'subjectId' in role && ctx.host.view.getSubject(role.subjectId)?.team === team;
}

/** Devices worn by a team's subjects (from the subject index's stored facets), sorted. */
async function devicesOfTeam(ctx: HttpContext, team: string): Promise<string[]> {
  const base = ctx.keys.listIndex('subjects');
  const ids = await ctx.redis.zrange(`${base}:team:${team}`, 0, -1);
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await ctx.redis.hmget(`${base}:facets`, ...ids.slice(i, i + 1000));
    for (const r of rows) {
      const device = r === null ? undefined : (JSON.parse(r) as Facets).x?.device;
      if (device !== undefined) out.add(device);
    }
  }
  return [...out].sort(byCodeUnit);
}

export const devices: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  const read = async (id: string): Promise<Device | null> => {
    const raw = await ctx.redis.hget(ctx.keys.devices, id);
    return raw === null ? null : (JSON.parse(raw) as Device);
  };
  route({ method: 'GET', url: '/v1/devices', summary: 'Registered devices by id, filtered (kind, status) and searched (q: prefix of id or serial); a team sees the devices its subjects wear', roles: ['operator', 'admin', 'team'], query: DevicesQuery, response: z.object({ devices: z.array(DeviceDoc), total: z.number().int(), nextCursor: z.string().nullable() }) }, async (_req, _reply, { query, principal }) => {
    const team = teamOf(principal);
    const facets: [string, string][] = [];
    if (query.kind !== undefined) facets.push(['kind', query.kind]);
    if (query.status !== undefined) facets.push(['status', query.status]);
    const within = team === null ? undefined : await devicesOfTeam(ctx, team);
    const page = await lexPage(ctx.redis, ctx.keys.listIndex('devices'), { facets, ...(query.q === undefined ? {} : { search: query.q }), ...(within === undefined ? {} : { within }) }, cursorOf(query), query.limit);
    const ids = page.items.map((c) => c.id);
    const [rows] = await Promise.all([ids.length === 0 ? [] : ctx.redis.hmget(ctx.keys.devices, ...ids), ctx.host.refreshRemote()]);
    const list = rows.flatMap((r) => (r === null ? [] : [shown(ctx, JSON.parse(r) as Device, principal)]));
    return { devices: list, total: page.total, nextCursor: page.nextCursor };
  });
  route({ method: 'PUT', url: '/v1/devices/:id', summary: 'Register a device or change its entry (kind tag or victim_unit; status in_stock, fitted or retired)', roles: ['operator', 'admin'], params: IdParam, body: DeviceBody }, async (_req, _reply, { params, body, principal }) => {
    mustBeReady(ctx);
    if (body.id !== undefined && body.id !== params.id) throw new ApiError('VALIDATION', `body id differs from the path's ${JSON.stringify(params.id)}`, { path: 'body.id' });
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(params.id)) throw new ApiError('VALIDATION', 'a device id is 1..64 characters of A-Z a-z 0-9 . _ : -', { path: 'id' });
    const device: Device = { ...body, id: params.id };
    await ctx.host.change((engine) => {
      if (device.status === 'retired') engine.unregisterDevice(device.id);
      else engine.registerDevice(device.id);
    }, (m) => {
      m.hset(ctx.keys.devices, device.id, JSON.stringify(device));
      stageDeviceIndex(m, ctx.keys, device.id, device);
      ctx.archiveFeed.config(m, 'device', device.id, device);
    });
    await audit(ctx, 'device.put', device.id, principal);
    return shown(ctx, device, principal);
  });
  route({ method: 'GET', url: '/v1/devices/:id', summary: 'A registered device, the subject wearing it and its health (last seen, battery, strap, latest position: never a victim unit\'s for a team)', roles: ['operator', 'admin', 'team'], params: IdParam, response: DeviceDoc }, async (_req, _reply, { params, principal }) => {
    const [d] = await Promise.all([read(params.id), ctx.host.refreshRemote()]);
    if (d === null || !visible(ctx, params.id, principal)) throw new ApiError('NOT_FOUND', `no device ${JSON.stringify(params.id)}`);
    return shown(ctx, d, principal);
  });
  route({ method: 'DELETE', url: '/v1/devices/:id', summary: 'Take a device off the register (a subject wearing it keeps it)', roles: ['operator', 'admin'], params: IdParam }, async (_req, reply, { params, principal }) => {
    mustBeReady(ctx);
    if ((await ctx.redis.hexists(ctx.keys.devices, params.id)) === 0) throw new ApiError('NOT_FOUND', `no device ${JSON.stringify(params.id)}`);
    await ctx.host.change((engine) => engine.unregisterDevice(params.id), (m) => {
      m.hdel(ctx.keys.devices, params.id);
      stageDeviceIndex(m, ctx.keys, params.id, null);
      ctx.archiveFeed.config(m, 'device', params.id, null);
    });
    await audit(ctx, 'device.delete', params.id, principal);
    return reply.code(204).send();
  });
};
