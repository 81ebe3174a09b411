import type { Redis, ChainableCommander } from 'ioredis';
import { writeAlertRecords } from '../alerts/alert-record.js';
import type { AlertEvent } from '../engine/alert.js';
import type { Engine, IngestOutcome } from '../engine/engine.js';
import { Fix } from '../engine/fix.js';
import { encodeFix, logFix } from '../engine/fix-codec.js';
import type { Keys } from './keys.js';
import { TRIM_LOG_LUA, type ArchiveExtras, type ArchiveFeed } from '../archive/feed.js';

/**
 * Group commit: the one path by which anything reaches Redis while the service runs.
 *
 * Fixes are evaluated by the engine synchronously as they arrive and staged into the current
 * group together with what they produced (trail entries, alert records, outbox events). A group
 * is written as one MULTI/EXEC while the next one fills, so there is one round trip per group,
 * not per fix. Each group's input (fixes in order, clock ticks) is also appended as one entry to
 * the ingest log, so that state = snapshot + log, exactly. Fixes are submitted at the service
 * clock's time (`now`): the clock moves there first (a tick in the log), and a fix dated after it
 * (a device clock slightly ahead, within INGEST_MAX_FUTURE_S) is evaluated at the service clock
 * instead: logged so, while the trail keeps the fix's own ts.
 *
 * If a write fails, the engine has seen fixes Redis has not: every waiter of that group and of
 * any group staged after it is told "not recorded", the engine is thrown away, and the owner
 * rebuilds it from Redis (the `onBroken` callback). Nothing is acknowledged that is not in Redis.
 */

export interface CommitHooks {
  /** Seconds an EXEC took. */
  observeRedisSeconds(s: number): void;
  /** A group is durably written; `events` are the alert events it committed (maybe none). */
  eventsCommitted(events: readonly AlertEvent[]): void;
  /** The log's bound dropped `n` entries the archive had not copied (it fell too far behind). */
  archiveLogDropped?(n: number): void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

class Group {
  readonly log: unknown[] = [];
  readonly trail: Fix[] = [];
  readonly events: AlertEvent[] = [];
  readonly writes: ((m: ChainableCommander) => void)[] = [];
  readonly waiters: Waiter[] = [];
  fixes = 0;
  snapshot = false;
}

export class StorageUnavailableError extends Error {
  readonly code = 'STORAGE_UNAVAILABLE';
  constructor(detail: string) {
    super(`not recorded: storage unavailable (${detail}); send again`);
  }
}

export interface CommitterOptions {
  trailMaxPerDevice: number;
  snapshotIntervalMs: number;
  /** The service clock (epoch ms): engine time for ticks, arrival and future-dated fixes. */
  now: () => number;
  /**
   * The archive (DATABASE_URL set): logged fixes carry who wore the device, late and their own
   * ts; alert events go to the feed; the log trim keeps what the archive has not copied, up to
   * `maxLogEntries`. Absent: everything exactly as without an archive.
   */
  archive?: { feed: ArchiveFeed; maxLogEntries: number };
}

export class Committer {
  private current = new Group();
  private flushing: Promise<void> | null = null;
  private lastLogMs = 0;
  private lastLogSeq = 0;
  private lastSnapshotMs = 0;
  private broken = false;
  private readonly queued: Group[] = [];
  /** The engine clock as the ingest log has it (recovery replays the log's ticks, not silent ones). */
  private loggedClockMs = -Infinity;

  constructor(
    private readonly redis: Redis,
    private engine: Engine,
    private readonly keys: Keys,
    private readonly options: CommitterOptions,
    private readonly hooks: CommitHooks,
    /** Called once when a write fails; the owner rebuilds the engine and calls resume(). */
    private readonly onBroken: (error: Error) => void,
    lastLogId: string | null,
  ) {
    if (lastLogId !== null) [this.lastLogMs, this.lastLogSeq] = lastLogId.split('-').map(Number);
    this.lastSnapshotMs = Date.now();
  }

  get isBroken(): boolean {
    return this.broken;
  }

