/**
 * bench:crime — crime-scene matching against a day of archived fixes (issue 14 part 2).
 *
 * Loads `BENCH_CRIME_TAGS` tags (default 10,000) × `BENCH_CRIME_HOURS` (24) of one fix a minute
 * into PostgreSQL/PostGIS (schema `bench_crime`, COPY through psql into a detached day partition,
 * indexes built after, then attached), then times, in one run, on the same `BENCH_CRIME_CRIMES`
 * (1,000) crimes:
 *   - the matcher (`matchCrimes`: ring query, fill, per-subject judgement in TypeScript), and
 *   - a plain PostGIS query with the same predicate (ST_DWithin on geography per crime over its
 *     window; no accuracy circles, gaps, lines or closest approach),
 * and checks both find the same (crime, subject) pairs where they should (pairs with a fix inside
 * the radius). `BENCH_CRIME_REUSE=1` keeps a loaded day of the same size (no reload).
 * Writes bench/results/crime.json. Needs `psql` on PATH (for COPY FROM STDIN).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openArchiveDb, partitionName } from '../../src/archive/db.js';
import type { Crime } from '../../src/evidence/crime/crime-input.js';
import { degreesFor } from '../../src/evidence/crime/geodesy.js';
import { clusterDay } from '../../src/evidence/crime/compact-day.js';
import { DEFAULT_PARAMS } from '../../src/evidence/crime/match-subject.js';
import { matchCrimes } from '../../src/evidence/crime/matcher.js';
import { benchEnv, envInt, printBenchEnv } from '../common/env.js';
import { mulberry32 } from '../common/prng.js';
import { repoRoot, writeResults } from '../common/results.js';
import { measureArchiveWrite } from '../archive/write.js';
import { generateDay } from './world.js';

const URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_crime';
const TAGS = envInt('BENCH_CRIME_TAGS', 10_000);
const HOURS = envInt('BENCH_CRIME_HOURS', 24);
const CRIMES = envInt('BENCH_CRIME_CRIMES', 1000);
const REUSE = process.env.BENCH_CRIME_REUSE === '1';
const DAY = Date.parse('2026-11-20T00:00:00Z');
const MIN = 60_000;
const SEED = 14_2;

const secs = (ms: number) => Math.round(ms) / 1000;

/** COPY a file of COPY text rows into `table` through psql (its stdin is the file). */
async function copyFile(table: string, file: string): Promise<void> {
  const fd = openSync(file, 'r');
  const child = spawn('psql', [URL, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `SET search_path=${SCHEMA},public; COPY ${table} (device_id, seq, ts, received_at, subject_id, lat, lon, accuracy_m, geom) FROM STDIN`], { stdio: [fd, 'inherit', 'inherit'] });
  await new Promise<void>((res, rej) => child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`psql COPY exited ${code}`)))));
  closeSync(fd);
}

