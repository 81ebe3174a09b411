#!/usr/bin/env node
/**
 * `npm run chaos:cluster` (also the second half of `npm run chaos`): faults against several
 * service instances on a real Redis Cluster (3 primaries + 3 replicas on loopback, started and
 * stopped here; docs/scaling.md). Scenarios, each under ingest load on a fresh KEY_PREFIX:
 *  - throughput with 1, 2 and 3 instances (fixes acked per second, this machine);
 *  - instance-kill: SIGKILL one of three instances mid-stream;
 *  - primary-kill: SIGKILL the Redis primary of a partition (its replica is promoted);
 *  - stall: SIGSTOP one instance past its lease, SIGCONT after another took over (it must not
 *    write again: the fencing token refuses it);
 *  - curfew-instance-kill, curfew-primary-kill: thousands of curfew deadlines in the same second
 *    (the wave), an instance or the Redis primary holding the most partitions SIGKILLed as the
 *    wave's timers fire (cluster-curfew.ts): every subject out at the deadline gets exactly one
 *    curfew episode, delivered once; nobody home gets one.
 * Every acked fix must end up in its device's trail exactly once; every subject enters its zone
 * once, so exactly one episode each; webhook deliveries are counted per idempotency key.
 * Figures: bench/results/chaos-cluster.json. Exits 1 on any loss or double.
 *
 *   npm run chaos:cluster            full size
 *   CHAOS_CI=1 npm run chaos:cluster CI size (about 6 min on the busy 2-core machine)
 *   CHAOS_ONLY=curfew-instance-kill,throughput npm run chaos:cluster   some of them (figures not written)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { benchEnv } from '../../../bench/common/env.js';
import { writeResults } from '../../../bench/common/results.js';
import { decodeFix } from '../../../src/engine/fix-codec.js';
import { Keys } from '../../../src/server/keys.js';
import { clusterNodeArgs, freeClusterBase, primaryPortOf, startLocalCluster, stopLocalCluster, waitClusterOk, type LocalCluster } from '../../../src/server/local-cluster.js';
import { redisClient } from '../../../src/server/redis-client.js';
import { api, killAllInstances, signalInstance, exclusionSubject, fix, FAR_X, INSIDE_X, sleep, spawnInstance, streamUntilAcked, zoneX, type FixIn, type Instance as ChildService, type Scenario } from './cluster-kit.js';
import { curfewScenario, partitionsByPrimary, SetupOverrun, type CurfewFault, type CurfewRun } from './cluster-curfew.js';
import { Receiver } from './receiver.js';

const ci = process.argv.includes('--ci') || process.env.CHAOS_CI === '1' || process.env.CHAOS_CI === 'true';
const P = 16;
const LEASE_TTL_MS = 2000;
const DEVICES = ci ? 32 : 240;
const SEQS = ci ? 24 : 60;
const THROUGHPUT_FIXES = ci ? 4000 : 30_000;
/** Subjects of the curfew wave, and the seconds their set-up may take before the deadline. */
const CURFEW_SUBJECTS = ci ? 1000 : 3000;
const CURFEW_SETUP_S = ci ? 30 : 45;
const only = (process.env.CHAOS_ONLY ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
const wanted = (name: string): boolean => only.length === 0 || only.includes(name);
const log = (m: string): void => void process.stdout.write(`[chaos-cluster] ${m}\n`);

const team = { id: 'iom-ha', secret: `ha-${randomBytes(12).toString('hex')}`, path: '/hook/iom-ha' };

class Run {
  readonly prefix = `{chaos-ha-${randomBytes(3).toString('hex')}}`;
  readonly keys = new Keys(this.prefix, P);
  readonly instances: ChildService[] = [];
  readonly ids: string[] = [];
  constructor(readonly cluster: LocalCluster, readonly redis: Redis, readonly receiver: Receiver | null) {}

  private env: Record<string, string> = {};

  async start(n: number, workers: number, env: Record<string, string> = {}): Promise<void> {
    this.env = {
      PARTITIONS: String(P), LEASE_TTL_MS: String(LEASE_TTL_MS), WORKERS: String(workers), WEBHOOK_ALLOW_HOSTS: '127.0.0.1', SNAPSHOT_INTERVAL_MS: '2000',
      DELIVERY_BACKOFF_MS: '200', ...env,
    };
    const ids = Array.from({ length: n }, (_, i) => `i${i + 1}`);
    // Started together (on a busy machine one by one takes a while).
    const started = await Promise.all(ids.map((id) => spawnInstance(this.cluster, this.prefix, id, this.env)));
    this.ids.push(...ids);
    this.instances.push(...started);
    // Ownership settles: every partition leased, each instance holding some.
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const leases = await this.leases();
      if (leases.every((l) => l !== null) && this.ids.every((id) => leases.some((l) => l?.startsWith(`${id}/`) === true))) return;
      await sleep(200);
    }
    throw new Error('partition ownership did not settle within 20 s');
  }

  /** Starts instance k again (same INSTANCE_ID and settings), as a supervisor would after it died. */
  async restart(k: number): Promise<void> {
    this.instances[k] = await spawnInstance(this.cluster, this.prefix, this.ids[k], this.env);
  }

  leases(): Promise<(string | null)[]> {
    return Promise.all(Array.from({ length: P }, (_, n) => this.redis.get(this.keys.partition(n).lease)));
  }

  async configure(devices: number): Promise<void> {
    const url = this.instances[0].url;
    const op = async (method: string, path: string, body?: unknown): Promise<void> => {
      const r = await api(url, method, path, body);
      if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    };
    if (this.receiver !== null) await op('PUT', `/v1/teams/${team.id}`, { webhooks: [{ id: 'default', url: this.receiver.url(team.path), secret: team.secret, timeoutMs: 5000 }] });
    await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'));
    for (let i = 0; i < devices; i++) await op('PUT', `/v1/subjects/S-${i}`, exclusionSubject(`S-${i}`, `HA-${i}`, team.id, 'Z-X'));
    // The other instances learn the subjects through the configuration-change stream.
    await sleep(1500);
  }

  /** Time until no partition is held by `dead` (or unheld) and every inbox is drained; and until the leases alone had moved. */
  async takeover(t0: number, dead: string | null): Promise<{ total: number; leases: number }> {
    const until = Date.now() + 60_000;
    let leasesAt = Infinity;
    while (Date.now() < until) {
      const leases = await this.leases().catch(() => [null]);
      const held = leases.every((l) => l !== null && (dead === null || !l.startsWith(`${dead}/`)));
      if (held) {
        if (leasesAt === Infinity) leasesAt = (Date.now() - t0) / 1000;
        const inboxes = await Promise.all(Array.from({ length: P }, (_, n) => this.redis.xlen(this.keys.partition(n).inbox).catch(() => 1)));
        if (inboxes.every((x) => x === 0)) return { total: (Date.now() - t0) / 1000, leases: leasesAt };
      }
      await sleep(100);
    }
    return { total: Infinity, leases: leasesAt };
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map(async (c) => {
      if (c.child.exitCode !== null || c.child.signalCode !== null) return;
      signalInstance(c.child, 'SIGCONT');
      c.child.kill('SIGTERM');
      await Promise.race([c.exited, sleep(8000)]);
      signalInstance(c.child, 'SIGKILL');
    }));
  }
}

