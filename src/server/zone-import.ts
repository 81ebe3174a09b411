import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CircleZone, PolygonZone, type PreparedZone } from '../../geo/index.js';
import { PolygonPart } from '../../geo/polygon.js';
import { ApiError } from './errors.js';
import type { ImportReply, ZoneShape } from './zone-import-worker.js';

/**
 * The worker script: next to this module when running compiled JavaScript; under the test
 * runner (TypeScript sources) the compiled copy in dist/.
 */
function workerScript(): URL {
  const own = new URL('./zone-import-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(own))) return own;
  return new URL('../../dist/src/server/zone-import-worker.js', import.meta.url);
}

/** One import at a time: a second waits, so memory is bounded by one body and its zones. */
let queue: Promise<unknown> = Promise.resolve();

export interface ImportResult {
  /** Good zones as validated (rebuild each with `rebuild`), and each one's JSON as stored. */
  shapes: ZoneShape[];
  /** The coordinates and ring starts the polygon shapes point into. */
  coords: Float64Array;
  rings: Int32Array;
  /** The i-th good zone's JSON text. */
  json(i: number): string;
  rejected: { index: number; id: string | null; code: string; message: string }[];
}

/**
 * Parses and compiles a bulk import body in a worker thread (a fresh one per import; it ends with
 * the import). A malformed body is a VALIDATION error, like the JSON parser's.
 */
export function importInWorker(body: Buffer): Promise<ImportResult> {
  const run = queue.then(() => runWorker(body));
  queue = run.catch(() => undefined);
  return run;
}

function runWorker(body: Buffer): Promise<ImportResult> {
  return new Promise((done, fail) => {
    const worker = new Worker(workerScript(), { workerData: { zoneImport: true } });
    worker.once('message', (reply: ImportReply) => {
      void worker.terminate();
      if (!reply.ok) {
        fail(new ApiError('VALIDATION', reply.message, reply.path === undefined ? undefined : { path: reply.path }));
        return;
      }
      const bytes = Buffer.from(reply.json.buffer, reply.json.byteOffset, reply.json.byteLength);
      const ends = reply.jsonEnds;
      done({ shapes: reply.zones, coords: reply.coords, rings: reply.rings, json: (i) => bytes.toString('utf8', i === 0 ? 0 : ends[i - 1], ends[i]), rejected: reply.rejected });
    });
    worker.once('error', (e) => fail(e));
    worker.once('exit', (code) => {
      if (code !== 0) fail(new Error(`zone import worker exited with ${code}`));
    });
    // Handed over without a copy when the body owns its memory; a slice of a pooled buffer is copied.
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const data = own ? new Uint8Array(body.buffer, 0, body.byteLength) : Uint8Array.from(body);
    worker.postMessage(data, [data.buffer as ArrayBuffer]);
  });
}

/** The zone from what the worker validated: no second validation, just the query structures. */
export function rebuild(s: ZoneShape, coords: Float64Array, rings: Int32Array): PreparedZone {
  if (s.kind === 'circle') return new CircleZone(s.id, s.layer, s.name, s.lon, s.lat, s.radiusM);
  const parts: PolygonPart[] = [];
  for (let i = 0; i < s.parts.length; i += 4) {
    const [co, cn, ro, rn] = s.parts.slice(i, i + 4);
    // Own copies, so a stored zone does not keep the whole import's arrays alive.
    parts.push(new PolygonPart(coords.slice(co, co + cn), rings.slice(ro, ro + rn)));
  }
  return new PolygonZone(s.id, s.layer, s.name, parts);
}
