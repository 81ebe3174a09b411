/**
 * `npm run bench:postgis`: the replay's national input through PostGIS as a batch spatial join,
 * and through the engine, in one run (issue 16).
 *
 *   npm run bench:postgis
 *   BENCH_PG_SUBJECTS=100000 BENCH_PG_FIXES=1000000 node dist/bench/postgis/run.js   # national
 *
 * The world and the fix stream are the replay benchmark's (bench/engine/world.ts, stream.ts:
 * victim-address circles and street-block polygons with 200 m buffers, curfew addresses, shared
 * school layers, proximity to victims' devices). Both sides get the same fixes:
 *  - the engine: compile the configuration, then ingest every fix in time order and drain the
 *    alert events: the full rules (schedules, grace, hysteresis, confirmation, timers, episodes);
 *  - PostGIS (installed from Debian when missing; PostgreSQL on 127.0.0.1:5432 or
 *    BENCH_DATABASE_URL): the zones, conditions and fixes loaded into tables with GiST indexes
 *    (load time reported, not counted), then ONE batch join counting, per condition kind, the
 *    (fix, condition) pairs whose predicate holds: inside or within the buffer of an exclusion
 *    zone (own zone or any zone of a shared layer), inside the curfew address, within the warning
 *    distance of the victim's last position in the minute before. Predicates only: no schedules,
 *    no episodes, no debounce, so PostGIS does strictly less work than the engine.
 * The ratio is postgisSeconds / engineSeconds, where neither side's loading is counted (the
 * engine's configuration compile, PostGIS's table load and index build); `ratioWithLoads` counts
 * both. Writes bench/results/postgis.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { compileConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import type { Fix } from '../../src/engine/fix.js';
import { benchEnv, envInt, printBenchEnv } from '../common/env.js';
import { writeResults } from '../common/results.js';
import { sink } from '../common/sink.js';
import { fmt } from '../common/table.js';
import { nowNs } from '../common/timer.js';
import { generateStream, materialise, type FixStream } from '../engine/stream.js';
import { buildWorld, type World } from '../engine/world.js';

const SEED = 0x2e9a1a7;
const SUBJECTS = envInt('BENCH_PG_SUBJECTS', 20_000);
const FIXES = envInt('BENCH_PG_FIXES', 1_000_000);
const START_LOCAL = process.env['BENCH_START'] ?? '2026-11-23T18:15';
const URL = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_postgis';
const TARGET_RATIO = 50;
const CHUNK = 20_000;
const PROXIMITY_LOOKBACK_S = 60;

const log = (msg: string): void => console.log(msg);
const secondsSince = (t0: bigint): number => Number(nowNs() - t0) / 1e9;

function ensurePostgis(): void {
  if (existsSync('/usr/share/postgresql/15/extension/postgis.control')) return;
  log('PostGIS is missing: installing postgresql-15-postgis-3 from Debian');
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql-15-postgis-3'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** The engine side: compile, then every fix in time order with its events drained. */
function runEngine(world: World, stream: FixStream): { compileSeconds: number; ingestSeconds: number; events: number } {
  let t0 = nowNs();
  const engine = new Engine(compileConfig(world.config), { clock: 'fixes' });
  const compileSeconds = secondsSince(t0);
  const fixes: Fix[] = new Array(stream.n);
  materialise(stream, world.deviceIds, 0, stream.n, fixes);
  const order = Array.from({ length: stream.n }, (_, i) => i).sort((a, b) => fixes[a]!.ts - fixes[b]!.ts || a - b);
  // Each device's slot resolved once, as a parser would (replay.ts): no lookup by id per fix.
  const slotOfDevice = Int32Array.from(world.deviceIds, (id) => engine.deviceSlot(id));
  let events = 0;
  t0 = nowNs();
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    engine.ingestAt(slotOfDevice[stream.dev[i]!]!, fixes[i]!);
    events += engine.drain().length;
  }
  engine.flush();
  events += engine.drain().length;
  const ingestSeconds = secondsSince(t0);
  sink(events);
  return { compileSeconds, ingestSeconds, events };
}

/** Rows in chunks through unnest(); `table` may name its target columns, `select` maps the inputs. */
async function insertRows(db: pg.Client, table: string, columns: string[], types: string[], rows: unknown[][], select = 'SELECT *'): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    const arrays = columns.map((_, c) => part.map((r) => r[c]));
    const params = types.map((t, c) => `$${c + 1}::${t}[]`).join(', ');
    await db.query(`INSERT INTO ${table} ${select} FROM unnest(${params}) AS u(${columns.join(', ')})`, arrays);
  }
}

