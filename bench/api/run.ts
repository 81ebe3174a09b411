/**
 * List API benchmark: `npm run bench:api` (builds, then runs dist/bench/api/run.js).
 *
 * Seeds BENCH_API_ALERTS (100,000) alert records and BENCH_API_SUBJECTS (100,000) subjects into a
 * private key prefix of the local Redis (127.0.0.1:6379, REDIS_URL), written directly with the
 * service's own store functions (the record and its list indexes, in pipelines), then starts the
 * service as `node dist/src/server/main.js` on that prefix and measures, with autocannon, pages of
 * 100 (every page of a list walked by its cursors, the requests cycling over them):
 *
 *  - alerts: unfiltered (state=all), and filtered by team + state + severity;
 *  - subjects: unfiltered, and filtered by team + risk + a name search (q=);
 *
 * side by side, p50/p99 per request. Baseline in the same run: the list as it was read before
 * the indexes (every open episode loaded, sorted, cut to the page), timed in this process.
 * Target: p99 <= 50 ms per page of 100 with filters. Writes bench/results/api.json.
 * BENCH_API_DURATION_S (8) per scenario, BENCH_API_CONNECTIONS (2); BENCH_API_SEED_ONLY=1 seeds,
 * prints the prefix and leaves the data in Redis (for probing by hand; delete it afterwards).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { stageAlertIndex, stageAlertStateIndex } from '../../src/alerts/alert-index.js';
import { alertResource } from '../../src/alerts/alert-record.js';
import type { AlertEvent, AlertType, Severity } from '../../src/engine/alert.js';
import { formatTime } from '../../src/engine/time.js';
import { stageSubjectIndex } from '../../src/server/collection-indexes.js';
import { LIST_INDEX_VERSION } from '../../src/server/index-migration.js';
import { Keys } from '../../src/server/keys.js';
import { benchEnv, envInt } from '../common/env.js';
import { freePort } from '../common/net.js';
import { installCleanup, startServiceProcess, stopAll } from '../common/procs.js';
import { unlinkPrefix } from '../common/redis-keys.js';
import { repoRoot, writeResults } from '../common/results.js';
import { percentileOf } from '../common/stats.js';
import { mulberry32 } from '../common/prng.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
if (!/^redis:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/\d+)?$/.test(REDIS_URL)) throw new Error('the benchmark only talks to a Redis on 127.0.0.1');
const N_ALERTS = envInt('BENCH_API_ALERTS', 100_000);
const N_SUBJECTS = envInt('BENCH_API_SUBJECTS', 100_000);
const DURATION_S = envInt('BENCH_API_DURATION_S', 8);
const CONNECTIONS = envInt('BENCH_API_CONNECTIONS', 2);
const PAGE = 100;
const TARGET_P99_MS = 50;
const N_TEAMS = 40;
const PREFIX = `bench-api-${process.pid}-${randomBytes(3).toString('hex')}`;
const TOKEN = `bench-op-${randomBytes(16).toString('hex')}`;

const TYPES: AlertType[] = ['exclusion', 'exclusion_buffer', 'curfew', 'proximity', 'tamper', 'battery_low', 'no_fix', 'device_offline'];
const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];
const RISKS = ['low', 'medium', 'high', 'very_high'] as const;
const COHORTS = ['fixed', 'flex', 'free'] as const;
const SURNAMES = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Patel', 'Khan', 'Lewis', 'James', 'Phillips', 'Mason', 'Mitchell', 'Rose', 'Davis', 'Rodriguez', 'Cox', 'Alexander', 'Morgan', 'Moore', 'Mills', 'Hughes', 'Edwards', 'Hill', 'Ward', 'Turner'];
/** Alerts open every 30 s on average from here on. */
const T0 = Date.UTC(2026, 9, 1);
const team = (i: number): string => `iom-${String(i % N_TEAMS).padStart(2, '0')}`;

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const log = (msg: string): void => void process.stdout.write(`${msg}\n`);