function fixesFor(devices: number, seqs: number): FixIn[] {
  const t0 = Date.now() - 6 * 3600_000;
  const out: FixIn[] = [];
  for (let s = 1; s <= seqs; s++) for (let i = 0; i < devices; i++) out.push(fix(`HA-${i}`, s, t0 + s * 1000, s <= seqs / 2 ? FAR_X : INSIDE_X));
  return out;
}

async function throughput(cluster: LocalCluster, redis: Redis, n: number): Promise<number> {
  const run = new Run(cluster, redis, null);
  try {
    await run.start(n, 0);
    const devices = 120;
    await run.configure(devices);
    const fixes: FixIn[] = [];
    const t0 = Date.now() - 6 * 3600_000;
    for (let s = 1; fixes.length < THROUGHPUT_FIXES; s++) for (let i = 0; i < devices; i++) fixes.push(fix(`HA-${i}`, s, t0 + s * 1000, FAR_X));
    const acked = new Set<string>();
    // Two connections per instance, each its own devices (as tags behind a load balancer).
    const shards = run.instances.flatMap((c) => [c.url, c.url]);
    const started = Date.now();
    await Promise.all(shards.map((url, k) => streamUntilAcked(() => [url], fixes.filter((f) => Number(f.deviceId.slice(3)) % shards.length === k), acked, { per: 50, deadlineMs: 120_000 })));
    const perS = acked.size / ((Date.now() - started) / 1000);
    log(`throughput, ${n} instance(s): ${acked.size} fixes, ${perS.toFixed(0)} fixes/s`);
    return Math.round(perS);
  } finally {
    await run.stop();
  }
}

