import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * The one way the service and the workers open a Redis connection: a plain client on REDIS_URL,
 * or, with REDIS_CLUSTER_NODES set, an ioredis Cluster client (docs/scaling.md). The cluster
 * client answers the same commands (every multi-key command and transaction the service sends
 * stays in one hash slot), so the rest of the code keeps the `Redis` type.
 */
export interface RedisTarget {
  redisUrl: string;
  /** `host:port,host:port`, or '' for plain Redis. */
  redisClusterNodes: string;
}

export function parseClusterNodes(nodes: string): { host: string; port: number }[] {
  return nodes.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const m = /^(.+):(\d+)$/.exec(s);
    if (m === null) throw new Error(`REDIS_CLUSTER_NODES: "${s}" is not host:port`);
    return { host: m[1], port: Number(m[2]) };
  });
}

export function redisClient(target: RedisTarget, options: RedisOptions = {}): Redis {
  if (target.redisClusterNodes === '') return new Redis(target.redisUrl, options);
  const { enableOfflineQueue, lazyConnect, enableReadyCheck, ...redisOptions } = options;
  const cluster = new Cluster(parseClusterNodes(target.redisClusterNodes), {
    redisOptions,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
    // A failover promotes a replica within cluster-node-timeout (+ election): keep retrying
    // redirections meanwhile rather than failing every command at once.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    maxRedirections: 32,
    slotsRefreshTimeout: 2000,
  });
  return cluster as unknown as Redis;
}

/** KEY_PREFIX on Redis Cluster must be a hash tag (`{iom}`): the service's transactions span several global keys. */
export function checkClusterPrefix(target: RedisTarget, prefix: string): void {
  if (target.redisClusterNodes !== '' && !/^\{[^{}]+\}$/.test(prefix)) {
    throw new Error(`KEY_PREFIX must be a Redis Cluster hash tag such as {${prefix.replace(/[{}]/g, '') || 'iom'}} when REDIS_CLUSTER_NODES is set (got ${JSON.stringify(prefix)})`);
  }
}
