import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { openArchiveDb } from '../archive/db.js';
import { AlertRecords } from '../alerts/alert-record.js';
import { AlertOutbox } from '../alerts/outbox.js';
import type { AlertEvent } from '../engine/alert.js';
import { ArchiveFeed, ARCHIVE_OFF } from '../archive/feed.js';
import { AuditLog } from './audit.js';
import { TokenTable } from './auth.js';
import { EngineHost, type EngineView } from './engine-host.js';
import { buildHttp, createLogger } from './http.js';
import { migrateListIndexes } from './index-migration.js';
import { Keys } from './keys.js';
import { Metrics } from './metrics.js';
import { checkClusterPrefix, redisClient } from './redis-client.js';
import type { ServiceSettings } from './settings.js';
import { Sockets } from './sockets.js';

export interface Service {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly keys: Keys;
  readonly redis: Redis;
  readonly outbox: AlertOutbox;
  /** The settings in force (API_TOKENS replaced: only digests are kept). */
  readonly settings: ServiceSettings;
  /** The engine, read-only (tests inspect it). */
  engine(): EngineView;
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

/** What a test (not the environment) may set: the service clock and how often it drives timers. */
export interface ServiceOptions {
  /** The service clock (epoch ms), default Date.now (see EngineHostOptions.now). */
  now?: () => number;
  /** How often the clock is applied to the engine's timers (ms), default 1000. */
  tickMs?: number;
  /** An archive pool to use instead of opening DATABASE_URL (tests: a schema of their own); the caller closes it. */
  archiveDb?: pg.Pool;
}

export async function startService(given: ServiceSettings, options: ServiceOptions = {}): Promise<Service> {
  const tokens = TokenTable.parse(given.apiTokens);
  if (tokens.size === 0) throw new Error('API_TOKENS is empty: configure at least one token (e.g. API_TOKENS="<long-random>=operator")');
  // From here on only the digests (in `tokens`) are kept: the settings every part of the service
  // sees hold no raw token.
  const settings: ServiceSettings = { ...given, apiTokens: '[digests only]' };
  // The logger first: everything from loading the state on logs through it, fastify included.
  const log = createLogger(settings.logLevel);
  checkClusterPrefix(settings, settings.keyPrefix);
  const keys = new Keys(settings.keyPrefix, settings.partitions);
  const metrics = new Metrics();
  // Commands fail at once while Redis is unreachable (no offline queue): ingest then nacks and
  // pushes back, the API answers 503, /readyz says so; ioredis reconnects by itself.
  const redis = redisClient(settings, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', () => undefined); // reported through failed commands and /readyz
  await redis.connect();
  // Leases on a connection of their own (EngineHostOptions.leaseConnection), same failure mode.
  const leaseRedis = redisClient(settings, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  leaseRedis.on('error', () => undefined);
  await leaseRedis.connect();
  // BullMQ needs its connection to wait for Redis rather than fail.
  const bullConnection = redisClient(settings, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true });
  bullConnection.on('error', () => undefined);

  // The partitions this instance owns: their outboxes are moved here (set once the host is open).
  let owned: () => number[] = () => [];
  const outbox = new AlertOutbox(redis, keys, bullConnection, () => owned());
  metrics.sources(() => redis.zcard(keys.deadLetters), async () => {
    let n = 0;
    for (const p of owned()) n += await redis.llen(keys.partition(p).outbox);
    return n;
  });
  metrics.logLength(async () => {
    let n = 0;
    for (const p of owned()) n += await redis.xlen(keys.partition(p).log);
    return n;
  });
  const kickOutbox = (): Promise<void> => outbox.kick().catch((e: Error) => log.warn({ err: e.message }, 'alert outbox: queue write failed; will retry'));
  let outboxScheduled = false;
  let sockets: Sockets | null = null;

  // The archive (DATABASE_URL): migrations run now; the service reads old trails from it and
  // stages its share of each commit (src/archive/feed.ts); the archive worker copies.
  // A test may hand in a pool of its own (options.archiveDb): used for reads, never closed here.
  let archiveDb: pg.Pool | null = options.archiveDb ?? null;
  const ownArchive = options.archiveDb === undefined;
  const archiveFeed = settings.databaseUrl === undefined ? ARCHIVE_OFF : new ArchiveFeed(keys.archiveFeed, settings.archiveLogMaxEntries);
  if (archiveDb !== null) {
    log.info({}, 'archive: reading through the pool the caller gave');
  } else if (settings.databaseUrl !== undefined) {
    try {
      archiveDb = await openArchiveDb({ url: settings.databaseUrl, schema: settings.archiveSchema, max: 4 });
    } catch (e) {
      redis.disconnect();
      leaseRedis.disconnect();
      bullConnection.disconnect();
      throw new Error(`the archive (DATABASE_URL) could not be opened: ${(e as Error).message.replace(/\/\/[^@]*@/, '//***@')}`);
    }
    log.info({ schema: settings.archiveSchema }, 'archive on: PostgreSQL migrated');
  } else {
    log.info({}, 'archive off (DATABASE_URL unset): fixes, alerts and decisions are kept in Redis only');
  }

  // Stores written before the list indexes existed get them now (once).
  await migrateListIndexes(redis, keys, log);
  const host = await EngineHost.open({
    redis, keys, log,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
    engineSettingsJson: settings.engineSettingsJson,
    trailMaxPerDevice: settings.trailMaxPerDevice,
    snapshotIntervalMs: settings.snapshotIntervalMs,
    observeRedisSeconds: (s) => metrics.observeRedisSeconds(s),
    ...(archiveFeed.on ? {
      archive: { feed: archiveFeed, maxLogEntries: settings.archiveLogMaxEntries },
      archiveLogDropped: (n: number) => {
        metrics.archiveLogDropped.inc(n);
        log.error({ entries: n, bound: settings.archiveLogMaxEntries }, 'archive: the ingest log reached ARCHIVE_LOG_MAX_ENTRIES; its oldest entries, not yet archived, were dropped (is the archive worker running?)');
      },
    } : {}),
    // Delivery: committed events go from the outbox to the queue on the next turn (one pass
    // for every group committed meanwhile).
    eventsCommitted: (events: readonly AlertEvent[]) => {
      for (const e of events) metrics.observeAlert(e);
      if (outboxScheduled) return;
      outboxScheduled = true;
      setImmediate(() => {
        outboxScheduled = false;
        void kickOutbox();
      });
    },
    recovered: () => {
      sockets?.resumeIfDrained();
      void kickOutbox();
    },
    instanceId: settings.instanceId,
    leaseTtlMs: settings.leaseTtlMs,
    statusPublishMs: settings.statusPublishMs,
    waitReplicas: settings.redisWaitReplicas,
    oneSlotConnection: () => {
      if (settings.redisClusterNodes !== '') return null;
      const r = redisClient(settings, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
      r.on('error', () => undefined);
      return r;
    },
    leaseConnection: leaseRedis,
    blockingConnection: () => {
      const r = redisClient(settings, { maxRetriesPerRequest: null });
      r.on('error', () => undefined);
      return r;
    },
  });
  owned = () => host.ownedPartitions();
  // A partition taken over may hold events its previous owner committed but never queued.
  const outboxSweep = setInterval(() => void kickOutbox(), 5000);
  outboxSweep.unref();

  const auditLog = new AuditLog(redis, keys, settings.auditRetentionS);
  const app = await buildHttp({ settings, tokens, redis, keys, metrics, host, records: new AlertRecords(redis, keys, archiveFeed), audit: auditLog, archiveFeed, archiveDb }, log);
  await checkRedis(redis, log).catch(async (e: Error) => {
    host.halt();
    await host.releaseAll();
    await app.close();
    if (ownArchive) await archiveDb?.end();
    redis.disconnect();
    leaseRedis.disconnect();
    bullConnection.disconnect();
    throw e;
  });

  sockets = new Sockets({
    settings, tokens, metrics, host,
    subscriber: () => {
      const sub = redisClient(settings, { maxRetriesPerRequest: null });
      sub.on('error', () => undefined);
      return sub;
    },
    liveChannel: keys.live,
    log,
    audit: (action, target, who) => void auditLog.append(action, target, who).catch(() => undefined),
  });
  const sock = sockets;
  app.server.on('upgrade', (req, socket, head) => sock.handleUpgrade(req, socket, head));

  // Trail retention by age (length is capped on every write).
  const sweep = setInterval(() => {
    void (async () => {
      const minId = String(Date.now() - settings.trailRetentionS * 1000);
      for (const device of await redis.smembers(keys.trailDevices)) await redis.xtrim(keys.trail(device), 'MINID', '~', minId);
    })().catch(() => undefined);
  }, 10 * 60_000);
  sweep.unref();

  await outbox.kick().catch(() => undefined);
  host.start();
  await app.listen({ host: settings.host, port: settings.port });
  const addr = app.server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

  let stopping = false;
  return {
    app, url, keys, redis, outbox, settings,
    engine: () => host.view,
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      host.halt();
      clearInterval(sweep);
      clearInterval(outboxSweep);
      // Every step is bounded: with Redis gone, a graceful stop must still end.
      const bounded = (p: Promise<unknown>, ms = 5000): Promise<unknown> =>
        Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
      await sock.close();
      await bounded(host.drain());
      // Replies to the last messages are sent on the next turns of the event loop.
      await new Promise((r) => setTimeout(r, 50));
      sock.closeIngestClients();
      await bounded(host.snapshot());
      await bounded(outbox.kick(), 2000);
      await bounded(host.releaseAll(), 2000);
      await bounded(outbox.close(), 2000);
      await bounded(app.close());
      await bounded(redis.quit(), 1000);
      redis.disconnect();
      await bounded(leaseRedis.quit(), 1000);
      leaseRedis.disconnect();
      if (ownArchive && archiveDb !== null) await bounded(archiveDb.end(), 1000);
      await bounded(bullConnection.quit(), 1000);
      bullConnection.disconnect();
    },
  };
}