/** Tables, rows and indexes for PostGIS; returns the load time. */
async function loadPostgis(db: pg.Client, world: World, stream: FixStream): Promise<number> {
  const t0 = nowNs();
  await db.query('CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public');
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  await db.query(`SET search_path = ${SCHEMA}, public`);
  await db.query(`CREATE UNLOGGED TABLE zones (id text PRIMARY KEY, layer text, radius_m real, geog geography NOT NULL)`);
  await db.query(`CREATE UNLOGGED TABLE conds (subject_id text, device_id text, kind text, zone_id text, layer text, buffer_m real, victim_device text, warn_m real)`);
  await db.query(`CREATE UNLOGGED TABLE fixes (device_id text, ts timestamptz, geog geography)`);

  type ZoneIn = { id: unknown; properties: Record<string, unknown> | null; geometry: unknown };
  const zoneRows = (world.config.zones as unknown as ZoneIn[]).map((z) => [String(z.id), (z.properties as { layer?: string } | null)?.layer ?? null,
    (z.properties as { radiusM?: number } | null)?.radiusM ?? 0, JSON.stringify(z.geometry)]);
  await insertRows(db, 'zones (id, layer, radius_m, geog)', ['id', 'layer', 'radius_m', 'g'], ['text', 'text', 'real', 'text'], zoneRows, 'SELECT id, layer, radius_m, ST_GeomFromGeoJSON(g)::geography');

  const condRows: unknown[][] = [];
  for (const s of world.config.subjects) {
    if (s.status === 'suspended') continue;
    for (const c of s.conditions as Record<string, unknown>[]) {
      if (c['type'] === 'exclusion') condRows.push([s.id, s.deviceId, 'exclusion', c['zone'] ?? null, c['layer'] ?? null, (c['bufferM'] as number | undefined) ?? 0, null, null]);
      else if (c['type'] === 'curfew') condRows.push([s.id, s.deviceId, 'curfew', c['zone'], null, 0, null, null]);
      else if (c['type'] === 'proximity') condRows.push([s.id, s.deviceId, 'proximity', null, null, 0, c['victimDeviceId'], (c['warnM'] as number | undefined) ?? c['distanceM']]);
    }
  }
  await insertRows(db, 'conds', ['subject_id', 'device_id', 'kind', 'zone_id', 'layer', 'buffer_m', 'victim_device', 'warn_m'],
    ['text', 'text', 'text', 'text', 'text', 'real', 'text', 'real'], condRows);

  const fixRows: unknown[][] = [];
  for (let i = 0; i < stream.n; i++) {
    const la = stream.lat[i]!;
    if (la !== la) continue; // heartbeats have no position
    fixRows.push([world.deviceIds[stream.dev[i]!], stream.ts[i]! / 1000, stream.lon[i], la]);
  }
  await insertRows(db, 'fixes (device_id, ts, geog)', ['device_id', 't', 'lon', 'lat'], ['text', 'float8', 'float8', 'float8'], fixRows,
    'SELECT device_id, to_timestamp(t), ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography');
  await db.query('CREATE INDEX ON zones USING gist (geog)');
  await db.query('CREATE INDEX ON zones (layer)');
  await db.query('CREATE INDEX ON conds (device_id)');
  await db.query('CREATE INDEX ON fixes (device_id, ts)');
  await db.query('ANALYZE zones; ANALYZE conds; ANALYZE fixes');
  return secondsSince(t0);
}

/** The batch join: (fix, condition) pairs whose spatial predicate holds, by kind. */
const JOIN = `
WITH own AS (
  SELECT c.kind, count(*) AS n FROM fixes f
  JOIN conds c ON c.device_id = f.device_id AND c.zone_id IS NOT NULL
  JOIN zones z ON z.id = c.zone_id
  WHERE ST_DWithin(z.geog, f.geog, z.radius_m + c.buffer_m)
  GROUP BY c.kind
), layered AS (
  SELECT 'exclusion (layer)'::text AS kind, count(*) AS n FROM fixes f
  JOIN conds c ON c.device_id = f.device_id AND c.layer IS NOT NULL
  JOIN zones z ON z.layer = c.layer AND ST_DWithin(z.geog, f.geog, z.radius_m + c.buffer_m)
), prox AS (
  SELECT 'proximity'::text AS kind, count(*) AS n FROM fixes f
  JOIN conds c ON c.device_id = f.device_id AND c.kind = 'proximity'
  JOIN LATERAL (
    SELECT v.geog FROM fixes v WHERE v.device_id = c.victim_device AND v.ts <= f.ts AND v.ts > f.ts - interval '${PROXIMITY_LOOKBACK_S} seconds'
    ORDER BY v.ts DESC LIMIT 1
  ) v ON true
  WHERE ST_DWithin(v.geog, f.geog, c.warn_m)
)
SELECT kind, n FROM own UNION ALL SELECT kind, n FROM layered UNION ALL SELECT kind, n FROM prox`;

