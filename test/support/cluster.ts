/**
 * A real Redis Cluster for a test file (3 primaries + 3 replicas on loopback, started by the
 * test and stopped by it: src/server/local-cluster.ts), the service instances on it as child
 * processes, and a client that streams fixes until every one is acked (resending what was nacked).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freeClusterBase, startLocalCluster, stopLocalCluster, type LocalCluster } from '../../src/server/local-cluster.js';
import { redisClient } from '../../src/server/redis-client.js';
import { ENGINE_SETTINGS, spawnService, TOKEN_SPEC, type ChildService, type FixIn, WsClient, sleep } from './server.js';

export interface TestCluster extends LocalCluster {
  dir: string;
  client(): Redis;
  stop(): Promise<void>;
}

/** The cluster on six consecutive free ports (their cluster-bus ports, +10000, free too). */
export async function startTestCluster(): Promise<TestCluster> {
  const base = await freeClusterBase();
  const dir = mkdtempSync(join(tmpdir(), 'iom-cluster-'));
  const c = await startLocalCluster({ basePort: base, dir });
  const clients: Redis[] = [];
  return {
    ...c,
    dir,
    client: () => {
      const r = redisClient({ redisUrl: '', redisClusterNodes: c.seeds }, { maxRetriesPerRequest: 20 });
      r.on('error', () => undefined);
      clients.push(r);
      return r;
    },
    stop: async () => {
      for (const r of clients) r.disconnect();
      await stopLocalCluster(c);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A service instance on the cluster (child process). */
export function spawnInstance(c: LocalCluster, prefix: string, id: string, extra: Record<string, string> = {}): Promise<ChildService> {
  return spawnService({
    REDIS_CLUSTER_NODES: c.seeds,
    KEY_PREFIX: prefix,
    PARTITIONS: '8',
    REDIS_WAIT_REPLICAS: '1',
    INSTANCE_ID: id,
    LEASE_TTL_MS: '2000',
    WORKERS: '0',
    LOG_LEVEL: 'warn',
    API_TOKENS: TOKEN_SPEC,
    ENGINE_SETTINGS: JSON.stringify(ENGINE_SETTINGS),
    SNAPSHOT_INTERVAL_MS: '1000',
    ...extra,
  });
}

/**
 * Streams `fixes` to `url` in messages of `per`, a few in flight, resending nacked or unanswered
 * ones (reconnecting when the socket dies) until all are acked or `deadlineMs` passes.
 */
export async function streamUntilAcked(urls: () => string[], token: string, fixes: FixIn[], acked: Set<string>, o: { per?: number; deadlineMs?: number; pauseMs?: number; onAck?: () => void } = {}): Promise<void> {
  const per = o.per ?? 10;
  const until = Date.now() + (o.deadlineMs ?? 60_000);
  const key = (f: { deviceId: string; seq: number }): string => `${f.deviceId}#${f.seq}`;
  let turn = 0;
  while (Date.now() < until) {
    const todo = fixes.filter((f) => !acked.has(key(f)));
    if (todo.length === 0) return;
    const list = urls();
    let client: WsClient;
    try {
      client = await WsClient.connect(list[turn++ % list.length], '/v1/ingest', token);
    } catch {
      await sleep(200);
      continue;
    }
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < todo.length && Date.now() < until; i += per) {
      const msg = todo.slice(i, i + per);
      inFlight.push(client.send(msg).then((reply) => {
        for (const [d, s] of reply.ack ?? []) acked.add(`${d}#${s}`);
        o.onAck?.();
      }, () => undefined));
      if (inFlight.length >= 4) await inFlight.shift();
      if (o.pauseMs !== undefined) await sleep(o.pauseMs);
      if (client.ws.readyState !== client.ws.OPEN) break;
    }
    await Promise.race([Promise.allSettled(inFlight), sleep(5000)]);
    client.close();
  }
}
