/**
 * A quick probe for profiling the zone index outside bench:geo (its figures are not recorded):
 *   npx tsc -p tsconfig.json && node --cpu-prof dist/bench/geo/probe.js 100000 [seconds] [contains|near]
 * Builds the bench's zone set at one scale, prints the grid's sizes, then runs queries over the
 * bench's query points for the given time.
 */
import { compileZone, ZoneHits, ZoneIndex, type PreparedZone } from '../../geo/index.js';
import { nowNs } from '../common/timer.js';
import { generateQueryPoints, ZoneSet } from './zones.js';

const n = Number(process.argv[2] ?? 100_000);
const seconds = Number(process.argv[3] ?? 5);
const mode = process.argv[4] ?? 'contains';
const set = new ZoneSet(n, { seed: 0x0e1f2024 });
const zones: PreparedZone[] = [];
for (let i = 0; i < n; i++) zones.push(compileZone(set.featureAt(i)));
let t0 = nowNs();
const index = ZoneIndex.from(zones);
console.log(`index ${(Number(nowNs() - t0) / 1e6).toFixed(0)} ms`, JSON.stringify(index.gridStats()));
const pts = generateQueryPoints(1 << 20, 0x0e1f2024 ^ n);
const out = new ZoneHits(64);
const m = pts.length >> 1;
let path = 0, pathMax = 0, cand = 0, depth = 0;
const paths = new Float64Array(100_000);
for (let q = 0; q < 100_000; q++) {
  const e = index.entriesOnPath(pts[2 * q]!, pts[2 * q + 1]!);
  paths[q] = e;
  depth += index.lastPathDepth;
  path += e;
  if (e > pathMax) pathMax = e;
  index.containing(pts[2 * q]!, pts[2 * q + 1]!, out);
  cand += index.lastCandidates;
}
paths.sort();
console.log(`entries on a query's path: mean ${(path / 1e5).toFixed(2)}, p50 ${paths[50_000]} p90 ${paths[90_000]} p99 ${paths[99_000]} max ${pathMax}; cells on the path ${(depth / 1e5).toFixed(2)}; zones looked at per query ${(cand / 1e5).toFixed(2)}`);
let acc = 0, q = 0, j = 0;
t0 = nowNs();
const end = t0 + BigInt(seconds * 1e9);
while (nowNs() < end) {
  for (let k = 0; k < 10_000; k++) {
    acc += mode === 'near' ? index.near(pts[2 * j]!, pts[2 * j + 1]!, 200, out) : index.containing(pts[2 * j]!, pts[2 * j + 1]!, out);
    if (++j === m) j = 0;
  }
  q += 10_000;
}
const s = Number(nowNs() - t0) / 1e9;
console.log(`${n} zones ${mode}: ${Math.round(q / s)} q/s, hits/q ${(acc / q).toFixed(2)}`);
