import { compileZone, ZoneError, type PreparedZone } from '../../../geo/index.js';
import { z } from 'zod';
import { clip } from '../../engine/config.js';
import { ApiError } from '../errors.js';
import { stageZoneIndex } from '../collection-indexes.js';
import { zoneList } from './lists.js';
import { importInWorker, rebuild } from '../zone-import.js';
import { FeatureCollectionBody } from '../zone-import-worker.js';
import { audit, IdParam, mustBeReady, routeOn, teamOf, type ResourcePlugin } from './route.js';

// GeoJSON: foreign members and `properties` stay free (RFC 7946 §6.1); geo/ checks the rest.
const Geometry = z.looseObject({ type: z.enum(['Polygon', 'MultiPolygon', 'Point']), coordinates: z.array(z.unknown()) });
const Properties = z.looseObject({
  name: z.string().optional(),
  layer: z.string().optional().describe('a shared layer (e.g. schools) that layer-wide exclusions name'),
  radiusM: z.number().optional().describe('a Point zone is a circle of this radius'),
});
// What is checked here is only the envelope; the geometry is geo/'s (ZONE_INVALID with its code).
const FeatureBody = z.looseObject({ type: z.literal('Feature') });
// What is documented: a zone as geo/ accepts it.
const FeatureDoc = z.looseObject({ type: z.literal('Feature'), id: z.union([z.string(), z.number()]).optional(), geometry: Geometry, properties: Properties.optional() });
const FeatureCollectionDoc = z.looseObject({ type: z.literal('FeatureCollection'), features: z.array(FeatureDoc) });
const ZoneSummary = z.object({ id: z.string(), kind: z.string(), layer: z.string().nullable(), vertexCount: z.number(), bbox: z.array(z.number()).length(4) });
const ImportResult = z.object({ accepted: z.number(), rejected: z.array(z.object({ index: z.number(), id: z.string().nullable(), code: z.string(), message: z.string() })) });

/** Zones per write of a bulk import. */
const IMPORT_GROUP = 100;

const zoneSummary = (z: PreparedZone): object => ({ id: z.id, kind: z.kind, layer: z.layer, vertexCount: z.vertexCount, bbox: [z.minLon, z.minLat, z.maxLon, z.maxLat] });

function compile(feature: unknown): PreparedZone {
  try {
    return compileZone(feature);
  } catch (e) {
    if (e instanceof ZoneError) throw new ApiError('ZONE_INVALID', e.message, { zoneCode: e.code, zoneId: e.zoneId === null ? null : clip(e.zoneId) });
    throw e;
  }
}

