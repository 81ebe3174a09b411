/**
 * Zone index benchmark: build time, heap per zone, point-in-zone and near queries, and a dynamic
 * workload, for 1k..1M realistic UK zones. Runs the peers in the same process on the same points:
 *   (a) ZoneIndex, default options (static sparse grid + small rbush overlay)
 *   (b) ZoneIndex with overlayMax: Infinity (every box in rbush)
 *   (c) baseline: rbush of bboxes + turf.booleanPointInPolygon (circles as 64-step turf.circle)
 *
 *   npm run bench:geo                              all scales (1k, 10k, 100k, 1M)
 *   BENCH_SCALES=1000,10000 npm run bench:geo      some scales
 *   BENCH_QUICK=1 npm run bench:geo                fewer queries and rounds
 *   BENCH_BASELINE_MAX=1000000                     also run the baseline at 1M (slow, ~GBs of heap)
 *
 * Writes bench/results/geo.json. Each scale runs in its own child process (see runIsolated).
 * Single-threaded; heap figures need --expose-gc (the npm script passes it). The machine should be
 * otherwise idle: the load average is recorded and a note printed when it was not.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileZone, haversineM, ZoneHits, ZoneIndex, type PreparedZone } from '../../geo/index.js';
import { benchEnv, printBenchEnv } from '../common/env.js';
import { heapUsedAfterGc } from '../common/heap.js';
import { permutation, mulberry32 } from '../common/prng.js';
import { writeResults } from '../common/results.js';
import { sink, sinkValue } from '../common/sink.js';
import { median, percentile } from '../common/stats.js';
import { fmt, formatTable } from '../common/table.js';
import { msSince, nowNs, timerOverheadNs } from '../common/timer.js';
import { BaselineIndex, type BaselineEntry } from './baseline.js';
import { generateQueryPoints, ZoneSet } from './zones.js';

// ---------------------------------------------------------------------------------------------
// Configuration

const SEED = 0x0e1f2024;
const QUICK = process.env['BENCH_QUICK'] === '1';
const SCALES = parseScales(process.env['BENCH_SCALES']) ?? [1_000, 10_000, 100_000, 1_000_000];
const BASELINE_MAX = Number(process.env['BENCH_BASELINE_MAX'] ?? 100_000);
const NEAR_M = 200;

const CFG = {
  /** Timed `containing` queries per round for (a) and (b). */
  queries: QUICK ? 200_000 : 1_000_000,
  /** Timed queries per round for the baseline (much slower; enough for a stable rate). */
  baselineQueries: QUICK ? 30_000 : 200_000,
  rounds: QUICK ? 1 : 3,
  warmupQueries: QUICK ? 50_000 : 200_000,
  /** Single-query latency samples per variant. */
  latencySamples: QUICK ? 50_000 : 300_000,
  /** Points on which the variants' answers are compared zone by zone. */
  verifyPoints: QUICK ? 5_000 : 20_000,
  nearQueries: QUICK ? 100_000 : 500_000,
  baselineNearQueries: QUICK ? 5_000 : 20_000,
  /** Points on which baseline near() is compared (turf's geodesic distance is slow). */
  baselineNearVerifyPoints: QUICK ? 300 : 1_000,
  /** Wall-clock cap per timed round (ZoneIndex variants), so 1M zones finish in minutes. */
  budgetMs: QUICK ? 1_500 : 5_000,
  /** Wall-clock cap per baseline round. */
  baselineBudgetMs: QUICK ? 1_000 : 3_000,
  /** Points in the cache-hot pool (same points over and over: geometry cost without memory misses). */
  hotPool: 1_024,
  /** Operations of the dynamic workload; every 100th is a set, replace or delete. */
  dynamicOps: QUICK ? 200_000 : 1_000_000,
  /** Distinct query points (cycled). */
  pointPool: QUICK ? 1 << 18 : 1 << 20,
  /** Features generated per compile batch (bounds the GeoJSON alive at once). */
  chunk: 4096,
};

const TARGETS = {
  qps100k: 2_000_000,
  p99Us100k: 5,
  baselineRatio100k: 5,
  simpleHeapBytes: 1024,
  loadMs1M: 10_000,
};

// ---------------------------------------------------------------------------------------------
// Building

interface Compiled {
  zones: PreparedZone[];
  compileMs: number;
}

/**
 * Compiles zones set.featureAt(i) for i in `which` (or all). Features are made a chunk at a time
 * outside the timed region: the figure is compileZone alone, not the synthetic generator.
 */
function compileZones(set: ZoneSet, which: Uint32Array | null): Compiled {
  const count = which === null ? set.size : which.length;
  const zones: PreparedZone[] = [];
  const batch: unknown[] = [];
  let ns = 0n;
  for (let start = 0; start < count; start += CFG.chunk) {
    const end = Math.min(count, start + CFG.chunk);
    batch.length = 0;
    for (let k = start; k < end; k++) batch.push(set.featureAt(which === null ? k : which[k]!));
    const t0 = nowNs();
    for (let k = 0; k < batch.length; k++) zones.push(compileZone(batch[k]));
    ns += nowNs() - t0;
  }
  batch.length = 0;
  return { zones, compileMs: Number(ns) / 1e6 };
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = nowNs();
  const value = fn();
  return { value, ms: msSince(t0) };
}

// ---------------------------------------------------------------------------------------------
// Query loops, shared by the three variants (one table-driven measurement per figure below).

/** What the timed loops need of an index: ZoneIndex and the baseline both answer these. */
interface BenchIndex<O, Z> {
  containing(lon: number, lat: number, out: O): number;
  near(lon: number, lat: number, maxDistM: number, out: O): number;
  set(zone: Z): void;
  delete(id: string): boolean;
  readonly size: number;
}

function loopContaining<O>(index: BenchIndex<O, unknown>, pts: Float64Array, start: number, count: number, out: O): number {
  const n = pts.length >> 1;
  let j = start % n;
  let acc = 0;
  for (let q = 0; q < count; q++) {
    acc += index.containing(pts[2 * j]!, pts[2 * j + 1]!, out);
    if (++j === n) j = 0;
  }
  return acc;
}

