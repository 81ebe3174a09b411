/**
 * A Redis Cluster on this machine, for development, tests and the chaos harness: `primaries`
 * primaries and as many replicas each, `redis-server --cluster-enabled yes` on consecutive
 * loopback ports, AOF on, no eviction, created with `redis-cli --cluster create`. Used by
 * `npm run cluster` (src/cli/cluster.ts), test/cluster and the chaos harness's cluster scenarios.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DURABLE_REDIS_ARGS, redisServerArgs, waitForRedis } from './local-redis.js';

export interface ClusterNode {
  readonly port: number;
  readonly dir: string;
  /** The server process (null when started daemonized by `npm run cluster`). */
  child: ChildProcess | null;
}

export interface LocalCluster {
  readonly nodes: ClusterNode[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…` for REDIS_CLUSTER_NODES. */
  readonly seeds: string;
  /** Replicas per primary. */
  readonly replicas: number;
}

/** cluster-node-timeout: how long a primary may be unreachable before its replica is promoted. */
export const CLUSTER_NODE_TIMEOUT_MS = 2000;

/** The arguments of one cluster node (`daemonize`: for `npm run cluster`, which outlives its own process). */
export function clusterNodeArgs(port: number, dir: string, daemonize: boolean): string[] {
  return redisServerArgs(port, dir, [
    ...DURABLE_REDIS_ARGS,
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
    // A replica takes over even if it lost contact with its primary a while ago (tests kill
    // primaries in quick succession).
    '--cluster-replica-validity-factor', '0',
    ...(daemonize ? ['--daemonize', 'yes', '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log')] : []),
  ]);
}

/**
 * Starts the nodes (ports basePort … basePort + primaries × (1 + replicas) − 1, data under
 * dir/<port>), creates the cluster, and waits until every node reports cluster_state:ok.
 */
export async function startLocalCluster(o: { basePort: number; dir: string; primaries?: number; replicas?: number; daemonize?: boolean }): Promise<LocalCluster> {
  const primaries = o.primaries ?? 3;
  const replicas = o.replicas ?? 1;
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < primaries * (1 + replicas); i++) {
    const port = o.basePort + i;
    const dir = join(o.dir, String(port));
    mkdirSync(dir, { recursive: true });
    const args = clusterNodeArgs(port, dir, o.daemonize ?? false);
    if (o.daemonize === true) {
      const r = spawnSync('redis-server', args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`redis-server on port ${port} did not start`);
      nodes.push({ port, dir, child: null });
    } else {
      nodes.push({ port, dir, child: spawn('redis-server', args, { stdio: 'ignore' }) });
    }
  }
  for (const n of nodes) {
    if (!(await waitForRedis(n.port, { gone: () => n.child !== null && n.child.exitCode !== null }))) {
      for (const m of nodes) m.child?.kill('SIGKILL');
      throw new Error(`cluster node on port ${n.port} did not answer`);
    }
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8' });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  const cluster = { nodes, seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','), replicas };
  await waitClusterOk(cluster, 30_000);
  return cluster;
}

/** Resolves once every node that answers says cluster_state:ok and each slot range has a primary; throws after timeoutMs. */
export async function waitClusterOk(c: LocalCluster, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let ok = true;
    for (const n of c.nodes) {
      if (n.child !== null && (n.child.exitCode !== null || n.child.signalCode !== null)) continue;
      const r = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        const info = await r.call('CLUSTER', 'INFO') as string;
        if (!info.includes('cluster_state:ok')) ok = false;
        // A primary's replicas must have finished their first sync (WAIT counts only those).
        const repl = await r.info('replication');
        if (repl.includes('role:master') && c.replicas > 0 && !/slave0:.*state=online/.test(repl)) ok = false;
      } catch {
        // a node that is down (killed by a test) is not asked
      } finally {
        r.disconnect();
      }
    }
    if (ok) return;
    if (Date.now() > until) throw new Error('the Redis Cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The port of the primary serving `key`'s slot (asked of any node that answers). */
export async function primaryPortOf(c: LocalCluster, key: string): Promise<number> {
  for (const n of c.nodes) {
    const r = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
      const slots = await r.call('CLUSTER', 'SLOTS') as [number, number, [string, number, string]][];
      for (const [from, to, primary] of slots) if (slot >= from && slot <= to) return Number(primary[1]);
    } catch {
      // try the next node
    } finally {
      r.disconnect();
    }
  }
  throw new Error(`no node answered for the slot of ${key}`);
}

/** Stops every node started by this process (SIGTERM, then SIGKILL after graceMs). */
export async function stopLocalCluster(c: LocalCluster, graceMs = 3000): Promise<void> {
  await Promise.all(c.nodes.map((n) => new Promise<void>((done) => {
    const child = n.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  })));
}

/** Whether nothing listens on 127.0.0.1:port (a bind succeeds). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/**
 * A base port with `count` consecutive free ports, and their cluster-bus ports (+10000) free too.
 * Both stay below Linux's ephemeral range (32768 up): a run that just closed thousands of client
 * connections (the chaos `connections` scenario) leaves their ports in TIME_WAIT for a minute,
 * and a listening socket cannot bind over them.
 */
export async function freeClusterBase(count = 6): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const b = 20000 + Math.floor(Math.random() * (12768 - 10000 - count));
    let free = true;
    for (let i = 0; i < count && free; i++) free = (await portFree(b + i)) && (await portFree(b + 10000 + i));
    if (free) return b;
  }
  throw new Error('no free range of ports for a local Redis Cluster');
}
