/**
 * Replay benchmark (contract section 4): the CLI end to end on a 1M-line NDJSON fixes file.
 *
 *   npm run bench:replay
 *   BENCH_REPLAY_SUBJECTS=1000 BENCH_REPLAY_FIXES=1000000 node dist/bench/engine/replay-run.js
 *
 * Writes a scenario (world.ts: 1,000 subjects and their victims' devices, 10,000 zones) and its
 * fix stream (stream.ts: one fix a minute per device from 18:15, ~14 simulated hours through the
 * curfew night) to a temporary directory, then times, as child processes with stdout to a file:
 *  - the floor: replay-floor.js, which reads the file and JSON.parses each line, nothing else;
 *  - `node dist/src/cli/replay.js --config … --fixes …`, 3 runs, interleaved with the floor;
 *  - one more replay of a copy of the file shuffled between devices (each device's own order
 *    kept), which the README says must give the same bytes.
 * Checks exit status 0, an empty stderr, and byte-identical output across all runs (sha256).
 * Then re-times the steps of replay() in this process (config compile, line parsing and
 * validation, ordering, ingest, output) to show where the time goes.
 * Writes bench/results/replay.json and the same object under "replay" in bench/results/engine.json.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { compileConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix, type Fix } from '../../src/engine/fix.js';
import { eventTimeOrder } from '../../src/cli/replay.js';
import { benchEnv, envInt, printBenchEnv } from '../common/env.js';
import { forEachNdjsonLine } from '../common/ndjson.js';
import { mulberry32 } from '../common/prng.js';
import { repoRoot, writeResults } from '../common/results.js';
import { sink, sinkValue } from '../common/sink.js';
import { median } from '../common/stats.js';
import { fmt, formatTable } from '../common/table.js';
import { nowNs } from '../common/timer.js';
import { fixLine, generateStream } from './stream.js';
import { buildWorld } from './world.js';

const SEED = 0x2e9a1a7;
const SUBJECTS = envInt('BENCH_REPLAY_SUBJECTS', 1_000);
const FIXES = envInt('BENCH_REPLAY_FIXES', 1_000_000);
const RUNS = envInt('BENCH_REPLAY_RUNS', 3);
const START_LOCAL = process.env['BENCH_START'] ?? '2026-11-23T18:15';
const KEEP = process.env['BENCH_KEEP_TMP'] === '1';
const TARGET_S = 5;


const log = (msg: string): void => console.log(msg);
const secondsSince = (t0: bigint): number => Number(nowNs() - t0) / 1e9;

/** Writes lines (each without its newline) to path in ~1 MB writes. */
function writeLines(path: string, count: number, line: (k: number) => string): number {
  const fd = openSync(path, 'w');
  let buf = '';
  let bytes = 0;
  for (let k = 0; k < count; k++) {
    buf += line(k) + '\n';
    if (buf.length > 1 << 20) {
      bytes += writeSync(fd, buf);
      buf = '';
    }
  }
  if (buf.length > 0) bytes += writeSync(fd, buf);
  closeSync(fd);
  return bytes;
}

interface ChildRun {
  seconds: number;
  /** User + system CPU seconds of the child (GNU time), or NaN where /usr/bin/time is missing. */
  cpuSeconds: number;
  status: number | null;
  stderr: string;
  sha256: string | null;
  bytes: number;
  lines: number;
}

const GNU_TIME = '/usr/bin/time';
const HAVE_TIME = existsSync(GNU_TIME);
let timeFile = '';

/**
 * Runs node with args, stdout to outPath (or discarded), and times it end to end (wall clock, the
 * target). Where GNU time exists it wraps the child (writing to a file, not to stderr) to also
 * report the child's CPU seconds: a figure less disturbed by other load on the machine.
 */
