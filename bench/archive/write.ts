/**
 * Archive write throughput: fixes per second into PostgreSQL/PostGIS through the copier's own
 * write path (src/archive/fix-writer.ts: one multi-row INSERT … SELECT FROM unnest(…) ON CONFLICT
 * DO NOTHING per batch, in a transaction with the checkpoint upsert, exactly as the copier
 * commits), on a seeded synthetic fleet: `tags` tags, one fix every `stepMs`, random walks
 * around UK cities. Exported for bench:crime (which fills its 14.4M fixes with it) and run by
 * `npm run bench:archive` (bench/archive/run.ts).
 */
import type pg from 'pg';
import { inTransaction } from '../../src/archive/db.js';
import { insertFixes, PartitionCache, type FixRow } from '../../src/archive/fix-writer.js';
import { UK_CITIES, citySigmaKm, pickCity } from '../common/cities.js';
import { mulberry32 } from '../common/prng.js';

export interface ArchiveWriteOptions {
  /** A migrated archive pool (openArchiveDb). */
  db: pg.Pool;
  /** Tags in the fleet. Default 10,000. */
  tags?: number;
  /** Fixes per tag. Default 60 (an hour at one a minute). */
  perTag?: number;
  /** First fix time (epoch ms). Default midnight UTC two days ago. */
  startMs?: number;
  /** Time between a tag's fixes. Default 60,000 (one a minute). */
  stepMs?: number;
  /** Rows per INSERT (one copier batch). Default 5,000. */
  batchRows?: number;
  /** Batches written at once on separate connections. Default 2 (the copier's lanes, ARCHIVE_COPY_LANES). */
  concurrency?: number;
  /** Seed of the synthetic fleet. Default 14. */
  seed?: number;
  /** Subject id of tag i (default `S-<i>`); device id is `TAG-<i>`. */
  subjectOf?: (i: number) => string;
  /** Called after each batch with the fixes written so far. */
  progress?: (written: number) => void;
}

export interface ArchiveWriteResult {
  fixes: number;
  seconds: number;
  fixesPerSec: number;
  batchRows: number;
  concurrency: number;
}

/**
 * Writes `tags × perTag` fixes in time order (all tags' fixes of minute 1, then minute 2…, as
 * the ingest log delivers them) and returns the sustained rate: fixes over the wall time of the
 * whole run, partition creation and checkpoints included.
 */
export async function measureArchiveWrite(o: ArchiveWriteOptions): Promise<ArchiveWriteResult> {
  const tags = o.tags ?? 10_000;
  const perTag = o.perTag ?? 60;
  const stepMs = o.stepMs ?? 60_000;
  const startMs = o.startMs ?? Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000;
  const batchRows = o.batchRows ?? 5000;
  const concurrency = o.concurrency ?? 2;
  const subjectOf = o.subjectOf ?? ((i: number) => `S-${i}`);
  const rng = mulberry32(o.seed ?? 14);
  const lat = new Float64Array(tags);
  const lon = new Float64Array(tags);
  const ids: string[] = [];
  const subjects: string[] = [];
  for (let i = 0; i < tags; i++) {
    const c = UK_CITIES[pickCity(rng)];
    const sigmaDeg = citySigmaKm(c) / 111;
    lat[i] = c.lat + (rng() - 0.5) * 2 * sigmaDeg;
    lon[i] = c.lon + (rng() - 0.5) * 2 * sigmaDeg / Math.cos((c.lat * Math.PI) / 180);
    ids.push(`TAG-${i}`);
    subjects.push(subjectOf(i));
  }
  const total = tags * perTag;
  let next = 0;
  /** The next batch of rows in time order (tag-major within a minute), or null when done. */
  const nextBatch = (): FixRow[] | null => {
    if (next >= total) return null;
    const rows: FixRow[] = [];
    const end = Math.min(total, next + batchRows);
    for (; next < end; next++) {
      const step = Math.floor(next / tags);
      const i = next % tags;
      lat[i] += (rng() - 0.5) * 0.002;
      lon[i] += (rng() - 0.5) * 0.003;
      const ts = startMs + step * stepMs + (i % 60) * 1000;
      rows.push({
        deviceId: ids[i], seq: step + 1, ts, receivedAt: ts + 2000, subjectId: subjects[i],
        lat: Math.round(lat[i] * 1e6) / 1e6, lon: Math.round(lon[i] * 1e6) / 1e6,
        accuracy: Math.round(30 + rng() * 150) / 10, battery: Math.round(100 - (step * 100) / perTag) / 100, strap: 'ok', late: false,
      });
    }
    return rows;
  };

  const partitions = new PartitionCache();
  let written = 0;
  let batchNo = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    for (let rows = nextBatch(); rows !== null; rows = nextBatch()) {
      const n = ++batchNo;
      await partitions.ensure(o.db, 'fixes', [rows[0].ts, rows[rows.length - 1].ts]);
      await inTransaction(o.db, async (c) => {
        await insertFixes(c, rows);
        await c.query(
          `INSERT INTO archive_checkpoints (stream, position, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`, [`bench-lane-${n % concurrency}`, `${n}-0`]);
      });
      written += rows.length;
      o.progress?.(written);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  return { fixes: written, seconds, fixesPerSec: written / seconds, batchRows, concurrency };
}
