import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { AlertEvent } from '../engine/alert.js';
import { STRAP_NAMES } from '../engine/fix.js';
import type { Keys } from '../server/keys.js';
import { compareStreamIds, type FeedItem } from './feed.js';
import { insertFixes, PartitionCache, type FixRow } from './fix-writer.js';

/**
 * The archive copier: Redis → PostgreSQL, exactly once.
 *
 * Two sources, each with its own checkpoint row in `archive_checkpoints`:
 *  - `log`: the ingest log (`Keys.log`), one entry per group commit; its fixes become `fixes` rows.
 *  - `feed`: the archive feed (`Keys.archiveFeed`): alert events, decisions, configuration changes.
 * A batch of entries is written in ONE transaction together with the new checkpoint (the id of
 * the last entry in it). A crash before COMMIT leaves both as they were, and the batch is read
 * again from the old checkpoint; a crash after COMMIT leaves both moved. So every entry is
 * copied once, whatever the moment of the crash. The rows' own keys (fixes: device, seq, ts;
 * events: event id; decisions: episode, index; configuration: feed id) with ON CONFLICT DO
 * NOTHING make a repeat harmless besides (e.g. an entry the service wrote twice).
 *
 * After the COMMIT, the copier tells Redis how far it got (`Keys.archiveLogCursor`; the log trim
 * keeps what lies beyond it) and trims the feed up to it. Those writes may be lost in a crash:
 * they only ever lag the checkpoint, which makes the trim keep more, never less.
 *
 * One copier per archive: a session-level advisory lock (released when the process dies) makes
 * a second one wait.
 */

export interface CopierOptions {
  /** Stream entries read per batch (a log entry holds one group commit's fixes). Default 500. */
  batchEntries?: number;
  /** Idle wait between polls when there is nothing to copy. Default 200 ms. */
  idleMs?: number;
  log?: (level: 'info' | 'warn' | 'error', obj: object, msg: string) => void;
  /** Warn when the log holds more than this many entries the archive has not copied. Default 100,000. */
  behindWarnEntries?: number;
}

export interface CopyCounts {
  entries: number;
  fixes: number;
  events: number;
  decisions: number;
  configs: number;
}

type StreamEntry = [id: string, fields: string[]];