function runChild(args: string[], outPath: string | null): ChildRun {
  const fd = outPath === null ? 'ignore' : openSync(outPath, 'w');
  const [cmd, argv] = HAVE_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', timeFile, process.execPath, ...args]] : [process.execPath, args];
  const t0 = nowNs();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', fd, 'pipe'], maxBuffer: 64 << 20 });
  const seconds = secondsSince(t0);
  if (typeof fd === 'number') closeSync(fd);
  let cpuSeconds = NaN;
  if (HAVE_TIME) {
    const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(readFileSync(timeFile, 'utf8'));
    if (m !== null) cpuSeconds = Number(m[1]) + Number(m[2]);
  }
  let sha256: string | null = null, bytes = 0, lines = 0;
  if (outPath !== null) {
    const out = readFileSync(outPath);
    sha256 = createHash('sha256').update(out).digest('hex');
    bytes = out.length;
    for (let i = 0; i < out.length; i++) if (out[i] === 10) lines++;
  }
  return { seconds, cpuSeconds, status: r.status, stderr: r.stderr.toString('utf8'), sha256, bytes, lines };
}

function check(run: ChildRun, what: string): void {
  if (run.status !== 0) throw new Error(`${what} exited with ${run.status}: ${run.stderr.slice(0, 2000)}`);
}