async function main(): Promise<void> {
  printBenchEnv();
  const env = benchEnv();
  const db = await openArchiveDb({ url: URL, schema: SCHEMA, max: 4 });
  const part = partitionName('fixes', DAY);
  const marker = `${TAGS}x${HOURS}h seed ${SEED}`;
  await db.query('CREATE TABLE IF NOT EXISTS bench_marker (what text)');
  const loaded = (await db.query<{ what: string }>('SELECT what FROM bench_marker')).rows[0]?.what;

  const rng = mulberry32(SEED);
  const crimeAt = Array.from({ length: CRIMES }, () => ({ tag: Math.floor(rng() * TAGS), minute: Math.floor(rng() * HOURS * 60) }));
  let fixes = 0;
  let copyS: number | null = null, indexS: number | null = null;
  let seeds: ReturnType<typeof generateDay>['seeds'];
  if (REUSE && loaded === marker) {
    console.log(`reusing the loaded day (${marker})`);
    // Regenerate only to place the crimes (same seed, same positions), writing nothing.
    const g = generateDay({ tags: TAGS, hours: HOURS, dayStartMs: DAY, seed: SEED }, crimeAt, () => undefined);
    fixes = g.fixes; seeds = g.seeds;
  } else {
    console.log(`loading ${TAGS} tags x ${HOURS} h at one fix a minute into ${SCHEMA}.${part} (COPY, then indexes)…`);
    await db.query(`DROP TABLE IF EXISTS ${part}`);
    await db.query('DELETE FROM bench_marker');
    await db.query(`CREATE TABLE ${part} (LIKE fixes INCLUDING DEFAULTS)`);
    // Generated to a file first (the day in time order, as the copier writes it), then COPY: the
    // COPY time is PostgreSQL's alone.
    const tmp = join(os.tmpdir(), `bench-crime-${process.pid}.copy`);
    const out = openSync(tmp, 'w');
    let t = performance.now();
    const g = generateDay({ tags: TAGS, hours: HOURS, dayStartMs: DAY, seed: SEED }, crimeAt, (chunk) => { writeSync(out, chunk); });
    closeSync(out);
    fixes = g.fixes; seeds = g.seeds;
    console.log(`generated ${fixes.toLocaleString()} fixes in ${secs(performance.now() - t)} s`);
    t = performance.now();
    try {
      await copyFile(part, tmp);
    } finally {
      unlinkSync(tmp);
    }
    copyS = secs(performance.now() - t);
    console.log(`COPY: ${fixes.toLocaleString()} fixes in ${copyS} s (${Math.round(fixes / copyS).toLocaleString()} fixes/s into a table without indexes)`);
    t = performance.now();
    const from = new Date(DAY).toISOString(), to = new Date(DAY + 86_400_000).toISOString();
    await db.query(`ALTER TABLE fixes ATTACH PARTITION ${part} FOR VALUES FROM ('${from}') TO ('${to}')`); // builds the parent's indexes on it
    await db.query(`ANALYZE ${part}`);
    indexS = secs(performance.now() - t);
    console.log(`indexes (primary key, subject+time, GiST on geom, GiST on geom+ts, BRIN on ts) and ANALYZE: ${indexS} s`);
    await db.query('INSERT INTO bench_marker VALUES ($1)', [marker]);
  }

  // Crimes where people were: near a tag's position at some minute, a window around it.
  const crimes: Crime[] = seeds.map((s, k) => {
    const len = (1 + Math.floor(rng() * 12)) * 60 * MIN - (rng() < 0.5 ? 0 : 30 * MIN);
    const start = Math.max(DAY, Math.min(DAY + HOURS * 3_600_000 - len, DAY + s.minute * MIN - Math.floor(rng() * len)));
    const dEast = (rng() - 0.5) * 600, dNorth = (rng() - 0.5) * 600;
    const { dLat, dLon } = degreesFor(1, s.lat);
    const radiusM = [50, 100, 100, 150, 200, 200, 250, 300, 500][Math.floor(rng() * 9)];
    return { row: k + 1, ref: `B${k}`, type: 'Burglary', fromMs: start, toMs: start + len, lat: s.lat + dNorth * dLat / 1.001, lon: s.lon + dEast * dLon / 1.001, bng: null, radiusM, notes: [] };
  });

  const plain = async () => {
    const { dLat, dLon } = { dLat: crimes.map((c) => degreesFor(c.radiusM, c.lat).dLat), dLon: crimes.map((c) => degreesFor(c.radiusM, c.lat).dLon) };
    const r = await db.query<[number, string]>({
      text: `
        SELECT DISTINCT c.i, f.subject_id
          FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::timestamptz[], $8::timestamptz[])
               AS c(i, lon, lat, r, dlon, dlat, t0, t1)
          JOIN LATERAL (
            SELECT f.subject_id FROM fixes f
             WHERE f.geom && ST_MakeEnvelope(c.lon - c.dlon, c.lat - c.dlat, c.lon + c.dlon, c.lat + c.dlat, 4326)
               AND ST_DWithin(f.geom::geography, ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326)::geography, c.r)
               AND f.ts >= c.t0 AND f.ts <= c.t1 AND f.subject_id IS NOT NULL
          ) f ON true`,
      values: [crimes.map((_, i) => i), crimes.map((c) => c.lon), crimes.map((c) => c.lat), crimes.map((c) => c.radiusM), dLon, dLat, crimes.map((c) => new Date(c.fromMs)), crimes.map((c) => new Date(c.toMs))],
      rowMode: 'array',
    });
    return new Set(r.rows.map(([i, s]) => `${i}|${s}`));
  };
  const ours = async () => matchCrimes(db, crimes, { params: DEFAULT_PARAMS, excludeDevices: [] });

  const measure = async (label: string, runs: number) => {
    // Warm-up (the cache state both see), then alternate timed runs; the median.
    if (runs > 1) {
      await plain();
      await ours();
    }
    const tPlain: number[] = [], tOurs: number[] = [];
    let plainPairs = new Set<string>();
    let last!: Awaited<ReturnType<typeof ours>>;
    for (let k = 0; k < runs; k++) {
      let t = performance.now();
      plainPairs = await plain();
      tPlain.push(performance.now() - t);
      t = performance.now();
      last = await ours();
      tOurs.push(performance.now() - t);
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const matchSeconds = secs(median(tOurs));
    const postgisSeconds = secs(median(tPlain));

    // Same pairs where they should be: the plain query's pairs are exactly ours that rest on a fix
    // inside the radius (ours also has accuracy-circle, line and gap candidates). Distances: ours by
    // haversine on the sphere, PostGIS on the spheroid; a pair within 0.5 % of the radius edge may differ.
    const oursFix = new Map<string, number>();
    const byBasis: Record<string, number> = { fix: 0, accuracy: 0, interpolated: 0, gap: 0 };
    let candidates = 0;
    last.results.forEach((r, i) => {
      for (const k of r.candidates) {
        candidates++;
        byBasis[k.basis]++;
        const inside = k.fixes.filter((f) => !f.onlyByAccuracy);
        if (inside.length > 0) oursFix.set(`${i}|${k.subjectId}`, Math.min(...inside.map((f) => f.distanceM)));
      }
    });
    let onlyPlain = 0, onlyOurs = 0, edge = 0;
    for (const p of plainPairs) if (!oursFix.has(p)) onlyPlain++;
    for (const [p, d] of oursFix) {
      if (plainPairs.has(p)) continue;
      const r = crimes[Number(p.split('|')[0])].radiusM;
      if (Math.abs(d - r) <= r * 0.005 + 0.2) edge++; else onlyOurs++;
    }
    const agree = onlyPlain === 0 && onlyOurs === 0;
    console.log(`[${label}] matcher: ${matchSeconds} s (ring ${secs(last.stats.ringMs)} s: ${last.stats.ringFixes.toLocaleString()} fixes in ${last.stats.groups.toLocaleString()} crime×subject groups; fill ${secs(last.stats.fillMs)} s: ${last.stats.fillFixes.toLocaleString()}; judgement ${secs(last.stats.judgeMs)} s) → ${candidates} candidates ${JSON.stringify(byBasis)}`);
    console.log(`[${label}] plain PostGIS ST_DWithin: ${postgisSeconds} s → ${plainPairs.size} pairs; ratio matcher/plain ${(matchSeconds / postgisSeconds).toFixed(2)}`);
    console.log(`[${label}] pairs with a fix inside the radius: plain ${plainPairs.size}, ours ${oursFix.size}; only plain ${onlyPlain}, only ours ${onlyOurs} (+${edge} within 0.5 % of the edge): ${agree ? 'AGREE' : 'DIFFER'}`);
    return {
      matchSeconds, postgisSeconds, agree,
      matcher: { runsSeconds: tOurs.map(secs), ringFixes: last.stats.ringFixes, groups: last.stats.groups, fillFixes: last.stats.fillFixes, ringSeconds: secs(last.stats.ringMs), fillSeconds: secs(last.stats.fillMs), judgeSeconds: secs(last.stats.judgeMs), candidates, byBasis },
      postgis: { runsSeconds: tPlain.map(secs), pairs: plainPairs.size },
      agreement: { plainPairs: plainPairs.size, oursFixPairs: oursFix.size, onlyPlain, onlyOurs, edge, agree },
    };
  };

  console.log(`crimes ${CRIMES}, fixes ${fixes.toLocaleString()}`);
  // As the copier leaves a day (arrival order), then after the day is clustered by subject and time.
  const clustered = (await db.query<{ c: boolean }>(`SELECT relhasindex AND EXISTS (SELECT 1 FROM pg_index WHERE indrelid = '${part}'::regclass AND indisclustered) AS c FROM pg_class WHERE oid = '${part}'::regclass`)).rows[0]?.c === true;
  const arrival = clustered ? null : await measure('arrival order', envInt('BENCH_CRIME_ARRIVAL_RUNS', 1));
  let clusterS: number | null = null;
  if (!clustered) {
    const t = performance.now();
    await clusterDay(db, DAY);
    clusterS = secs(performance.now() - t);
    console.log(`CLUSTER of the day by (subject_id, ts): ${clusterS} s`);
  }
  const compact = await measure('clustered', envInt('BENCH_CRIME_RUNS', 3));
  const matchSeconds = compact.matchSeconds, postgisSeconds = compact.postgisSeconds;
  const agree = compact.agree && (arrival?.agree ?? true);
  console.log(`target: 1,000 crimes x 14.4M fixes <= 10 s: ${matchSeconds <= 10 ? 'met' : 'NOT met'} at this size (clustered day)`);

  // A reused day keeps the load figures (and the arrival-order run) of the run that loaded it.
  let previous: Record<string, unknown> | null = null;
  if (copyS === null) {
    try {
      const p = JSON.parse(readFileSync(join(repoRoot(), 'bench', 'results', 'crime.json'), 'utf8')) as Record<string, any>;
      if (p.tags === TAGS && p.hours === HOURS) previous = { copySeconds: p.copySeconds, indexSeconds: p.indexSeconds, clusterSeconds: p.clusterSeconds, arrivalOrder: p.arrivalOrder === null ? null : { ...p.arrivalOrder, note: `measured when the day was loaded (${p.generatedAt ?? '?'}), with the matcher of that run${p.params === undefined ? '' : ''}` } };
    } catch { /* no earlier figures */ }
  }
  // The archive's sustained write rate, in the same run: the copier's write path
  // (bench/archive/write.ts) into a schema of its own, with every index the archive keeps.
  const writeSchema = `bench_crime_write_${process.pid}`;
  const writeDb = await openArchiveDb({ url: URL, schema: writeSchema, max: 4 });
  let archiveWrite: Awaited<ReturnType<typeof measureArchiveWrite>>;
  try {
    await measureArchiveWrite({ db: writeDb, tags: 1000, perTag: 5, startMs: Date.UTC(2026, 0, 1) }); // warm-up
    archiveWrite = await measureArchiveWrite({ db: writeDb, tags: envInt('BENCH_ARCHIVE_TAGS', 10_000), perTag: envInt('BENCH_ARCHIVE_PER_TAG', 60) });
  } finally {
    await writeDb.query(`DROP SCHEMA IF EXISTS ${writeSchema} CASCADE`);
    await writeDb.end();
  }
  console.log(`archive write: ${archiveWrite.fixes} fixes in ${archiveWrite.seconds.toFixed(1)} s = ${Math.round(archiveWrite.fixesPerSec)} fixes/s (target >= 50,000)`);
  const file = writeResults('crime', {
    summary: {
      crimes: CRIMES, fixes, matchSeconds, postgisSeconds,
      archiveFixesPerSec: Math.round(archiveWrite.fixesPerSec),
    },
    archiveWrite,
    tags: TAGS, hours: HOURS, copySeconds: copyS, indexSeconds: indexS, clusterSeconds: clusterS, params: DEFAULT_PARAMS,
    clustered: compact,
    arrivalOrder: arrival,
    ...(previous ?? {}),
    postgres: (await db.query<{ v: string }>('SELECT version() AS v')).rows[0].v, postgisVersion: (await db.query<{ v: string }>('SELECT postgis_full_version() AS v')).rows[0].v.split(' ')[0],
    note: 'Taken on a shared 2-core machine while other work ran',
    loadAverage: os.loadavg(), generatedAt: new Date().toISOString(),
    ...env,
  });
  console.log(`wrote ${file}`);
  await db.end();
  if (!agree) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