async function seed(redis: Redis, keys: Keys): Promise<{ seconds: number; openAlerts: number }> {
  const started = performance.now();
  const rnd = mulberry32(20261206);
  let openAlerts = 0;
  const t0 = T0;
  for (let i = 0; i < N_SUBJECTS; i += 1000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(N_SUBJECTS, i + 1000); j++) {
      const id = `S-${String(j).padStart(6, '0')}`;
      const s = {
        id, deviceId: `TAG-${j}`, team: team(j), risk: RISKS[Math.floor(rnd() * 4)], cohort: COHORTS[j % 3],
        status: rnd() < 0.1 ? 'suspended' : 'active', name: `${SURNAMES[Math.floor(rnd() * SURNAMES.length)]} ${j}`, conditions: [],
      };
      p.hset(keys.subjects, id, JSON.stringify(s));
      stageSubjectIndex(p, keys, id, s);
    }
    await p.exec();
  }
  for (let i = 0; i < N_ALERTS; i += 1000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(N_ALERTS, i + 1000); j++) {
      const subject = Math.floor(rnd() * N_SUBJECTS);
      const type = TYPES[Math.floor(rnd() * TYPES.length)];
      const opened = t0 + j * 30_000 + Math.floor(rnd() * 30_000);
      const e: AlertEvent = {
        episodeId: `S-${String(subject).padStart(6, '0')}:c1:${formatTime(opened)}`, event: 'opened', type,
        severity: SEVERITIES[Math.floor(rnd() * 4)], confidence: 'possible', subjectId: `S-${String(subject).padStart(6, '0')}`,
        deviceId: `TAG-${subject}`, conditionId: 'c1', team: team(subject), at: formatTime(opened), late: false,
      };
      const key = keys.alert(e.episodeId);
      // The alert record as the committer writes it, without the outbox (nothing to deliver).
      p.hset(key, 'opened', JSON.stringify(e), 'team', e.team, 'subjectId', e.subjectId, 'type', e.type, 'severity', e.severity);
      p.zadd(keys.alertsAll, opened, e.episodeId);
      stageAlertIndex(p, keys, e);
      if (rnd() < 0.7) {
        const c = { ...e, event: 'closed' as const, at: formatTime(opened + 600_000) };
        p.hset(key, 'closed', JSON.stringify(c));
        stageAlertIndex(p, keys, c);
      } else {
        p.sadd(keys.openAll, e.episodeId);
        openAlerts++;
      }
      if (rnd() < 0.5) {
        p.hset(key, 'acked', JSON.stringify({ by: 'PC Bench', outcome: 'no_action', note: '', at: formatTime(opened + 60_000) }));
        stageAlertStateIndex(p, keys, e.episodeId);
      }
    }
    await p.exec();
  }
  await redis.set(keys.listIndexVersion, LIST_INDEX_VERSION);
  return { seconds: (performance.now() - started) / 1000, openAlerts };
}

/** The read GET /v1/alerts did before the indexes: every open episode loaded and sorted, for one page. */
async function oldOpenPage(redis: Redis, keys: Keys): Promise<number> {
  const t = performance.now();
  const ids = await redis.smembers(keys.openAll);
  const p = redis.pipeline();
  for (const id of ids) p.hgetall(keys.alert(id));
  const rows = (await p.exec()) ?? [];
  const alerts = ids.map((id, i) => alertResource(id, rows[i]![1] as Record<string, string>));
  alerts.sort((a, b) => String(b.openedAt).localeCompare(String(a.openedAt)) || a.episodeId.localeCompare(b.episodeId));
  alerts.slice(0, PAGE);
  return performance.now() - t;
}