function loopNear<O>(index: BenchIndex<O, unknown>, pts: Float64Array, start: number, count: number, out: O): number {
  const n = pts.length >> 1;
  let j = start % n;
  let acc = 0;
  for (let q = 0; q < count; q++) {
    acc += index.near(pts[2 * j]!, pts[2 * j + 1]!, NEAR_M, out);
    if (++j === n) j = 0;
  }
  return acc;
}

/**
 * Queries per second of `loop` over `count` queries, or over as many as fit in budgetMs (checked
 * between chunks of ~1/64 of count; for the baselines); the result count goes to the sink.
 */
function rate(loop: (start: number, count: number) => number, start: number, count: number, budgetMs = Infinity): number {
  const chunk = budgetMs === Infinity ? count : Math.max(16, Math.ceil(count / 64));
  let done = 0;
  const t0 = nowNs();
  while (done < count) {
    const c = Math.min(chunk, count - done);
    sink(loop(start + done, c));
    done += c;
    if (done < count && Number(nowNs() - t0) / 1e6 > budgetMs) break;
  }
  const s = Number(nowNs() - t0) / 1e9;
  return done / s;
}

interface Latency {
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** p99 of the mean over batches of 16 queries: a cross-check that needs no overhead subtraction. */
  batch16P99Us: number;
}

/*
 * Latency method. Each sample is one query between two process.hrtime.bigint() reads; the
 * median cost of a back-to-back pair of reads (measured at start-up, ~30 ns here) is subtracted.
 * Timing single queries keeps the tail: a slow query (a big polygon, a young-generation GC) is
 * one sample, not 1/16 of a batch mean. Timer jitter is reported next to it (timer p99), so a
 * p99 within a few tens of ns of it is known to be resolution-limited. Batches of 16 (timed
 * whole, divided by 16) are measured as well: that p99 is smoothed, but free of timer cost.
 */
function latency<O>(index: BenchIndex<O, unknown>, pts: Float64Array, samples: number, out: O, timerNs: number): Latency {
  const n = pts.length >> 1;
  const d = new Float64Array(samples);
  let acc = 0;
  let j = 0;
  for (let q = 0; q < samples; q++) {
    const lon = pts[2 * j]!, lat = pts[2 * j + 1]!;
    if (++j === n) j = 0;
    const t0 = nowNs();
    acc += index.containing(lon, lat, out);
    const t1 = nowNs();
    d[q] = Number(t1 - t0) - timerNs;
  }
  const batches = Math.floor(samples / 16);
  const b = new Float64Array(batches);
  for (let k = 0; k < batches; k++) {
    const t0 = nowNs();
    for (let i = 0; i < 16; i++) {
      acc += index.containing(pts[2 * j]!, pts[2 * j + 1]!, out);
      if (++j === n) j = 0;
    }
    b[k] = Number(nowNs() - t0) / 16;
  }
  sink(acc);
  return summarise(d, b);
}

function summarise(single: Float64Array, batch16: Float64Array): Latency {
  for (let i = 0; i < single.length; i++) if (single[i]! < 0) single[i] = 0;
  single.sort();
  batch16.sort();
  return {
    p50Us: percentile(single, 50) / 1e3,
    p99Us: percentile(single, 99) / 1e3,
    p999Us: percentile(single, 99.9) / 1e3,
    maxUs: single[single.length - 1]! / 1e3,
    batch16P99Us: percentile(batch16, 99) / 1e3,
  };
}

// ---------------------------------------------------------------------------------------------
// Agreement: the three variants answer zone by zone on the same points.

interface Agreement {
  points: number;
  hitsPerQuery: number;
  candidatesPerQuery: number;
  candidatesMax: number;
  emptyCandidateShare: number;
  rbushCandidatesPerQuery: number;
  /** Points on which the baseline was compared (all, except for near). */
  baselinePoints: number;
  baselineCandidatesPerQuery: number | null;
  /** Points where (a) and (b) disagree: must be 0. */
  mismatchDefaultVsRbush: number;
  /** Points where the baseline disagrees with (a), split by cause. */
  mismatchBaseline: number | null;
  mismatchBaselineCircleEdge: number | null;
  mismatchBaselineOther: number | null;
  examples: string[];
}

/** Tolerance for a circle's turf.circle polygon: 64 chords sag by r(1 - cos(π/64)) ≈ 0.0012 r. */
function nearCircleEdge(zone: PreparedZone, lon: number, lat: number, bandM: number): boolean {
  if (zone.kind !== 'circle') return false;
  const c = zone as PreparedZone & { lon: number; lat: number; radiusM: number };
  const d = haversineM(c.lon, c.lat, lon, lat);
  return Math.abs(d - (c.radiusM + bandM)) <= 0.002 * c.radiusM + 0.05;
}

function idsOf(out: ZoneHits): string[] {
  const ids: string[] = [];
  for (let i = 0; i < out.count; i++) ids.push(out.zones[i]!.id);
  return ids.sort();
}

