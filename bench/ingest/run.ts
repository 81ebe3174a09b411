#!/usr/bin/env node
/**
 * `npm run bench:ingest`: WebSocket ingest load test of the live service, its main GET endpoints
 * and a 100k-zone bulk import; writes bench/results/ingest.json. `--help` explains everything
 * (options.ts); the phases and method are there too.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ApiRequestError } from '../../src/demo/api-client.js';
import { benchEnv } from '../common/env.js';
import { repoRoot, writeResults } from '../common/results.js';
import { cpuSeconds, machineCpuSeconds, rssBytes } from '../common/procs.js';
import { median } from '../common/stats.js';
import { fmt, formatTable } from '../common/table.js';
import { formatProfile, summariseProfile, type ProfileSummary } from './cpu-profile.js';
import { httpLoad, type HttpResult } from './http-load.js';
import { IngestLoad, type PhaseStats, type SecondSample } from './load.js';
import { HELP, parseOptions, UsageError, type BenchOptions } from './options.js';
import { startService, type StartedService } from './service-process.js';
import { FleetState, TagStream } from './tag-stream.js';
import { deletePrefix, redisInfo, verifyByRedis, verifyByTrailApi, type VerifyResult } from './verify.js';
import { buildWorld, seedWorld, type CurfewWindow } from './world.js';
import { timeZoneImport, type ZoneImportResult } from './zone-import.js';

const TARGET_FIXES_PER_SEC = 100_000;
const TARGET_SUSTAINED_S = 60;
const TARGET_P99_AT_HALF_MS = 50;
const TARGET_ZONE_IMPORT_S = 10;
/** Engine settings for the self-started service: see HELP ("Load shape"). */
const BENCH_ENGINE_SETTINGS = { offlineAfterS: 30 * 86400, noFixAfterS: 30 * 86400 };
const BENCH_RATE_LIMIT_PER_S = 1_000_000;
/** Simulated time starts at this local time of day (17:30). */
const SIM_START_LOCAL_MIN = 17 * 60 + 30;

/** The commit under test and how many service files differ from it (read-only git). */
function serviceRevision(root: string): { commit: string; uncommittedServiceFiles: number } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/server', 'src/engine', 'geo'], { cwd: root, encoding: 'utf8' });
    return { commit, uncommittedServiceFiles: dirty.split('\n').filter((l) => l.trim() !== '').length };
  } catch {
    return null;
  }
}

interface RssSample {
  phase: string;
  t: number;
  rssMB: number;
  cpuPct: number;
}

const log = (s: string): void => {
  process.stdout.write(s + '\n');
};

function londonParts(ms: number): { minuteOfDay: number; offsetMin: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const v = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const localAsUtc = Date.UTC(v('year'), v('month') - 1, v('day'), v('hour'), v('minute'));
  return { minuteOfDay: v('hour') * 60 + v('minute'), offsetMin: Math.round((localAsUtc - Math.floor(ms / 60_000) * 60_000) / 60_000) };
}

/**
 * Curfew 19:00-07:00, unless the service's wall-clock deadline (19:05 local) would fall during the
 * run: then 22:30-07:00. The deadline timer judges each subject on its latest fix, which in this
 * accelerated run is hours old, so it would open curfew episodes no real evening would.
 */
function curfewWindow(nowMs: number): CurfewWindow {
  const { minuteOfDay } = londonParts(nowMs);
  const untilDeadline = (((19 * 60 + 5 - minuteOfDay) % 1440) + 1440) % 1440;
  return untilDeadline < 180
    ? { start: '22:30', end: '07:00', startMin: 22 * 60 + 30, endMin: 7 * 60 }
    : { start: '19:00', end: '07:00', startMin: 19 * 60, endMin: 7 * 60 };
}

