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
 * Sources, each followed with checkpoint rows of its own in `archive_checkpoints`:
 *  - every partition's ingest log (`Keys.logs()`; one with PARTITIONS=1), one entry per group
 *    commit; its fixes become `fixes` rows. The fixes are split by device into lanes
 *    (CopierOptions.lanes), written by one transaction per lane at once; each (partition, lane)
 *    has its own checkpoint (`log.<lane>/<lanes>` with one partition, `log.p<n>.<lane>/<lanes>`
 *    with several), in the transaction of its lane; a device is always in the same lane, so each
 *    logged fix has exactly one checkpoint deciding its fate. (A victim unit's fix fanned out to
 *    several partitions' logs is several logged fixes with one natural key: the first copy
 *    inserts it, the others change nothing.)
 *  - the archive feeds (`Keys.archiveFeeds()`): the global one (decisions, configuration changes;
 *    checkpoint `feed`) and, with several partitions, each partition's (its alert events, written
 *    by the fenced commit; checkpoint `feed.p<n>`).
 * A round reads a batch from every source and writes it in one transaction (per lane for fixes)
 * together with the new checkpoints (the id of the last entry read from each source). A crash
 * before COMMIT leaves both as they were, and the batch is read again from the old checkpoint; a
 * crash after COMMIT leaves both moved. So every entry is copied once, whatever the moment of the
 * crash. The rows' own keys (fixes: device, seq, ts; events: event id; decisions: episode, index;
 * configuration: feed id) with ON CONFLICT DO NOTHING make a repeat harmless besides.
 *
 * After the COMMIT, the copier tells each partition how far it got (`PartitionKeys.archiveCursor`,
 * in the partition's slot: the log trim inside the fenced commit keeps what lies beyond it) and
 * trims the feeds up to their checkpoints. Those writes may be lost in a crash: they only ever
 * lag the checkpoint, which makes the trim keep more, never less.
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

/** One partition's ingest log, as the copier follows it. */
interface LogSource {
  n: number;
  key: string;
  cursorKey: string;
  lostKey: string;
  /** Per lane: the newest log id whose fixes of that lane are archived (null: none yet). */
  lanes: (string | null)[];
}

/** One archive feed. */
interface FeedSource {
  key: string;
  checkpoint: string;
  cursor: string | null;
}

export class ArchiveCopier {
  private readonly partitions = new PartitionCache();
  private readonly batch: number;
  private readonly idleMs: number;
  private readonly behindWarn: number;
  private readonly log: NonNullable<CopierOptions['log']>;
  private readonly lanes: number;
  private readonly logs: LogSource[];
  private readonly feeds: FeedSource[];
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
    this.logs = Array.from({ length: keys.partitions }, (_, n) => {
      const pk = keys.partition(n);
      return { n, key: pk.log, cursorKey: pk.archiveCursor, lostKey: pk.archiveLost, lanes: [] };
    });
    this.feeds = keys.archiveFeeds().map((key, i) => ({ key, checkpoint: i === 0 ? 'feed' : `feed.p${i - 1}`, cursor: null }));
  }

  /** Takes the copier lock (waits while another copier holds it) and reads the checkpoints. */
  async start(): Promise<void> {
    this.lockClient = await this.pool.connect();
    await this.lockClient.query('SELECT pg_advisory_lock(hashtext(current_schema() || \':archive-copier\'))');
    const rows = (await this.pool.query<{ stream: string; position: string }>('SELECT stream, position FROM archive_checkpoints WHERE stream LIKE \'feed%\' OR stream LIKE \'log.%\'')).rows;
    const byName = new Map(rows.map((r) => [r.stream, r.position]));
    for (const f of this.feeds) f.cursor = byName.get(f.checkpoint) ?? null;
    const several = this.logs.length > 1;
    for (const src of this.logs) {
      // This partition's lane checkpoints, by lane count.
      const mine = new Map<string, string>();
      for (const r of rows) {
        const m = /^log\.(?:p(\d+)\.)?(\d+)\/(\d+)$/.exec(r.stream);
        if (m === null || (m[1] === undefined ? several || src.n !== 0 : !several || Number(m[1]) !== src.n)) continue;
        mine.set(r.stream, r.position);
      }
      const names = Array.from({ length: this.lanes }, (_, i) => this.laneName(src.n, i, this.lanes));
      if (mine.size === this.lanes && names.every((n) => mine.has(n))) {
        src.lanes = names.map((n) => mine.get(n) ?? null);
        continue;
      }
      // The lane count changed, or a lane has no checkpoint yet (it copied nothing: a crash
      // between the lanes' first commits): every lane starts from the oldest checkpoint of a
      // complete earlier set of lanes, else from the start of the log; what was copied already
      // is skipped by ON CONFLICT DO NOTHING.
      const k = mine.size;
      const complete = k > 0 && Array.from({ length: k }, (_, i) => this.laneName(src.n, i, k)).every((n) => mine.has(n));
      const oldest = complete ? [...mine.values()].sort(compareStreamIds)[0] : null;
      src.lanes = names.map(() => oldest);
      if (k > 0) await this.pool.query('DELETE FROM archive_checkpoints WHERE stream = ANY($1::text[])', [[...mine.keys()]]);
    }
    // The trim reads the cursors from Redis: put them there now (they may have been lost).
    await Promise.all(this.logs.map(async (src) => {
      const c = cursorOf(src);
      if (c !== null) await this.redis.set(src.cursorKey, c);
      else await this.redis.del(src.cursorKey); // nothing copied for sure: the trim keeps all
    }));
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
      return (await this.copyLogs()) + (await this.copyFeeds());
    } catch (e) {
      // A partition this process created may have been dropped by retention since.
      this.partitions.clear();
      throw e;
    }
  }

  /** Copies everything there is now (tests, the bench). */
  async drain(): Promise<void> {
    while ((await this.copyOnce()) > 0) { /* until every source is empty */ }
  }

  /** Where the copier has got to in partition 0's ingest log: every lane is at least there (null: nothing copied yet). */
  get logPosition(): string | null {
    return cursorOf(this.logs[0]);
  }

  /** The same for every partition, partition 0 first. */
  get logPositions(): (string | null)[] {
    return this.logs.map(cursorOf);
  }

  /** A (partition, lane) checkpoint row: `log.<lane>/<lanes>` with one partition, `log.p<n>.<lane>/<lanes>` with several. */
  private laneName(n: number, lane: number, lanes: number): string {
    return this.logs.length === 1 ? `log.${lane}/${lanes}` : `log.p${n}.${lane}/${lanes}`;
  }

  private async copyLogs(): Promise<number> {
    // Every partition's next entries, so that one busy partition cannot starve the others.
    const per = Math.max(1, Math.ceil(this.batch / this.logs.length));
    const reads = await Promise.all(this.logs.map(async (src) => {
      const from = cursorOf(src);
      return (await this.redis.xrange(src.key, from === null ? '-' : `(${from}`, '+', 'COUNT', per)) as StreamEntry[];
    }));
    const read = this.logs.map((src, i) => ({ src, entries: reads[i] })).filter((r) => r.entries.length > 0);
    if (read.length === 0) return 0;
    if (++this.batchesSinceLossCheck >= 20) {
      this.batchesSinceLossCheck = 0;
      await this.checkLogLoss();
    }
    const rows: FixRow[][] = Array.from({ length: this.lanes }, () => []);
    for (const { src, entries } of read) {
      for (const [id, fields] of entries) {
        const receivedAt = Number(id.slice(0, id.indexOf('-')));
        const b = fieldOf(fields, 'b');
        if (b === undefined) continue;
        for (const item of JSON.parse(b) as unknown[]) {
          if (!Array.isArray(item)) continue; // a clock tick
          const lane = this.lanes === 1 ? 0 : laneOf(item[0] as string, this.lanes);
          const cur = src.lanes[lane];
          // A lane ahead of the others (its last transaction committed, another's did not) skips
          // what it has.
          if (cur !== null && compareStreamIds(id, cur) <= 0) continue;
          rows[lane].push(fixRowOf(item, receivedAt));
        }
      }
    }
    const lastOf = read.map(({ entries }) => entries[entries.length - 1][0]);
    await this.partitions.ensure(this.pool, 'fixes', rows.flat().map((r) => r.ts));
    // One transaction per lane, at once: each lane's rows with that lane's checkpoint of every
    // partition read.
    const results = await Promise.allSettled(rows.map(async (laneRows, lane) => {
      await this.transaction(async (c) => {
        await insertFixes(c, laneRows);
        await checkpoints(c, read.map(({ src }) => this.laneName(src.n, lane, this.lanes)), lastOf);
      });
      read.forEach(({ src }, i) => { src.lanes[lane] = lastOf[i]; });
    }));
    // Each partition learns how far the archive has got (where every lane is), failed lane or not.
    await Promise.all(read.map(async ({ src }) => {
      const c = cursorOf(src);
      if (c !== null) await this.redis.set(src.cursorKey, c);
    }));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const n = read.reduce((k, r) => k + r.entries.length, 0);
    this.copied.entries += n;
    this.copied.fixes += rows.reduce((k, r) => k + r.length, 0);
    const full = read.filter((r) => r.entries.length === per).map((r) => r.src);
    if (full.length > 0) await this.warnIfBehind(full);
    return n;
  }

  private async copyFeeds(): Promise<number> {
    const per = Math.max(1, Math.ceil(this.batch / this.feeds.length));
    const reads = await Promise.all(this.feeds.map(async (f) =>
      (await this.redis.xrange(f.key, f.cursor === null ? '-' : `(${f.cursor}`, '+', 'COUNT', per)) as StreamEntry[]));
    const read = this.feeds.map((feed, i) => ({ feed, entries: reads[i] })).filter((r) => r.entries.length > 0);
    if (read.length === 0) return 0;
    const items: [string, FeedItem][] = [];
    for (const { entries } of read) {
      for (const [id, fields] of entries) {
        const j = fieldOf(fields, 'j');
        if (j !== undefined) items.push([id, JSON.parse(j) as FeedItem]);
      }
    }
    const eventTimes = items.flatMap(([, it]) => (it.k === 'event' ? [Date.parse(it.e.at)] : []));
    await this.partitions.ensure(this.pool, 'alert_events', eventTimes);
    const lastOf = read.map(({ entries }) => entries[entries.length - 1][0]);
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
      await checkpoints(c, read.map(({ feed }) => feed.checkpoint), lastOf);
    });
    // Copied: each feed keeps nothing the archive has (MINID is inclusive, so the next id).
    await Promise.all(read.map(async ({ feed }, i) => {
      feed.cursor = lastOf[i];
      const [ms, seq] = lastOf[i].split('-');
      await this.redis.xtrim(feed.key, 'MINID', `${ms}-${BigInt(seq) + 1n}`);
    }));
    const n = read.reduce((k, r) => k + r.entries.length, 0);
    this.copied.entries += n;
    this.copied.events += events;
    this.copied.decisions += decisions;
    this.copied.configs += configs;
    return n;
  }

  private transaction(work: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    return inTransaction(this.pool, work);
  }

  /**
   * The log's bound (ARCHIVE_LOG_MAX_ENTRIES) or an archive switched off for a while can drop
   * entries the archive never copied: Redis remembers, per partition, the first id it kept, and
   * if that lies past our cursor, something was lost. Said loudly; the copier carries on from
   * what is there.
   */
  private async checkLogLoss(): Promise<void> {
    await Promise.all(this.logs.map(async (src) => {
      const lostBefore = await this.redis.get(src.lostKey);
      if (lostBefore === null) return;
      const cursor = cursorOf(src);
      if (cursor === null || compareStreamIds(lostBefore, cursor) > 0) {
        this.log('error', { partition: src.n, cursor, lostBefore }, 'archive: ingest-log entries after the archive\'s checkpoint were dropped before being copied (the archive fell behind ARCHIVE_LOG_MAX_ENTRIES); those fixes are not archived');
      }
      // Reported once; a later drop sets it again.
      await this.redis.del(src.lostKey);
    }));
  }

  private async warnIfBehind(full: readonly LogSource[]): Promise<void> {
    if (Date.now() - this.lastBehindWarn < 60_000) return;
    for (const src of full) {
      const len = await this.redis.xlen(src.key);
      if (len > this.behindWarn) {
        this.lastBehindWarn = Date.now();
        this.log('warn', { partition: src.n, logEntries: len }, 'archive is behind the ingest log');
        return;
      }
    }
  }
}

/** Where every lane of a partition's log is at least (null: some lane has copied nothing yet). */
function cursorOf(src: LogSource): string | null {
  let min: string | null = null;
  for (const c of src.lanes) {
    if (c === null) return null;
    if (min === null || compareStreamIds(c, min) < 0) min = c;
  }
  return min;
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

/** Checkpoint rows, one statement: `streams[i]` is at `positions[i]`. */
async function checkpoints(c: pg.PoolClient, streams: readonly string[], positions: readonly string[]): Promise<void> {
  await c.query(
    `INSERT INTO archive_checkpoints (stream, position, updated_at)
     SELECT s, p, now() FROM unnest($1::text[], $2::text[]) AS u(s, p)
     ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
    [streams, positions],
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
