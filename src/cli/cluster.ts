#!/usr/bin/env node
/**
 * `npm run cluster` / `npm run cluster:stop`: a local Redis Cluster (3 primaries + 3 replicas on
 * loopback ports 7100-7105, `--cluster-enabled yes`, AOF on) and three service instances (HTTP
 * 8081-8083, one delivery worker each) on it, with PARTITIONS=16, REDIS_WAIT_REPLICAS=1 and
 * KEY_PREFIX={iom}. Everything runs in the background; logs and pid files are under
 * data/cluster/. See docs/scaling.md.
 *
 *   npm run cluster [-- --base-port 7100 --http-port 8081 --instances 3]
 *   npm run cluster:stop
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCluster } from '../server/local-cluster.js';
import { redisServerInstalled } from '../server/local-redis.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DIR = join(ROOT, 'data/cluster');
const STATE = join(DIR, 'state.json');

interface State {
  redisPorts: number[];
  instances: { id: string; pid: number; url: string }[];
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(process.argv[i + 1])}`);
  return v;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function start(): Promise<void> {
  if (existsSync(STATE)) {
    const s = JSON.parse(readFileSync(STATE, 'utf8')) as State;
    if (s.instances.some((i) => alive(i.pid))) throw new Error('a local cluster is already running (data/cluster/state.json): npm run cluster:stop first');
  }
  if (!redisServerInstalled()) throw new Error('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)');
  const basePort = arg('base-port', 7100);
  const httpPort = arg('http-port', 8081);
  const n = arg('instances', 3);
  for (const p of [DIR, join(DIR, 'nodes')]) mkdirSync(p, { recursive: true });
  rmSync(join(DIR, 'nodes'), { recursive: true, force: true });
  process.stdout.write(`starting a Redis Cluster: 3 primaries + 3 replicas on 127.0.0.1:${basePort}-${basePort + 5}\n`);
  const cluster = await startLocalCluster({ basePort, dir: join(DIR, 'nodes'), daemonize: true });
  const tokens: [string, string][] = ['operator', 'ingest', 'admin', 'team:iom-demo'].map((r) => [randomBytes(24).toString('base64url'), r]);
  const state: State = { redisPorts: cluster.nodes.map((x) => x.port), instances: [] };
  for (let i = 1; i <= n; i++) {
    const id = `i${i}`;
    const port = httpPort + i - 1;
    const out = openSync(join(DIR, `${id}.log`), 'a');
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/server/main.js')], {
      detached: true,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        REDIS_CLUSTER_NODES: cluster.seeds,
        KEY_PREFIX: '{iom}',
        PARTITIONS: '16',
        REDIS_WAIT_REPLICAS: '1',
        INSTANCE_ID: id,
        WORKERS: '1',
        API_TOKENS: tokens.map(([t, r]) => `${t}=${r}`).join(','),
      },
    });
    child.unref();
    state.instances.push({ id, pid: child.pid ?? -1, url: `http://127.0.0.1:${port}` });
  }
  writeFileSync(STATE, JSON.stringify(state, null, 2));
  for (const inst of state.instances) {
    let ok = false;
    for (let t = 0; t < 100 && !ok; t++) {
      try {
        const r = await fetch(`${inst.url}/readyz`, { headers: { authorization: `Bearer ${tokens[0][0]}` } });
        ok = r.ok;
      } catch {
        // not listening yet
      }
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    if (!ok) throw new Error(`instance ${inst.id} did not become ready: see data/cluster/${inst.id}.log (npm run cluster:stop cleans up)`);
  }
  process.stdout.write(`${n} service instances (one delivery worker each), any of them takes any request:\n`);
  for (const inst of state.instances) process.stdout.write(`  ${inst.id}  ${inst.url}  pid ${inst.pid}  log data/cluster/${inst.id}.log\n`);
  process.stdout.write('Tokens for this run only:\n');
  for (const [t, r] of tokens) process.stdout.write(`  ${r.padEnd(14)} ${t}\n`);
  process.stdout.write(`Try: curl -H "Authorization: Bearer ${tokens[0][0]}" ${state.instances[0].url}/readyz\n`);
  process.stdout.write('Kill one (kill -9 <pid>): its partitions move to the others within ~6 s. Stop all: npm run cluster:stop\n');
}

async function stop(): Promise<void> {
  if (!existsSync(STATE)) {
    process.stdout.write('no local cluster recorded in data/cluster/state.json\n');
    return;
  }
  const s = JSON.parse(readFileSync(STATE, 'utf8')) as State;
  for (const i of s.instances) if (alive(i.pid)) process.kill(i.pid, 'SIGTERM');
  for (let t = 0; t < 150 && s.instances.some((i) => alive(i.pid)); t++) await new Promise((r) => setTimeout(r, 100));
  for (const i of s.instances) if (alive(i.pid)) process.kill(i.pid, 'SIGKILL');
  for (const port of s.redisPorts) {
    const pidFile = join(DIR, 'nodes', String(port), 'redis.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && alive(pid)) process.kill(pid, 'SIGTERM');
  }
  rmSync(STATE, { force: true });
  process.stdout.write(`stopped ${s.instances.length} instances and ${s.redisPorts.length} Redis nodes\n`);
}

(process.argv[2] === 'stop' ? stop() : start()).catch((e: Error) => {
  process.stderr.write(`cluster: ${e.message}\n`);
  process.exit(1);
});