async function faultScenario(name: string, cluster: LocalCluster, redis: Redis, receiver: Receiver, fault: (run: Run) => Promise<{ t0: number; dead: string | null; after?: () => Promise<void> }>): Promise<Scenario> {
  const run = new Run(cluster, redis, receiver);
  const started = Date.now();
  receiver.keys.clear();
  try {
    await run.start(3, 1);
    await run.configure(DEVICES);
    const fixes = fixesFor(DEVICES, SEQS);
    const acked = new Set<string>();
    const faulted: { p: Promise<{ t0: number; dead: string | null; after?: () => Promise<void> }> | null } = { p: null };
    const deadIds = new Set<string>();
    const urls = (): string[] => run.instances.filter((_, k) => !deadIds.has(run.ids[k])).map((c) => c.url);
    await streamUntilAcked(urls, fixes, acked, {
      per: 8, pauseMs: 2, deadlineMs: 120_000,
      onAck: () => {
        if (faulted.p === null && acked.size >= fixes.length * 0.4) {
          faulted.p = fault(run).then((f) => {
            if (f.dead !== null) deadIds.add(f.dead);
            return f;
          });
        }
      },
    });
    const f = await (faulted.p ?? Promise.reject(new Error('the fault never fired')));
    const { total: takeoverSeconds, leases: leasesMovedSeconds } = await run.takeover(f.t0, f.dead);
    await f.after?.();
    // Every acked fix in its trail, once.
    let ackedLost = 0;
    let trailDoubles = 0;
    const until = Date.now() + 30_000;
    for (;;) {
      ackedLost = 0;
      trailDoubles = 0;
      for (let i = 0; i < DEVICES; i++) {
        const seqs = (await redis.xrange(run.keys.trail(`HA-${i}`), '-', '+')).map(([, fl]) => decodeFix(`HA-${i}`, fl).seq);
        const have = new Set(seqs);
        trailDoubles += seqs.length - have.size;
        for (let s = 1; s <= SEQS; s++) if (acked.has(`HA-${i}#${s}`) && !have.has(s)) ackedLost++;
      }
      if (ackedLost === 0 || Date.now() > until) break;
      await sleep(500);
    }
    // Every subject entered its zone once: one open episode each, never two at once.
    const episodes = await redis.zrange(run.keys.alertsAll, 0, -1);
    const open = await redis.smembers(run.keys.openAll);
    // A late episode (late: true, a resent fix evaluated after a later one) stays open until the
    // device's next in-order message, which never comes here: counted in lateEpisodes, not as a
    // breach opened twice.
    const openedOf = await Promise.all(open.map((e) => redis.hget(run.keys.alert(e), 'opened')));
    const openPerSubject = new Map<string, number>();
    open.forEach((e, k) => {
      if ((JSON.parse(openedOf[k] ?? '{}') as { late?: boolean }).late === true) return;
      openPerSubject.set(e.split(':')[0], (openPerSubject.get(e.split(':')[0]) ?? 0) + 1);
    });
    const doubleEpisodes = [...openPerSubject.values()].filter((n) => n > 1).length + Math.max(0, DEVICES - openPerSubject.size);
    const lateEpisodes = Math.max(0, episodes.length - DEVICES);
    const wantKeys = episodes.map((e) => `${team.path} ${e}:opened`);
    const deliverUntil = Date.now() + 30_000;
    while (Date.now() < deliverUntil && wantKeys.some((k) => (receiver.keys.get(k)?.ok ?? 0) === 0)) await sleep(250);
    const undelivered = wantKeys.filter((k) => (receiver.keys.get(k)?.ok ?? 0) === 0).length;
    const duplicateDeliveries = [...receiver.keys.values()].filter((c) => c.ok > 1).length;
    const s: Scenario = {
      name, fixesSent: fixes.length, acked: acked.size, ackedLost, trailDoubles, doubleEpisodes, lateEpisodes,
      duplicateDeliveries, undelivered, takeoverSeconds, leasesMovedSeconds, seconds: (Date.now() - started) / 1000,
    };
    log(`${name}: ${JSON.stringify(s)}`);
    if (undelivered > 0 || ackedLost > 0) for (const [k, c] of run.instances.entries()) log(`--- ${run.ids[k]} output:\n${c.output().slice(-2500)}`);
    return s;
  } finally {
    await run.stop();
  }
}

