/**
 * The console's overview map: `npm run bench:positions` (builds, then runs
 * dist/bench/positions/run.js). Builds an engine with BENCH_POSITIONS_TAGS (20,000) tags worn by
 * subjects of 40 teams, one in ten inside its exclusion zone (an open episode), plus one victim
 * unit per 20 tags, and times, in this process, what GET /v1/positions does per request after
 * its one Redis read:
 *
 *  - `route`: collectPositions (the route's own function: one pass over the engine's devices
 *    with a reused status record, plain objects) + JSON.stringify of the answer;
 *  - `text` (baseline): the same pass writing the JSON text by hand (template strings joined);
 *  - `team`: the route's pass for one team of 40 (the filter applied inside the engine).
 *
 * Seeded, warm-up first, a sink for the answers' lengths. Prints medians and the ratio, the Node
 * version and the CPU; writes bench/results/positions.json.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { compileConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix } from '../../src/engine/fix.js';
import { formatTime } from '../../src/engine/time.js';
import { collectPositions } from '../../src/server/http/positions.js';
import { envInt } from '../common/env.js';
import { mulberry32 } from '../common/prng.js';
import { writeResults } from '../common/results.js';
import { sink, sinkValue } from '../common/sink.js';
import { median } from '../common/stats.js';

const N = envInt('BENCH_POSITIONS_TAGS', 20_000);
const RUNS = envInt('BENCH_POSITIONS_RUNS', 15);
const TEAMS = 40;
const log = (msg: string): void => void process.stdout.write(`${msg}\n`);

function buildEngine(): Engine {
  const rnd = mulberry32(7);
  const zone = { type: 'Feature', id: 'Z', geometry: { type: 'Polygon', coordinates: [[[-0.13, 51.5], [-0.12, 51.5], [-0.12, 51.51], [-0.13, 51.51], [-0.13, 51.5]]] }, properties: {} };
  const subjects = Array.from({ length: N }, (_, i) => ({
    id: `S-${i}`, deviceId: `TAG-${i}`, team: `iom-${i % TEAMS}`, risk: 'high',
    conditions: [
      { id: 'c1', type: 'exclusion', zone: 'Z', bufferM: 100 },
      ...(i % 20 === 0 ? [{ id: 'c2', type: 'proximity', victimDeviceId: `VIC-${i}`, distanceM: 200 }] : []),
    ],
  }));
  const engine = new Engine(compileConfig({ zones: [zone], subjects }));
  const t0 = Date.parse('2026-11-23T10:00:00Z');
  for (let i = 0; i < N; i++) {
    const inside = i % 10 === 0;
    engine.ingest(parseFix({
      deviceId: `TAG-${i}`, seq: 1, ts: t0 + Math.floor(rnd() * 600_000),
      lat: inside ? 51.505 : 51.3 + rnd() * 0.15, lon: -0.3 + rnd() * 0.4, accuracy: 3 + rnd() * 12, battery: rnd(), strap: 'ok',
    }));
    if (i % 20 === 0) engine.ingest(parseFix({ deviceId: `VIC-${i}`, seq: 1, ts: t0 + 700_000, lat: 52, lon: -1 }));
  }
  engine.drain();
  return engine;
}

/** The baseline: the same pass, the JSON written by hand. */
function asText(engine: Engine, staleBefore: number): string {
  const out: string[] = [];
  engine.eachDeviceStatus((d) => {
    const f = d.lastFix;
    if (f === null || d.watchedAsVictim) return;
    out.push(`{"deviceId":${JSON.stringify(d.deviceId)},"subjectId":${d.subjectId === null ? 'null' : JSON.stringify(d.subjectId)},"team":${d.team === null ? 'null' : JSON.stringify(d.team)},"ts":"${formatTime(f.tsMs)}","lat":${f.lat},"lon":${f.lon},"accuracy":${f.accuracy === f.accuracy ? f.accuracy : 'null'},"battery":${d.battery === d.battery ? d.battery : 'null'},"strap":${d.strap === null ? 'null' : `"${d.strap}"`},"stale":${f.tsMs < staleBefore},"openAlerts":${d.openAlerts},"maxSeverity":${d.maxSeverity === null ? 'null' : `"${d.maxSeverity}"`}}`);
  });
  return `{"positions":[${out.join(',')}],"at":"x"}`;
}

function time(fn: () => number): number[] {
  for (let k = 0; k < 3; k++) sink(fn());
  const ms: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t = performance.now();
    sink(fn());
    ms.push(performance.now() - t);
  }
  return ms;
}

const engine = buildEngine();
const staleBefore = Date.parse('2026-11-23T10:05:00Z');
const victims = new Set<string>();
const route = (): number => JSON.stringify({ positions: collectPositions(engine, { team: null, bbox: null, staleBefore, victims }), at: 'x' }).length;
const team = (): number => JSON.stringify({ positions: collectPositions(engine, { team: 'iom-7', bbox: null, staleBefore, victims }), at: 'x' }).length;
const text = (): number => asText(engine, staleBefore).length;
if (JSON.stringify(JSON.parse(asText(engine, staleBefore))) !== JSON.stringify({ positions: collectPositions(engine, { team: null, bbox: null, staleBefore, victims }), at: 'x' })) {
  throw new Error('the baseline and the route do not give the same answer');
}
const bytes = route();
const r = { route: median(time(route)), text: median(time(text)), team: median(time(team)) };
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
log(`GET /v1/positions work per request, ${N.toLocaleString('en-GB')} tags (${(bytes / 1024 / 1024).toFixed(1)} MiB), node ${process.version}, ${cpu}, load ${os.loadavg()[0]?.toFixed(1)}`);
log(`  route (objects + JSON.stringify): ${r.route.toFixed(1)} ms median of ${RUNS}`);
log(`  baseline (JSON text by hand):     ${r.text.toFixed(1)} ms  (${(r.text / r.route).toFixed(1)}x the route's time)`);
log(`  one team of ${TEAMS} (${N / TEAMS} tags):     ${r.team.toFixed(1)} ms`);
log(`  (sink ${sinkValue()})`);
writeResults('positions', {
  generatedAt: new Date().toISOString(),
  env: { node: process.version, cpu, logicalCpus: os.cpus().length, loadAverage: os.loadavg() },
  tags: N, runs: RUNS, bytes,
  summary: { routeMedianMs: r.route, baselineTextMedianMs: r.text, ratio: r.text / r.route, teamMedianMs: r.team },
});
