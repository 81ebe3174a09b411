/**
 * `npm run bench:console`: the console's figures, written to bench/results/console.json.
 * - bundle: the built files under dist/console (raw and gzip KiB), MapLibre's share beside the
 *   console's own code (the baseline: what the map library alone costs);
 * - fix → visible: the browser suite's measurement (b-alerts.spec.ts) of ~20 alerts, from the
 *   moment a fix is sent over /v1/ingest to the moment its row is in the queue of a logged-in
 *   console (real service, delivery worker, Redis and Chromium), p50 and p99;
 * - scale: 10,000 open alerts in the queue and 20,000 positions on the map (f-scale.spec.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { benchEnv, printBenchEnv } from '../common/env.js';
import { repoRoot, writeResults } from '../common/results.js';

const root = repoRoot();
const assets = join(root, 'dist/console/assets');
if (!existsSync(assets)) throw new Error('dist/console is missing: run "npm run build" first');

const kib = (bytes: number): number => Math.round((bytes / 1024) * 10) / 10;
const files = readdirSync(assets).map((name) => {
  const buf = readFileSync(join(assets, name));
  return { name, kib: kib(statSync(join(assets, name)).size), gzipKiB: kib(gzipSync(buf, { level: 9 }).length) };
});
const html = readFileSync(join(root, 'dist/console/index.html'));
const total = files.reduce((s, f) => s + f.kib, 0) + kib(html.length);
const totalGzip = files.reduce((s, f) => s + f.gzipKiB, 0);
const mapLibre = kib(statSync(join(root, 'node_modules/maplibre-gl/dist/maplibre-gl-csp.js')).size + statSync(join(root, 'node_modules/maplibre-gl/dist/maplibre-gl-csp-worker.js')).size + statSync(join(root, 'node_modules/maplibre-gl/dist/maplibre-gl.css')).size);

printBenchEnv();
process.stdout.write(`bundle: ${total.toFixed(1)} KiB (${totalGzip.toFixed(1)} KiB gzip), of which MapLibre ${mapLibre} KiB\n`);

const grep = 'fix sent over|10,000 open alerts|20,000 positions';
const run = spawnSync(join(root, 'node_modules/.bin/playwright'), ['test', '-c', 'test/browser', '-g', grep, '--reporter=line'], {
  cwd: root, stdio: 'inherit', env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
});
if (run.status !== 0) throw new Error(`the browser measurement failed (exit ${run.status})`);
const read = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(root, 'dist/browser-results', `${name}.json`), 'utf8')) as Record<string, unknown>;
const latency = read('fix-to-visible');
const queue = read('queue-10k');
const map = read('map-20k');

const file = writeResults('console', {
  summary: {
    bundleKiB: Math.round(total * 10) / 10,
    bundleGzipKiB: Math.round(totalGzip * 10) / 10,
    fixToVisibleP50Ms: latency.p50Ms,
    fixToVisibleP99Ms: latency.p99Ms,
    alertFeed: latency.feed,
  },
  bundle: { files, mapLibreKiB: mapLibre, ownKiB: Math.round((total - mapLibre) * 10) / 10 },
  fixToVisible: latency,
  queue10k: queue,
  map20k: map,
  command: 'npm run bench:console',
  ...(process.env.BENCH_NOTE === undefined ? {} : { note: process.env.BENCH_NOTE }),
  env: benchEnv(),
  generatedAt: new Date().toISOString(),
});
process.stdout.write(`fix → visible p50 ${String(latency.p50Ms)} ms, p99 ${String(latency.p99Ms)} ms (${String(latency.feed)}); wrote ${file}\n`);