  /** Fixes staged but not yet written. */
  get pendingFixes(): number {
    return this.current.fixes + this.queued.reduce((n, g) => n + g.fixes, 0);
  }

  /** After a rebuild: continue with the new engine. */
  resume(engine: Engine, lastLogId: string | null): void {
    this.engine = engine;
    if (lastLogId !== null) [this.lastLogMs, this.lastLogSeq] = lastLogId.split('-').map(Number);
    this.current = new Group();
    this.broken = false;
    this.loggedClockMs = -Infinity;
  }

  /**
   * Evaluates fixes (already validated) in order and stages them. Returns each fix's outcome at
   * once, and a promise that settles when they are durably recorded (or rejects: not recorded).
   */
  submit(fixes: readonly Fix[]): { outcomes: IngestOutcome[]; recorded: Promise<void> } {
    if (this.broken) throw new StorageUnavailableError('recovering');
    const g = this.current;
    // Arrival: the engine's clock moves to the service clock first (device_offline is judged by
    // arrival; timers due meanwhile fire), logged so recovery sees the same clock at each fix.
    const now = Math.max(this.options.now(), this.engine.now);
    if (now > this.loggedClockMs || !this.engine.isStarted) {
      g.log.push({ tick: now });
      this.loggedClockMs = now;
      this.engine.advanceTo(now);
    }
    const outcomes: IngestOutcome[] = [];
    for (const f of fixes) {
      // Never evaluated ahead of the service clock: no event is dated in the future, and the
      // device's next true fix is not "late" behind it.
      const e = f.ts > now ? new Fix(f.deviceId, f.seq, now, f.lat, f.lon, f.accuracy, f.battery, f.strap) : f;
      const o = this.engine.ingest(e);
      outcomes.push(o);
      if (o === 'accepted' || o === 'late') {
        const item = logFix(e) as unknown[];
        if (this.options.archive !== undefined) {
          const r = this.engine.deviceRole(f.deviceId);
          const extras: ArchiveExtras = [r !== null && 'subjectId' in r ? r.subjectId : null, o === 'late' ? 1 : 0, e === f ? null : f.ts];
          item.push(...extras);
        }
        g.log.push(item);
        g.trail.push(f);
        g.fixes++;
      }
    }
    this.stageEvents(g);
    return { outcomes, recorded: this.wait(g) };
  }

  /** Moves the engine's clock; logs the tick only if a timer was due (so replay repeats it). */
  tick(now: number): Promise<void> {
    if (this.broken) return Promise.resolve();
    const due = this.engine.nextDue();
    if (!(due < now) && this.engine.isStarted) {
      this.engine.advanceTo(now);
      return Promise.resolve();
    }
    const g = this.current;
    g.log.push({ tick: now });
    if (now > this.loggedClockMs) this.loggedClockMs = now;
    this.engine.advanceTo(now);
    this.stageEvents(g);
    return this.wait(g);
  }

  /**
   * A configuration change: `apply` changes the engine (synchronously, throwing if it refuses),
   * `write` stages the matching configuration writes; a snapshot goes in the same MULTI, so
   * the log never spans a configuration change.
   */
  change(apply: () => void, write: (m: ChainableCommander) => void): Promise<void> {
    if (this.broken) return Promise.reject(new StorageUnavailableError('recovering'));
    apply();
    const g = this.current;
    g.writes.push(write);
    g.snapshot = true;
    this.stageEvents(g);
    return this.wait(g);
  }

  /** Resolves when everything staged so far is written. */
  async drain(): Promise<void> {
    while (this.flushing !== null || this.current.waiters.length > 0 || this.current.log.length > 0) {
      if (this.flushing === null) this.kick();
      await this.flushing;
    }
  }

  /** Forces a snapshot in the next group. */
  snapshotSoon(): Promise<void> {
    const g = this.current;
    g.snapshot = true;
    return this.wait(g);
  }

  private stageEvents(g: Group): void {
    for (const e of this.engine.drain()) g.events.push(e);
  }

