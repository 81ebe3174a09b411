import { hostname } from 'node:os';
import { z } from 'zod';
import { WebhookAllowList } from '../alerts/webhook-guard.js';

/**
 * Every environment variable of the service (`npm start`) and the delivery workers, parsed by
 * one zod schema at start-up. Units are in the names (`_MS`, `_S`, `_BYTES`, `_PER_S`); every
 * value has a local default so `npm start` works on a fresh machine. README.md's
 * "Configuration" paragraph lists them all (a test checks it, and that no code under src/ or
 * workers/ reads a variable this schema does not know).
 */

/** An integer variable: unset or empty gives the default; anything else must be an integer >= min. */
function int(name: string, fallback: number, min = 0) {
  return z.string().optional().transform((raw, ctx): number => {
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) {
      ctx.addIssue({ code: 'custom', message: `${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return v;
  });
}

const text = (fallback: string) => z.string().optional().transform((raw) => raw ?? fallback);

export const EnvSchema = z.object({
  // --- service: network and storage ---
  HOST: text('127.0.0.1'),
  PORT: int('PORT', 8080),
  /** Unset: `npm start` uses 127.0.0.1:6379 if it answers, else a private redis-server. */
  REDIS_URL: z.string().optional(),
  /** Port of the private redis-server `npm start` runs when no Redis answers. */
  PRIVATE_REDIS_PORT: int('PRIVATE_REDIS_PORT', 6390, 1),
  /** Prefix of every Redis key (tests use a unique one each). On Redis Cluster it must be a hash tag, e.g. `{iom}`. */
  KEY_PREFIX: text('iom'),
  /**
   * Redis Cluster seed nodes, `host:port,host:port`: set, the service and workers use a cluster
   * client (REDIS_URL is then ignored). See docs/scaling.md.
   */
  REDIS_CLUSTER_NODES: z.string().optional(),
  /** Replicas every commit and forwarded fix must reach before it is acknowledged (Redis WAIT); 0 = do not wait. */
  REDIS_WAIT_REPLICAS: int('REDIS_WAIT_REPLICAS', 0),
  // --- several instances (docs/scaling.md) ---
  /** Engine partitions of the store (fixed when the store is created; 1 for a single instance). */
  PARTITIONS: int('PARTITIONS', 1, 1),
  /** This instance's name in partition leases (default: the host name); a restart under the same name takes its leases back at once. */
  INSTANCE_ID: z.string().optional(),
  /** Partition lease lifetime: an instance that dies loses its partitions this long after its last renewal. */
  LEASE_TTL_MS: int('LEASE_TTL_MS', 5000, 500),
  /** With several instances: how often each publishes its partitions' live device state for the others' console reads (positions, health, ops). */
  STATUS_PUBLISH_MS: int('STATUS_PUBLISH_MS', 1000, 100),
  /** "token=role,token=role": roles ingest, operator, admin, team:<id>. Unset: `npm start` makes tokens for the run. */
  API_TOKENS: z.string().optional(),
  /** Engine settings (contract section 2 "settings"), as JSON. */
  ENGINE_SETTINGS: text('{}'),
  LOG_LEVEL: text('info'),
  // --- ingest ---
  /** Largest WebSocket ingest message. */
  INGEST_MAX_MESSAGE_BYTES: int('INGEST_MAX_MESSAGE_BYTES', 1 << 20, 1024),
  /** Most fixes in one ingest message. */
  INGEST_MAX_ITEMS: int('INGEST_MAX_ITEMS', 1000, 1),
  /** Messages a connection may have awaiting their ack before reading from it pauses. */
  INGEST_MAX_IN_FLIGHT: int('INGEST_MAX_IN_FLIGHT', 16, 1),
  /** Fixes waiting to be written before every connection pauses. */
  INGEST_MAX_PENDING_FIXES: int('INGEST_MAX_PENDING_FIXES', 100_000, 1),
  /** Ingest messages per second allowed per token (burst = 2 s worth); past it, reading pauses. */
  INGEST_RATE_LIMIT_PER_S: int('INGEST_RATE_LIMIT_PER_S', 5000, 1),
  /** Replies a client has not read, in bytes, before reading from it pauses. */
  INGEST_MAX_BUFFERED_BYTES: int('INGEST_MAX_BUFFERED_BYTES', 1 << 20, 1024),
  /** A fix dated more than this far ahead of the service clock (a faulty device clock) is refused; within it, it is evaluated at the service clock. */
  INGEST_MAX_FUTURE_S: int('INGEST_MAX_FUTURE_S', 30),
  /** Alert-stream sockets one token may hold open at once. */
  STREAM_MAX_PER_TOKEN: int('STREAM_MAX_PER_TOKEN', 20, 1),
  /** Ping interval (ingest and alert stream); a connection that has not answered the previous ping is dropped. */
  WS_HEARTBEAT_MS: int('WS_HEARTBEAT_MS', 30_000, 100),
  // --- HTTP ---
  /** Largest HTTP body (bulk zone import aside). */
  HTTP_BODY_LIMIT_BYTES: int('HTTP_BODY_LIMIT_BYTES', 1 << 20, 1024),
  /** Largest bulk zone import body (POST /v1/zones). */
  ZONE_IMPORT_LIMIT_BYTES: int('ZONE_IMPORT_LIMIT_BYTES', 256 << 20, 1024),
  /** Requests per second allowed per token (burst = 2 s worth). */
  RATE_LIMIT_PER_S: int('RATE_LIMIT_PER_S', 2000, 1),
  /** Acknowledgements (decisions) per second allowed per token (burst = 2 s worth): they are stored for good. */
  ACK_RATE_LIMIT_PER_S: int('ACK_RATE_LIMIT_PER_S', 5, 1),
  /** The audit log keeps entries this long (trimmed by age on every append, not by count). */
  AUDIT_RETENTION_S: int('AUDIT_RETENTION_S', 366 * 86400, 60),
  // --- console ---
  /** A tag whose latest position fix is older than this is shown as stale (GET /v1/positions). */
  POSITION_STALE_S: int('POSITION_STALE_S', 900, 1),
  /**
   * The console's basemap: a MapLibre style URL (http or https). Unset: the console draws over a
   * plain background with a graticule and a scale, and requests nothing from any other host.
   * Its origin is added to the console's Content-Security-Policy (connect-src, img-src).
   */
  MAP_STYLE_URL: z.string().optional().transform((raw, ctx): string => {
    if (raw === undefined || raw === '') return '';
    let u: URL | null = null;
    try {
      u = new URL(raw);
    } catch {
      u = null;
    }
    if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '') {
      ctx.addIssue({ code: 'custom', message: `MAP_STYLE_URL must be an http(s) URL without user-info, got ${JSON.stringify(raw.slice(0, 200))}` });
      return z.NEVER;
    }
    return raw;
  }),
  // --- storage ---
  /** Trail retention: by age, and by entries per device. */
  TRAIL_RETENTION_S: int('TRAIL_RETENTION_S', 7 * 86400, 60),
  TRAIL_MAX_PER_DEVICE: int('TRAIL_MAX_PER_DEVICE', 20_000, 10),
  /** How often the engine state is snapshotted (and the ingest log trimmed). */
  SNAPSHOT_INTERVAL_MS: int('SNAPSHOT_INTERVAL_MS', 30_000, 100),
  // --- delivery workers ---
  /** Worker processes `npm start` runs beside the service. */
  WORKERS: int('WORKERS', 1),
  /** Jobs processed at once per delivery worker (slow receivers wait in parallel). */
  WORKER_CONCURRENCY: int('WORKER_CONCURRENCY', 128, 1),
  /** Deliveries to one team in flight at once in one worker; more wait briefly. */
  WORKER_PER_TEAM_IN_FLIGHT: int('WORKER_PER_TEAM_IN_FLIGHT', 8, 1),
  /** Delivery attempts before a job is dead-lettered. */
  DELIVERY_ATTEMPTS: int('DELIVERY_ATTEMPTS', 8, 1),
  /** First retry delay; doubles each attempt, with jitter. */
  DELIVERY_BACKOFF_MS: int('DELIVERY_BACKOFF_MS', 1000),
  /**
   * Webhook destinations allowed although loopback, private or link-local (on-premises
   * receivers, tests, the demo): comma-separated `host`, `host:port` or CIDR entries. Checked
   * by the API when routing is set and by the workers before every delivery.
   */
  WEBHOOK_ALLOW_HOSTS: z.string().optional().transform((raw, ctx): string => {
    const v = raw ?? '';
    try {
      WebhookAllowList.parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
    return v;
  }),
  // --- archive (issue 14 part 1: PostgreSQL/PostGIS; src/archive/) ---
  /** PostgreSQL connection string; set: the archive is on (worker, migrations at start, archive reads). Unset: off. */
  DATABASE_URL: z.string().optional().transform((raw) => (raw === undefined || raw === '' ? undefined : raw)),
  /** Schema holding the archive's tables (a plain lower-case SQL name). */
  ARCHIVE_SCHEMA: z.string().optional().transform((raw, ctx): string => {
    const v = raw === undefined || raw === '' ? 'iom' : raw;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: `ARCHIVE_SCHEMA must be a plain lower-case SQL name ([a-z_][a-z0-9_]*), got ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return v;
  }),
  /** Archived fixes are kept this many days (whole daily partitions dropped after); default 6 years. */
  ARCHIVE_RETAIN_FIXES_DAYS: int('ARCHIVE_RETAIN_FIXES_DAYS', 2192, 1),
  /** Archived alert events, their decisions and the configuration history are kept this many days; default 7 years. */
  ARCHIVE_RETAIN_ALERTS_DAYS: int('ARCHIVE_RETAIN_ALERTS_DAYS', 2557, 1),
  /** How often the archive worker enforces retention (drops partitions past it). */
  ARCHIVE_RETENTION_INTERVAL_S: int('ARCHIVE_RETENTION_INTERVAL_S', 3600, 1),
  /** Fixes are written to the archive by this many transactions at once (lanes by device, each with its own checkpoint). */
  ARCHIVE_COPY_LANES: int('ARCHIVE_COPY_LANES', 2, 1),
  /** Most ingest-log entries kept for an archive that has fallen behind; past it the oldest are dropped (logged, counted). */
  ARCHIVE_LOG_MAX_ENTRIES: int('ARCHIVE_LOG_MAX_ENTRIES', 1_000_000, 100),
});

export type Env = z.output<typeof EnvSchema>;

/** Every variable name the service and the workers read. */
export const ENV_VARS: readonly string[] = Object.keys(EnvSchema.shape);

/** The environment, parsed; a bad value throws naming the variable. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const r = EnvSchema.safeParse(Object.fromEntries(ENV_VARS.map((k) => [k, env[k]])));
  if (!r.success) throw new Error(r.error.issues[0].message);
  return r.data;
}

/** The service's settings (from the environment, then `overrides`). */
export interface ServiceSettings {
  host: string;
  port: number;
  redisUrl: string;
  keyPrefix: string;
  /** REDIS_CLUSTER_NODES as given ('' = plain Redis at redisUrl). */
  redisClusterNodes: string;
  redisWaitReplicas: number;
  partitions: number;
  instanceId: string;
  leaseTtlMs: number;
  statusPublishMs: number;
  apiTokens: string;
  ingestMaxMessageBytes: number;
  ingestMaxItems: number;
  ingestMaxInFlight: number;
  ingestRateLimitPerS: number;
  ingestMaxBufferedBytes: number;
  wsHeartbeatMs: number;
  streamMaxPerToken: number;
  ingestMaxPendingFixes: number;
  ingestMaxFutureS: number;
  httpBodyLimitBytes: number;
  zoneImportLimitBytes: number;
  trailRetentionS: number;
  trailMaxPerDevice: number;
  snapshotIntervalMs: number;
  engineSettingsJson: string;
  rateLimitPerS: number;
  ackRateLimitPerS: number;
  auditRetentionS: number;
  positionStaleS: number;
  logLevel: string;
  /** WEBHOOK_ALLOW_HOSTS as given (parsed where used). */
  webhookAllowHosts: string;
  /** The archive (DATABASE_URL); undefined: off. */
  databaseUrl?: string | undefined;
  archiveSchema: string;
  archiveLogMaxEntries: number;
  /** MAP_STYLE_URL ('' = none: the console's plain background). */
  mapStyleUrl: string;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function settingsFromEnv(overrides: Partial<ServiceSettings> = {}, env: NodeJS.ProcessEnv = process.env): ServiceSettings {
  const e = readEnv(env);
  return {
    host: e.HOST,
    port: e.PORT,
    redisUrl: e.REDIS_URL ?? DEFAULT_REDIS_URL,
    keyPrefix: e.KEY_PREFIX,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ?? '',
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    partitions: e.PARTITIONS,
    instanceId: e.INSTANCE_ID ?? hostname(),
    leaseTtlMs: e.LEASE_TTL_MS,
    statusPublishMs: e.STATUS_PUBLISH_MS,
    apiTokens: e.API_TOKENS ?? '',
    ingestMaxMessageBytes: e.INGEST_MAX_MESSAGE_BYTES,
    ingestMaxItems: e.INGEST_MAX_ITEMS,
    ingestMaxInFlight: e.INGEST_MAX_IN_FLIGHT,
    ingestMaxPendingFixes: e.INGEST_MAX_PENDING_FIXES,
    ingestRateLimitPerS: e.INGEST_RATE_LIMIT_PER_S,
    ingestMaxBufferedBytes: e.INGEST_MAX_BUFFERED_BYTES,
    wsHeartbeatMs: e.WS_HEARTBEAT_MS,
    streamMaxPerToken: e.STREAM_MAX_PER_TOKEN,
    ingestMaxFutureS: e.INGEST_MAX_FUTURE_S,
    httpBodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
    zoneImportLimitBytes: e.ZONE_IMPORT_LIMIT_BYTES,
    trailRetentionS: e.TRAIL_RETENTION_S,
    trailMaxPerDevice: e.TRAIL_MAX_PER_DEVICE,
    snapshotIntervalMs: e.SNAPSHOT_INTERVAL_MS,
    engineSettingsJson: e.ENGINE_SETTINGS,
    rateLimitPerS: e.RATE_LIMIT_PER_S,
    ackRateLimitPerS: e.ACK_RATE_LIMIT_PER_S,
    auditRetentionS: e.AUDIT_RETENTION_S,
    positionStaleS: e.POSITION_STALE_S,
    logLevel: e.LOG_LEVEL,
    webhookAllowHosts: e.WEBHOOK_ALLOW_HOSTS,
    databaseUrl: e.DATABASE_URL,
    archiveSchema: e.ARCHIVE_SCHEMA,
    archiveLogMaxEntries: e.ARCHIVE_LOG_MAX_ENTRIES,
    mapStyleUrl: e.MAP_STYLE_URL,
    ...overrides,
  };
}

/** A delivery worker process's settings. */
export interface WorkerSettings {
  redisUrl: string;
  redisClusterNodes: string;
  keyPrefix: string;
  concurrency: number;
  perTeamInFlight: number;
  attempts: number;
  backoffMs: number;
  webhookAllowHosts: string;
}

export function workerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const e = readEnv(env);
  return {
    redisUrl: e.REDIS_URL ?? DEFAULT_REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ?? '',
    keyPrefix: e.KEY_PREFIX,
    concurrency: e.WORKER_CONCURRENCY,
    perTeamInFlight: e.WORKER_PER_TEAM_IN_FLIGHT,
    attempts: e.DELIVERY_ATTEMPTS,
    backoffMs: e.DELIVERY_BACKOFF_MS,
    webhookAllowHosts: e.WEBHOOK_ALLOW_HOSTS,
  };
}

/**
 * Why the archive (DATABASE_URL) cannot run with this store layout, or null: the archive copier
 * follows the one historical ingest log, not every partition's (Keys.logs()), and its feed and
 * consumer-aware log trim are written in the one-slot atomic commit only (docs/scaling.md).
 */
/** The archive worker's settings (workers/archive.ts); null when DATABASE_URL is unset. */
export interface ArchiveSettings {
  redisUrl: string;
  /** REDIS_CLUSTER_NODES as given ('' = plain Redis at redisUrl). */
  redisClusterNodes: string;
  keyPrefix: string;
  /** PARTITIONS: the copier follows every partition's ingest log and archive feed. */
  partitions: number;
  databaseUrl: string;
  schema: string;
  retainFixesDays: number;
  retainAlertsDays: number;
  retentionIntervalS: number;
  logMaxEntries: number;
  copyLanes: number;
  auditRetentionS: number;
}

export function archiveSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveSettings | null {
  const e = readEnv(env);
  if (e.DATABASE_URL === undefined) return null;
  return {
    redisUrl: e.REDIS_URL ?? DEFAULT_REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ?? '',
    keyPrefix: e.KEY_PREFIX,
    partitions: e.PARTITIONS,
    databaseUrl: e.DATABASE_URL,
    schema: e.ARCHIVE_SCHEMA,
    retainFixesDays: e.ARCHIVE_RETAIN_FIXES_DAYS,
    retainAlertsDays: e.ARCHIVE_RETAIN_ALERTS_DAYS,
    retentionIntervalS: e.ARCHIVE_RETENTION_INTERVAL_S,
    logMaxEntries: e.ARCHIVE_LOG_MAX_ENTRIES,
    copyLanes: e.ARCHIVE_COPY_LANES,
    auditRetentionS: e.AUDIT_RETENTION_S,
  };
}
