/**
 * `npm run bench:report`: rewrites the README's benchmark section from bench/results/*.json, so
 * the figures there are always the ones a benchmark wrote, with its machine and command.
 * The section lies between <!-- bench:begin --> and <!-- bench:end -->.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

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
  out.push('');
}

const engine = read('engine');
if (engine !== null) {
  const s = engine.summary as Json;
  out.push('### Rules engine — `npm run bench:engine`', '', `${machine(engine)}.`, '',
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
  out.push('### Replay — `npm run bench:replay`', '', `${machine(replay)}.`, '',
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

const trail = read('trail');
if (trail !== null) {
  out.push('### Trail memory — `npm run bench:trail`', '', `${machine(trail)}, Redis ${trail.redis}: ${n(trail.summary.bytesPerFix, 1)} bytes per fix, ${n(trail.summary.mbPer1000TagsPerDay, 1)} MB per 1,000 tags per day at one fix a minute.`, '');
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

const readme = readFileSync('README.md', 'utf8');
const begin = '<!-- bench:begin -->', end = '<!-- bench:end -->';
const i = readme.indexOf(begin), j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error(`README.md needs ${begin} and ${end} around the benchmark section`);
writeFileSync('README.md', `${readme.slice(0, i + begin.length)}\n${out.join('\n')}\n${readme.slice(j)}`);
process.stdout.write(`README.md benchmark section rewritten from ${['geo', 'engine', 'replay', 'ingest', 'alerts', 'api', 'trail', 'crime'].filter((x) => read(x) !== null).join(', ')}\n`);