async function main(): Promise<void> {
  const env = benchEnv();
  printBenchEnv(env);
  const load0 = os.loadavg();
  ensurePostgis();
  let t0 = nowNs();
  const world = buildWorld({ seed: SEED, subjects: SUBJECTS });
  const stream = generateStream(world, { seed: SEED, fixes: FIXES, startLocal: START_LOCAL });
  log(`input: ${fmt(world.subjects)} subjects, ${fmt(world.counts.zones)} zones (${fmt(world.counts.layers)} shared layers), ${fmt(world.counts.conditions)} conditions, ${fmt(stream.n)} fixes; generated in ${secondsSince(t0).toFixed(1)} s`);

  const engine = runEngine(world, stream);
  // Like for like: PostGIS's table load and index build are not counted, nor is the engine's
  // configuration compile (both reported); the two timed parts evaluate the same fixes.
  const engineSeconds = engine.ingestSeconds;
  log(`engine: configuration compiled in ${engine.compileSeconds.toFixed(2)} s (not counted); ${fmt(stream.n)} fixes evaluated in ${engineSeconds.toFixed(2)} s (${fmt(engine.events)} alert events, full rules)`);

  const db = new pg.Client({ connectionString: URL });
  await db.connect();
  try {
    const loadSeconds = await loadPostgis(db, world, stream);
    log(`PostGIS: tables, rows and GiST indexes loaded in ${loadSeconds.toFixed(1)} s (not counted)`);
    await db.query('SET max_parallel_workers_per_gather = 2');
    t0 = nowNs();
    const r = await db.query<{ kind: string; n: string }>(JOIN);
    const postgisSeconds = secondsSince(t0);
    const hits = Object.fromEntries(r.rows.map((x) => [x.kind, Number(x.n)]));
    log(`PostGIS batch join (predicates only): ${postgisSeconds.toFixed(2)} s; pairs whose predicate holds: ${JSON.stringify(hits)}`);
    const ratio = postgisSeconds / engineSeconds;
    const ratioWithLoads = (postgisSeconds + loadSeconds) / (engineSeconds + engine.compileSeconds);
    log(`counting the loads too (compile vs load + index): ${ratioWithLoads.toFixed(1)}x`);
    log(`ratio: the engine with full rules is ${ratio.toFixed(1)}x faster than PostGIS with predicates alone (target >= ${TARGET_RATIO}x: ${ratio >= TARGET_RATIO ? 'met' : 'missed'})`);
    const file = writeResults('postgis', {
      generatedAt: new Date().toISOString(),
      command: 'npm run bench:postgis',
      env: { ...env, loadAverage: load0, postgres: (await db.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v, postgis: (await db.query<{ v: string }>('SELECT postgis_lib_version() AS v')).rows[0]!.v },
      summary: { fixes: stream.n, engineSeconds, postgisSeconds, ratio, ratioWithLoads },
      targets: [{ target: 'engine (full rules) vs PostGIS (predicates only)', goal: `>= ${TARGET_RATIO}x`, result: `${ratio.toFixed(1)}x`, pass: ratio >= TARGET_RATIO }],
      config: { seed: SEED, subjects: SUBJECTS, fixes: FIXES, startLocal: START_LOCAL, zones: world.counts.zones, conditions: world.counts.conditions, proximityLookbackS: PROXIMITY_LOOKBACK_S },
      engine: { compileSeconds: engine.compileSeconds, ingestSeconds: engine.ingestSeconds, events: engine.events },
      postgis: { loadSeconds, hits, query: JOIN.trim() },
      loadAverageEnd: os.loadavg(),
    });
    log(`wrote ${file}`);
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  } finally {
    await db.end();
  }
}

await main();
