/**
 * `npm run bench:archive`: archive write throughput (bench/archive/write.ts) into a schema of its
 * own on DATABASE_URL (default the machine's 127.0.0.1:5432 database `test`), dropped afterwards.
 * BENCH_ARCHIVE_TAGS (default 10,000) × BENCH_ARCHIVE_PER_TAG (default 60) fixes;
 * BENCH_ARCHIVE_BATCH rows per INSERT (default 5,000); BENCH_ARCHIVE_LANES writers at once
 * (default 2, as the copier's ARCHIVE_COPY_LANES). Writes bench/results/archive.json.
 */
import os from 'node:os';
import { openArchiveDb } from '../../src/archive/db.js';
import { benchEnv, envInt, printBenchEnv } from '../common/env.js';
import { writeResults } from '../common/results.js';
import { measureArchiveWrite } from './write.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_archive_${process.pid}`;
const tags = envInt('BENCH_ARCHIVE_TAGS', 10_000);
const perTag = envInt('BENCH_ARCHIVE_PER_TAG', 60);
const batchRows = envInt('BENCH_ARCHIVE_BATCH', 5000);
const lanes = envInt('BENCH_ARCHIVE_LANES', 2);

printBenchEnv();
const db = await openArchiveDb({ url, schema, max: 4 });
try {
  const server = (await db.query<{ v: string; g: string }>('SELECT version() AS v, postgis_lib_version() AS g')).rows[0];
  console.log(`${server.v.split(',')[0]}, PostGIS ${server.g}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  // Warm-up: a small run (plans, partition creation, caches), not counted.
  await measureArchiveWrite({ db, tags: 1000, perTag: 5, batchRows, concurrency: lanes, startMs: Date.UTC(2026, 0, 1) });
  const r = await measureArchiveWrite({ db, tags, perTag, batchRows, concurrency: lanes });
  const summary = { fixes: r.fixes, seconds: Math.round(r.seconds * 100) / 100, fixesPerSec: Math.round(r.fixesPerSec) };
  console.log(`archive write: ${summary.fixes} fixes in ${summary.seconds} s = ${summary.fixesPerSec} fixes/s (target >= 50,000; batch ${batchRows} rows, ${lanes} lanes as the copier)`);
  const file = writeResults('archive', {
    summary,
    target: { fixesPerSec: 50_000 },
    method: 'copier write path: INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING per batch, with the checkpoint upsert in the same transaction; indexes: primary key, (subject_id, ts), GiST(geom, ts), BRIN(ts)',
    batchRows, lanes, tags, perTag,
    generatedAt: new Date().toISOString(),
    env: { ...benchEnv(), loadAverage: os.loadavg() },
  });
  console.log(`wrote ${file}`);
} finally {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
}
