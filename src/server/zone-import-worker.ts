/**
 * Worker thread of the bulk zone import (POST /v1/zones): the raw body in, JSON-parsed, shape
 * checked and every feature compiled here, off the service's event loop, so a 100 MB import
 * never stalls ingest or /healthz. What comes back is cheap to rebuild on the main thread: each
 * good zone's coordinates (transferred, not copied) and its JSON as stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { CircleZone, compileZone, PolygonZone, ZoneError, type PreparedZone } from '../../geo/index.js';
import { clip, fromZod } from '../engine/config.js';
import { checkJsonText, poisoned } from './json-guard.js';

export const FeatureCollectionBody = z.object({ type: z.literal('FeatureCollection'), features: z.array(z.unknown()) });

/** A compiled zone as sent back: enough to rebuild the PreparedZone without validating again. */
export type ZoneShape =
  | { kind: 'circle'; id: string; layer: string | null; name: string | null; lon: number; lat: number; radiusM: number }
  /** parts: [offset, length] into the reply's `coords`, then [offset, length] into `rings`, per part. */
  | { kind: 'polygon'; id: string; layer: string | null; name: string | null; parts: number[] };

export type ImportReply =
  | { ok: true; zones: ZoneShape[]; coords: Float64Array; rings: Int32Array; json: Uint8Array; jsonEnds: Uint32Array; rejected: { index: number; id: string | null; code: string; message: string }[] }
  | { ok: false; message: string; path?: string };

export function importZones(body: Uint8Array): { reply: ImportReply; transfer: ArrayBuffer[] } {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const bad = checkJsonText(text);
  if (bad !== null) return { reply: { ok: false, message: bad }, transfer: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { reply: { ok: false, message: `body is not valid JSON: ${clip((e as Error).message, 200)}` }, transfer: [] };
  }
  if ((text.includes('__proto__') || text.includes('constructor')) && poisoned(value)) {
    return { reply: { ok: false, message: 'body holds a "__proto__" or "constructor.prototype" key' }, transfer: [] };
  }
  const parsed = FeatureCollectionBody.safeParse(value);
  if (!parsed.success) {
    const e = fromZod(parsed.error, 'body');
    return { reply: { ok: false, message: e.message, path: e.path }, transfer: [] };
  }
  const zones: ZoneShape[] = [];
  const jsons: string[] = [];
  const rejected: { index: number; id: string | null; code: string; message: string }[] = [];
  const transfer = new Set<ArrayBuffer>();
  const polygons: PolygonParts = { list: [], coords: 0, rings: 0 };
  const seen = new Set<string>();
  parsed.data.features.forEach((f, index) => {
    try {
      const zone = compileZone(f);
      if (seen.has(zone.id)) throw new ZoneError('ZONE_BAD_ID', zone.id, 'the same id appears earlier in this collection');
      seen.add(zone.id);
      zones.push(shapeOf(zone, polygons));
      jsons.push(JSON.stringify(f));
    } catch (e) {
      if (!(e instanceof ZoneError)) throw e;
      rejected.push({ index, id: e.zoneId === null ? null : clip(e.zoneId), code: e.code, message: e.message });
    }
  });
  // Each zone's JSON as UTF-8 in one transferred buffer (byte offsets beside it): nothing is
  // copied across the thread boundary, and the main thread decodes a zone's text only when it
  // stores that zone.
  const json = Buffer.from(jsons.join(''));
  const jsonEnds = new Uint32Array(jsons.length);
  let end = 0;
  jsons.forEach((j, i) => {
    end += Buffer.byteLength(j);
    jsonEnds[i] = end;
  });
  const bytes = new Uint8Array(json.buffer, json.byteOffset, json.byteLength);
  // Every polygon's coordinates in one array (and ring starts in another): two buffers cross
  // the thread boundary, whatever the number of zones.
  const coords = new Float64Array(polygons.coords), rings = new Int32Array(polygons.rings);
  let nc = 0, nr = 0;
  for (const p of polygons.list) {
    coords.set(p.coords, nc);
    rings.set(p.ringStart, nr);
    nc += p.coords.length;
    nr += p.ringStart.length;
  }
  transfer.add(coords.buffer);
  transfer.add(rings.buffer);
  if (json.byteOffset === 0 && json.byteLength === json.buffer.byteLength) transfer.add(json.buffer as ArrayBuffer);
  transfer.add(jsonEnds.buffer);
  return { reply: { ok: true, zones, coords, rings, json: bytes, jsonEnds, rejected }, transfer: [...transfer] };
}

/** The polygon parts gathered so far, and their total coordinates and ring starts (offsets of the next part). */
interface PolygonParts {
  list: { coords: Float64Array; ringStart: Int32Array }[];
  coords: number;
  rings: number;
}

function shapeOf(zone: PreparedZone, polygons: PolygonParts): ZoneShape {
  if (zone instanceof CircleZone) {
    return { kind: 'circle', id: zone.id, layer: zone.layer, name: zone.name, lon: zone.lon, lat: zone.lat, radiusM: zone.radiusM };
  }
  const parts: number[] = [];
  for (const p of (zone as PolygonZone).parts) {
    parts.push(polygons.coords, p.coords.length, polygons.rings, p.ringStart.length);
    polygons.coords += p.coords.length;
    polygons.rings += p.ringStart.length;
    polygons.list.push({ coords: p.coords, ringStart: p.ringStart });
  }
  return { kind: 'polygon', id: zone.id, layer: zone.layer, name: zone.name, parts };
}

// Only when started as the import worker (this module is also imported for its types and schema).
if (parentPort !== null && (workerData as { zoneImport?: boolean } | null)?.zoneImport === true) {
  const port = parentPort;
  port.on('message', (body: Uint8Array) => {
    try {
      const { reply, transfer } = importZones(body);
      port.postMessage(reply, transfer);
    } catch (e) {
      port.postMessage({ ok: false, message: `import failed: ${(e as Error).message}` } satisfies ImportReply);
    }
  });
}