  private wait(g: Group): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      g.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing !== null || this.broken) return;
    const g = this.current;
    if (g.waiters.length === 0) return;
    this.current = new Group();
    // Snapshot now, synchronously: the engine state is exactly "after this group" at this point.
    const snap = g.snapshot || Date.now() - this.lastSnapshotMs >= this.options.snapshotIntervalMs;
    const snapshotJson = snap ? JSON.stringify(this.engine.snapshot()) : null;
    this.flushing = this.flush(g, snapshotJson).finally(() => {
      this.flushing = null;
      this.kick();
    });
  }

  private nextLogId(): string {
    const now = Date.now();
    if (now > this.lastLogMs) {
      this.lastLogMs = now;
      this.lastLogSeq = 0;
    } else {
      this.lastLogSeq++;
    }
    return `${this.lastLogMs}-${this.lastLogSeq}`;
  }

  private async flush(g: Group, snapshotJson: string | null): Promise<void> {
    let m: ChainableCommander;
    try {
      m = this.build(g, snapshotJson);
    } catch (e) {
      // A write that cannot even be built (it should not happen: bodies are bounded and
      // shallow) must not crash the process; the engine state is rebuilt from Redis.
      this.fail(g, e as Error);
      return;
    }
    await this.exec(g, m, snapshotJson);
  }

  /** Index of the archive-aware log trim in the group's MULTI (-1: none). */
  private trimAt = -1;

  private build(g: Group, snapshotJson: string | null): ChainableCommander {
    const k = this.keys;
    const m = this.redis.multi();
    const logId = this.nextLogId();
    m.xadd(k.log, logId, 'b', JSON.stringify(g.log));
    for (const f of g.trail) {
      m.xadd(k.trail(f.deviceId), 'MAXLEN', '~', this.options.trailMaxPerDevice, '*', ...encodeFix(f));
    }
    if (g.trail.length > 0) m.sadd(k.trailDevices, ...new Set(g.trail.map((f) => f.deviceId)));
    for (const w of g.writes) w(m);
    writeAlertRecords(m, k, g.events, this.options.archive?.feed);
    this.trimAt = -1;
    if (snapshotJson !== null) {
      m.set(k.snapshot, JSON.stringify({ logId, engine: JSON.parse(snapshotJson) }));
      // Everything up to and including this group is in the snapshot.
      const minId = `${this.lastLogMs}-${this.lastLogSeq + 1}`;
      if (this.options.archive === undefined) m.xtrim(k.log, 'MINID', minId);
      else {
        // ...but not what the archive has still to copy (bounded: src/archive/feed.ts).
        this.trimAt = m.length - 1; // results leave out the MULTI itself
        m.eval(TRIM_LOG_LUA, 3, k.log, k.archiveLogCursor, k.archiveLogLost, minId, this.options.archive.maxLogEntries);
      }
    }
    return m;
  }

  private async exec(g: Group, m: ChainableCommander, snapshotJson: string | null): Promise<void> {
    const started = performance.now();
    const trimAt = this.trimAt;
    try {
      const results = await m.exec();
      if (results === null) throw new Error('transaction aborted');
      for (const [err] of results) if (err) throw err;
      if (trimAt >= 0 && Number(results[trimAt][1]) > 0) this.hooks.archiveLogDropped?.(Number(results[trimAt][1]));
    } catch (e) {
      this.fail(g, e as Error);
      return;
    }
    this.hooks.observeRedisSeconds((performance.now() - started) / 1000);
    if (snapshotJson !== null) this.lastSnapshotMs = Date.now();
    if (g.events.length > 0) this.hooks.eventsCommitted(g.events);
    for (const w of g.waiters) w.resolve();
  }

  private fail(g: Group, e: Error): void {
    this.broken = true;
    const err = new StorageUnavailableError(e.message);
    for (const w of g.waiters) w.reject(err);
    // Everything staged after the failed group was evaluated on top of it: none of it stands.
    for (const w of this.current.waiters) w.reject(err);
    this.current = new Group();
    this.onBroken(e);
  }
}
