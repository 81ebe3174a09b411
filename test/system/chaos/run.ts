#!/usr/bin/env node
/**
 * `npm run chaos`: fault injection against the live service (see docs/reliability.md).
 *
 * Starts a private redis-server (AOF everysec, temp dir, free port; the shared 6379 is never
 * touched), and for each scenario the real service and delivery workers as child processes, then
 * breaks things: Redis killed for 30 s, the service and a worker SIGKILLed, a webhook receiver
 * that hangs / 500s / cuts connections, 10,000 idle connections, slow readers, slowloris,
 * oversize messages, one token flooding past its rate limit, and a steady soak with the heap
 * sampled. Prints a table; exits 1 if anything acknowledged was lost, anything was delivered
 * twice on the live stream, an event was never delivered, or any other check failed.
 *
 *   npm run chaos                     every scenario, full length (soak CHAOS_SOAK_S=60 s)
 *   npm run chaos -- --ci             every scenario shortened (< 3 min; also CHAOS_CI=1)
 *   CHAOS_SOAK_S=3600 npm run chaos   the hour-long soak
 *   CHAOS_ONLY=redis-outage,soak npm run chaos    a subset
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchEnv } from '../../../bench/common/env.js';
import { formatTable, fmt } from '../../../bench/common/table.js';
import { installCleanup, stopAll } from '../../../bench/common/procs.js';
import { PrivateRedis } from './redis.js';
import { connections } from './s-conns.js';
import { processKill } from './s-kill.js';
import { redisOutage } from './s-redis.js';
import { soak } from './s-soak.js';
import { webhookChaos } from './s-webhook.js';
import type { Ctx, Result } from './scenario.js';
import { ROOT } from './stack.js';
import { log, mb, nofileLimits } from './util.js';

const SCENARIOS: [string, (ctx: Ctx) => Promise<Result>][] = [
  ['redis-outage', redisOutage],
  ['process-kill', processKill],
  ['webhook-chaos', webhookChaos],
  ['connections', connections],
  ['soak', soak],
];

const NEEDED_FDS = 12_000;

async function main(): Promise<number> {
  const ci = process.argv.includes('--ci') || process.env.CHAOS_CI === '1' || process.env.CHAOS_CI === 'true';
  const soakS = Number(process.env.CHAOS_SOAK_S ?? (ci ? 15 : 60));
  if (!Number.isFinite(soakS) || soakS < 5) throw new Error(`CHAOS_SOAK_S must be a number of seconds >= 5, got ${process.env.CHAOS_SOAK_S}`);
  const only = (process.env.CHAOS_ONLY ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const o of only) if (!SCENARIOS.some(([n]) => n === o)) throw new Error(`CHAOS_ONLY: unknown scenario ${o} (have ${SCENARIOS.map(([n]) => n).join(', ')})`);
  for (const f of ['dist/src/server/main.js', 'dist/workers/main.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run "npm run build" (npm run chaos does)`);
  }

  let redis: PrivateRedis | null = null;
  installCleanup(async () => {
    await redis?.stop().catch(() => undefined);
    redis?.removeDir();
  }, log);
  const env = benchEnv();
  const lim = nofileLimits();
  log(`chaos ${ci ? '(CI, shortened)' : '(full)'}: node ${env.node}, ${env.cpu} × ${env.logicalCpus}, ${env.totalMemGiB} GiB, open files ${lim.soft}/${lim.hard}, soak ${soakS} s`);
  redis = await PrivateRedis.create();
  log(`private redis-server on ${redis.url}, AOF in ${redis.dir}`);
  const ctx: Ctx = { redis, ci, soakS };
  const results: Result[] = [];
  const started = Date.now();
  for (const [name, run] of SCENARIOS) {
    if (only.length > 0 && !only.includes(name)) continue;
    results.push(await run(ctx));
  }
  await redis.stop();
  redis.removeDir();
  await stopAll(5000, log);

  const rows = results.map((r) => [
    r.name,
    fmt(r.seconds),
    fmt(r.fixesSent),
    fmt(r.acked),
    r.trail === null ? 'n/a' : fmt(r.trail.recorded),
    r.trail === null ? 'n/a' : fmt(r.trail.missing + r.trail.duplicated),
    r.alerts === null ? 'n/a' : fmt(r.alerts.expected),
    r.alerts === null ? 'n/a' : fmt(r.alerts.recorded),
    r.alerts === null ? 'n/a' : fmt(r.alerts.delivered),
    r.alerts === null ? 'n/a' : `${fmt(r.alerts.dupKeys)}/${fmt(r.alerts.dupExtra)}`,
    r.alerts === null ? 'n/a' : fmt(r.alerts.rawRepeats),
    r.alerts === null ? 'n/a' : `${fmt(r.alerts.streamDupWithin)}/${fmt(r.alerts.streamRepeatsAcross)}`,
    fmt(r.nacks),
    fmt(r.errors),
    mb(r.rssPeak),
    r.failures.length === 0 ? 'PASS' : 'FAIL',
  ]);
  const out: string[] = [];
  out.push('');
  out.push(`npm run chaos${ci ? ' -- --ci' : ''}  (soak ${soakS} s; node ${env.node}; ${env.cpu}, ${env.logicalCpus} logical CPUs, ${env.totalMemGiB} GiB; ${env.platform}/${env.arch}; redis-server private, AOF everysec)`);
  out.push('');
  out.push(formatTable(
    ['scenario', 's', 'fixes sent', 'acked', 'recorded', 'lost/dup', 'alerts exp', 'recorded', 'delivered', 'dup 2xx keys/extra', 'raw repeats', 'stream dup conn/all', 'nacked', 'errors', 'RSS peak MB', 'result'],
    rows,
  ));
  out.push('');
  out.push('Columns: "acked" fixes the client got an ack for; "recorded" trail entries in Redis; "lost/dup" acked fixes missing from the trail + fixes');
  out.push('recorded twice; "alerts exp" episode events the engine raises replaying the acked fixes; "recorded" events in Redis; "delivered" expected');
  out.push('events the receiver answered 2xx at least once (signature verified); "dup 2xx keys/extra" keys the receiver answered 2xx more than');
  out.push('once / extra 2xx answers (at-least-once: a deduping receiver drops them); "raw repeats" requests beyond the first per key, any answer;');
  out.push('"stream dup" keys shown twice on one /v1/alerts/stream connection / across reconnections; "nacked" fixes answered "nack" (resent);');
  out.push('"errors" error replies; "RSS peak" of the service process.');
  for (const r of results) {
    out.push('');
    out.push(`${r.name}: ${r.failures.length === 0 ? 'PASS' : 'FAIL'}`);
    for (const n of r.notes) out.push(`  - ${n}`);
    if (r.trail !== null && r.trail.unacknowledgedRecorded > 0) out.push(`  - ${r.trail.unacknowledgedRecorded} fix(es) recorded that the client never got an ack for (reply lost or client gave up): allowed`);
    if (r.alerts !== null) {
      const a = r.alerts;
      out.push(`  - alerts: ${a.redisEpisodes} episodes in Redis (API lists ${Number.isFinite(a.apiEpisodes) ? a.apiEpisodes : 'n/a'}); live stream saw ${a.streamSeen}/${a.expected} expected events; dead letters ${a.deadLetters}; bad signatures ${a.badSignatures}`);
      for (const s of a.samples) out.push(`  - ${s}`);
    }
    for (const f of r.failures) out.push(`  ! ${f.split('\n').join('\n    ')}`);
  }
  const failed = results.filter((r) => r.failures.length > 0);
  out.push('');
  out.push(`${results.length} scenario(s) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${failed.length === 0 ? 'all passed' : `${failed.length} FAILED (${failed.map((r) => r.name).join(', ')})`}`);
  process.stdout.write(out.join('\n') + '\n');
  return failed.length === 0 ? 0 : 1;
}

/** Re-runs this script under a raised open-file limit when the soft limit is too low for 10,000 connections. */
function reexecWithMoreFds(): boolean {
  if (process.env.CHAOS_REEXEC === '1') return false;
  const lim = nofileLimits();
  if (!(lim.soft < NEEDED_FDS)) return false;
  const target = Math.min(lim.hard, 65_536);
  if (!(target > lim.soft)) return false;
  log(`raising the open-file limit from ${lim.soft} to ${target} (ulimit -n) and re-running`);
  const child = spawn('bash', ['-c', `ulimit -n ${target} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, CHAOS_REEXEC: '1' },
  });
  const forward = (s: NodeJS.Signals): void => {
    child.kill(s);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
  return true;
}

if (!reexecWithMoreFds()) {
  main().then(
    (code) => process.exit(code),
    async (e: Error) => {
      process.stderr.write(`chaos harness failed: ${e.stack ?? e.message}\n`);
      await stopAll(3000, log).catch(() => undefined);
      process.exit(2);
    },
  );
}
