import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Engine } from '../engine/engine.js';
import { AlertOutbox } from './alert-queue.js';
import { TokenTable } from './auth.js';
import { Committer } from './committer.js';
import { buildHttp } from './http.js';
import { Keys } from './keys.js';
import { Metrics } from './metrics.js';
import type { ServiceSettings } from './settings.js';
import { Sockets } from './sockets.js';
import { loadState } from './state-store.js';

export interface Service {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly keys: Keys;
  readonly redis: Redis;
  readonly outbox: AlertOutbox;
  engine(): Engine;
  /** Graceful stop: stop reading, write and ack what was read, snapshot, close. */
  stop(): Promise<void>;
}

/** Checks the Redis settings the service depends on; refuses what would lose data. */
export async function checkRedis(redis: Redis, log: { warn(o: object, m: string): void }): Promise<void> {
  let config: string[];
  try {
    config = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    if (aof[1] !== 'yes') {
      log.warn({ appendonly: aof[1] }, 'Redis AOF is off: acknowledged fixes survive a service crash but not a Redis crash; run Redis with --appendonly yes in production');
    }
  } catch {
    log.warn({}, 'cannot read Redis configuration (CONFIG is disabled?): make sure appendonly is yes and maxmemory-policy is noeviction');
    return;
  }
  if (config[1] !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is ${config[1]}; the service needs noeviction (evicting keys would silently drop fixes, alerts and queue jobs): CONFIG SET maxmemory-policy noeviction`);
  }
}

export async function startService(settings: ServiceSettings): Promise<Service> {
  const tokens = TokenTable.parse(settings.apiTokens);
  if (tokens.size === 0) throw new Error('API_TOKENS is empty: configure at least one token (e.g. API_TOKENS="<long-random>=operator")');
  const keys = new Keys(settings.keyPrefix);
  const metrics = new Metrics();
  // Commands fail at once while Redis is unreachable (no offline queue): ingest then nacks and
  // pushes back, the API answers 503, /readyz says so; ioredis reconnects by itself.
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', () => undefined); // reported through failed commands and /readyz
  await redis.connect();
  // BullMQ needs its connection to wait for Redis rather than fail.
  const bullConnection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true });
  bullConnection.on('error', () => undefined);

  let ready = false;
  let stopping = false;
  const logHolder: { log: FastifyInstance['log'] | null } = { log: null };
  const logger = {
    warn: (o: object, m: string) => logHolder.log?.warn(o, m),
    info: (o: object, m: string) => logHolder.log?.info(o, m),
  };

  // The log is not attached yet: keep what loading says, and log it once it is.
  const early: [string, object, string][] = [];
  let state = await loadState(redis, keys, settings.engineSettingsJson, {
    warn: (o, m) => early.push(['warn', o, m]),
    info: (o, m) => early.push(['info', o, m]),
  });
  let engine = state.engine;
  const outbox = new AlertOutbox(redis, keys, bullConnection);
  metrics.sources(() => redis.zcard(keys.deadLetters), () => redis.llen(keys.outbox));

  let sockets: Sockets | null = null;
  let recovering: Promise<void> | null = null;
  const recover = (error: Error): void => {
    if (recovering !== null || stopping) return;
    ready = false;
    logger.warn({ err: error.message }, 'a Redis write failed: reloading engine state from Redis; ingest is paused');
    recovering = (async () => {
      for (let attempt = 1; !stopping; attempt++) {
        try {
          state = await loadState(redis, keys, settings.engineSettingsJson, logger);
          engine = state.engine;
          committer.resume(engine, state.lastLogId);
          // Timers that came due while recovering fire now, through the log like any tick.
          await committer.tick(Date.now());
          ready = true;
          logger.info({ attempt }, 'engine state reloaded; ingest resumed');
          sockets?.resumeIfDrained();
          void outbox.kick().catch(() => undefined);
          return;
        } catch (e) {
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
          if (attempt % 10 === 0) logger.warn({ err: (e as Error).message, attempt }, 'still waiting for Redis');
        }
      }
    })().finally(() => {
      recovering = null;
    });
  };
  const stats = {
    observeRedisSeconds: (s: number) => metrics.observeRedisSeconds(s),
    observeAlert: (e: Parameters<Metrics['observeAlert']>[0]) => {
      metrics.observeAlert(e);
      scheduleOutbox();
    },
  };
  let outboxScheduled = false;
  const scheduleOutbox = (): void => {
    if (outboxScheduled) return;
    outboxScheduled = true;
    setImmediate(() => {
      outboxScheduled = false;
      outbox.kick().catch((e: Error) => logger.warn({ err: e.message }, 'alert outbox: queue write failed; will retry'));
    });
  };
  const committer = new Committer(redis, engine, keys, {
    trailMaxPerDevice: settings.trailMaxPerDevice,
    snapshotIntervalMs: settings.snapshotIntervalMs,
  }, stats, recover, state.lastLogId);

  const app = await buildHttp({
    settings, tokens, redis, keys, metrics,
    engine: () => engine,
    committer: () => committer,
    ready: () => ready,
    log: { level: settings.logLevel },
  });
  logHolder.log = app.log;
  for (const [level, o, m] of early) app.log[level as 'warn' | 'info'](o, m);
  // Timers that came due while the service was down (curfew deadlines, offline) fire now,
  // through the committer so their events are recorded and queued like any others.
  await committer.tick(Date.now());
  await checkRedis(redis, app.log).catch(async (e: Error) => {
    await app.close();
    redis.disconnect();
    bullConnection.disconnect();
    throw e;
  });

  sockets = new Sockets({
    settings, tokens, metrics,
    committer: () => committer,
    engine: () => engine,
    subscriber: () => {
      const sub = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
      sub.on('error', () => undefined);
      return sub;
    },
    liveChannel: keys.live,
    log: app.log,
  });
  const sock = sockets;
  app.server.on('upgrade', (req, socket, head) => sock.handleUpgrade(req, socket, head));

  // The wall clock drives timers (curfew deadlines, no_fix, device_offline).
  const clock = setInterval(() => {
    if (!ready) return;
    committer.tick(Date.now()).catch(() => undefined);
  }, 1000);
  // Trail retention by age (length is capped on every write).
  const sweep = setInterval(() => {
    void (async () => {
      const minId = String(Date.now() - settings.trailRetentionS * 1000);
      for (const device of await redis.smembers(keys.trailDevices)) await redis.xtrim(keys.trail(device), 'MINID', '~', minId);
    })().catch(() => undefined);
  }, 10 * 60_000);
  clock.unref();
  sweep.unref();

  await outbox.kick().catch(() => undefined);
  ready = true;
  await app.listen({ host: settings.host, port: settings.port });
  const addr = app.server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

  return {
    app, url, keys, redis, outbox,
    engine: () => engine,
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      clearInterval(clock);
      clearInterval(sweep);
      // Every step is bounded: with Redis gone, a graceful stop must still end.
      const bounded = (p: Promise<unknown>, ms = 5000): Promise<unknown> =>
        Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
      await sock.close();
      await bounded(committer.drain());
      // Replies to the last messages are sent on the next turns of the event loop.
      await new Promise((r) => setTimeout(r, 50));
      sock.closeIngestClients();
      if (!committer.isBroken) await bounded(committer.snapshotSoon());
      await bounded(outbox.close(), 2000);
      await bounded(app.close());
      await bounded(redis.quit(), 1000);
      redis.disconnect();
      await bounded(bullConnection.quit(), 1000);
      bullConnection.disconnect();
    },
  };
}