export class ArchiveCopier {
  private readonly partitions = new PartitionCache();
  private readonly batch: number;
  private readonly idleMs: number;
  private readonly behindWarn: number;
  private readonly log: NonNullable<CopierOptions['log']>;
  private logCursor: string | null = null;
  private feedCursor: string | null = null;
  private lockClient: pg.PoolClient | null = null;
  private stopping = false;
  private lastBehindWarn = 0;
  private batchesSinceLossCheck = 0;
  /** Totals since start (the worker logs them). */
  readonly copied: CopyCounts = { entries: 0, fixes: 0, events: 0, decisions: 0, configs: 0 };

  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly pool: pg.Pool, options: CopierOptions = {}) {
    this.batch = options.batchEntries ?? 500;
    this.idleMs = options.idleMs ?? 200;
    this.behindWarn = options.behindWarnEntries ?? 100_000;
    this.log = options.log ?? (() => undefined);
  }

  /** Takes the copier lock (waits while another copier holds it) and reads the checkpoints. */
  async start(): Promise<void> {
    this.lockClient = await this.pool.connect();
    await this.lockClient.query('SELECT pg_advisory_lock(hashtext(current_schema() || \':archive-copier\'))');
    const rows = (await this.pool.query<{ stream: string; position: string }>('SELECT stream, position FROM archive_checkpoints WHERE stream IN (\'log\', \'feed\')')).rows;
    for (const r of rows) {
      if (r.stream === 'log') this.logCursor = r.position;
      else this.feedCursor = r.position;
    }
    // The trim reads the cursor from Redis: put it there now (it may have been lost).
    if (this.logCursor !== null) await this.redis.set(this.keys.archiveLogCursor, this.logCursor);
    await this.checkLogLoss();
  }

  /** Copies until stop(); errors are logged and retried after a pause. */
  async run(): Promise<void> {
    while (!this.stopping) {
      let n = 0;
      try {
        n = await this.copyOnce();
      } catch (e) {
        this.log('warn', { err: (e as Error).message }, 'archive copy failed; retrying');
        await sleep(1000);
        continue;
      }
      if (n === 0) await sleep(this.idleMs);
    }
  }

  stop(): void {
    this.stopping = true;
  }

  /** Releases the lock (the pool itself belongs to the caller). */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.lockClient !== null) {
      await this.lockClient.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      this.lockClient.release();
      this.lockClient = null;
    }
  }

  /** One batch from each source; returns the entries copied (0: nothing to do). */
  async copyOnce(): Promise<number> {
    try {
      return (await this.copyLog()) + (await this.copyFeed());
    } catch (e) {
      // A partition this process created may have been dropped by retention since.
      this.partitions.clear();
      throw e;
    }
  }

  /** Copies everything there is now (tests, the bench). */
  async drain(): Promise<void> {
    while ((await this.copyOnce()) > 0) { /* until both sources are empty */ }
  }

  /** Where the copier has got to in the ingest log (null: nothing copied yet). */
  get logPosition(): string | null {
    return this.logCursor;
  }

  private async copyLog(): Promise<number> {
    const entries = (await this.redis.xrange(this.keys.log, this.logCursor === null ? '-' : `(${this.logCursor}`, '+', 'COUNT', this.batch)) as StreamEntry[];
    if (entries.length === 0) return 0;
    if (this.logCursor !== null && ++this.batchesSinceLossCheck >= 20) {
      this.batchesSinceLossCheck = 0;
      await this.checkLogLoss();
    }
    const rows: FixRow[] = [];
    for (const [id, fields] of entries) {
      const receivedAt = Number(id.slice(0, id.indexOf('-')));
      const b = fieldOf(fields, 'b');
      if (b === undefined) continue;
      for (const item of JSON.parse(b) as unknown[]) {
        if (!Array.isArray(item)) continue; // a clock tick
        rows.push(fixRowOf(item, receivedAt));
      }
    }
    const last = entries[entries.length - 1][0];
    await this.partitions.ensure(this.pool, 'fixes', rows.map((r) => r.ts));
    await this.transaction(async (c) => {
      await insertFixes(c, rows);
      await checkpoint(c, 'log', last);
    });
    this.logCursor = last;
    await this.redis.set(this.keys.archiveLogCursor, last);
    this.copied.entries += entries.length;
    this.copied.fixes += rows.length;
    if (entries.length === this.batch) await this.warnIfBehind();
    return entries.length;
  }

  private async copyFeed(): Promise<number> {
    const entries = (await this.redis.xrange(this.keys.archiveFeed, this.feedCursor === null ? '-' : `(${this.feedCursor}`, '+', 'COUNT', this.batch)) as StreamEntry[];
    if (entries.length === 0) return 0;
    const items: [string, FeedItem][] = [];
    for (const [id, fields] of entries) {
      const j = fieldOf(fields, 'j');
      if (j !== undefined) items.push([id, JSON.parse(j) as FeedItem]);
    }
    const eventTimes = items.flatMap(([, it]) => (it.k === 'event' ? [Date.parse(it.e.at)] : []));
    await this.partitions.ensure(this.pool, 'alert_events', eventTimes);
    const last = entries[entries.length - 1][0];
    let events = 0, decisions = 0, configs = 0;
    await this.transaction(async (c) => {
      for (const [id, it] of items) {
        if (it.k === 'event') {
          await insertEvent(c, it.e);
          events++;
        } else if (it.k === 'decision') {
          await c.query('INSERT INTO decisions (episode_id, idx, at, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
            [it.episodeId, it.idx, typeof it.d.at === 'string' ? it.d.at : new Date(Number(id.split('-')[0])).toISOString(), JSON.stringify(it.d)]);
          decisions++;
        } else if (it.k === 'config') {
          await c.query('INSERT INTO config_changes (kind, item_id, at, body, feed_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (feed_id) DO NOTHING',
            [it.kind, it.id, new Date(it.at).toISOString(), it.body === null ? null : JSON.stringify(it.body), id]);
          configs++;
        }
      }
      await checkpoint(c, 'feed', last);
    });
    this.feedCursor = last;
    // Copied: the feed keeps nothing the archive has (MINID is inclusive, so the next id).
    const [ms, seq] = last.split('-');
    await this.redis.xtrim(this.keys.archiveFeed, 'MINID', `${ms}-${BigInt(seq) + 1n}`);
    this.copied.entries += entries.length;
    this.copied.events += events;
    this.copied.decisions += decisions;
    this.copied.configs += configs;
    return entries.length;
  }

  private async transaction(work: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      try {
        await work(c);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    } finally {
      c.release();
    }
  }

  /**
   * The log's bound (ARCHIVE_LOG_MAX_ENTRIES) or an archive switched off for a while can drop
   * entries the archive never copied: Redis remembers the newest id it deleted, and if that lies
   * past our cursor, something was lost. Said loudly; the copier carries on from what is there.
   */
  private async checkLogLoss(): Promise<void> {
    const lostBefore = await this.redis.get(this.keys.archiveLogLost);
    if (lostBefore === null) return;
    if (this.logCursor === null || compareStreamIds(lostBefore, this.logCursor) > 0) {
      this.log('error', { cursor: this.logCursor, lostBefore }, 'archive: ingest-log entries after the archive\'s checkpoint were dropped before being copied (the archive fell behind ARCHIVE_LOG_MAX_ENTRIES); those fixes are not archived');
    }
    // Reported once; a later drop sets it again.
    await this.redis.del(this.keys.archiveLogLost);
  }

  private async warnIfBehind(): Promise<void> {
    if (Date.now() - this.lastBehindWarn < 60_000) return;
    const len = await this.redis.xlen(this.keys.log);
    if (len > this.behindWarn) {
      this.lastBehindWarn = Date.now();
      this.log('warn', { logEntries: len }, 'archive is behind the ingest log');
    }
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** A logged fix (fix-codec.ts LogItem, plus the archive's extras: feed.ts ArchiveExtras). */
function fixRowOf(item: unknown[], receivedAt: number): FixRow {
  const strap = item[7] as number;
  const ownTs = item[10];
  return {
    deviceId: item[0] as string,
    seq: item[1] as number,
    ts: typeof ownTs === 'number' ? ownTs : (item[2] as number),
    receivedAt,
    subjectId: typeof item[8] === 'string' ? item[8] : null,
    lat: item[3] as number | null,
    lon: item[4] as number | null,
    accuracy: item[5] as number | null,
    battery: item[6] as number | null,
    strap: strap >= 0 ? (STRAP_NAMES[strap] ?? null) : null,
    late: item[9] === 1,
  };
}

async function insertEvent(c: pg.PoolClient, e: AlertEvent): Promise<void> {
  await c.query(
    `INSERT INTO alert_events (event_id, episode_id, event, type, severity, subject_id, device_id, team, at, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
    [`${e.episodeId}:${e.event}`, e.episodeId, e.event, e.type, e.severity, e.subjectId, e.deviceId, e.team, e.at, JSON.stringify(e)],
  );
}

async function checkpoint(c: pg.PoolClient, stream: string, position: string): Promise<void> {
  await c.query(
    `INSERT INTO archive_checkpoints (stream, position, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
    [stream, position],
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