/** Every page's path of one list (following nextCursor), up to `max` pages. */
async function pagePaths(url: string, path: string, key: string, max: number): Promise<{ paths: string[]; total: number }> {
  const paths: string[] = [];
  let cursor: string | null = null;
  let total = 0;
  do {
    const p = `${path}&limit=${PAGE}${cursor === null ? '' : `&cursor=${cursor}`}`;
    const r = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (r.status !== 200) throw new Error(`${p}: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as Record<string, unknown>;
    if ((body[key] as unknown[]).length === 0 && cursor === null) log(`note: ${p} is empty at this size`);
    total = body.total as number;
    paths.push(p);
    cursor = body.nextCursor as string | null;
  } while (cursor !== null && paths.length < max);
  return { paths, total };
}

interface Scenario {
  name: string;
  list: 'alerts' | 'subjects';
  filtered: boolean;
  path: string;
  total: number;
  pages: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
}

async function measure(url: string, name: string, list: 'alerts' | 'subjects', filtered: boolean, path: string): Promise<Scenario> {
  const { paths, total } = await pagePaths(url, path, list, 200);
  const r = await autocannon({
    url, connections: CONNECTIONS, duration: DURATION_S,
    headers: { authorization: `Bearer ${TOKEN}` },
    requests: paths.map((p) => ({ method: 'GET', path: p })),
  });
  const s: Scenario = {
    name, list, filtered, path, total, pages: paths.length, requestsPerSec: round(r.requests.average, 0),
    p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max, non2xx: r.non2xx,
  };
  log(`${name.padEnd(44)} total ${String(total).padStart(7)}  pages ${String(paths.length).padStart(4)}  ${String(s.requestsPerSec).padStart(6)} req/s  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  non-2xx ${s.non2xx}`);
  return s;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const keys = new Keys(PREFIX);
  installCleanup(async () => {
    await unlinkPrefix(redis, PREFIX);
  });
  const env = benchEnv();
  log(`bench:api — node ${env.node}, ${env.cpu} (${env.logicalCpus} logical CPUs); ${N_ALERTS} alerts, ${N_SUBJECTS} subjects, prefix ${PREFIX}`);
  try {
    const seeded = await seed(redis, keys);
    log(`seeded in ${round(seeded.seconds)} s (${seeded.openAlerts} open alerts)`);
    if (process.env.BENCH_API_SEED_ONLY === '1') {
      log(`left in Redis under ${PREFIX}:*`);
      redis.disconnect();
      process.exit(0);
    }
    const port = await freePort();
    const started = performance.now();
    const { child, url } = await startServiceProcess('service:bench-api', {
      ...process.env, REDIS_URL, KEY_PREFIX: PREFIX, PORT: String(port), API_TOKENS: `${TOKEN}=operator`,
      LOG_LEVEL: 'warn', WORKERS: '0', RATE_LIMIT_PER_S: '1000000',
    }, { cwd: repoRoot(), timeoutMs: 120_000 });
    const startSeconds = (performance.now() - started) / 1000;
    log(`service up in ${round(startSeconds)} s at ${url}`);

    const baseline: number[] = [];
    for (let i = 0; i < 10; i++) baseline.push(await oldOpenPage(redis, keys));
    const baselineMedianMs = round(percentileOf(baseline, 50));
    log(`baseline (before the indexes: load every open episode for one page): median ${baselineMedianMs} ms over ${baseline.length} reads`);

    const scenarios: Scenario[] = [];
    scenarios.push(await measure(url, 'alerts, unfiltered (state=all)', 'alerts', false, '/v1/alerts?state=all'));
    scenarios.push(await measure(url, 'alerts, open (default filter)', 'alerts', true, '/v1/alerts?state=open'));
    scenarios.push(await measure(url, 'alerts, team + state + severity', 'alerts', true, `/v1/alerts?team=${team(7)}&state=open&severity=high`));
    const spanMs = N_ALERTS * 30_000;
    const from = new Date(T0 + spanMs * 0.2).toISOString(), to = new Date(T0 + spanMs * 0.6).toISOString();
    scenarios.push(await measure(url, 'alerts, team + closed + unacked + time range', 'alerts', true, `/v1/alerts?team=${team(3)}&state=closed&acknowledged=false&from=${from}&to=${to}`));
    scenarios.push(await measure(url, 'subjects, unfiltered', 'subjects', false, '/v1/subjects?'));
    scenarios.push(await measure(url, 'subjects, team + risk + search (q=ja)', 'subjects', true, `/v1/subjects?team=${team(5)}&risk=high&q=ja`));
    scenarios.push(await measure(url, 'subjects, team + risk + broad search (q=s)', 'subjects', true, `/v1/subjects?team=${team(5)}&risk=high&q=s`));
    scenarios.push(await measure(url, 'subjects, search (q=smi)', 'subjects', true, '/v1/subjects?q=smi'));
    await child.stop('SIGTERM', 30_000);

    const unfiltered = scenarios.filter((s) => !s.filtered);
    const filtered = scenarios.filter((s) => s.filtered);
    const listP99Ms = Math.max(...unfiltered.map((s) => s.p99Ms));
    const filteredListP99Ms = Math.max(...filtered.map((s) => s.p99Ms));
    const alertPage = scenarios.find((s) => s.name.startsWith('alerts, open'))!;
    const ratio = round(baselineMedianMs / alertPage.p50Ms, 1);
    log(`unfiltered p99 ${listP99Ms} ms, filtered p99 ${filteredListP99Ms} ms (target <= ${TARGET_P99_MS} ms); open-alerts page p50 ${alertPage.p50Ms} ms vs ${baselineMedianMs} ms before the indexes: ${ratio}x`);
    const file = writeResults('api', {
      summary: {
        alerts: N_ALERTS, subjects: N_SUBJECTS, listP99Ms, filteredListP99Ms,
        baselineOpenPageMedianMs: baselineMedianMs, openPageP50Ms: alertPage.p50Ms, baselineRatio: ratio,
        targets: { filteredListP99: { target: `<= ${TARGET_P99_MS} ms`, value: filteredListP99Ms, pass: filteredListP99Ms <= TARGET_P99_MS } },
      },
      env: { ...env, loadAverage: (await import('node:os')).loadavg() },
      generatedAt: new Date().toISOString(),
      command: 'npm run bench:api',
      setup: { pageSize: PAGE, connections: CONNECTIONS, durationS: DURATION_S, teams: N_TEAMS, seedSeconds: round(seeded.seconds), serviceStartSeconds: round(startSeconds), openAlerts: seeded.openAlerts },
      scenarios,
    });
    log(`wrote ${file}`);
  } finally {
    await stopAll(5000);
    await unlinkPrefix(redis, PREFIX);
    redis.disconnect();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
