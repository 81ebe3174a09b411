import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { AlertRecords } from '../../alerts/alert-record.js';
import type { AuditLog } from '../audit.js';
import type { Principal, TokenTable } from '../auth.js';
import type { EngineHost } from '../engine-host.js';
import type { Keys } from '../keys.js';
import type { Metrics } from '../metrics.js';
import type { ServiceSettings } from '../settings.js';
import type { RouteDoc } from './route.js';

/** What the HTTP plugins may use: nothing else of the service reaches them. */
export interface HttpContext {
  settings: ServiceSettings;
  tokens: TokenTable;
  redis: Redis;
  keys: Keys;
  metrics: Metrics;
  /** The engine's narrow door: changes, read-only queries, readiness. */
  host: EngineHost;
  records: AlertRecords;
  /** The audit log (trimmed by age). */
  audit: AuditLog;
  /** The evidence archive (PostgreSQL/PostGIS); null when DATABASE_URL is unset. */
  archiveDb: pg.Pool | null;
}

/** The context plus the route documents every plugin adds to (the OpenAPI document reads them). */
export interface PluginContext extends HttpContext {
  docs: RouteDoc[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