/** Zones: GeoJSON Features, one at a time or a bulk FeatureCollection. */
export const zones: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  zoneList(route, ctx);
  route({ method: 'PUT', url: '/v1/zones/:id', summary: 'Create or replace a zone (GeoJSON Feature)', roles: ['operator', 'admin'], params: IdParam, body: FeatureBody, docBody: FeatureDoc, response: ZoneSummary }, async (_req, _reply, { params, body, principal }) => {
    mustBeReady(ctx);
    if (body.id !== undefined && (typeof body.id !== 'string' && typeof body.id !== 'number' || String(body.id) !== params.id)) throw new ApiError('VALIDATION', `body id differs from the path's ${JSON.stringify(params.id)}`);
    const feature = { ...body, id: params.id };
    const zone = compile(feature);
    await ctx.host.change((engine) => engine.setZone(zone), (m) => {
      m.hset(ctx.keys.zones, zone.id, JSON.stringify(feature));
      stageZoneIndex(m, ctx.keys, zone.id, zone);
      ctx.archiveFeed.config(m, 'zone', zone.id, feature);
    });
    await audit(ctx, 'zone.put', zone.id, principal);
    return zoneSummary(zone);
  });
  // The bulk import: its own content parser (the raw bytes, up to ZONE_IMPORT_LIMIT_BYTES; the
  // role check has already run in onRequest), then JSON parsing and zone compilation in a worker
  // thread, so the event loop keeps serving while a large import is validated.
  await app.register(async (bulk) => {
    bulk.removeContentTypeParser('application/json');
    bulk.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ctx.settings.zoneImportLimitBytes }, (_req, body, done) => done(null, body));
    const bulkRoute = routeOn(bulk, ctx.docs);
    bulkRoute({ method: 'POST', url: '/v1/zones', summary: 'Bulk import: a FeatureCollection; good features are kept beside bad ones', roles: ['operator', 'admin'], body: FeatureCollectionBody, docBody: FeatureCollectionDoc, response: ImportResult, rawBody: true, bodyLimit: ctx.settings.zoneImportLimitBytes }, async (req, _reply, { principal }) => {
      mustBeReady(ctx);
      if (!Buffer.isBuffer(req.body)) throw new ApiError('VALIDATION', 'body: send a GeoJSON FeatureCollection');
      const { shapes, coords, rings, json, rejected } = await importInWorker(req.body);
      // Committed in groups, each its own write, so no single turn of the event loop holds the
      // whole import (rebuilding the query structures, staging the Redis write). A group that
      // cannot be written fails the request (503); groups before it are stored, and sending the
      // same import again is harmless (a zone with the same id is replaced).
      for (let i = 0; i < shapes.length; i += IMPORT_GROUP) {
        const group = shapes.slice(i, i + IMPORT_GROUP).map((shape, k) => ({ zone: rebuild(shape, coords, rings), json: json(i + k) }));
        await ctx.host.change(
          (engine) => {
            for (const g of group) engine.setZone(g.zone);
          },
          (m) => {
            const args: string[] = [];
            for (const g of group) args.push(g.zone.id, g.json);
            m.hset(ctx.keys.zones, ...args);
            for (const g of group) stageZoneIndex(m, ctx.keys, g.zone.id, g.zone);
            if (ctx.archiveFeed.on) ctx.archiveFeed.configs(m, 'zone', group.map((g) => [g.zone.id, JSON.parse(g.json) as unknown]));
          },
        );
        await new Promise((r) => setImmediate(r));
      }
      await audit(ctx, 'zone.import', `${shapes.length} zones`, principal);
      return { accepted: shapes.length, rejected };
    });
  });
  route({ method: 'GET', url: '/v1/zones/:id', summary: 'A zone as stored', roles: ['operator', 'admin', 'team'], params: IdParam, response: FeatureDoc }, async (_req, _reply, { params, principal }) => {
    const raw = await ctx.redis.hget(ctx.keys.zones, params.id);
    if (raw === null) throw new ApiError('NOT_FOUND', `no zone ${JSON.stringify(params.id)}`);
    const team = teamOf(principal);
    if (team !== null) {
      const engine = ctx.host.view;
      const usedByTeam = engine.zoneUsersOf(params.id).some((s) => engine.getSubject(s)?.team === team);
      // A zone none of the team's subjects uses answers exactly as a missing one.
      if (!usedByTeam) throw new ApiError('NOT_FOUND', `no zone ${JSON.stringify(params.id)}`);
    }
    await audit(ctx, 'zone.read', params.id, principal);
    return JSON.parse(raw) as unknown;
  });
  route({ method: 'DELETE', url: '/v1/zones/:id', summary: 'Delete a zone no condition names', roles: ['operator', 'admin'], params: IdParam, status: 204 }, async (_req, reply, { params, principal }) => {
    mustBeReady(ctx);
    const users = ctx.host.view.zoneUsersOf(params.id);
    if (users.length > 0) throw new ApiError('ZONE_IN_USE', `zone ${JSON.stringify(params.id)} is named by conditions of ${users.length} subject(s)`, { subjects: users });
    if ((await ctx.redis.hexists(ctx.keys.zones, params.id)) === 0) throw new ApiError('NOT_FOUND', `no zone ${JSON.stringify(params.id)}`);
    await ctx.host.change((engine) => {
      if (!engine.deleteZone(params.id)) throw new ApiError('ZONE_IN_USE', `zone ${JSON.stringify(params.id)} is in use`);
    }, (m) => {
      m.hdel(ctx.keys.zones, params.id);
      stageZoneIndex(m, ctx.keys, params.id, null);
      ctx.archiveFeed.config(m, 'zone', params.id, null);
    });
    await audit(ctx, 'zone.delete', params.id, principal);
    return reply.code(204).send();
  });
};