async function metricsSnapshot(baseUrl: string, token: string): Promise<Record<string, number>> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    const out: Record<string, number> = {};
    for (const name of ['iom_redis_commit_seconds_count', 'iom_redis_commit_seconds_sum', 'iom_fixes_accepted_total', 'iom_nodejs_heap_size_used_bytes', 'iom_process_resident_memory_bytes', 'iom_alerts_total',
      'iom_nodejs_gc_duration_seconds_sum', 'iom_nodejs_gc_duration_seconds_count']) {
      let sum = 0, found = false;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))) {
        sum += Number(m[1]);
        found = true;
      }
      if (found) out[name] = sum;
    }
    // GC pauses by kind (minor = scavenge, major = mark-compact, incremental marking steps).
    for (const m of text.matchAll(/^iom_nodejs_gc_duration_seconds_(sum|count)\{kind="([a-z]+)"\} ([0-9.e+-]+)$/gm)) out[`gc_${m[2]}_${m[1]}`] = Number(m[3]);
    return out;
  } catch {
    return {};
  }
}

function slopePerMin(samples: { t: number; v: number }[]): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mt = samples.reduce((s, p) => s + p.t, 0) / n, mv = samples.reduce((s, p) => s + p.v, 0) / n;
  let num = 0, den = 0;
  for (const p of samples) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 60;
}

function pf(pass: boolean | null): string {
  return pass === null ? 'n/a ' : pass ? 'PASS' : 'MISS';
}

