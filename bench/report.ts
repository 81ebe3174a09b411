/**
 * `npm run bench:report`: rewrites the README's benchmark section from bench/results/*.json, so
 * the figures there are always the ones a benchmark wrote, with its machine and command.
 * The section lies between <!-- bench:begin --> and <!-- bench:end -->.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { writeCharts } from './charts.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const read = (name: string): Json | null => {
  const path = `bench/results/${name}.json`;
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Json) : null;
};
const n = (x: unknown, digits = 0): string => (typeof x === 'number' && Number.isFinite(x) ? x.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const mark = (ok: unknown): string => (ok === true ? 'met' : ok === false ? '**missed**' : '–');
const machine = (j: Json): string => {
  const e = (j.env ?? j) as Json;
  const load = Array.isArray(e.loadAverage) ? `, load average ${e.loadAverage.map((x: number) => x.toFixed(1)).join('/')}` : '';
  return `Node ${e.node ?? '?'}, ${e.cpu ?? '?'} (${e.logicalCpus ?? '?'} logical CPUs)${load}${j.generatedAt ? `, ${String(j.generatedAt).slice(0, 16).replace('T', ' ')} UTC` : ''}`;
};

const out: string[] = [];
out.push('Every figure below is generated from `bench/results/*.json` by `npm run bench:report`;',
  'each benchmark runs its baseline in the same process or run and prints the ratio. The machine',
  'is a shared 2-core VM: absolute figures drift with its load (noted where the run recorded it);',
  'ratios are the stable part.', '');

const geo = read('geo');
if (geo !== null) {
  const s = geo.summary as Json;
  out.push('### Spatial core — `npm run bench:geo`', '', `${machine(geo)}.`, '',
    '| zones | build (compile + index) | heap per zone (simple zones) | point queries/s | p50 / p99 µs | candidates per query | vs rbush + turf | vs rbush-only index |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const sc of (geo.scales ?? []) as Json[]) {
    const c = (sc.contains ?? {}) as Json;
    const lat = (c.latency ?? {}) as Json;
    const ratio = c.baselineQueriesPerSec ? c.queriesPerSec / c.baselineQueriesPerSec : NaN;
    const rb = c.rbushOnlyQueriesPerSec ? c.queriesPerSec / c.rbushOnlyQueriesPerSec : NaN;
    out.push(`| ${n(sc.zones)} | ${n(sc.build?.loadMs)} ms | ${n(sc.heap?.bytesPerZone)} B (${n(sc.heap?.simpleBytesPerZone)} B) | ${n(c.queriesPerSec)} | ${n(lat.p50Us, 2)} / ${n(lat.p99Us, 2)} | ${n(c.agreement?.candidatesPerQuery, 2)} | ${n(ratio, 1)}x | ${n(rb, 2)}x |`);
  }
  out.push('', `At 100k zones: ${n(s.queriesPerSec)} point queries/s, p99 ${n(s.p99Us, 2)} µs, ${n(s.baselineRatio, 1)}x the rbush + turf baseline, ${n(s.simpleHeapBytesPerZone)} B of heap per simple zone; \`near(200 m)\` ${n(s.nearQueriesPerSec)} queries/s.`);
  for (const t of (geo.targets ?? []) as Json[]) out.push(`- target ${t.target ?? t.name}: ${t.goal ?? ''} — ${t.result ?? ''} (${mark(t.pass)})`);
  const cfg = (geo.config ?? {}) as Json;
  const runs = ((geo.scales ?? []) as Json[]).filter((sc) => sc.run).map((sc) => `${n(sc.zones)} zones ${n(sc.run.loadAvg1mBefore, 1)}→${n(sc.run.loadAvg1mAfter, 1)}`);
  if (runs.length > 0) {
    out.push(`- run: \`${cfg.quick ? 'BENCH_QUICK=1 ' : ''}BENCH_SCALES=${(cfg.scales ?? []).join(',')} npm run bench:geo\`; 1-minute load average during each scale: ${runs.join(', ')}`);
  }
  const g = s.grid1M as Json | null | undefined;
  if (g) {
    out.push(`- at 1M zones the static grid's fullest cell holds ${n(g.maxPerCell)} zones, ${n(g.meanPerNonEmptyCell, 1)} per non-empty cell on average; a point query reads ${n(g.pathMean, 1)} entries on its path (p99 ${n(g.pathP99)}, max ${n(g.pathMax)}), ${n(g.densePathMean, 1)} within 10 km of central London (max ${n(g.densePathMax)})`);
  }
  out.push('');
}

const engine = read('engine');
if (engine !== null) {
  const s = engine.summary as Json;
  const m = (engine.ours?.machine ?? {}) as Json;
  const engineLoad = Array.isArray(m.loadAverageStart)
    ? `; load average ${m.loadAverageStart.map((x: number) => x.toFixed(1)).join('/')} at the start, ${(m.loadAverageEnd ?? []).map((x: number) => x.toFixed(1)).join('/')} at the end; the timed loop got ${n(m.cpuOverWall, 2)} of a CPU`
    : '';
  out.push('### Rules engine — `npm run bench:engine`', '', `${machine(engine)}${engineLoad}.`, '',
    `${n(s.subjects)} subjects, ${n(s.zones)} zones, ${n(s.conditions)} conditions, ${n(s.fixes)} fixes (parsed fix objects in, episode events out):`, '',
    '| fixes/s | p50 µs | p99 µs | p99.9 µs | heap growth per 1M fixes | alerts per 1k fixes | vs turf + Intl baseline |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${n(s.fixesPerSec)} | ${n(s.p50Us, 2)} | ${n(s.p99Us, 2)} | ${n(s.p999Us, 1)} | ${n(s.heapSlopeBytesPer1MFixes / 1024)} KiB | ${n(s.alertsPer1kFixes, 2)} | ${n(s.baselineRatio, 1)}x |`, '');
  for (const t of (engine.targets ?? []) as Json[]) out.push(`- target ${t.target}: ${t.goal} — ${t.result} (${mark(t.pass)})`);
  out.push('');
}

const replay = read('replay');
if (replay !== null) {
  const s = replay.summary as Json;
  const replayLoad = Array.isArray(replay.loadAverageStart) ? `, load average ${replay.loadAverageStart.map((x: number) => x.toFixed(1)).join('/')} at the start` : '';
  out.push('### Replay — `npm run bench:replay`', '', `${machine(replay)}${replayLoad}.`, '',
    `${n(s.fixes)} NDJSON fixes replayed end to end (child process, output to a file) in **${n(s.seconds, 2)} s** (${n(s.fixesPerSec)} fixes/s), ${n(s.ratioToFloor, 1)}x the time of only reading and JSON-parsing the file; output byte-identical across runs: ${s.identical ? 'yes' : 'no'}; identical when devices are interleaved differently: ${s.shuffledIdentical ? 'yes' : 'no'}. Target < 5 s: ${mark(s.seconds < 5)}.`, '');
}

const ingest = read('ingest');
if (ingest !== null) {
  const s = ingest.summary as Json;
  out.push('### Live ingest — `npm run bench:ingest`', '', `${machine(ingest)}; load generator, service and Redis (AOF on) on the same machine.`, '',
    '| sustained fixes/s (acked) | ack p50 / p99 ms | at 50 % of that rate: ack p50 / p99 ms | every acked fix recorded | service memory | 100k-zone bulk import |',
    '| ---: | ---: | ---: | :---: | :---: | ---: |',
    `| ${n(s.fixesPerSec)} | ${n(s.ackP50Ms, 1)} / ${n(s.ackP99Ms, 1)} | ${n(s.ackP50At50PctMs, 1)} / ${n(s.ackP99At50PctMs, 1)} | ${s.allRecorded ? 'yes' : 'no'} | ${s.memory ?? '–'} | ${s.zoneImportSeconds == null ? '–' : `${n(s.zoneImportSeconds, 2)} s`} |`, '');
  for (const t of (ingest.targets ?? []) as Json[]) out.push(`- target ${t.target ?? t.name}: ${t.measured ?? t.result ?? t.value ?? ''} (${mark(t.pass)})`);
  out.push('');
}

const alerts = read('alerts');
if (alerts !== null) {
  const s = alerts.summary as Json;
  out.push('### Alert delivery — `npm run bench:alerts`', '', `${machine(alerts)}.`, '',
    `Delivered to a local webhook receiver: ${n(s.alertsPerSec)} alerts/s with 2 workers; breaching fix → webhook p50 ${n(s.fixToWebhookP50Ms, 1)} ms, p99 ${n(s.fixToWebhookP99Ms, 1)} ms at half the sustained ingest rate; a critical alert behind 100k queued low-severity alerts delivered in ${n(s.criticalBehindBacklogMs)} ms.`, '');
  // CPU and memory per alert vary less with the machine's load than rates do.
  const two = ((alerts.throughput ?? []) as Json[]).find((t) => t.workers === 2);
  const lat = alerts.latency as Json | undefined;
  if (two !== undefined) {
    out.push(`CPU per delivered alert (2 workers): workers ${n(two.cpuMsPerAlert?.workers, 3)} ms, Redis ${n(two.cpuMsPerAlert?.redis, 3)} ms, receiver ${n(two.cpuMsPerAlert?.receiver, 3)} ms; Redis keeps ${n(two.redisBytesPerAlert)} bytes per delivered alert${lat === undefined ? '' : `; the latency phase ran at ${n(lat.achievedFixesPerSec)} fixes/s (half of ${n(lat.capacityFixesPerSec)}/s sustained)`}.`, '');
  }
  for (const [k, t] of Object.entries((s.targets ?? {}) as Json)) out.push(`- target ${k}: ${t.target} — ${t.value} (${mark(t.pass)})`);
  out.push('');
}

const apiList = read('api');
if (apiList !== null) {
  const s = apiList.summary as Json;
  out.push('### List API — `npm run bench:api`', '', `${machine(apiList)}; service and Redis on the same machine.`, '',
    `${n(s.alerts)} alerts and ${n(s.subjects)} subjects; pages of 100 read through their cursors (autocannon, ${n(apiList.setup?.connections)} connections): unfiltered lists p99 ${n(s.listP99Ms)} ms, filtered lists p99 ${n(s.filteredListP99Ms)} ms. Before the indexes, one page of open alerts took ${n(s.baselineOpenPageMedianMs, 1)} ms (median), ${n(s.baselineRatio, 1)}x a page now.`, '',
    '| list | total matching | p50 ms | p99 ms | requests/s |',
    '| --- | ---: | ---: | ---: | ---: |');
  for (const sc of (apiList.scenarios ?? []) as Json[]) out.push(`| ${sc.name} | ${n(sc.total)} | ${n(sc.p50Ms)} | ${n(sc.p99Ms)} | ${n(sc.requestsPerSec)} |`);
  out.push('');
  for (const [k, t] of Object.entries((s.targets ?? {}) as Json)) out.push(`- target ${k}: ${t.target} — ${t.value} ms (${mark(t.pass)})`);
  out.push('');
}

const postgis = read('postgis');
if (postgis !== null) {
  const s = postgis.summary as Json;
  const c = (postgis.config ?? {}) as Json;
  out.push('### Engine against PostGIS — `npm run bench:postgis`', '', `${machine(postgis)}; PostGIS ${/\d+\.\d+(\.\d+)?/.exec(String(postgis.env?.postgis ?? ''))?.[0] ?? '?'} on PostgreSQL 15, same machine.`, '',
    `The replay's national input (${n(c.subjects)} subjects, ${n(c.zones)} zones with 200 m buffers and shared layers, ${n(c.conditions)} conditions) and ${n(s.fixes)} fixes, in one run: the engine with its full rules evaluated them in **${n(s.engineSeconds, 2)} s**; PostGIS, as one batch spatial join with GiST indexes evaluating the predicates alone (no schedules, episodes or debounce), in **${n(s.postgisSeconds, 1)} s**: **${n(s.ratio, 1)}x** (${n(s.ratioWithLoads, 1)}x counting the engine's configuration compile and PostGIS's table load and index build). Target ≥ 50x: ${mark(s.ratio >= 50)}.`, '');
}

const takeover = read('takeover');
if (takeover !== null) {
  const s = takeover.summary as Json;
  const t = (takeover.takeover ?? {}) as Json, l = (takeover.load ?? {}) as Json;
  const cpu = (x: unknown): string => (typeof x === 'number' ? ` (${n(x, 1)} CPU s)` : '');
  out.push('### Takeover at national scale — `npm run bench:takeover`', '', `${machine(takeover)}; two service instances and Redis ${takeover.env?.redis ?? ''} (AOF on) on the same machine.`, '',
    `${n(s.subjects)} subjects and ${n(s.zones)} zones (shared layers) in Redis, PARTITIONS=${n(s.partitions)}, LEASE_TTL_MS=${n(s.leaseTtlMs)}; fixes streamed to both instances (${n(l.acked)} acked; ${n(l.partitionsWithSnapshot)} partitions with a snapshot, ${n(l.logEntriesAfterSnapshot)} log entries after it), then one instance SIGKILLed: the survivor evaluated a probe fix in each of the ${n(t.partitionsTaken)} partitions it took over **${n(s.takeoverSecondsMax, 1)} s** after the kill, the first ${n(Math.min(...((t.perPartition ?? []) as Json[]).map((x) => x.evaluatedSeconds as number)), 1)} s after it (lease expiry: the last lease was taken ${n(s.leaseSecondsMax, 1)} s after the kill, the first ${n(t.firstLeaseSeconds, 1)} s; rebuild from snapshot + log and inbox: ${n(s.rebuildSecondsMax, 1)} s). Target ≤ ${n(s.targetSeconds)} s: ${mark(s.pass)}.`, '',
    `Configuration load in replay (the same configuration as JSON: JSON.parse, compile, engine): ${n(s.replayConfigLoadSeconds, 2)} s${cpu(s.replayConfigLoadCpuSeconds)}; target ≤ 3 s: ${mark(typeof s.replayConfigLoadSeconds === 'number' ? s.replayConfigLoadSeconds <= 3 : null)}. ` +
    `One instance starting cold with that configuration was ready in ${n(s.coldStartSeconds, 1)} s${cpu(s.coldStartCpuSeconds)}; a crashed instance restarted under its INSTANCE_ID (all ${n(s.partitions)} partitions rebuilt from snapshot + log) in ${n(s.restartSeconds, 1)} s${cpu(s.restartCpuSeconds)}.`, '');
}

const trail = read('trail');
if (trail !== null) {
  out.push('### Trail memory — `npm run bench:trail`', '', `${machine(trail)}, Redis ${trail.redis}: ${n(trail.summary.bytesPerFix, 1)} bytes per fix, ${n(trail.summary.mbPer1000TagsPerDay, 1)} MB per 1,000 tags per day at one fix a minute.`, '');
}

const positions = read('positions');
if (positions !== null) {
  const s = positions.summary as Json;
  out.push('### Console map positions — `npm run bench:positions`', '', `${machine(positions)}.`, '',
    `The work of one \`GET /v1/positions\` after its Redis read, with ${n(positions.tags)} tags (${n(positions.bytes / 1048576, 1)} MiB of JSON): ${n(s.routeMedianMs, 1)} ms (median); the same answer written as JSON text by hand, the baseline, ${n(s.baselineTextMedianMs, 1)} ms (${n(s.ratio, 1)}x); one team's ${n(positions.tags / 40)} tags ${n(s.teamMedianMs, 1)} ms.`, '');
}

const archive = read('archive');
if (archive !== null) {
  const s = archive.summary as Json;
  out.push('### Archive write — `npm run bench:archive`', '', `${machine(archive)}: ${n(s.fixes)} fixes in ${n(s.seconds, 1)} s, **${n(s.fixesPerSec)} fixes/s** into PostgreSQL/PostGIS (all indexes, checkpoint in each transaction, ${n(archive.lanes)} lanes, ${n(archive.batchRows)} rows per INSERT); target >= ${n(archive.target?.fixesPerSec)} fixes/s sustained — ${mark(s.fixesPerSec >= (archive.target?.fixesPerSec ?? Infinity))}.`, '');
}

const consoleJ = read('console');
if (consoleJ !== null) {
  const s = consoleJ.summary as Json;
  const q = (consoleJ.queue10k ?? {}) as Json, m = (consoleJ.map20k ?? {}) as Json, b = (consoleJ.bundle ?? {}) as Json;
  out.push('### Console — `npm run bench:console`', '', `${machine(consoleJ)}; service, worker, Redis and headless Chromium (SwiftShader) on the same machine.`, '',
    '| bundle (gzip) | of which MapLibre | fix → visible p50 / p99 | alert feed | 10,000 open alerts: log-in to counted / End key | 20,000 positions: map to clusters |',
    '| ---: | ---: | ---: | :---: | ---: | ---: |',
    `| ${n(s.bundleKiB)} KiB (${n(s.bundleGzipKiB)} KiB) | ${n(b.mapLibreKiB)} KiB | ${n(s.fixToVisibleP50Ms)} / ${n(s.fixToVisibleP99Ms)} ms | ${s.alertFeed === 'live' ? 'stream' : 'polling (1 s)'} | ${n(q.loginToCountedMs)} / ${n(q.endKeyMs)} ms | ${n(m.openToClustersMs)} ms |`, '');
}

const crime = read('crime');
if (crime !== null) {
  const s = crime.summary as Json;
  const c = (crime.clustered ?? {}) as Json, a = (crime.arrivalOrder ?? null) as Json | null;
  out.push('### Crime-scene matching — `npm run bench:crime`', '', `${machine(crime)}; PostgreSQL and the bench on the same machine. ${crime.note ?? ''}.`, '',
    `${n(s.crimes)} crimes (windows 0.5–12 h, radius 50–500 m) against ${n(crime.tags)} tags × ${n(crime.hours)} h at one fix a minute (${n(s.fixes)} fixes: ${n(crime.tags * crime.hours * 60)} minutes less the simulated reporting gaps). Load: COPY ${n(crime.copySeconds, 1)} s, indexes ${n(crime.indexSeconds, 1)} s${crime.clusterSeconds == null ? '' : `, CLUSTER by subject and time ${n(crime.clusterSeconds, 1)} s`}.`, '',
    '| day as stored | matcher s | of which ring / fill / judgement s | candidates | plain PostGIS ST_DWithin s | pairs with a fix inside: same |',
    '| --- | ---: | ---: | ---: | ---: | :---: |');
  for (const [label, m] of [['arrival order', a], ['clustered by subject, time', c]] as [string, Json | null][]) {
    if (m === null) continue;
    const star = typeof m.note === 'string' ? ' (*)' : '';
    out.push(`| ${label}${star} | ${n(m.matchSeconds, 2)} | ${n(m.matcher?.ringSeconds, 2)} / ${n(m.matcher?.fillSeconds, 2)} / ${n(m.matcher?.judgeSeconds, 2)} | ${n(m.matcher?.candidates)} | ${n(m.postgisSeconds, 2)} | ${m.agree ? 'yes' : '**no**'} |`);
  }
  if (typeof a?.note === 'string') out.push('', `(*) ${a.note}.`);
  out.push('', `- target 1,000 crimes × 14.4M fixes ≤ 10 s: ${n(s.matchSeconds, 2)} s at ${n(s.fixes)} fixes (${mark(crime.tags >= 10_000 && crime.hours >= 24 ? s.matchSeconds <= 10 : null)})`,
    `- archive write (fixes/s): ${s.archiveFixesPerSec == null ? 'measured by the archive copier\'s benchmark' : n(s.archiveFixesPerSec)}`, '');
}

// The pictures (bench/charts.ts): drawn from the same files, linked here next to the tables.
const drawn = await writeCharts(read);
if (drawn.length > 0) {
  out.push('### Pictures', '', 'Drawn by `npm run bench:report` from the same result files (Vega-Lite, rendered to SVG).', '');
  for (const c of drawn) out.push(`![${c.title}](docs/bench/${c.file}.svg)`, '');
}

let readme = readFileSync('README.md', 'utf8');
// The console's figures also sit in its own README section.
if (consoleJ !== null) {
  const s = consoleJ.summary as Json;
  const q = (consoleJ.queue10k ?? {}) as Json, m = (consoleJ.map20k ?? {}) as Json;
  const cb = '<!-- console-figures:begin -->', ce = '<!-- console-figures:end -->';
  const a = readme.indexOf(cb), z = readme.indexOf(ce);
  if (a >= 0 && z > a) {
    const text = [
      `- bundle: **${n(s.bundleKiB)} KiB** (${n(s.bundleGzipKiB)} KiB gzip), of which MapLibre ${n((consoleJ.bundle as Json | undefined)?.mapLibreKiB)} KiB; the console's own code ${n((consoleJ.bundle as Json | undefined)?.ownKiB)} KiB;`,
      `- fix sent over \`/v1/ingest\` → its row visible in a logged-in console: **p50 ${n(s.fixToVisibleP50Ms)} ms, p99 ${n(s.fixToVisibleP99Ms)} ms** over ${n((consoleJ.fixToVisible as Json | undefined)?.samples)} alerts (alert feed: ${s.alertFeed === 'live' ? 'the alert stream' : 'polling every second, the stream being unavailable'});`,
      `- 10,000 open alerts: log-in to the whole queue counted ${n(q.loginToCountedMs)} ms, ${n(q.renderedRows)} rows in the page, End key ${n(q.endKeyMs)} ms, a search over all of them ${n(q.filterMs)} ms; 20,000 positions: map opened to clusters drawn ${n(m.openToClustersMs)} ms;`,
      `- ${machine(consoleJ)}; service, worker, Redis and headless Chromium (software WebGL) share the machine${consoleJ.note === undefined ? '' : `; ${String(consoleJ.note)}`}.`,
    ].join('\n');
    readme = `${readme.slice(0, a + cb.length)}\n${text}\n${readme.slice(z)}`;
  }
}
const begin = '<!-- bench:begin -->', end = '<!-- bench:end -->';
const i = readme.indexOf(begin), j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error(`README.md needs ${begin} and ${end} around the benchmark section`);
writeFileSync('README.md', `${readme.slice(0, i + begin.length)}\n${out.join('\n')}\n${readme.slice(j)}`);
process.stdout.write(`README.md benchmark section rewritten from ${['geo', 'engine', 'replay', 'ingest', 'alerts', 'api', 'postgis', 'takeover', 'trail', 'positions', 'archive', 'crime', 'console'].filter((x) => read(x) !== null).join(', ')}; ${drawn.length} charts in docs/bench/\n`);
