import type { Redis } from 'ioredis';
import type pg from 'pg';
import { inTransaction } from './db.js';
import type { AlertEvent } from '../engine/alert.js';
import { STRAP_NAMES } from '../engine/fix.js';
import type { Keys } from '../server/keys.js';
import { compareStreamIds, type FeedItem } from './feed.js';
import { insertFixes, PartitionCache, type FixRow } from './fix-writer.js';

/**
 * The archive copier: Redis → PostgreSQL, exactly once.
 *
 * Two sources, with checkpoint rows in `archive_checkpoints`:
 *  - the ingest log (`Keys.log`), one entry per group commit; its fixes become `fixes` rows. The
 *    fixes are split by device into lanes (CopierOptions.lanes), written by one transaction per
 *    lane at once, each lane with its own checkpoint (`log.<lane>/<lanes>`); a device is always
 *    in the same lane, so each fix has exactly one lane and one checkpoint deciding its fate.
 *  - `feed`: the archive feed (`Keys.archiveFeed`): alert events, decisions, configuration changes.
 * A batch of entries is written in one transaction (per lane) together with the new checkpoint
 * (the id of the last entry in it). A crash before COMMIT leaves both as they were, and the batch is read
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
  /**
   * Fixes are written by this many transactions at once, on separate connections, each for the
   * devices whose id hashes to it (a "lane"), each with its own checkpoint. Default 2.
   */
  lanes?: number;
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
  private readonly lanes: number;
  /** Per lane: the newest log id whose fixes of that lane are archived (null: none yet). */
  private laneCursors: (string | null)[] = [];
  private feedCursor: string | null = null;
  private lockClient: pg.PoolClient | null = null;
  private stopping = false;
  private lastBehindWarn = 0;
  private batchesSinceLossCheck = 0;
  /** Totals since start (the worker logs them). */
  readonly copied: CopyCounts = { entries: 0, fixes: 0, events: 0, decisions: 0, configs: 0 };

  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly pool: pg.Pool, options: CopierOptions = {}) {
    this.batch = options.batchEntries ?? 500;
    this.lanes = Math.max(1, options.lanes ?? 2);
    this.idleMs = options.idleMs ?? 200;
    this.behindWarn = options.behindWarnEntries ?? 100_000;
    this.log = options.log ?? (() => undefined);
  }

  /** Takes the copier lock (waits while another copier holds it) and reads the checkpoints. */
  async start(): Promise<void> {
    this.lockClient = await this.pool.connect();
    await this.lockClient.query('SELECT pg_advisory_lock(hashtext(current_schema() || \':archive-copier\'))');
    const rows = (await this.pool.query<{ stream: string; position: string }>('SELECT stream, position FROM archive_checkpoints WHERE stream = \'feed\' OR stream LIKE \'log.%\'')).rows;
    const lanes = new Map<string, string>();
    for (const r of rows) {
      if (r.stream === 'feed') this.feedCursor = r.position;
      else lanes.set(r.stream, r.position);
    }
    const names = Array.from({ length: this.lanes }, (_, i) => laneName(i, this.lanes));
    if (lanes.size === this.lanes && names.every((n) => lanes.has(n))) this.laneCursors = names.map((n) => lanes.get(n) ?? null);
    else {
      // The lane count changed, or a lane has no checkpoint yet (it copied nothing: a crash
      // between the lanes' first commits): every lane starts from the oldest checkpoint of a
      // complete earlier set of lanes, else from the start of the log; what was copied already
      // is skipped by ON CONFLICT DO NOTHING.
      const k = lanes.size;
      const complete = k > 0 && Array.from({ length: k }, (_, i) => laneName(i, k)).every((n) => lanes.has(n));
      const oldest = complete ? [...lanes.values()].sort(compareStreamIds)[0] : null;
      this.laneCursors = names.map(() => oldest);
      if (k > 0) await this.pool.query('DELETE FROM archive_checkpoints WHERE stream LIKE \'log.%\'');
    }
    // The trim reads the cursor from Redis: put it there now (it may have been lost).
    if (this.logCursor !== null) await this.redis.set(this.keys.archiveLogCursor, this.logCursor);
    else await this.redis.del(this.keys.archiveLogCursor); // nothing copied for sure: the trim keeps all
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

  /** Where the copier has got to in the ingest log: every lane is at least there (null: nothing copied yet). */
  get logPosition(): string | null {
    return this.logCursor;
  }

  private get logCursor(): string | null {
    let min: string | null = null;
    for (const c of this.laneCursors) {
      if (c === null) return null;
      if (min === null || compareStreamIds(c, min) < 0) min = c;
    }
    return min;
  }

  private async copyLog(): Promise<number> {
    const entries = (await this.redis.xrange(this.keys.log, this.logCursor === null ? '-' : `(${this.logCursor}`, '+', 'COUNT', this.batch)) as StreamEntry[];
    if (entries.length === 0) return 0;
    if (this.logCursor !== null && ++this.batchesSinceLossCheck >= 20) {
      this.batchesSinceLossCheck = 0;
      await this.checkLogLoss();
    }
    const rows: FixRow[][] = this.laneCursors.map(() => []);
    for (const [id, fields] of entries) {
      const receivedAt = Number(id.slice(0, id.indexOf('-')));
      const b = fieldOf(fields, 'b');
      if (b === undefined) continue;
      for (const item of JSON.parse(b) as unknown[]) {
        if (!Array.isArray(item)) continue; // a clock tick
        const lane = this.lanes === 1 ? 0 : laneOf(item[0] as string, this.lanes);
        const cur = this.laneCursors[lane];
        // A lane ahead of the others (its last transaction committed, another's did not) skips
        // what it has.
        if (cur !== null && compareStreamIds(id, cur) <= 0) continue;
        rows[lane].push(fixRowOf(item, receivedAt));
      }
    }
    const last = entries[entries.length - 1][0];
    await this.partitions.ensure(this.pool, 'fixes', rows.flat().map((r) => r.ts));
    // One transaction per lane, at once: each lane's rows with that lane's checkpoint.
    const results = await Promise.allSettled(rows.map(async (laneRows, lane) => {
      await this.transaction(async (c) => {
        await insertFixes(c, laneRows);
        await checkpoint(c, laneName(lane, this.lanes), last);
      });
      this.laneCursors[lane] = last;
    }));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    await this.redis.set(this.keys.archiveLogCursor, last);
    this.copied.entries += entries.length;
    this.copied.fixes += rows.reduce((n, r) => n + r.length, 0);
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

  private transaction(work: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    return inTransaction(this.pool, work);
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

/** A lane's checkpoint row: `log.<lane>/<lanes>`. */
function laneName(lane: number, lanes: number): string {
  return `log.${lane}/${lanes}`;
}

/** The lane of a device: FNV-1a of its id. */
function laneOf(deviceId: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) h = Math.imul(h ^ deviceId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
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