async function main(): Promise<number> {
  let o: BenchOptions | null;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      process.stderr.write(`bench:ingest: ${(e as Error).message}\nTry --help.\n`);
      return 2;
    }
    throw e;
  }
  if (o === null) {
    process.stdout.write(HELP);
    return 0;
  }
  const env = benchEnv();
  const root = repoRoot();
  const command = `${o.quick ? 'BENCH_QUICK=1 ' : ''}npm run bench:ingest${process.argv.length > 2 ? ` -- ${process.argv.slice(2).map((a) => (/^--(token|ingest-token)=/.test(a) ? a.replace(/=.*/, '=***') : a)).join(' ')}` : ''}`;
  log(`ingest benchmark: node ${env.node}, ${env.platform}/${env.arch}, CPU ${env.cpu} (${env.logicalCpus} logical), RAM ${env.totalMemGiB} GiB`);
  log(`  ${o.connections} connections × ${o.batch} fixes/message, window ${o.window}, ${o.tags.toLocaleString('en-GB')} tags; phase 1 ${o.durationS} s (+${o.warmupS} s warm-up), phase 2 ${Math.max(1, Math.round(o.durationS / 2))} s${o.quick ? ' (BENCH_QUICK)' : ''}`);

  // --- the service ----------------------------------------------------------------------------
  let svc: StartedService | null = null;
  let profileDir: string | null = null;
  let baseUrl: string, operatorTokens: string[], ingestToken: string, keyPrefix: string | null;
  if (o.url === null) {
    profileDir = o.profile ? mkdtempSync(join(tmpdir(), 'iom-bench-prof-')) : null;
    svc = await startService({
      root, redisUrl: o.redisUrl, profileDir,
      env: {
        ENGINE_SETTINGS: JSON.stringify(BENCH_ENGINE_SETTINGS),
        RATE_LIMIT_PER_S: String(BENCH_RATE_LIMIT_PER_S), INGEST_RATE_LIMIT_PER_S: String(BENCH_RATE_LIMIT_PER_S),
        ...(o.serviceNodeOptions === null ? {} : { NODE_OPTIONS: o.serviceNodeOptions }),
      },
    });
    baseUrl = svc.url;
    operatorTokens = svc.operatorTokens;
    ingestToken = svc.ingestToken;
    keyPrefix = svc.keyPrefix;
    log(`  started the service: pid ${svc.pid}, ${baseUrl}, KEY_PREFIX=${svc.keyPrefix}, Redis ${o.redisUrl}${o.profile ? `, --cpu-prof into ${profileDir}` : ''}`);
  } else {
    baseUrl = o.url;
    operatorTokens = [o.token];
    ingestToken = o.ingestToken;
    keyPrefix = o.keyPrefix;
    log(`  target: ${baseUrl} (not started here: no RSS figures)`);
  }
  const pid = svc?.pid ?? null;
  const clients = operatorTokens.map((t) => new ApiClient(baseUrl, t, { retries: 20, timeoutMs: 300_000 }));
  const api = clients[0] as ApiClient;
  const stopService = async (): Promise<void> => {
    if (svc !== null && !svc.exited) await svc.stop();
  };
  const redisKnown = keyPrefix !== null;
  const redisBefore = redisKnown ? await redisInfo(o.redisUrl).catch(() => null) : null;

  try {
    await api.get('/readyz');
  } catch (e) {
    log(`the service at ${baseUrl} is not ready: ${(e as ApiRequestError).message}`);
    await stopService();
    return 1;
  }

  try {
    // --- seeding ----------------------------------------------------------------------------------
    const runPrefix = `B${randomBytes(3).toString('hex')}`;
    const curfew = curfewWindow(Date.now());
    const world = buildWorld(runPrefix, o.tags, o.seed, curfew);
    log(`  seeding ${world.zones.length.toLocaleString('en-GB')} zones and ${world.subjects.length.toLocaleString('en-GB')} subjects (ids ${runPrefix}-*; curfew ${curfew.start}-${curfew.end}) ...`);
    const tty = process.stdout.isTTY === true;
    const seed = await seedWorld(clients, world, (done, total) => {
      if (tty) process.stdout.write(`\r    subjects ${done.toLocaleString('en-GB')}/${total.toLocaleString('en-GB')}`);
    });
    if (tty) process.stdout.write('\r\x1b[K');
    log(`  seeded: zones in ${seed.zonesSeconds.toFixed(1)} s, subjects in ${seed.subjectsSeconds.toFixed(1)} s (${fmt(seed.subjects / seed.subjectsSeconds)} PUT/s)`);

    // --- the fleet ----------------------------------------------------------------------------
    // Simulated time starts far enough back that even 400k fixes/s never push a tag's clock past
    // the real one (the service refuses fixes more than 300 s ahead of its clock).
    const totalS = o.warmupS + o.durationS + Math.max(1, Math.round(o.durationS / 2)) + 5;
    const fixesPerTag = Math.ceil((totalS * (o.rate ?? 400_000)) / o.tags) + 10;
    // ... and at 17:30 local, so every run replays the same part of the day: the evening, with
    // people heading home for a 19:00 curfew and a few who do not.
    const earliest = Math.floor((Date.now() - fixesPerTag * 60_000) / 60_000) * 60_000;
    const simStartMs = earliest - ((((londonParts(earliest).minuteOfDay - SIM_START_LOCAL_MIN) % 1440) + 1440) % 1440) * 60_000;
    const fleet = new FleetState(world, simStartMs, londonParts(simStartMs).offsetMin, o.seed);
    const streams: TagStream[] = [];
    for (let c = 0; c < o.connections; c++) {
      const tags: number[] = [];
      for (let i = c; i < o.tags; i += o.connections) tags.push(i);
      streams.push(new TagStream(fleet, Int32Array.from(tags), o.tsFormat, o.seed * 1000 + c));
    }
    const load = new IngestLoad(baseUrl, ingestToken, o.batch);
    const sample: { subjectId: string; deviceId: string }[] = [];
    for (let i = 0; i < o.tags && sample.length < 40; i += Math.max(1, Math.floor(o.tags / 40))) {
      if (world.isVictim[i] === 1) continue;
      sample.push({ subjectId: world.subjectIds[i] as string, deviceId: world.deviceIds[i] as string });
      load.sampleAcks.set(world.deviceIds[i] as string, 0);
    }
    await load.open(streams);
    log(`  simulated time from ${new Date(simStartMs).toISOString()} (${(fixesPerTag / 60).toFixed(1)} h back), one fix per tag per simulated minute, ts as ${o.tsFormat}`);

    // --- phases 1 and 2 -----------------------------------------------------------------------
    const rss: RssSample[] = [];
    let lastCpu = pid === null ? NaN : cpuSeconds(pid);
    let lastCpuAt = performance.now();
    const rssAt = (phase: string, t: number): RssSample => {
      const now = performance.now();
      const cpu = pid === null ? NaN : cpuSeconds(pid);
      const s = { phase, t, rssMB: pid === null ? NaN : Math.round(rssBytes(pid) / 2 ** 20), cpuPct: Math.round(((cpu - lastCpu) / ((now - lastCpuAt) / 1000)) * 100) };
      lastCpu = cpu;
      lastCpuAt = now;
      return s;
    };
    const startSample = rssAt('start', 0);
    const metricsStart = await metricsSnapshot(baseUrl, operatorTokens[0] as string);
    const batch = o.batch;
    const onSecond = (s: SecondSample, phase: string): void => {
      const r = rssAt(phase, s.t);
      rss.push(r);
      const tag = s.t <= 0 ? 'warm-up' : `${s.t}s`;
      log(`  [${phase} ${tag.padStart(7)}] sent ${fmt(s.sent).padStart(8)}/s  acked ${fmt(s.acked).padStart(8)}/s  p99 ${Number.isNaN(s.p99Ms) ? '   –' : fmt(s.p99Ms).padStart(4)} ms` +
        (pid === null ? '' : `  | service rss ${r.rssMB} MB, cpu ${r.cpuPct} %`) + `  | in flight ${fmt(load.inFlight * batch)}`);
    };
    const redisPhase0 = redisKnown ? await redisInfo(o.redisUrl).catch(() => null) : null;
    const cpuSvc0 = pid === null ? NaN : cpuSeconds(pid);
    const machine0 = machineCpuSeconds();
    const load0 = os.loadavg()[0] as number;
    const t1 = performance.now();
    log(`phase 1: ${o.rate === null ? 'as fast as acks allow' : `${fmt(o.rate)} fixes/s`}`);
    // Monotonic µs, comparable with the service's CPU profile timestamps.
    const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);
    const phase1Us: [number, number] = [monoUs() + o.warmupS * 1e6, 0];
    const phase1 = await load.phase({ name: 'max', durationS: o.durationS, warmupS: o.warmupS, window: o.window, rate: o.rate, onSecond });
    phase1Us[1] = phase1Us[0] + o.durationS * 1e6;
    const phase1WallS = (performance.now() - t1) / 1000;
    const cpuSvc1 = pid === null ? NaN : cpuSeconds(pid);
    const machine1 = machineCpuSeconds();
    const load1 = os.loadavg()[0] as number;
    const redisPhase1 = redisKnown ? await redisInfo(o.redisUrl).catch(() => null) : null;
    const metricsMid = await metricsSnapshot(baseUrl, operatorTokens[0] as string);
    log(`  phase 1: ${fmt(phase1.fixesPerSec)} fixes/s acked over ${o.durationS} s (slowest second ${fmt(phase1.minSecondFixes)}, fastest ${fmt(phase1.maxSecondFixes)}); send→ack p50 ${fmt(phase1.ackP50Ms, 1)} ms, p99 ${fmt(phase1.ackP99Ms, 1)} ms`);

    const halfRate = Math.max(1, Math.round(phase1.fixesPerSec / 2));
    const phase2Duration = Math.max(1, Math.round(o.durationS / 2));
    log(`phase 2: paced at ${fmt(halfRate)} fixes/s (50 % of phase 1)`);
    const phase2Us: [number, number] = [monoUs() + Math.min(2, o.warmupS) * 1e6, 0];
    const phase2 = await load.phase({ name: 'half', durationS: phase2Duration, warmupS: Math.min(2, o.warmupS), window: o.window, rate: halfRate, onSecond });
    phase2Us[1] = phase2Us[0] + phase2Duration * 1e6;
    const phase2WallS = (performance.now() - t1) / 1000 - phase1WallS;
    const cpuSvc2 = pid === null ? NaN : cpuSeconds(pid);
    const endSample = rssAt('end', 0);
    log(`  phase 2: ${fmt(phase2.fixesPerSec)} fixes/s acked; send→ack p50 ${fmt(phase2.ackP50Ms, 1)} ms, p99 ${fmt(phase2.ackP99Ms, 1)} ms${phase2.behindScheduleMessages > 0 ? `; ${fmt(phase2.behindScheduleMessages)} messages behind schedule` : ''}`);
    load.close();
    const metricsEnd = await metricsSnapshot(baseUrl, operatorTokens[0] as string);

    // --- recorded = acked? --------------------------------------------------------------------
    let verify: VerifyResult;
    if (redisKnown) verify = await verifyByRedis(o.redisUrl, keyPrefix as string, world.deviceIds, load.totalAcked);
    else verify = await verifyByTrailApi(api, sample, load.sampleAcks);
    log(`check: ${fmt(verify.recorded)} fixes recorded, ${fmt(verify.acked)} acked (${verify.detail}) → ${verify.equal ? 'equal' : 'NOT EQUAL'}`);

    // --- HTTP ---------------------------------------------------------------------------------
    const http: HttpResult[] = [];
    if (o.httpDurationS > 0) {
      const trailPaths = sample.slice(0, 20).map((s) => `/v1/subjects/${encodeURIComponent(s.subjectId)}/trail`);
      const token = operatorTokens[0] as string;
      for (const [name, paths] of [['GET /v1/alerts', ['/v1/alerts']], ['GET /v1/subjects/:id/trail', trailPaths], ['GET /readyz', ['/readyz']]] as [string, string[]][]) {
        const r = await httpLoad({ name, baseUrl, paths, token, connections: o.httpConnections, durationS: o.httpDurationS });
        http.push(r);
        log(`http: ${name.padEnd(28)} ${fmt(r.requestsPerSec).padStart(7)} req/s  p50 ${fmt(r.latencyP50Ms, 1)} ms  p99 ${fmt(r.latencyP99Ms, 1)} ms  (${fmt(r.bytesPerResponse)} B/response${r.non2xx > 0 ? `, ${fmt(r.non2xx)} non-2xx: ${JSON.stringify(r.statusCodes)}` : ''}${r.errors > 0 ? `, ${r.errors} errors` : ''})`);
      }
    }

    // --- bulk zone import ---------------------------------------------------------------------
    let zoneImport: ZoneImportResult | null = null;
    if (o.importZones > 0) {
      log(`zones: importing ${fmt(o.importZones)} zones in one POST /v1/zones ...`);
      zoneImport = await timeZoneImport(api, runPrefix, o.importZones, o.seed + 7);
      log(`  ${fmt(zoneImport.accepted)} accepted, ${zoneImport.rejected} rejected, ${zoneImport.payloadMB} MB in ${zoneImport.seconds.toFixed(2)} s (${fmt(zoneImport.zonesPerSec)} zones/s)`);
    }
    const redisAfter = redisKnown ? await redisInfo(o.redisUrl).catch(() => null) : null;

    // --- memory -------------------------------------------------------------------------------
    // RSS saws up and down by hundreds of MB with each major GC, so what is live is the floor
    // after a collection: compare the lowest sample of the middle third of phase 1's window with
    // the lowest of its last third (medians of the same thirds are reported beside them).
    const p1 = rss.filter((r) => r.phase === 'max' && r.t > 0).map((r) => r.rssMB);
    const third = Math.max(1, Math.floor(p1.length / 3));
    const midThird = p1.slice(third, 2 * third), endThird = p1.slice(p1.length - third);
    const midMB = Math.min(...midThird), endMB = Math.min(...endThird);
    const midMedianMB = median(midThird), endMedianMB = median(endThird);
    const growthPct = ((endMB - midMB) / midMB) * 100;
    const slope = slopePerMin(rss.filter((r) => r.phase === 'max' && r.t > 0).slice(third).map((r) => ({ t: r.t, v: r.rssMB })));
    const memoryVerdict = pid === null ? 'unknown' : growthPct < 10 ? 'flat' : 'growing';

    // --- profile ------------------------------------------------------------------------------
    await stopService();
    let profile: { file: string; phase1: ProfileSummary; phase2: ProfileSummary; whole: ProfileSummary } | null = null;
    if (profileDir !== null) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file !== undefined) {
        const path = join(profileDir, file);
        profile = { file: path, phase1: summariseProfile(path, 30, phase1Us), phase2: summariseProfile(path, 30, phase2Us), whole: summariseProfile(path, 30) };
      }
    }

    // --- report -------------------------------------------------------------------------------
    const sustainedPass = phase1.fixesPerSec >= TARGET_FIXES_PER_SEC && o.durationS >= TARGET_SUSTAINED_S && verify.equal && phase1.refusedFixes === 0 && phase1.failedMessages === 0;
    const targets = [
      { target: `>= ${fmt(TARGET_FIXES_PER_SEC)} fixes/s sustained ${TARGET_SUSTAINED_S} s, every fix recorded`, measured: `${fmt(phase1.fixesPerSec)} fixes/s over ${o.durationS} s, recorded ${verify.equal ? '=' : '≠'} acked`, pass: sustainedPass },
      { target: `p99 send→ack <= ${TARGET_P99_AT_HALF_MS} ms at 50 % of that rate`, measured: `${fmt(phase2.ackP99Ms, 1)} ms at ${fmt(halfRate)} fixes/s`, pass: phase2.ackP99Ms <= TARGET_P99_AT_HALF_MS },
      { target: 'service memory flat under sustained load', measured: pid === null ? 'not measured (--url)' : `RSS after GC ${fmt(midMB)} MB in the middle third of phase 1 → ${fmt(endMB)} MB in the last third (${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)} %)`, pass: pid === null ? null : memoryVerdict === 'flat' },
      { target: `${fmt(o.importZones)}-zone bulk import < ${TARGET_ZONE_IMPORT_S} s`, measured: zoneImport === null ? 'skipped' : `${zoneImport.seconds.toFixed(2)} s`, pass: zoneImport === null ? null : zoneImport.seconds < TARGET_ZONE_IMPORT_S && zoneImport.accepted === zoneImport.zones },
    ];
    const redisCpuPct1 = redisPhase0 !== null && redisPhase1 !== null ? ((redisPhase1.cpuSeconds - redisPhase0.cpuSeconds) / phase1WallS) * 100 : NaN;
    const serviceCpuPct1 = ((cpuSvc1 - cpuSvc0) / phase1WallS) * 100;
    // Everyone else on the machine during phase 1: all busy CPU minus the service, Redis and us.
    const machineBusyPct1 = ((machine1.busy - machine0.busy) / phase1WallS) * 100;
    const othersPct1 = machineBusyPct1 - (Number.isNaN(serviceCpuPct1) ? 0 : serviceCpuPct1) - (Number.isNaN(redisCpuPct1) ? 0 : redisCpuPct1) - phase1.clientCpuPct;
    const groups = (metricsMid.iom_redis_commit_seconds_count ?? NaN) - (metricsStart.iom_redis_commit_seconds_count ?? NaN);
    const groupSecs = (metricsMid.iom_redis_commit_seconds_sum ?? NaN) - (metricsStart.iom_redis_commit_seconds_sum ?? NaN);
    const accepted1 = (metricsMid.iom_fixes_accepted_total ?? NaN) - (metricsStart.iom_fixes_accepted_total ?? NaN);
    // GC pressure: the service's own GC pause time (prom-client's perf_hooks observer) per phase.
    const gcOf = (a: Record<string, number>, b: Record<string, number>, wallS: number, cpuS: number): object => {
      const d = (k: string): number => (b[k] ?? NaN) - (a[k] ?? NaN);
      const secs = d('iom_nodejs_gc_duration_seconds_sum');
      return {
        seconds: round1(secs, 100), pauses: d('iom_nodejs_gc_duration_seconds_count'),
        pctOfWall: round1((secs / wallS) * 100), pctOfServiceCpu: round1((secs / cpuS) * 100),
        byKind: Object.fromEntries(['minor', 'major', 'incremental', 'weakcb'].map((k) => [k, { seconds: Math.round(d(`gc_${k}_sum`) * 1000) / 1000, pauses: d(`gc_${k}_count`) }])),
      };
    };
    const gc1 = gcOf(metricsStart, metricsMid, phase1WallS, cpuSvc1 - cpuSvc0) as { seconds: number | null; pctOfServiceCpu: number | null; byKind: Record<string, { seconds: number }> };
    const gc2 = gcOf(metricsMid, metricsEnd, phase2WallS, cpuSvc2 - cpuSvc1) as { seconds: number | null; pctOfServiceCpu: number | null };

    log('');
    log(formatTable(['result', 'value'], [
      ['phase 1 sustained (acked)', `${fmt(phase1.fixesPerSec)} fixes/s`],
      ['phase 1 send→ack p50 / p99', `${fmt(phase1.ackP50Ms, 1)} / ${fmt(phase1.ackP99Ms, 1)} ms`],
      ['phase 2 rate, send→ack p50 / p99', `${fmt(halfRate)} fixes/s, ${fmt(phase2.ackP50Ms, 1)} / ${fmt(phase2.ackP99Ms, 1)} ms`],
      ['service RSS start / middle / end', pid === null ? 'n/a' : `${startSample.rssMB} / ${fmt(midMB)} / ${fmt(endMB)} MB after-GC floors (medians ${fmt(midMedianMB)} / ${fmt(endMedianMB)}; after phase 2 ${endSample.rssMB}) → ${memoryVerdict}`],
      ['CPU in phase 1: service / redis / bench', `${fmt(serviceCpuPct1)} % / ${fmt(redisCpuPct1)} % / ${fmt(phase1.clientCpuPct)} % (of one core)`],
      ['machine in phase 1 (all cores)', `${fmt(machineBusyPct1)} % busy of ${env.logicalCpus * 100} %; other processes${pid === null ? ' (the service included)' : ''} ${fmt(othersPct1)} %; load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`],
      ['service GC in phase 1 / 2', `${fmt(gc1.seconds ?? NaN, 1)} s (${fmt(gc1.pctOfServiceCpu ?? NaN, 1)} % of its CPU; major ${fmt(gc1.byKind.major?.seconds ?? NaN, 1)} s) / ${fmt(gc2.seconds ?? NaN, 1)} s (${fmt(gc2.pctOfServiceCpu ?? NaN, 1)} %)`],
      ['group commits in phase 1', Number.isNaN(groups) ? 'n/a' : `${fmt(groups)} (${fmt(accepted1 / groups)} fixes each, EXEC ${fmt((groupSecs / groups) * 1000, 1)} ms mean)`],
      ['fixes recorded / acked', `${fmt(verify.recorded)} / ${fmt(verify.acked)} (${verify.method})`],
      ['alert events raised during the run', fmt((metricsEnd.iom_alerts_total ?? 0) - (metricsStart.iom_alerts_total ?? 0))],
      ['late / backlog-burst fixes sent', `${fmt(fleet.late)} / ${fmt(fleet.burst)} of ${fmt(fleet.generated)}`],
      ...http.map((h) => [h.name, `${fmt(h.requestsPerSec)} req/s, p99 ${fmt(h.latencyP99Ms, 1)} ms`]),
      ['zone import', zoneImport === null ? 'skipped' : `${fmt(zoneImport.zones)} zones (${zoneImport.payloadMB} MB) in ${zoneImport.seconds.toFixed(2)} s`],
    ]));
    log('');
    log('targets');
    for (const t of targets) log(`  ${pf(t.pass)}  ${t.target}: ${t.measured}`);
    if (o.quick) log('  (BENCH_QUICK: phases are 10 s; the sustained-60-s target needs a full run)');
    if (load.firstErrors.length > 0) log(`service complaints (first of ${load.totalRefused + load.totalFailed}): ${load.firstErrors.slice(0, 5).join(' | ')}`);
    if (fleet.clamped > 0) log(`note: ${fmt(fleet.clamped)} fixes had their time held back to stay behind the real clock`);
    if (profile !== null) {
      log(`\nservice CPU profile (${profile.file}), phase 1's measured window:\n${formatProfile(profile.phase1)}`);
      log(`\nphase 2's measured window:\n${formatProfile({ ...profile.phase2, top: profile.phase2.top.slice(0, 12) })}`);
    }

    const strip = (p: PhaseStats): object => ({ ...p, seconds: p.seconds.map((s) => ({ t: s.t, sent: s.sent, acked: s.acked, p99Ms: Number.isNaN(s.p99Ms) ? null : Math.round(s.p99Ms * 10) / 10 })) });
    const file = writeResults('ingest', {
      summary: {
        fixesPerSec: Math.round(phase1.fixesPerSec),
        ackP99Ms: round1(phase1.ackP99Ms),
        ackP50Ms: round1(phase1.ackP50Ms),
        ackP99At50PctMs: round1(phase2.ackP99Ms),
        ackP50At50PctMs: round1(phase2.ackP50Ms),
        rateAt50Pct: halfRate,
        allRecorded: verify.equal,
        memory: memoryVerdict,
        zoneImportSeconds: zoneImport === null ? null : round1(zoneImport.seconds, 100),
      },
      targets: targets.map((t) => ({ ...t, pass: t.pass })),
      node: env.node,
      cpu: env.cpu,
      logicalCpus: env.logicalCpus,
      env,
      command,
      quick: o.quick,
      service: serviceRevision(root),
      config: {
        target: o.url === null ? 'self-started service' : baseUrl,
        connections: o.connections, batch: o.batch, window: o.window, rate: o.rate, durationS: o.durationS, warmupS: o.warmupS,
        tags: o.tags, subjects: world.subjects.length, zones: world.zones.length, tsFormat: o.tsFormat, seed: o.seed,
        curfew: `${curfew.start}-${curfew.end}`, simStart: new Date(simStartMs).toISOString(),
        serviceEnv: svc === null ? null : Object.fromEntries(Object.entries(svc.env).filter(([k]) => k !== 'API_TOKENS')),
        redis: redisBefore === null ? null : { version: redisBefore.version, appendonly: redisBefore.appendonly },
        httpConnections: o.httpConnections, httpDurationS: o.httpDurationS,
      },
      seeding: seed,
      phase1: strip(phase1),
      phase2: strip(phase2),
      cpu1: {
        servicePct: round1(serviceCpuPct1), redisPct: round1(redisCpuPct1), benchPct: round1(phase1.clientCpuPct),
        machineBusyPct: round1(machineBusyPct1), otherProcessesPct: round1(othersPct1), loadAverage1m: [round1(load0), round1(load1)],
        note: 'percent of one core over phase 1 (warm-up included); Redis figure is the whole Redis server; machineBusyPct is over all cores',
      },
      gc: {
        phase1: gc1, phase2: gc2,
        note: 'the service\'s GC pause time from its iom_nodejs_gc_duration_seconds (prom-client, perf_hooks), warm-ups included; pctOfServiceCpu: of the service\'s CPU seconds in the phase',
      },
      commits1: { groups, fixesPerGroup: round1(accepted1 / groups), execMeanMs: round1((groupSecs / groups) * 1000) },
      rss: {
        unit: 'MB',
        start: startSample.rssMB, middle: round1(midMB), endPhase1: round1(endMB), end: endSample.rssMB,
        middleMedian: round1(midMedianMB), endPhase1Median: round1(endMedianMB),
        method: 'start: before load; middle/endPhase1: lowest sample (after-GC floor) of the middle and last third of phase 1, medians beside; end: after phase 2; flat when the floor grows < 10 %',
        growthPct: round1(growthPct), slopeMBPerMin: round1(slope), verdict: memoryVerdict,
        heapUsedMB: { start: mb(metricsStart.iom_nodejs_heap_size_used_bytes), endPhase1: mb(metricsMid.iom_nodejs_heap_size_used_bytes), end: mb(metricsEnd.iom_nodejs_heap_size_used_bytes) },
        samples: rss,
      },
      verification: verify,
      fleet: { generated: fleet.generated, burst: fleet.burst, late: fleet.late, clamped: fleet.clamped },
      http,
      zoneImport,
      redisMemoryMB: { before: redisBefore?.usedMemoryMB ?? null, after: redisAfter?.usedMemoryMB ?? null },
      alertEventsRaised: (metricsEnd.iom_alerts_total ?? 0) - (metricsStart.iom_alerts_total ?? 0),
      errors: load.firstErrors,
      profile,
    });
    log(`\nwrote ${file}`);
    if (svc === null) log(`left in ${baseUrl}: subjects and zones ${runPrefix}-* and their fixes (${runPrefix}-IMP-* are the imported zones)`);
  } finally {
    await stopService();
    if (svc !== null && !o.keepData) {
      const n = await deletePrefix(o.redisUrl, svc.keyPrefix).catch(() => -1);
      log(`removed ${n} Redis keys under ${svc.keyPrefix}:`);
    }
  }
  return 0;
}

function round1(v: number, scale = 10): number | null {
  return Number.isFinite(v) ? Math.round(v * scale) / scale : null;
}

function mb(bytes: number | undefined): number | null {
  return bytes === undefined ? null : Math.round(bytes / 2 ** 20);
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`bench:ingest failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