/** The steps of src/cli/replay.ts replay(), re-timed one by one in this process (seconds). */
function breakdown(configPath: string, fixesPath: string): Record<string, number> {
  const t: Record<string, number> = {};
  let t0 = nowNs();
  const configJson: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
  t['read + JSON.parse config'] = secondsSince(t0);
  t0 = nowNs();
  const config = compileConfig(configJson);
  const engine = new Engine(config, { clock: 'fixes' });
  t['compileConfig + new Engine'] = secondsSince(t0);
  t0 = nowNs();
  const text = readFileSync(fixesPath, 'utf8');
  t['read fixes file'] = secondsSince(t0);
  t0 = nowNs();
  const values: unknown[] = [];
  forEachNdjsonLine(text, (line) => values.push(JSON.parse(line)));
  t['split + JSON.parse lines'] = secondsSince(t0);
  t0 = nowNs();
  const fixes: Fix[] = [];
  const seen = new Set<string>();
  for (const v of values) {
    const fix = parseFix(v);
    if (!engine.isKnownDevice(fix.deviceId)) continue;
    const key = `${fix.deviceId}\u0000${fix.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fixes.push(fix);
  }
  values.length = 0;
  t['parseFix + known device + duplicate Set'] = secondsSince(t0);
  t0 = nowNs();
  const order = eventTimeOrder(fixes);
  t['eventTimeOrder (k-way merge)'] = secondsSince(t0);
  t0 = nowNs();
  const events = [];
  for (let k = 0; k < order.length; k++) {
    engine.ingest(fixes[order[k]!]!);
    const ev = engine.drain();
    for (let j = 0; j < ev.length; j++) events.push(ev[j]!);
  }
  engine.flush();
  for (const e of engine.drain()) events.push(e);
  t['ingest + drain'] = secondsSince(t0);
  t0 = nowNs();
  const out: string[] = [];
  for (const e of events) out.push(JSON.stringify(e));
  const text2 = out.length === 0 ? '' : `${out.join('\n')}\n`;
  t['JSON.stringify events + join'] = secondsSince(t0);
  sink(text2.length + fixes.length);
  return t;
}

function main(): void {
  const env = benchEnv();
  printBenchEnv(env);
  const load0 = os.loadavg();
  log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')} (${env.logicalCpus} logical CPUs)`);
  const root = repoRoot();
  const replayJs = join(root, 'dist', 'src', 'cli', 'replay.js');
  const floorJs = join(root, 'dist', 'bench', 'engine', 'replay-floor.js');
  if (!existsSync(replayJs)) throw new Error(`${replayJs} is missing: run npm run build first`);

  // --- inputs ----------------------------------------------------------------------------------
  const world = buildWorld({ seed: SEED, subjects: SUBJECTS });
  const stream = generateStream(world, { seed: SEED, fixes: FIXES, startLocal: START_LOCAL });
  const dir = mkdtempSync(join(os.tmpdir(), 'iom-replay-bench-'));
  const configPath = join(dir, 'scenario.json');
  const fixesPath = join(dir, 'fixes.ndjson');
  const shuffledPath = join(dir, 'fixes-shuffled.ndjson');
  timeFile = join(dir, 'time.txt');
  const tw = nowNs();
  writeFileSync(configPath, JSON.stringify(world.config));
  const fixesBytes = writeLines(fixesPath, stream.n, (k) => fixLine(stream, world.deviceIds, k));
  // Shuffled between devices, each device's own order kept: sort by ts + a per-device shift.
  const rng = mulberry32(SEED ^ 0x5f5f);
  const shift = new Float64Array(world.devices);
  for (let d = 0; d < world.devices; d++) shift[d] = Math.floor(rng() * 600_000);
  const perm = Array.from({ length: stream.n }, (_, k) => k);
  perm.sort((a, b) => stream.ts[a]! + shift[stream.dev[a]!]! - (stream.ts[b]! + shift[stream.dev[b]!]!) || a - b);
  writeLines(shuffledPath, stream.n, (k) => fixLine(stream, world.deviceIds, perm[k]!));
  const simH = (stream.endMs - stream.startMs) / 3_600_000;
  log(`scenario: ${fmt(world.subjects)} subjects, ${fmt(world.victims)} victim devices, ${fmt(world.counts.zones)} zones, ${fmt(world.counts.conditions)} conditions; ` +
    `config ${fmt(statSync(configPath).size / 2 ** 20, 1)} MiB`);
  log(`fixes: ${fmt(stream.n)} lines, ${fmt(fixesBytes / 2 ** 20, 1)} MiB, ${fmt(simH, 1)} simulated hours from ${START_LOCAL} (written in ${fmt(secondsSince(tw), 1)} s to ${dir})`);

  // --- child processes -------------------------------------------------------------------------
  const floorArgs = [floorJs, fixesPath];
  const replayArgs = (f: string): string[] => [replayJs, '--config', configPath, '--fixes', f];
  check(runChild(floorArgs, null), 'floor (warm-up)'); // page cache, node binary
  const floor: ChildRun[] = [];
  const runs: ChildRun[] = [];
  for (let r = 0; r < RUNS; r++) {
    const f = runChild(floorArgs, join(dir, `floor-${r}.txt`));
    check(f, 'floor');
    floor.push(f);
    const x = runChild(replayArgs(fixesPath), join(dir, `alerts-${r}.ndjson`));
    check(x, 'replay');
    runs.push(x);
    log(`  run ${r + 1}: replay ${fmt(x.seconds, 2)} s (CPU ${fmt(x.cpuSeconds, 2)} s; ${fmt(x.lines)} alerts, ${fmt(x.bytes / 2 ** 20, 2)} MiB), ` +
      `floor ${fmt(f.seconds, 2)} s (CPU ${fmt(f.cpuSeconds, 2)} s); load ${os.loadavg()[0]!.toFixed(1)}`);
  }
  const shuffled = runChild(replayArgs(shuffledPath), join(dir, 'alerts-shuffled.ndjson'));
  check(shuffled, 'replay (shuffled)');
  log(`  shuffled file: replay ${fmt(shuffled.seconds, 2)} s`);
  const identical = runs.every((x) => x.sha256 === runs[0]!.sha256);
  const shuffledIdentical = shuffled.sha256 === runs[0]!.sha256;
  const stderrClean = runs.every((x) => x.stderr === '') && shuffled.stderr === '';

  // --- in-process breakdown --------------------------------------------------------------------
  log('\nin-process breakdown of replay() (the same steps, re-timed here; one run):');
  const steps = breakdown(configPath, fixesPath);
  const stepTotal = Object.values(steps).reduce((a, b) => a + b, 0);
  log(formatTable(['step', 's', 'share'], Object.entries(steps).map(([k, v]) => [k, fmt(v, 3), `${fmt((100 * v) / stepTotal, 1)} %`])));

  // --- report ----------------------------------------------------------------------------------
  const replayS = median(runs.map((x) => x.seconds));
  const floorS = median(floor.map((x) => x.seconds));
  const replayCpuS = median(runs.map((x) => x.cpuSeconds));
  const floorCpuS = median(floor.map((x) => x.cpuSeconds));
  log(`\nResults (median of ${RUNS})`);
  log(formatTable(['', 'wall s', 'fixes/s', 'CPU s (user + sys)'], [
    ['replay CLI (end to end)', fmt(replayS, 2), fmt(stream.n / replayS), fmt(replayCpuS, 2)],
    ['floor: read + JSON.parse each line', fmt(floorS, 2), fmt(stream.n / floorS), fmt(floorCpuS, 2)],
  ]));
  log(`replay / floor: ${fmt(replayS / floorS, 1)}x the time of only parsing the file`);
  log(`output byte-identical across ${RUNS} runs: ${identical ? 'yes' : 'NO'}; shuffled between devices: ${shuffledIdentical ? 'identical' : 'DIFFERENT'}; stderr empty: ${stderrClean ? 'yes' : 'no'}`);
  log(`alerts: ${fmt(runs[0]!.lines)} (${fmt((runs[0]!.lines / stream.n) * 1000, 2)} per 1k fixes), sha256 ${runs[0]!.sha256}`);
  const targets = [
    { target: `replay ${fmt(stream.n)} NDJSON fixes`, goal: `< ${TARGET_S} s`, result: `${fmt(replayS, 2)} s`, pass: replayS < TARGET_S },
    { target: 'byte-identical output', goal: 'all runs', result: identical && shuffledIdentical ? 'yes' : 'no', pass: identical && shuffledIdentical },
  ];
  log('\nTargets');
  log(formatTable(['target', 'goal', 'result', ''], targets.map((t) => [t.target, t.goal, t.result, t.pass ? 'PASS' : 'MISS'])));
  log(`(sink ${sinkValue()})`);

  const result = {
    generatedAt: new Date().toISOString(),
    env,
    summary: {
      seconds: replayS, fixesPerSec: stream.n / replayS, floorSeconds: floorS, ratioToFloor: replayS / floorS,
      identical, shuffledIdentical, fixes: stream.n, alerts: runs[0]!.lines,
    },
    targets,
    config: { seed: SEED, subjects: SUBJECTS, fixes: FIXES, runs: RUNS, startLocal: START_LOCAL },
    scenario: {
      subjects: world.subjects, victimDevices: world.victims, zones: world.counts.zones, conditions: world.counts.conditions,
      configBytes: statSync(configPath).size, fixesBytes, simulatedHours: simH, streamStats: stream.stats,
    },
    cpuSeconds: { replay: Number.isFinite(replayCpuS) ? replayCpuS : null, floor: Number.isFinite(floorCpuS) ? floorCpuS : null },
    runs: runs.map((x) => ({ seconds: x.seconds, cpuSeconds: Number.isFinite(x.cpuSeconds) ? x.cpuSeconds : null, bytes: x.bytes, lines: x.lines, sha256: x.sha256 })),
    floorRuns: floor.map((x) => ({ seconds: x.seconds, cpuSeconds: Number.isFinite(x.cpuSeconds) ? x.cpuSeconds : null })),
    shuffled: { seconds: shuffled.seconds, sha256: shuffled.sha256 },
    stderrClean,
    breakdownSeconds: steps,
    loadAverageStart: load0,
    loadAverageEnd: os.loadavg(),
  };
  const file = writeResults('replay', result);
  // Also under "replay" in engine.json, keeping what run.ts wrote there.
  const enginePath = join(root, 'bench', 'results', 'engine.json');
  let engineJson: Record<string, unknown> = {};
  if (existsSync(enginePath)) {
    try {
      engineJson = JSON.parse(readFileSync(enginePath, 'utf8')) as Record<string, unknown>;
    } catch {
      engineJson = {};
    }
  }
  engineJson['replay'] = result;
  writeResults('engine', engineJson);
  log(`\nwrote ${file} and the "replay" section of ${enginePath}`);
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}

main();
