/**
 * Service settings from the environment, validated once at start-up. Units are in the names.
 * Every value has a local default so `npm start` works on a fresh machine.
 */
export interface ServiceSettings {
  host: string;
  port: number;
  redisUrl: string;
  /** Prefix of every Redis key (tests use a unique one each). */
  keyPrefix: string;
  /** "token=role,token=role": roles ingest, operator, admin, team:<id>. */
  apiTokens: string;
  /** Largest WebSocket ingest message. */
  ingestMaxMessageBytes: number;
  /** Most fixes in one ingest message. */
  ingestMaxItems: number;
  /** Messages a connection may have awaiting their ack before reading from it pauses. */
  ingestMaxInFlight: number;
  /** Ingest messages per second allowed per token (burst = 2 s worth); past it, reading pauses. */
  ingestRateLimitPerS: number;
  /** Replies a client has not read, in bytes, before reading from it pauses. */
  ingestMaxBufferedBytes: number;
  /** Ping interval; a connection that has not answered the previous ping is dropped. */
  wsHeartbeatMs: number;
  /** Fixes waiting to be written before every connection pauses. */
  ingestMaxPendingFixes: number;
  /** A fix more than this far in the future (device clock) is refused. */
  ingestMaxFutureS: number;
  /** Largest HTTP body (bulk zone import aside). */
  httpBodyLimitBytes: number;
  /** Largest bulk zone import body (POST /v1/zones). */
  zoneImportLimitBytes: number;
  /** Trail retention: by age, and by entries per device. */
  trailRetentionS: number;
  trailMaxPerDevice: number;
  /** How often the engine state is snapshotted (and the ingest log trimmed). */
  snapshotIntervalMs: number;
  /** Engine settings (contract section 2 "settings"), as JSON. */
  engineSettingsJson: string;
  /** Requests per second allowed per token (burst = 2 s worth). */
  rateLimitPerS: number;
  logLevel: string;
}

function int(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

export function settingsFromEnv(overrides: Partial<ServiceSettings> = {}): ServiceSettings {
  return {
    host: process.env.HOST ?? '127.0.0.1',
    port: int('PORT', 8080),
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: process.env.KEY_PREFIX ?? 'iom',
    apiTokens: process.env.API_TOKENS ?? '',
    ingestMaxMessageBytes: int('INGEST_MAX_MESSAGE_BYTES', 1 << 20, 1024),
    ingestMaxItems: int('INGEST_MAX_ITEMS', 1000, 1),
    ingestMaxInFlight: int('INGEST_MAX_IN_FLIGHT', 16, 1),
    ingestMaxPendingFixes: int('INGEST_MAX_PENDING_FIXES', 100_000, 1),
    ingestRateLimitPerS: int('INGEST_RATE_LIMIT_PER_S', 5000, 1),
    ingestMaxBufferedBytes: int('INGEST_MAX_BUFFERED_BYTES', 1 << 20, 1024),
    wsHeartbeatMs: int('WS_HEARTBEAT_MS', 30_000, 100),
    ingestMaxFutureS: int('INGEST_MAX_FUTURE_S', 300),
    httpBodyLimitBytes: int('HTTP_BODY_LIMIT_BYTES', 1 << 20, 1024),
    zoneImportLimitBytes: int('ZONE_IMPORT_LIMIT_BYTES', 256 << 20, 1024),
    trailRetentionS: int('TRAIL_RETENTION_S', 7 * 86400, 60),
    trailMaxPerDevice: int('TRAIL_MAX_PER_DEVICE', 20_000, 10),
    snapshotIntervalMs: int('SNAPSHOT_INTERVAL_MS', 30_000, 100),
    engineSettingsJson: process.env.ENGINE_SETTINGS ?? '{}',
    rateLimitPerS: int('RATE_LIMIT_PER_S', 2000, 1),
    logLevel: process.env.LOG_LEVEL ?? 'info',
    ...overrides,
  };
}
