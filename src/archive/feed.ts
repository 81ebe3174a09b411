import type { ChainableCommander } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';

/**
 * The service's side of the archive: what it writes to Redis so the archive worker can copy
 * everything exactly once, and nothing at all while the archive is off.
 *
 *  - Fixes are copied from the ingest log (`Keys.log`). While the archive is on, each logged fix
 *    carries three extra positional fields the engine's recovery ignores (it reads the first
 *    eight): who wore the device then, whether it was late, and its own `ts` when the engine saw
 *    it at the service clock instead (a device clock slightly ahead). See `archivedLogFix`.
 *  - Alert events, decisions and configuration changes go to the archive feed (`Keys.archiveFeed`),
 *    each XADDed in the same MULTI (or Lua script) as the change itself, so the feed holds
 *    exactly what was committed.
 *  - The ingest log is trimmed at each snapshot; while the archive is on, the trim keeps what
 *    the archive has not copied yet (TRIM_LOG_LUA), up to a bound.
 */

/** One item of the archive feed (the JSON in field `j`). */
export type FeedItem =
  | { k: 'event'; e: AlertEvent }
  | { k: 'decision'; episodeId: string; idx: number; d: Record<string, unknown> }
  | { k: 'config'; kind: ConfigKind; id: string; at: number; body: unknown };

export type ConfigKind = 'zone' | 'subject' | 'device' | 'team';

/** Where the service writes the archive's share, or nothing when the archive is off. */
export class ArchiveFeed {
  /** `key`: the feed stream (Keys.archiveFeed), or null when the archive is off. */
  constructor(readonly key: string | null, private readonly maxEntries = 1_000_000) {}

  get on(): boolean {
    return this.key !== null;
  }

  /** Stages one item (no-op while the archive is off). The bound is approximate (`~`). */
  stage(m: ChainableCommander, item: FeedItem): void {
    if (this.key === null) return;
    m.xadd(this.key, 'MAXLEN', '~', this.maxEntries, '*', 'j', JSON.stringify(item));
  }

  /** A configuration change: the body as stored, null on delete. */
  config(m: ChainableCommander, kind: ConfigKind, id: string, body: unknown): void {
    if (this.key === null) return;
    this.stage(m, { k: 'config', kind, id, at: Date.now(), body });
  }

  /** Several items of one kind (a bulk import), one XADD each. */
  configs(m: ChainableCommander, kind: ConfigKind, items: Iterable<[id: string, body: unknown]>): void {
    if (this.key === null) return;
    const at = Date.now();
    for (const [id, body] of items) this.stage(m, { k: 'config', kind, id, at, body });
  }
}

/** The archive being off: every call a no-op. */
export const ARCHIVE_OFF = new ArchiveFeed(null);

/**
 * The extra fields of a logged fix while the archive is on (indices 8..10 of a log item):
 * subject wearing the device (null: nobody, or a victim unit), late (1/0), and the fix's own ts
 * when the logged ts is the service clock (else null).
 */
export type ArchiveExtras = [subjectId: string | null, late: 0 | 1, ownTs: number | null];

/**
 * KEYS: ingest log, archive log cursor, lost marker. ARGV: the snapshot's MINID (everything before it is in
 * the snapshot), the most entries the log may keep for the archive.
 * Trims to the snapshot's MINID, but not past the archive's cursor (entries not yet copied stay;
 * no cursor yet: nothing has been copied, everything stays); then, if the log is longer than the
 * bound, drops the oldest beyond it (the archive has fallen too far behind), records the first id
 * kept in the lost marker (the copier reports the loss) and returns how many were dropped.
 */
export const TRIM_LOG_LUA = `
local function less(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  return tonumber(as) < tonumber(bs)
end
local minid = ARGV[1]
local cur = redis.call('GET', KEYS[2])
if not cur then
  minid = '0-0'
else
  local cm, cs = string.match(cur, '^(%d+)-(%d+)$')
  local nextid = cm .. '-' .. string.format('%d', tonumber(cs) + 1)
  if less(nextid, minid) then minid = nextid end
end
redis.call('XTRIM', KEYS[1], 'MINID', minid)
local max = tonumber(ARGV[2])
local n = redis.call('XLEN', KEYS[1])
if n > max then
  redis.call('XTRIM', KEYS[1], 'MAXLEN', max)
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #first > 0 then redis.call('SET', KEYS[3], first[1][1]) end
  return n - max
end
return 0`;

/** Orders two stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