async function main(): Promise<number> {
  const env = benchEnv();
  log(`${ci ? 'CI-sized' : 'full'} run: node ${env.node}, ${env.cpu} × ${env.logicalCpus}`);
  const dir = mkdtempSync(join(tmpdir(), 'iom-chaos-cluster-'));
  const cluster = await startLocalCluster({ basePort: await freeClusterBase(), dir });
  const cleanup = (): void => {
    killAllInstances();
    for (const n of cluster.nodes) n.child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  };
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  log(`Redis Cluster on ${cluster.seeds}`);
  const redis = redisClient({ redisUrl: '', redisClusterNodes: cluster.seeds }, { maxRetriesPerRequest: 50 });
  redis.on('error', () => undefined);
  const receiver = await Receiver.start([team]);
  const scenarios: (Scenario & { curfew?: { missedEpisodes: number; falseEpisodes: number; unexpectedEvents: number; openSetWrong: number } })[] = [];
  const fixesPerSecByInstances: Record<string, number> = {};
  try {
    if (wanted('throughput')) for (const n of [1, 2, 3]) fixesPerSecByInstances[String(n)] = await throughput(cluster, redis, n);
    if (wanted('instance-kill')) scenarios.push(await faultScenario('instance-kill', cluster, redis, receiver, async (run) => {
      const t0 = Date.now();
      signalInstance(run.instances[0].child, 'SIGKILL');
      return { t0, dead: run.ids[0] };
    }));
    if (wanted('primary-kill')) scenarios.push(await faultScenario('primary-kill', cluster, redis, receiver, async (run) => {
      const port = await primaryPortOf(cluster, run.keys.partition(0).log);
      const node = cluster.nodes.find((x) => x.port === port);
      const t0 = Date.now();
      node?.child?.kill('SIGKILL');
      await sleep(500);
      await waitClusterOk(cluster, 30_000);
      return {
        t0, dead: null,
        // The old primary comes back (as a replica of the promoted one).
        after: async () => {
          if (node === undefined) return;
          node.child = spawn('redis-server', clusterNodeArgs(node.port, node.dir, false), { stdio: 'ignore' });
          await waitClusterOk(cluster, 30_000);
        },
      };
    }));
    if (wanted('stall')) scenarios.push(await faultScenario('stall', cluster, redis, receiver, async (run) => {
      const t0 = Date.now();
      const stalled = run.instances[1];
      signalInstance(stalled.child, 'SIGSTOP');
      return {
        t0, dead: run.ids[1],
        after: async () => {
          await sleep(LEASE_TTL_MS);
          signalInstance(stalled.child, 'SIGCONT');
          await sleep(3000);
        },
      };
    }));
    const curfew = (name: string, fault: (run: CurfewRun) => Promise<CurfewFault>): Promise<Scenario & { curfew: { missedEpisodes: number; falseEpisodes: number; unexpectedEvents: number; openSetWrong: number } }> =>
      curfewScenario({ name, subjects: CURFEW_SUBJECTS, setupS: CURFEW_SETUP_S, cluster, redis, receiver, team, run: new Run(cluster, redis, receiver), fault, log }).catch((e: Error) => {
        if (!(e instanceof SetupOverrun)) throw e;
        // A machine too busy for the set-up budget: once more with twice the budget.
        log(`${name}: ${e.message}; once more with a set-up budget of ${CURFEW_SETUP_S * 2} s`);
        return curfewScenario({ name, subjects: CURFEW_SUBJECTS, setupS: CURFEW_SETUP_S * 2, cluster, redis, receiver, team, run: new Run(cluster, redis, receiver), fault, log });
      });
    // The instance holding the most partitions dies as the wave fires (with its delivery worker).
    if (wanted('curfew-instance-kill')) scenarios.push(await curfew('curfew-instance-kill', async (run) => {
      const leases = await run.leases();
      const held = (id: string): number[] => leases.flatMap((l, n) => (l?.startsWith(`${id}/`) === true ? [n] : []));
      const victim = [...run.ids].sort((a, b) => held(b).length - held(a).length)[0];
      const k = run.ids.indexOf(victim);
      return {
        what: `SIGKILL instance ${victim} (partitions ${held(victim).join(' ')}); started again after the takeover`, partitions: held(victim), dead: victim, restart: true,
        strike: async () => signalInstance(run.instances[k].child, 'SIGKILL'),
      };
    }));
    // The Redis primary holding the most partition logs dies as the wave fires; its replica is promoted.
    if (wanted('curfew-primary-kill')) scenarios.push(await curfew('curfew-primary-kill', async (run) => {
      const byPrimary = [...(await partitionsByPrimary(cluster, run.keys)).entries()].sort((a, b) => b[1].length - a[1].length);
      const [port, parts] = byPrimary[0];
      const node = cluster.nodes.find((x) => x.port === port);
      const global = (await primaryPortOf(cluster, run.keys.alertsAll)) === port;
      return {
        what: `SIGKILL redis primary :${port} (partitions ${parts.join(' ')}${global ? '; also the slot of alert records, trails and queues' : ''})`, partitions: parts, dead: null,
        strike: async () => {
          node?.child?.kill('SIGKILL');
          await sleep(500);
          await waitClusterOk(cluster, 30_000);
        },
        after: async () => {
          if (node === undefined) return;
          node.child = spawn('redis-server', clusterNodeArgs(node.port, node.dir, false), { stdio: 'ignore' });
          await waitClusterOk(cluster, 30_000);
        },
      };
    }));
  } finally {
    redis.disconnect();
    await receiver.close();
    await stopLocalCluster(cluster);
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = {
    ackedLost: scenarios.reduce((n, s) => n + s.ackedLost + s.trailDoubles, 0),
    duplicateDeliveries: scenarios.reduce((n, s) => n + s.duplicateDeliveries, 0),
    doubleEpisodes: scenarios.reduce((n, s) => n + s.doubleEpisodes, 0),
    takeoverSecondsMax: Math.max(0, ...scenarios.map((s) => s.takeoverSeconds)),
    fixesPerSecByInstances,
  };
  const results = {
    env, ci, partitions: P, leaseTtlMs: LEASE_TTL_MS, devices: DEVICES, seqs: SEQS, curfewSubjects: CURFEW_SUBJECTS,
    note: 'taken on the shared 2-core development machine while other work ran; every process (3 instances, 3 workers, 6 redis-servers, the load) shares the 2 cores',
    summary, scenarios,
  };
  // A partial run (CHAOS_ONLY) leaves the figures of the last full run in place.
  const file = only.length === 0 ? writeResults('chaos-cluster', results) : '(not written: CHAOS_ONLY)';
  log(`summary ${JSON.stringify(summary)} → ${file}`);
  const undelivered = scenarios.reduce((n, s) => n + s.undelivered, 0);
  const missedEpisodes = scenarios.reduce((n, s) => n + (s.curfew?.missedEpisodes ?? 0), 0);
  const falseEpisodes = scenarios.reduce((n, s) => n + (s.curfew?.falseEpisodes ?? 0), 0);
  const wrongEvents = scenarios.reduce((n, s) => n + (s.curfew?.unexpectedEvents ?? 0) + (s.curfew?.openSetWrong ?? 0), 0);
  const bad = summary.ackedLost > 0 || summary.doubleEpisodes > 0 || summary.duplicateDeliveries > 0 || undelivered > 0 || missedEpisodes > 0 || falseEpisodes > 0 || wrongEvents > 0 || !Number.isFinite(summary.takeoverSecondsMax);
  if (bad) log(`FAILED: ${JSON.stringify({ ...summary, undelivered, missedEpisodes, falseEpisodes, wrongEvents })}`);
  return bad ? 1 : 0;
}

main().then((code) => process.exit(code), (e: Error) => {
  process.stderr.write(`chaos-cluster failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