function sameIds(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * mode 'contains' or 'near'. For near, a baseline disagreement counts as an edge case when the
 * zone's distance from the point is within 1 m (plus circle polygonisation) of NEAR_M: turf
 * measures geodesically to a 64-gon, geo/ with haversine to the true circle.
 */
function agreement(
  mode: 'contains' | 'near', a: ZoneIndex, b: ZoneIndex, base: BaselineIndex | null, pts: Float64Array, count: number, baseCount = count,
): Agreement {
  const outA = new ZoneHits(64), outB = new ZoneHits(64);
  const outBase: BaselineEntry[] = [];
  let hits = 0, candA = 0, candB = 0, candBase = 0, candMax = 0, empty = 0;
  let mAB = 0, mBase = 0, mEdge = 0, mOther = 0, baseN = 0;
  const examples: string[] = [];
  const n = Math.min(count, pts.length >> 1);
  for (let q = 0; q < n; q++) {
    const lon = pts[2 * q]!, lat = pts[2 * q + 1]!;
    if (mode === 'contains') {
      a.containing(lon, lat, outA);
      b.containing(lon, lat, outB);
    } else {
      a.near(lon, lat, NEAR_M, outA);
      b.near(lon, lat, NEAR_M, outB);
    }
    hits += outA.count;
    candA += a.lastCandidates;
    candB += b.lastCandidates;
    if (a.lastCandidates > candMax) candMax = a.lastCandidates;
    if (a.lastCandidates === 0) empty++;
    const idsA = idsOf(outA);
    if (!sameIds(idsA, idsOf(outB))) {
      mAB++;
      if (examples.length < 5) examples.push(`${mode} default≠rbush-only at [${lon}, ${lat}]`);
    }
    if (base === null || q >= baseCount) continue;
    baseN++;
    if (mode === 'contains') base.containing(lon, lat, outBase);
    else base.near(lon, lat, NEAR_M, outBase);
    candBase += base.lastCandidates;
    const idsBase = outBase.map((e) => e.id).sort();
    if (sameIds(idsA, idsBase)) continue;
    mBase++;
    const setA = new Set(idsA), setBase = new Set(idsBase);
    const diff = [...idsA.filter((id) => !setBase.has(id)), ...idsBase.filter((id) => !setA.has(id))];
    const explained = diff.every((id) => {
      const zone = a.get(id);
      if (zone === undefined) return false;
      if (mode === 'contains') return nearCircleEdge(zone, lon, lat, 0);
      if (zone.kind === 'circle') return nearCircleEdge(zone, lon, lat, NEAR_M);
      const s = zone.signedDistanceM(lon, lat, 1e7);
      return Math.abs(-s - NEAR_M) <= 1;
    });
    if (explained) mEdge++;
    else {
      mOther++;
      if (examples.length < 5) {
        const detail = diff
          .map((id) => `${id}(${a.get(id)?.kind}, ours ${setA.has(id) ? 'in' : 'out'}, turf ${setBase.has(id) ? 'in' : 'out'})`)
          .join(' ');
        examples.push(`${mode} baseline≠ours at [${lon}, ${lat}]: ${detail}`);
      }
    }
  }
  return {
    points: n,
    hitsPerQuery: hits / n,
    candidatesPerQuery: candA / n,
    candidatesMax: candMax,
    emptyCandidateShare: empty / n,
    rbushCandidatesPerQuery: candB / n,
    baselinePoints: base === null ? 0 : baseN,
    baselineCandidatesPerQuery: base === null ? null : candBase / baseN,
    mismatchDefaultVsRbush: mAB,
    mismatchBaseline: base === null ? null : mBase,
    mismatchBaselineCircleEdge: base === null ? null : mEdge,
    mismatchBaselineOther: base === null ? null : mOther,
    examples,
  };
}

// ---------------------------------------------------------------------------------------------
// Dynamic workload

const OP_SET_NEW = 0;
const OP_REPLACE = 1;
const OP_DELETE = 2;

interface Mutation {
  op: number;
  id: string;
  zone: PreparedZone | null;
  entry: BaselineEntry | null;
}

/**
 * Every third change adds a new zone, replaces an existing one (same id, moved and redrawn) or
 * deletes one. Replacements and deletions pick distinct random zones of the loaded set, so they
 * hit the static tree, not just the overlay. All zones are compiled here, ahead of the timed
 * loop: the workload times the index, compileZone is timed in the build figures.
 */
function makeMutations(set: ZoneSet, count: number, withBaseline: boolean): Mutation[] {
  const rng = mulberry32(SEED ^ 0xd1a);
  const perm = permutation(rng, set.size);
  const spare = new ZoneSet(Math.max(1, Math.ceil(count / 3)), { seed: SEED ^ 0x5a5e, idPrefix: 'new' });
  const muts: Mutation[] = [];
  for (let k = 0; k < count; k++) {
    const op = k % 3;
    const r = Math.floor(k / 3);
    if (op === OP_DELETE) {
      muts.push({ op, id: set.id(perm[r % set.size]!), zone: null, entry: null });
      continue;
    }
    const f = op === OP_SET_NEW ? spare.featureAt(r) : set.featureAt(perm[set.size - 1 - (r % set.size)]!, 1);
    const zone = compileZone(f);
    muts.push({ op, id: zone.id, zone, entry: withBaseline ? BaselineIndex.entry(f) : null });
  }
  return muts;
}

interface DynamicResult {
  opsPerSec: number;
  mutations: number;
  mutationMeanUs: number;
  mutationMaxUs: number;
  sizeAfter: number;
}

/** `zones[k]`: what muts[k] sets in this index (a PreparedZone, or a baseline entry); null for a delete. */
function dynamic<O, Z>(index: BenchIndex<O, Z>, pts: Float64Array, ops: number, muts: Mutation[], zones: readonly (Z | null)[], out: O): DynamicResult {
  const n = pts.length >> 1;
  let j = 0, m = 0, acc = 0, mutNs = 0, mutMax = 0;
  const t0 = nowNs();
  for (let op = 1; op <= ops; op++) {
    if (op % 100 === 0 && m < muts.length) {
      const mu = muts[m]!;
      const z = zones[m++]!;
      const s = nowNs();
      if (mu.op === OP_DELETE) index.delete(mu.id);
      else index.set(z);
      const d = Number(nowNs() - s);
      mutNs += d;
      if (d > mutMax) mutMax = d;
    } else {
      acc += index.containing(pts[2 * j]!, pts[2 * j + 1]!, out);
      if (++j === n) j = 0;
    }
  }
  const s = Number(nowNs() - t0) / 1e9;
  sink(acc);
  return { opsPerSec: ops / s, mutations: m, mutationMeanUs: mutNs / Math.max(1, m) / 1e3, mutationMaxUs: mutMax / 1e3, sizeAfter: index.size };
}

// ---------------------------------------------------------------------------------------------
// One scale

interface ScaleResult {
  zones: number;
  mix: { circles: number; polygons: number; multiPolygons: number; areas: number; layers: number; layerZones: number; simple: number; vertices: number };
  build: {
    compileMs: number;
    compileUsPerZone: number;
    indexMs: number;
    /** compileZone for every zone + ZoneIndex.from: the "load" figure. */
    loadMs: number;
    rbushOnlyIndexMs: number;
    baselineBuildMs: number | null;
  };
  heap: {
    /** Compiled zones (incl. the GeoJSON each keeps) + default index, per zone. */
    bytesPerZone: number;
    zonesBytesPerZone: number;
    indexBytesPerZone: number;
    rbushOnlyIndexBytesPerZone: number;
    simpleZones: number;
    /** Same, for a set of only circles and polygons <= 32 vertices. */
    simpleBytesPerZone: number;
    /** Of which: the GeoJSON Features alone (what compileZone keeps as zone.feature). */
    simpleGeoJsonBytesPerZone: number;
    baselineBytesPerZone: number | null;
  };
  contains: {
    agreement: Agreement;
    queriesPerSec: number;
    /** Same queries over 1,024 points repeated (cache-hot). */
    cacheHotQueriesPerSec: number;
    latency: Latency;
    rbushOnlyQueriesPerSec: number;
    rbushOnlyLatency: Latency;
    baselineQueriesPerSec: number | null;
    baselineLatency: Latency | null;
    baselineRatio: number | null;
    rbushOnlyRatio: number;
  };
  near: {
    distanceM: number;
    agreement: Agreement;
    queriesPerSec: number;
    rbushOnlyQueriesPerSec: number;
    baselineQueriesPerSec: number | null;
    baselineRatio: number | null;
  };
  dynamic: {
    ops: number;
    mutationShare: number;
    default: DynamicResult;
    rbushOnly: DynamicResult;
    baseline: DynamicResult | null;
    agreementAfter: Agreement;
  };
  /** The static grid's cells (default index, as built), and what a point query reads of them. */
  grid: GridFigures | null;
  notes: string[];
  /** Filled in by the child process that ran the scale. */
  run: { timerOverheadNs: { medianNs: number; p99Ns: number }; loadAvg1mBefore: number; loadAvg1mAfter: number; sink: number };
}

interface GridFigures {
  entries: number;
  entriesPerZone: number;
  cells: number;
  nonEmptyCells: number;
  /** Most entries (zone boxes) in one cell, and the mean over non-empty cells. */
  maxPerCell: number;
  meanPerNonEmptyCell: number;
  maxDepth: number;
  bigItems: number;
  /** Entries on a point query's path (all its cells), over the verify points (they follow the zones' density). */
  pathMean: number;
  pathP99: number;
  pathMax: number;
  /** Same, for the verify points within 10 km of central London (the densest city). */
  densePoints: number;
  densePathMean: number;
  densePathMax: number;
}

/** Cell fill of the default index's grid: how many zones a dense city puts in one cell. */
function gridFigures(index: ZoneIndex, pts: Float64Array, count: number): GridFigures | null {
  const st = index.gridStats();
  if (st === null) return null;
  const n = Math.min(count, pts.length >> 1);
  const path = new Float64Array(n);
  let sum = 0, dense = 0, denseSum = 0, denseMax = 0;
  for (let q = 0; q < n; q++) {
    const lon = pts[2 * q]!, lat = pts[2 * q + 1]!;
    const e = index.entriesOnPath(lon, lat);
    path[q] = e;
    sum += e;
    if (haversineM(LONDON[0], LONDON[1], lon, lat) <= 10_000) {
      dense++;
      denseSum += e;
      if (e > denseMax) denseMax = e;
    }
  }
  path.sort();
  return {
    entries: st.entries,
    entriesPerZone: st.entries / index.size,
    cells: st.cells,
    nonEmptyCells: st.nonEmptyCells,
    maxPerCell: st.maxPerCell,
    meanPerNonEmptyCell: st.meanPerNonEmptyCell,
    maxDepth: st.maxDepth,
    bigItems: st.bigItems,
    pathMean: sum / n,
    pathP99: percentile(path, 99),
    pathMax: path[n - 1]!,
    densePoints: dense,
    densePathMean: dense === 0 ? 0 : denseSum / dense,
    densePathMax: denseMax,
  };
}

const LONDON = [-0.1278, 51.5074] as const;

function log(msg: string): void {
  process.stderr.write(`  · ${msg}\n`);
}

function runScale(n: number, timerNs: number): ScaleResult {
  const notes: string[] = [];
  const set = new ZoneSet(n, { seed: SEED });
  const mix = { circles: 0, polygons: 0, multiPolygons: 0, areas: 0, layers: set.layerNames.length, layerZones: 0, simple: 0, vertices: 0 };
  const simpleIdx: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = set.kind[i]!;
    if (k === 0) mix.circles++;
    else if (k === 1) mix.polygons++;
    else if (k === 2) mix.multiPolygons++;
    else mix.areas++;
    if (set.layer[i]! >= 0) mix.layerZones++;
    mix.vertices += set.vertexCount(i);
    if (set.isSimple(i)) simpleIdx.push(i);
  }
  mix.simple = simpleIdx.length;
  log(`${fmt(n)} zones: ${fmt(mix.circles)} circles, ${fmt(mix.polygons)} polygons, ${fmt(mix.multiPolygons)} multipolygons, ${mix.areas} areas, ${mix.layers} layers; ${fmt(mix.vertices)} vertices`);

  // Heap of a simple-only set, measured alone (nothing else of this scale is alive yet).
  const simpleWhich = Uint32Array.from(simpleIdx);
  simpleIdx.length = 0;
  let h0 = heapUsedAfterGc();
  let features: unknown[] | null = [];
  for (let k = 0; k < simpleWhich.length; k++) features.push(set.featureAt(simpleWhich[k]!));
  const simpleGeoJsonBytes = heapUsedAfterGc() - h0;
  // Read after the measurement: V8 may collect a local that is never read again, live or not.
  sink(features.length);
  features = null;
  h0 = heapUsedAfterGc();
  let simple: Compiled | null = compileZones(set, simpleWhich);
  let simpleIndex: ZoneIndex | null = ZoneIndex.from(simple.zones);
  const simpleBytes = heapUsedAfterGc() - h0;
  sink(simpleIndex.size);
  simple = null;
  simpleIndex = null;
  log(`simple-only set: ${fmt(simpleBytes / simpleWhich.length)} B/zone (GeoJSON alone ${fmt(simpleGeoJsonBytes / simpleWhich.length)} B/zone)`);

  // Full set: compile, default index, rbush-only index.
  const hStart = heapUsedAfterGc();
  const compiled = compileZones(set, null);
  const zones = compiled.zones;
  const hZones = heapUsedAfterGc();
  const built = timed(() => ZoneIndex.from(zones));
  const a = built.value;
  const hA = heapUsedAfterGc();
  const builtB = timed(() => ZoneIndex.from(zones, { overlayMax: Infinity }));
  const b = builtB.value;
  const hB = heapUsedAfterGc();
  log(`compile ${fmt(compiled.compileMs)} ms, index ${fmt(built.ms)} ms, rbush-only index ${fmt(builtB.ms)} ms`);
  if (a.size !== n || b.size !== n) notes.push(`index size ${a.size} / ${b.size}, expected ${n}`);

  // Baseline.
  let base: BaselineIndex | null = null;
  let baselineBuildMs: number | null = null;
  let baselineBytes: number | null = null;
  if (n <= BASELINE_MAX) {
    const h = heapUsedAfterGc();
    let ns = 0n;
    base = new BaselineIndex();
    const entries: BaselineEntry[] = [];
    for (let start = 0; start < n; start += CFG.chunk) {
      const end = Math.min(n, start + CFG.chunk);
      const batch = [];
      for (let i = start; i < end; i++) batch.push(set.featureAt(i));
      const t0 = nowNs();
      for (const f of batch) entries.push(BaselineIndex.entry(f));
      ns += nowNs() - t0;
    }
    const t0 = nowNs();
    base.load(entries);
    ns += nowNs() - t0;
    baselineBuildMs = Number(ns) / 1e6;
    entries.length = 0;
    baselineBytes = (heapUsedAfterGc() - h) / n;
    log(`baseline build ${fmt(baselineBuildMs)} ms`);
  } else {
    notes.push(`baseline skipped above ${fmt(BASELINE_MAX)} zones (turf.circle for every circle needs GBs of heap); set BENCH_BASELINE_MAX to force`);
  }

  const pts = generateQueryPoints(CFG.pointPool, SEED ^ n);
  const containsAgreement = agreement('contains', a, b, base, pts, CFG.verifyPoints);
  const nearAgreement = agreement('near', a, b, base, pts, CFG.verifyPoints, CFG.baselineNearVerifyPoints);
  for (const ag of [containsAgreement, nearAgreement]) notes.push(...ag.examples);
  const grid = gridFigures(a, pts, CFG.verifyPoints);
  if (grid !== null) {
    log(`grid: ${fmt(grid.cells)} cells, max ${grid.maxPerCell} / mean ${grid.meanPerNonEmptyCell.toFixed(1)} zones per non-empty cell, depth ${grid.maxDepth}; ` +
      `a query reads ${grid.pathMean.toFixed(1)} entries (p99 ${grid.pathP99}, max ${grid.pathMax}); within 10 km of London ${grid.densePathMean.toFixed(1)} (max ${grid.densePathMax})`);
  }
  log(`agreement: contains ${containsAgreement.mismatchDefaultVsRbush}/${containsAgreement.mismatchBaseline ?? '-'} mismatches, near ${nearAgreement.mismatchDefaultVsRbush}/${nearAgreement.mismatchBaseline ?? '-'}`);

  // The three variants, each with its query counts and time budget; every figure below is one
  // loop over this table. Rounds interleave the variants on the same point sequence.
  const outA = new ZoneHits(64), outB = new ZoneHits(64);
  const outBase: BaselineEntry[] = [];
  const variant = <O, Z>(index: BenchIndex<O, Z>, out: O, zoneOf: (mu: Mutation) => Z | null, small: boolean) => ({
    contains: (s: number, c: number): number => loopContaining(index, pts, s, c, out),
    near: (s: number, c: number): number => loopNear(index, pts, s, c, out),
    latency: (samples: number): Latency => latency(index, pts, samples, out, timerNs),
    dynamic: (muts: Mutation[]): DynamicResult => dynamic(index, pts, CFG.dynamicOps, muts, muts.map(zoneOf), out),
    queries: small ? CFG.baselineQueries : CFG.queries,
    nearQueries: small ? CFG.baselineNearQueries : CFG.nearQueries,
    budgetMs: small ? CFG.baselineBudgetMs : CFG.budgetMs,
    warmup: small ? Math.min(CFG.warmupQueries, CFG.baselineQueries) : CFG.warmupQueries,
    nearWarmup: small ? CFG.baselineNearVerifyPoints : CFG.warmupQueries >> 2,
    latencySamples: small ? Math.min(CFG.latencySamples, CFG.baselineQueries) : CFG.latencySamples,
  });
  const vA = variant(a, outA, (mu) => mu.zone, false);
  const vB = variant(b, outB, (mu) => mu.zone, false);
  const vBase = base === null ? null : variant(base, outBase, (mu) => mu.entry, true);
  const variants = vBase === null ? [vA, vB] : [vA, vB, vBase];

  const roundsOf = (run: (v: (typeof variants)[number], start: number) => number): number[] => {
    const perVariant: number[][] = variants.map(() => []);
    for (let r = 0; r < CFG.rounds; r++) variants.forEach((v, k) => perVariant[k]!.push(run(v, r * 7919)));
    return perVariant.map(median);
  };

  // Throughput: warm up, then the rounds.
  for (const v of variants) sink(v.contains(0, v.warmup));
  const [containsQpsA, containsQpsB, baseContains] = roundsOf((v, start) => rate(v.contains, start, v.queries, v.budgetMs));
  const containsQpsBase = baseContains ?? null;
  // Same loop over a small pool of points that stays in cache: what the geometry and tree walk
  // cost without memory misses. The gap to the main figure is memory latency.
  const hotPts = pts.slice(0, 2 * CFG.hotPool);
  const hotQps = median([0, 1, 2].map(() => rate((s, c) => loopContaining(a, hotPts, s, c, outA), 0, CFG.queries >> 1, CFG.budgetMs)));
  const [latA, latB, latBase = null] = variants.map((v) => v.latency(v.latencySamples));
  log(`containing: ${fmt(containsQpsA)} q/s (rbush-only ${fmt(containsQpsB)}, baseline ${containsQpsBase === null ? '-' : fmt(containsQpsBase)}), p99 ${latA.p99Us.toFixed(2)} µs`);

  // near(…, 200 m)
  for (const v of variants) sink(v.near(0, v.nearWarmup));
  const [nearQpsA, nearQpsB, baseNear] = roundsOf((v, start) => rate(v.near, start, v.nearQueries, v.budgetMs));
  const nearQpsBase = baseNear ?? null;
  log(`near ${NEAR_M} m: ${fmt(nearQpsA)} q/s (rbush-only ${fmt(nearQpsB)}, baseline ${nearQpsBase === null ? '-' : fmt(nearQpsBase)})`);

  // Dynamic workload (last: it changes the indexes).
  const mutationCount = Math.floor(CFG.dynamicOps / 100);
  const muts = makeMutations(set, mutationCount, base !== null);
  sink(vA.contains(0, CFG.warmupQueries >> 2) + vB.contains(0, CFG.warmupQueries >> 2));
  const [dynA, dynB, dynBase = null] = variants.map((v) => v.dynamic(muts));
  if (base !== null && dynBase !== null && dynBase.sizeAfter !== dynA.sizeAfter) {
    notes.push(`after the dynamic workload the baseline holds ${dynBase.sizeAfter} zones, ZoneIndex ${dynA.sizeAfter}`);
  }
  if (dynA.sizeAfter !== dynB.sizeAfter) notes.push(`after the dynamic workload default holds ${dynA.sizeAfter} zones, rbush-only ${dynB.sizeAfter}`);
  const dynAgreement = agreement('contains', a, b, base, pts, CFG.verifyPoints);
  notes.push(...dynAgreement.examples.map((e) => `after dynamic workload: ${e}`));
  log(`dynamic: ${fmt(dynA.opsPerSec)} ops/s (rbush-only ${fmt(dynB.opsPerSec)}, baseline ${dynBase === null ? '-' : fmt(dynBase.opsPerSec)})`);

  return {
    zones: n,
    mix,
    build: {
      compileMs: compiled.compileMs,
      compileUsPerZone: (compiled.compileMs * 1e3) / n,
      indexMs: built.ms,
      loadMs: compiled.compileMs + built.ms,
      rbushOnlyIndexMs: builtB.ms,
      baselineBuildMs,
    },
    heap: {
      bytesPerZone: (hA - hStart) / n,
      zonesBytesPerZone: (hZones - hStart) / n,
      indexBytesPerZone: (hA - hZones) / n,
      rbushOnlyIndexBytesPerZone: (hB - hA) / n,
      simpleZones: simpleWhich.length,
      simpleBytesPerZone: simpleBytes / simpleWhich.length,
      simpleGeoJsonBytesPerZone: simpleGeoJsonBytes / simpleWhich.length,
      baselineBytesPerZone: baselineBytes,
    },
    contains: {
      agreement: containsAgreement,
      queriesPerSec: containsQpsA,
      cacheHotQueriesPerSec: hotQps,
      latency: latA,
      rbushOnlyQueriesPerSec: containsQpsB,
      rbushOnlyLatency: latB,
      baselineQueriesPerSec: containsQpsBase,
      baselineLatency: latBase,
      baselineRatio: containsQpsBase === null ? null : containsQpsA / containsQpsBase,
      rbushOnlyRatio: containsQpsA / containsQpsB,
    },
    near: {
      distanceM: NEAR_M,
      agreement: nearAgreement,
      queriesPerSec: nearQpsA,
      rbushOnlyQueriesPerSec: nearQpsB,
      baselineQueriesPerSec: nearQpsBase,
      baselineRatio: nearQpsBase === null ? null : nearQpsA / nearQpsBase,
    },
    dynamic: {
      ops: CFG.dynamicOps,
      mutationShare: 0.01,
      default: dynA,
      rbushOnly: dynB,
      baseline: dynBase,
      agreementAfter: dynAgreement,
    },
    grid,
    notes,
    run: { timerOverheadNs: { medianNs: timerNs, p99Ns: NaN }, loadAvg1mBefore: NaN, loadAvg1mAfter: NaN, sink: 0 },
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function parseScales(v: string | undefined): number[] | null {
  if (v === undefined || v.trim() === '') return null;
  const scales = v.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  for (const s of scales) {
    if (!Number.isInteger(s) || s < 1) throw new Error(`BENCH_SCALES must be a comma-separated list of positive integers, got ${JSON.stringify(v)}`);
  }
  return scales;
}

/** "mismatches/points (explained by edge effects/other)" */
const baselineCell = (ag: Agreement): string =>
  ag.mismatchBaseline === null ? '-' : `${ag.mismatchBaseline}/${ag.baselinePoints} (${ag.mismatchBaselineCircleEdge}/${ag.mismatchBaselineOther})`;
const n0 = (v: number | null, d = 0): string => (v === null ? '-' : fmt(v, d));
const scaleName = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

function printReport(results: ScaleResult[]): void {
  const timer = results[0]!.run.timerOverheadNs;
  console.log(
    '\nBuild and memory. load = compileZone for every zone + ZoneIndex.from (GeoJSON generation not timed). Heap after full GC, bytes per zone:\n' +
      'B/zone = compiled zones + default index (zones keep their GeoJSON Feature); simple = a set of only circles and polygons <= 32 vertices, built alone;\n' +
      '"of which GeoJSON" = those Features alone; baseline = turf polygons + rbush.',
  );
  console.log(
    formatTable(
      ['zones', 'compile ms', 'µs/zone', 'index ms', 'load ms', 'rbush idx ms', 'B/zone', 'zones B', 'index B', 'rbush idx B', 'simple B/zone', 'of which GeoJSON', 'baseline ms', 'baseline B/zone'],
      results.map((r) => [
        scaleName(r.zones), fmt(r.build.compileMs), fmt(r.build.compileUsPerZone, 2), fmt(r.build.indexMs), fmt(r.build.loadMs),
        fmt(r.build.rbushOnlyIndexMs), fmt(r.heap.bytesPerZone), fmt(r.heap.zonesBytesPerZone), fmt(r.heap.indexBytesPerZone),
        fmt(r.heap.rbushOnlyIndexBytesPerZone), fmt(r.heap.simpleBytesPerZone), fmt(r.heap.simpleGeoJsonBytesPerZone),
        n0(r.build.baselineBuildMs), n0(r.heap.baselineBytesPerZone),
      ]),
    ),
  );

  console.log(`\ncontaining(lon, lat): density and agreement on ${fmt(CFG.verifyPoints)} points (zone ids compared, not just counts)`);
  console.log(
    formatTable(
      ['zones', 'hits/q', 'cand/q', 'cand max', 'no cand', 'rbush-only cand/q', 'baseline cand/q', 'default≠rbush-only', 'baseline≠ours (edge/other)'],
      results.map((r) => {
        const ag = r.contains.agreement;
        return [
          scaleName(r.zones), ag.hitsPerQuery.toFixed(3), ag.candidatesPerQuery.toFixed(2), String(ag.candidatesMax),
          `${(ag.emptyCandidateShare * 100).toFixed(0)}%`, ag.rbushCandidatesPerQuery.toFixed(2), n0(ag.baselineCandidatesPerQuery, 2),
          `${ag.mismatchDefaultVsRbush}/${ag.points}`, baselineCell(ag),
        ];
      }),
    ),
  );
  console.log('\nStatic grid of the default index: zones (boxes) per cell, and entries a point query reads on its path (query points follow the zones; "London" = points within 10 km of central London)');
  console.log(
    formatTable(
      ['zones', 'cells', 'entries/zone', 'max per cell', 'mean per non-empty cell', 'depth', 'big zones', 'path mean', 'path p99', 'path max', 'London path mean', 'London path max'],
      results.map((r) => {
        const g = r.grid;
        if (g === null) return [scaleName(r.zones), '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-'];
        return [
          scaleName(r.zones), fmt(g.cells), g.entriesPerZone.toFixed(2), String(g.maxPerCell), g.meanPerNonEmptyCell.toFixed(1), String(g.maxDepth), String(g.bigItems),
          g.pathMean.toFixed(1), String(g.pathP99), String(g.pathMax), g.densePathMean.toFixed(1), String(g.densePathMax),
        ];
      }),
    ),
  );
  console.log(
    `\ncontaining(lon, lat): queries/s (median of ${CFG.rounds} rounds of ${fmt(CFG.queries)} queries or ${CFG.budgetMs / 1000} s; baseline ${fmt(CFG.baselineQueries)} or ${CFG.baselineBudgetMs / 1000} s) ` +
      `and latency in µs\n(single-query timing minus the ${timer.medianNs} ns timer cost, timer p99 ${timer.p99Ns} ns; b16 = p99 of 16-query batch means; ` +
      `hot = ${fmt(CFG.hotPool)} points repeated, i.e. cache-resident)`,
  );
  console.log(
    formatTable(
      ['zones', 'default q/s', 'hot q/s', 'p50', 'p99', 'p99.9', 'b16 p99', 'rbush-only q/s', 'p50', 'p99', 'baseline q/s', 'p50', 'p99', 'ours/baseline', 'ours/rbush-only'],
      results.map((r) => {
        const c = r.contains;
        return [
          scaleName(r.zones), fmt(c.queriesPerSec), fmt(c.cacheHotQueriesPerSec),
          c.latency.p50Us.toFixed(2), c.latency.p99Us.toFixed(2), c.latency.p999Us.toFixed(2), c.latency.batch16P99Us.toFixed(2),
          fmt(c.rbushOnlyQueriesPerSec), c.rbushOnlyLatency.p50Us.toFixed(2), c.rbushOnlyLatency.p99Us.toFixed(2),
          n0(c.baselineQueriesPerSec), c.baselineLatency === null ? '-' : c.baselineLatency.p50Us.toFixed(2),
          c.baselineLatency === null ? '-' : c.baselineLatency.p99Us.toFixed(2),
          c.baselineRatio === null ? '-' : `${c.baselineRatio.toFixed(1)}x`, `${c.rbushOnlyRatio.toFixed(2)}x`,
        ];
      }),
    ),
  );

  console.log(`\nnear(lon, lat, ${NEAR_M} m): queries/s; baseline = turf booleanPointInPolygon || pointToPolygonDistance (geodesic) <= ${NEAR_M} m, compared on ${fmt(CFG.baselineNearVerifyPoints)} points`);
  console.log(
    formatTable(
      ['zones', 'hits/q', 'cand/q', 'default q/s', 'rbush-only q/s', 'baseline q/s', 'ours/baseline', 'default≠rbush-only', 'baseline≠ours (edge/other)'],
      results.map((r) => {
        const c = r.near, ag = c.agreement;
        return [
          scaleName(r.zones), ag.hitsPerQuery.toFixed(3), ag.candidatesPerQuery.toFixed(2), fmt(c.queriesPerSec), fmt(c.rbushOnlyQueriesPerSec),
          n0(c.baselineQueriesPerSec), c.baselineRatio === null ? '-' : `${c.baselineRatio.toFixed(1)}x`,
          `${ag.mismatchDefaultVsRbush}/${ag.points}`,
          baselineCell(ag),
        ];
      }),
    ),
  );

  console.log(`\nDynamic: ${fmt(CFG.dynamicOps)} operations, every 100th a set-new / replace / delete (in turn, precompiled), the rest containing()`);
  console.log(
    formatTable(
      ['zones', 'default ops/s', 'mut mean µs', 'mut max µs', 'rbush-only ops/s', 'mut mean µs', 'mut max µs', 'baseline ops/s', 'mut mean µs', 'ours/baseline', 'default≠rbush-only after', 'baseline≠ours after'],
      results.map((r) => {
        const d = r.dynamic, ag = d.agreementAfter;
        return [
          scaleName(r.zones), fmt(d.default.opsPerSec), d.default.mutationMeanUs.toFixed(1), fmt(d.default.mutationMaxUs),
          fmt(d.rbushOnly.opsPerSec), d.rbushOnly.mutationMeanUs.toFixed(1), fmt(d.rbushOnly.mutationMaxUs),
          d.baseline === null ? '-' : fmt(d.baseline.opsPerSec), d.baseline === null ? '-' : d.baseline.mutationMeanUs.toFixed(1),
          d.baseline === null ? '-' : `${(d.default.opsPerSec / d.baseline.opsPerSec).toFixed(1)}x`,
          `${ag.mismatchDefaultVsRbush}/${ag.points}`,
          baselineCell(ag),
        ];
      }),
    ),
  );
}

interface TargetRow {
  target: string;
  goal: string;
  result: string;
  pass: boolean | null;
}

function targets(results: ScaleResult[]): TargetRow[] {
  const at100k = results.find((r) => r.zones === 100_000);
  const at1M = results.find((r) => r.zones === 1_000_000);
  const rows: TargetRow[] = [];
  const row = (target: string, goal: string, value: number | null | undefined, show: (v: number) => string, ok: (v: number) => boolean): void => {
    rows.push(
      value === null || value === undefined
        ? { target, goal, result: 'not measured', pass: null }
        : { target, goal, result: show(value), pass: ok(value) },
    );
  };
  row('containing q/s at 100k', `>= ${fmt(TARGETS.qps100k)}`, at100k?.contains.queriesPerSec, (v) => fmt(v), (v) => v >= TARGETS.qps100k);
  row('containing p99 at 100k', `<= ${TARGETS.p99Us100k} µs`, at100k?.contains.latency.p99Us, (v) => `${v.toFixed(2)} µs`, (v) => v <= TARGETS.p99Us100k);
  row('ours / baseline at 100k', `>= ${TARGETS.baselineRatio100k}x`, at100k?.contains.baselineRatio, (v) => `${v.toFixed(1)}x`, (v) => v >= TARGETS.baselineRatio100k);
  const simple = at100k ?? results[results.length - 1];
  row(`heap per simple zone (${simple ? scaleName(simple.zones) : '-'})`, `<= ${TARGETS.simpleHeapBytes} B`, simple?.heap.simpleBytesPerZone, (v) => `${fmt(v)} B`, (v) => v <= TARGETS.simpleHeapBytes);
  row('load 1M zones (compile + index)', `< ${TARGETS.loadMs1M / 1000} s`, at1M?.build.loadMs, (v) => `${(v / 1000).toFixed(2)} s`, (v) => v < TARGETS.loadMs1M);
  return rows;
}

/**
 * Each scale runs in a fresh child process (same node flags): heap figures cannot include the
 * previous scale's leftovers (V8 can keep them alive for a few collections after they become
 * garbage), and every scale starts from the same JIT state.
 */
function runIsolated(n: number): ScaleResult | string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-geo-'));
  const out = join(dir, 'result.json');
  try {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, BENCH_GEO_SCALE: String(n), BENCH_GEO_OUT: out },
    });
    if (child.status !== 0) return `scale ${scaleName(n)} failed: ${child.error?.message ?? `exit ${child.status}, signal ${child.signal}`}`;
    return JSON.parse(readFileSync(out, 'utf8')) as ScaleResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(n: number, out: string): void {
  const timer = timerOverheadNs();
  const loadBefore = os.loadavg()[0]!;
  const result = runScale(n, timer.medianNs);
  result.run = { timerOverheadNs: timer, loadAvg1mBefore: loadBefore, loadAvg1mAfter: os.loadavg()[0]!, sink: sinkValue() };
  writeFileSync(out, JSON.stringify(result));
}

