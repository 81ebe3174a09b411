import type { Redis } from 'ioredis';
import { roleName, type Principal } from './auth.js';
import type { Keys } from './keys.js';

/**
 * The audit log: one Redis stream, appended to by the API and the WebSocket endpoints, trimmed
 * by age (AUDIT_RETENTION_S) on every append, so no volume of requests can push out what
 * happened within the retention period.
 */
export class AuditLog {
  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly retentionS: number) {}

  async append(action: string, target: string, who?: Principal, extra?: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    const entry = { at: new Date(now).toISOString(), action, target, ...(who === undefined ? {} : { role: roleName(who.role), tokenId: who.tokenId }), ...(extra ?? {}) };
    await this.redis.xadd(this.keys.audit, 'MINID', '=', String(now - this.retentionS * 1000), '*', 'e', JSON.stringify(entry));
  }
}
