/**
 * The benchmark pictures: Vega-Lite specifications filled from bench/results/*.json and rendered
 * to SVG by Vega itself (headless, no canvas, no browser), written to docs/bench/. Called by
 * `npm run bench:report`, which links them from the README next to the tables; nothing here is
 * drawn by hand, and a chart whose results file is missing is simply not drawn.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Row = Record<string, string | number>;

export interface Chart {
  /** File name under docs/bench/ (without .svg). */
  file: string;
  /** What the picture shows, for the README's alt text and caption. */
  title: string;
  spec: vl.TopLevelSpec;
}

const FONT = { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', labelFontSize: 11, titleFontSize: 12 };
const config = { axis: FONT, legend: { ...FONT, labelLimit: 420 }, title: { font: FONT.font, fontSize: 13 }, view: { stroke: '#ccc' } };
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Every chart the results on disk allow, in README order. */
export function charts(read: (name: string) => Json | null): Chart[] {
  const out: Chart[] = [];

  // Peer comparisons: our path against the baseline measured in the same run.
  const peers: Row[] = [];
  const geo = read('geo'), engine = read('engine'), replay = read('replay'), api = read('api'), postgis = read('postgis'), crime = read('crime');
  if (finite(geo?.summary?.baselineRatio)) peers.push({ bench: 'zone queries (100k zones)', vs: 'rbush + turf', ratio: geo.summary.baselineRatio, target: 5 });
  if (finite(engine?.summary?.baselineRatio)) peers.push({ bench: 'rules engine', vs: 'turf + Intl rules', ratio: engine.summary.baselineRatio, target: 10 });
  if (finite(api?.summary?.baselineRatio)) peers.push({ bench: 'open-alerts page', vs: 'scan before indexes', ratio: api.summary.baselineRatio, target: 0 });
  if (finite(postgis?.summary?.ratio)) peers.push({ bench: 'national replay', vs: 'PostGIS batch join', ratio: postgis.summary.ratio, target: 50 });
  if (finite(crime?.summary?.postgisSeconds) && finite(crime?.summary?.matchSeconds) && crime.summary.matchSeconds > 0) {
    peers.push({ bench: 'crime matching', vs: 'plain PostGIS query', ratio: crime.summary.postgisSeconds / crime.summary.matchSeconds, target: 0 });
  }
  if (peers.length > 0) {
    out.push({
      file: 'peers', title: 'Times faster than the baseline run beside it (red tick: target)',
      spec: {
        config, width: 460, height: { step: 26 }, data: { values: peers },
        layer: [
          { mark: { type: 'bar', color: '#2b6cb0', height: 16 }, transform: [{ calculate: '1', as: 'one' }], encoding: { y: { field: 'bench', type: 'nominal', sort: null, title: null, axis: { labelLimit: 260 } }, x: { field: 'one', type: 'quantitative', scale: { type: 'log', domainMin: 1 }, title: 'times faster (x), log scale' }, x2: { field: 'ratio' }, tooltip: [{ field: 'vs' }, { field: 'ratio', format: '.1f' }] } },
          { mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { y: { field: 'bench', type: 'nominal', sort: null }, x: { field: 'ratio', type: 'quantitative' }, text: { field: 'label' } }, transform: [{ calculate: "format(datum.ratio, '.1f') + 'x vs ' + datum.vs", as: 'label' }] },
          { mark: { type: 'tick', color: '#c53030', thickness: 2 }, transform: [{ filter: 'datum.target > 0' }], encoding: { y: { field: 'bench', type: 'nominal', sort: null }, x: { field: 'target', type: 'quantitative' } } },
        ],
      },
    });
  }

  // Latency distributions (percentiles) of the live paths.
  const lat: Row[] = [];
  const ingest = read('ingest'), alerts = read('alerts');
  const pct = (series: string, p: Record<string, unknown>): void => {
    for (const [q, v] of Object.entries(p)) if (finite(v)) lat.push({ series, q, ms: Math.max(v, 0.01) });
  };
  if (ingest?.phase1) pct('ingest send→ack, flat out', { p50: ingest.phase1.ackP50Ms, p90: ingest.phase1.ackP90Ms, p99: ingest.phase1.ackP99Ms, 'p99.9': ingest.phase1.ackP999Ms, max: ingest.phase1.ackMaxMs });
  if (ingest?.phase2) pct('ingest send→ack, half rate', { p50: ingest.phase2.ackP50Ms, p90: ingest.phase2.ackP90Ms, p99: ingest.phase2.ackP99Ms, 'p99.9': ingest.phase2.ackP999Ms, max: ingest.phase2.ackMaxMs });
  const w = alerts?.latency?.fixToWebhookMs;
  if (w) pct('breaching fix → webhook', { p50: w.p50, p90: w.p90, p99: w.p99, max: w.max });
  if (lat.length > 0) {
    out.push({
      file: 'latency', title: 'Latency distributions of the live paths',
      spec: {
        config, width: 460, height: 240, data: { values: lat },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'q', type: 'ordinal', sort: ['p50', 'p90', 'p99', 'p99.9', 'max'], title: 'percentile' },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'milliseconds' },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1 } },
        },
      },
    });
  }

  // Throughput over a run: acked fixes per second, second by second.
  const series: Row[] = [];
  for (const [phase, name] of [['phase1', 'flat out'], ['phase2', 'half rate']] as const) {
    for (const s of (ingest?.[phase]?.seconds ?? []) as Json[]) if (finite(s.t) && finite(s.acked) && s.t >= 0) series.push({ phase: name, t: s.t, acked: s.acked });
  }
  if (series.length > 0) {
    out.push({
      file: 'ingest-over-run', title: 'Live ingest: fixes acked each second',
      spec: {
        config, width: 460, height: 200, data: { values: series },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds into the phase' },
          y: { field: 'acked', type: 'quantitative', title: 'fixes acked per second' },
          color: { field: 'phase', type: 'nominal', title: null, legend: { orient: 'bottom' } },
        },
      },
    });
  }

  // Scaling of cost: zone queries with the number of zones; delivery with workers.
  const zones: Row[] = [];
  for (const sc of (geo?.scales ?? []) as Json[]) {
    if (finite(sc.zones) && finite(sc.contains?.queriesPerSec)) zones.push({ zones: sc.zones, what: 'ours', qps: sc.contains.queriesPerSec });
    if (finite(sc.zones) && finite(sc.contains?.baselineQueriesPerSec)) zones.push({ zones: sc.zones, what: 'rbush + turf', qps: sc.contains.baselineQueriesPerSec });
  }
  if (zones.length > 0) {
    out.push({
      file: 'scaling-zones', title: 'Zone queries per second as zones grow',
      spec: {
        config, width: 360, height: 200, data: { values: zones },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'zones', type: 'quantitative', scale: { type: 'log' }, title: 'zones indexed' },
          y: { field: 'qps', type: 'quantitative', scale: { type: 'log' }, title: 'queries per second (one core)' },
          color: { field: 'what', type: 'nominal', title: null, legend: { orient: 'bottom' } },
        },
      },
    });
  }
  const workers = ((alerts?.throughput ?? []) as Json[]).filter((t) => finite(t.workers) && finite(t.alertsPerSec)).map((t) => ({ workers: String(t.workers), alertsPerSec: t.alertsPerSec as number }));
  if (workers.length > 0) {
    out.push({
      file: 'delivery-workers', title: 'Alert delivery by number of workers',
      spec: {
        config, width: 300, height: 180, data: { values: workers },
        mark: { type: 'bar', color: '#2f855a' },
        encoding: { x: { field: 'workers', type: 'ordinal', title: 'delivery workers' }, y: { field: 'alertsPerSec', type: 'quantitative', title: 'alerts per second' } },
      },
    });
  }
  const cluster = read('chaos-cluster')?.summary?.fixesPerSecByInstances as Json | undefined;
  if (cluster) {
    const rows = Object.entries(cluster).filter(([, v]) => finite(v)).map(([k, v]) => ({ instances: k, fixesPerSec: v as number }));
    if (rows.length > 0) {
      out.push({
        file: 'scaling-instances', title: 'Ingest by service instances (Redis Cluster)',
        spec: { config, width: 300, height: 180, data: { values: rows }, mark: { type: 'bar', color: '#6b46c1' }, encoding: { x: { field: 'instances', type: 'ordinal' }, y: { field: 'fixesPerSec', type: 'quantitative', title: 'fixes acked per second' } } },
      });
    }
  }
  return out;
}

/** Render one chart to SVG with Vega (no renderer attached: SVG string output only). */
export async function renderSvg(chart: Chart): Promise<string> {
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title: chart.title, background: 'white', ...chart.spec } as vl.TopLevelSpec;
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Write every chart to `dir` and return them, for the README's links. */
export async function writeCharts(read: (name: string) => Json | null, dir = 'docs/bench'): Promise<Chart[]> {
  const all = charts(read);
  mkdirSync(dir, { recursive: true });
  for (const c of all) writeFileSync(`${dir}/${c.file}.svg`, await renderSvg(c));
  return all;
}