function main(): void {
  const env = benchEnv();
  console.log(`bench/geo: ZoneIndex vs rbush-only vs rbush+turf baseline; scales ${SCALES.map(scaleName).join(', ')}${QUICK ? ' (BENCH_QUICK)' : ''}`);
  printBenchEnv(env);
  const results: ScaleResult[] = [];
  const failures: string[] = [];
  const t0 = nowNs();
  for (const n of SCALES) {
    process.stderr.write(`scale ${scaleName(n)}\n`);
    const r = runIsolated(n);
    if (typeof r === 'string') {
      failures.push(r);
      process.stderr.write(`  ${r}\n`);
    } else {
      results.push(r);
    }
  }
  if (results.length === 0) throw new Error(`no scale completed: ${failures.join('; ')}`);
  printReport(results);

  console.log(
    `\nRun conditions: ${results.map((r) => `${scaleName(r.zones)} load avg ${r.run.loadAvg1mBefore.toFixed(2)}→${r.run.loadAvg1mAfter.toFixed(2)}, timer ${r.run.timerOverheadNs.medianNs} ns`).join('; ')}`,
  );
  const rows = targets(results);
  console.log('\nTargets');
  console.log(formatTable(['target', 'goal', 'result', ''], rows.map((r) => [r.target, r.goal, r.result, r.pass === null ? '-' : r.pass ? 'pass' : 'MISS'])));
  const notes = [...failures, ...results.flatMap((r) => r.notes.map((s) => `${scaleName(r.zones)}: ${s}`))];
  for (const r of results) {
    if (r.run.loadAvg1mBefore > 0.5 * env.logicalCpus || r.run.loadAvg1mAfter > 0.5 * env.logicalCpus + 1) {
      notes.push(`${scaleName(r.zones)}: other work was running (1-min load average ${r.run.loadAvg1mBefore.toFixed(2)} before, ${r.run.loadAvg1mAfter.toFixed(2)} after, on ${env.logicalCpus} CPUs): figures may be low`);
    }
  }
  if (notes.length > 0) console.log(`\nNotes\n${notes.map((s) => `  ${s}`).join('\n')}`);

  const s = results.find((r) => r.zones === 100_000) ?? results[results.length - 1]!;
  const file = writeResults('geo', {
    generatedAt: new Date().toISOString(),
    env: { ...env, loadAverage: os.loadavg() },
    config: { ...CFG, quick: QUICK, scales: SCALES, baselineMax: BASELINE_MAX, nearM: NEAR_M, seed: SEED },
    summary: {
      zones: s.zones,
      queriesPerSec: Math.round(s.contains.queriesPerSec),
      p50Us: s.contains.latency.p50Us,
      p99Us: s.contains.latency.p99Us,
      baselineRatio: s.contains.baselineRatio,
      rbushOnlyRatio: s.contains.rbushOnlyRatio,
      nearQueriesPerSec: Math.round(s.near.queriesPerSec),
      simpleHeapBytesPerZone: Math.round(s.heap.simpleBytesPerZone),
      loadMs1M: results.find((r) => r.zones === 1_000_000)?.build.loadMs ?? null,
      grid1M: results.find((r) => r.zones === 1_000_000)?.grid ?? null,
    },
    targets: rows,
    scales: results,
  });
  const sinks = results.map((r) => r.run.sink).join(' ');
  console.log(`\nwrote ${file} in ${(msSince(t0) / 1000).toFixed(0)} s (one child process per scale; sinks ${sinks})`);
}

const childScale = process.env['BENCH_GEO_SCALE'];
const childOut = process.env['BENCH_GEO_OUT'];
if (childScale !== undefined && childOut !== undefined) runChild(Number(childScale), childOut);
else main();
