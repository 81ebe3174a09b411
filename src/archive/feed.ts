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
 *  - Decisions and configuration changes go to the archive feed (`Keys.archiveFeed`), each
 *    XADDed in the same MULTI (or Lua script) as the change itself, so the feed holds exactly
 *    what was committed. Alert events go to their partition's feed (`PartitionKeys.archiveFeed`;
 *    with PARTITIONS=1 the same stream), XADDed by the fenced commit that writes them to the
 *    outbox (FENCED_COMMIT in src/server/partitions.ts): once each, with the log entry that
 *    produced them, whatever happens to the commit's second step.
 *  - Each partition's ingest log is trimmed at its snapshots; while the archive is on, the trim
 *    (in the same fenced commit) keeps what the archive has not copied yet, by the partition's
 *    archive cursor (`PartitionKeys.archiveCursor`, which the copier sets), up to a bound.
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
  constructor(readonly key: string | null, readonly maxEntries = 1_000_000) {}

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

/** Orders two stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
