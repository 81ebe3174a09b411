import type { ChainableCommander, Redis } from 'ioredis';
import { writeAlertProjection } from '../alerts/alert-record.js';
import type { AlertEvent } from '../engine/alert.js';
import type { Engine, EngineSnapshot, IngestOutcome } from '../engine/engine.js';
import { Fix } from '../engine/fix.js';
import { logFix } from '../engine/fix-codec.js';
import type { Keys, PartitionKeys } from './keys.js';
import { FENCED_COMMIT, nextStreamId, waitForReplicas } from './partitions.js';
import { stageTrail } from './trail-append.js';
import type { ArchiveExtras, ArchiveFeed } from '../archive/feed.js';

/**
 * Group commit: the one path by which a partition's input reaches Redis while the service runs
 * (one Committer per owned partition; docs/scaling.md).
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
 * A group is written in two steps: (1) the fenced commit, one Lua script in the partition's slot
 * (log entry, outbox events, snapshot and log trim, inbox trim, and with the archive on the
 * events on the partition's archive feed; refused whole unless the partition lease still names
 * this owner), then WAIT for REDIS_WAIT_REPLICAS replicas; (2) one
 * MULTI in the global slot: trail entries and alert records. Only then is the group acked.
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
  readonly waiters: Waiter[] = [];
  fixes = 0;
  /** A snapshot of the state after this group, built now on the event loop (hand-over, shutdown). */
  snapshot = false;
  /** A snapshot built (sliced) since, of the state after an earlier group, written with this one. */
  carries: ReadySnapshot | null = null;
  /** The newest inbox entry this group consumed (trimmed in the same fenced commit). */
  inboxTo: string | null = null;
  /** The group's log entry id (set when it is written). */
  logId = '';
  /** Written (both steps). */
  written = false;
  /** Called once it is written. */
  readonly afterWrite: (() => void)[] = [];
}

/**
 * The trail entry id of the i-th trailed fix of the group logged as `logId` (two-step commits):
 * deterministic, so writing it again after a crash between the two steps is refused by Redis
 * ("equal or smaller") instead of doubling the entry. Log ids increase per partition, and one
 * partition writes a device's trail, so a device's trail ids increase too.
 */
export function trailEntryId(logId: string, i: number): string {
  const [ms, seq] = logId.split('-');
  return `${ms}-${Number(seq) * 100_000 + i}`;
}

/** An XADD refused because the entry is already there (a trail entry written again). */
export function isAlreadyWritten(e: Error): boolean {
  return e.message.includes('equal or smaller');
}

/** A commit refused because the partition lease no longer names this owner. */
export function isFenced(e: Error): boolean {
  return e.message.includes('FENCED');
}

/** A snapshot string and the log entry (group) whose state it is. */
interface ReadySnapshot {
  logId: string;
  /** UTF-8, encoded slice by slice (one multi-megabyte string encoded at once is a stall of its own). */
  json: string | Buffer;
}

/**
 * A large engine's snapshot owed to configuration changes is taken once no change has come for
 * this long: a bulk import or seeding (hundreds of changes, one after another) costs one snapshot
 * after it, not one each (the periodic snapshot still runs meanwhile).
 */
export const CHANGE_SNAPSHOT_QUIET_MS = 1000;

/** Devices or subjects stringified per turn of the event loop while a snapshot is sliced. */
const SNAPSHOT_SLICE = 2000;

/**
 * JSON.stringify(snapshot), byte for byte, a slice of devices or subjects per turn of the event
 * loop: the object is a copy of the engine state (snapshotState builds it from primitives), so
 * fixes evaluated meanwhile do not change it.
 */
export async function stringifySliced(snap: EngineSnapshot, stillWanted: () => boolean): Promise<Buffer | null> {
  const parts: Buffer[] = [Buffer.from(`{"v":${JSON.stringify(snap.v)},"clockMs":${JSON.stringify(snap.clockMs)},"started":${JSON.stringify(snap.started)},"devices":[`)];
  for (const [name, list] of [['devices', snap.devices], ['subjects', snap.subjects]] as const) {
    if (name === 'subjects') parts.push(Buffer.from('],"subjects":['));
    for (let i = 0; i < list.length; i += SNAPSHOT_SLICE) {
      const chunk = JSON.stringify(list.slice(i, i + SNAPSHOT_SLICE));
      parts.push(Buffer.from(i === 0 ? chunk.slice(1, -1) : `,${chunk.slice(1, -1)}`));
      await new Promise((r) => setImmediate(r));
      if (!stillWanted()) return null;
    }
  }
  parts.push(Buffer.from(`],"timers":${JSON.stringify(snap.timers)}}`));
  return Buffer.concat(parts);
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
  /**
   * Where in its snapshot interval this committer starts, as a fraction in [0, 1) (default 0:
   * the first snapshot one interval after it is created). The partitions of an instance are
   * loaded within a second or two of each other; without a phase each they would all snapshot
   * in the same tick, every interval: at national scale a burst of seconds of CPU and tens of MB
   * of writes that stalled the lease renewals behind it until every lease lapsed (bench:takeover).
   */
  snapshotPhase?: number;
  /** The service clock (epoch ms): engine time for ticks, arrival and future-dated fixes. */
  now: () => number;
  /**
   * The archive (DATABASE_URL set): logged fixes carry who wore the device, late and their own
   * ts; alert events go to the feed; the log trim keeps what the archive has not copied, up to
   * `maxLogEntries`. Absent: everything exactly as without an archive. The events' feed entries
   * and the trim are part of the fenced commit (FENCED_COMMIT, the partition's slot), so they are
   * written once with the log entry, whichever the commit mode.
   */
  archive?: { feed: ArchiveFeed; maxLogEntries: number };
  /** The partition this committer writes. */
  partition: PartitionKeys;
  /** The lease value (`instanceId|token`) every commit must find in the partition's lease key. */
  holder: string;
  /** Replicas that must have a commit before it is acked (WAIT); 0: none asked for. */
  waitReplicas: number;
  /** Whether this partition writes the trail entry of a fix of this device (a victim's fix is evaluated in several partitions, trailed once). */
  writesTrail: (deviceId: string) => boolean;
  /**
   * One plain Redis holding every key (PARTITIONS=1, no cluster): a connection of the
   * committer's own, on which each group is one WATCHed MULTI holding both steps, so trail and
   * alert records are written atomically with the log entry (as before partitions). null: two steps.
   */
  oneSlot: Redis | null;
}

export class Committer {
  private current = new Group();
  private flushing: Promise<void> | null = null;
  private lastLogMs = 0;
  private lastLogSeq = 0;
  private lastSnapshotMs = 0;
  /** When the last configuration change was staged (CHANGE_SNAPSHOT_QUIET_MS). */
  private lastChangeMs = -Infinity;
  /** A configuration change was committed that no snapshot includes yet. */
  private changeUnsnapshotted = false;
  /** The last snapshot was at most one slice: the next is taken at once (with its change's group). */
  private lastSnapshotSmall = true;
  /** A sliced snapshot is being built (of the state after `building.group`). */
  private building: { group: Group; epoch: number } | null = null;
  /** A sliced snapshot ready to go with the next group (its own group is written). */
  private ready: ReadySnapshot | null = null;
  /** Bumped whenever a snapshot in progress or ready must be dropped (a failed write, a newer snapshot). */
  private epoch = 0;
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
    this.lastSnapshotMs = Date.now() - (options.snapshotPhase ?? 0) * options.snapshotIntervalMs;
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
    this.dropSnapshotInProgress();
  }

  private dropSnapshotInProgress(): void {
    this.epoch++;
    this.building = null;
    this.ready = null;
  }

  /**
   * Evaluates fixes (already validated) in order and stages them. Returns each fix's outcome at
   * once, and a promise that settles when they are durably recorded (or rejects: not recorded).
   */
  submit(fixes: readonly Fix[], inboxId: string | null = null): { outcomes: IngestOutcome[]; recorded: Promise<void> } {
    if (this.broken) throw new StorageUnavailableError('recovering');
    const g = this.current;
    if (inboxId !== null) g.inboxTo = inboxId;
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
        if (this.options.writesTrail(f.deviceId)) g.trail.push(f);
        g.fixes++;
      }
    }
    this.stageEvents(g);
    return { outcomes, recorded: this.wait(g) };
  }

  /** Moves the engine's clock; logs the tick only if a timer was due (so replay repeats it). */
  tick(now: number): Promise<void> {
    if (this.broken) return Promise.resolve();
    // Idle: a snapshot owed to a configuration change (or one built meanwhile) still gets written.
    if (this.flushing === null && this.current.waiters.length === 0 && (this.ready !== null ||
      (this.changeUnsnapshotted && this.building === null && Date.now() - this.lastChangeMs >= CHANGE_SNAPSHOT_QUIET_MS))) {
      this.wait(this.current).catch(() => undefined);
    }
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
   * A configuration change already applied to the engine: its events (episodes it closed) go in
   * the next group, which answers it. A snapshot follows: with that group when the engine is small
   * (as always), else sliced off the hot path once changes have paused for
   * CHANGE_SNAPSHOT_QUIET_MS, so that the log after the snapshot spans the change only briefly,
   * and a stream of changes (a bulk import, seeding) costs one snapshot, not one each.
   */
  changed(): Promise<void> {
    if (this.broken) return Promise.reject(new StorageUnavailableError('recovering'));
    const g = this.current;
    this.changeUnsnapshotted = true;
    this.lastChangeMs = Date.now();
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
    const now = Date.now();
    let snapshotJson: string | null = null;
    if (g.snapshot) {
      // Asked for (hand-over, shutdown): the state after this group, now, on the event loop;
      // anything sliced in progress is older and dropped.
      this.dropSnapshotInProgress();
      this.changeUnsnapshotted = false;
      snapshotJson = JSON.stringify(this.engine.snapshot());
    } else if (this.ready !== null) {
      g.carries = this.ready;
      this.ready = null;
    } else if (this.building === null && (now - this.lastSnapshotMs >= this.options.snapshotIntervalMs ||
      (this.changeUnsnapshotted && (this.lastSnapshotSmall || now - this.lastChangeMs >= CHANGE_SNAPSHOT_QUIET_MS)))) {
      snapshotJson = this.startSnapshot(g);
    }
    this.flushing = this.flush(g, snapshotJson).finally(() => {
      this.flushing = null;
      this.kick();
    });
  }

  /**
   * Takes the state after group `g` (a copy: snapshotState, on the event loop, the part that must
   * be). A small one (at most one slice of devices and subjects) is stringified at once and
   * returned, to go with `g` itself, as it always did. A large one is stringified in slices; once
   * `g` is written it goes with the next group, under `g`'s log id (the log entries after `g`
   * stay, and are replayed over it); null is returned.
   */
  private startSnapshot(g: Group): string | null {
    const epoch = this.epoch;
    this.changeUnsnapshotted = false;
    const snap = this.engine.snapshot();
    this.lastSnapshotSmall = snap.devices.length + snap.subjects.length <= SNAPSHOT_SLICE;
    if (this.lastSnapshotSmall) return JSON.stringify(snap);
    this.building = { group: g, epoch };
    const stillWanted = (): boolean => this.epoch === epoch && !this.broken;
    void stringifySliced(snap, stillWanted).then((json) => {
      if (json === null || !stillWanted()) return;
      this.building = null;
      const publish = (): void => {
        if (!stillWanted()) return;
        this.ready = { logId: g.logId, json };
        // Written with the next group: one is made now if nothing else is coming.
        if (this.current.waiters.length === 0) this.wait(this.current).catch(() => undefined);
        else this.kick();
      };
      // `g` itself must be written first (groups are written in order).
      if (g.written) publish();
      else g.afterWrite.push(publish);
    }, () => {
      if (this.epoch === epoch) this.building = null;
    });
    return null;
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
    const started = performance.now();
    if (this.options.oneSlot !== null) {
      try {
        await this.atomicCommit(this.options.oneSlot, g, snapshotJson);
      } catch (e) {
        this.fail(g, e as Error);
        return;
      }
      this.committed(g, snapshotJson, started);
      return;
    }
    try {
      await this.fencedCommit(g, snapshotJson);
    } catch (e) {
      this.fail(g, e as Error);
      return;
    }
    // Step 2, the global slot: trails and alert records. Retried through a short outage (a
    // failover): the log entry is already durable, and acking waits for this.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.project(g);
        break;
      } catch (e) {
        if (attempt >= 8) {
          this.fail(g, e as Error);
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    this.committed(g, snapshotJson, started);
  }

  private committed(g: Group, snapshotJson: string | null, started: number): void {
    this.hooks.observeRedisSeconds((performance.now() - started) / 1000);
    if (snapshotJson !== null || g.carries !== null) this.lastSnapshotMs = Date.now();
    g.written = true;
    if (g.events.length > 0) this.hooks.eventsCommitted(g.events);
    for (const w of g.waiters) w.resolve();
    for (const f of g.afterWrite) f();
  }

  /**
   * Both steps in one MULTI, WATCHing the lease (checked first): nothing is written unless it is
   * still ours. A renewal (PEXPIRE) also aborts a WATCHed EXEC: then the check runs again.
   */
  private async atomicCommit(r: Redis, g: Group, snapshotJson: string | null): Promise<void> {
    const pk = this.options.partition;
    const args = this.commitArgs(g, snapshotJson);
    for (let attempt = 1; ; attempt++) {
      const check = await r.pipeline().watch(pk.lease).get(pk.lease).exec();
      if (check === null || check[1][0] !== null || check[1][1] !== this.options.holder) {
        await r.unwatch();
        throw new Error('FENCED: the partition lease is no longer held by this owner');
      }
      const m = r.multi();
      m.eval(FENCED_COMMIT, 8, ...this.commitKeys(), ...args);
      this.stageProjection(m, g);
      const results = await m.exec();
      if (results === null) {
        if (attempt < 20) continue;
        throw new Error('the partition lease kept changing during the commit');
      }
      for (const [err] of results) if (err) throw err;
      this.droppedForArchive(results[0][1]);
      await waitForReplicas(r, pk.log, this.options.waitReplicas);
      return;
    }
  }

  private commitArgs(g: Group, snapshotJson: string | null): (string | number | Buffer)[] {
    const logId = this.nextLogId();
    g.logId = logId;
    // This group's state (built now), or an earlier group's (sliced, carried by this one).
    const snap: ReadySnapshot | null = snapshotJson !== null ? { logId, json: snapshotJson } : g.carries;
    const args: (string | number | Buffer)[] = [
      this.options.holder,
      logId,
      JSON.stringify(g.log),
      // Everything up to and including the snapshot's group is in it: the log is trimmed past it.
      // (Spliced as text: the same bytes as stringifying {logId, engine} without parsing a
      // megabyte-sized snapshot back first.)
      snap === null ? '' : typeof snap.json === 'string' ? `{"logId":${JSON.stringify(snap.logId)},"engine":${snap.json}}`
        : Buffer.concat([Buffer.from(`{"logId":${JSON.stringify(snap.logId)},"engine":`), snap.json, Buffer.from('}')]),
      // Two-step commits keep the snapshot's own entry: its trail may need writing again (restorePartition).
      // With the archive on, the script keeps what the archive has not copied besides.
      snap === null ? '' : this.options.oneSlot === null ? snap.logId : nextStreamId(snap.logId),
      g.inboxTo === null ? '' : nextStreamId(g.inboxTo),
      this.options.archive === undefined ? '' : this.options.archive.maxLogEntries,
      this.options.archive === undefined ? '' : this.options.archive.feed.maxEntries,
    ];
    for (const e of g.events) args.push(JSON.stringify(e));
    return args;
  }

  /** FENCED_COMMIT's keys: the partition's, all in its slot. */
  private commitKeys(): string[] {
    const pk = this.options.partition;
    return [pk.lease, pk.log, pk.outbox, pk.snapshot, pk.inbox, pk.archiveFeed, pk.archiveCursor, pk.archiveLost];
  }

  /** FENCED_COMMIT's answer: how many log entries the archive's bound dropped. */
  private droppedForArchive(n: unknown): void {
    if (Number(n) > 0) this.hooks.archiveLogDropped?.(Number(n));
  }

  private stageProjection(m: ChainableCommander, g: Group): void {
    const k = this.keys;
    // One script call for the group's trail (trail-append.ts); explicit ids in two-step commits.
    stageTrail(m, k, g.trail, this.options.trailMaxPerDevice, this.options.oneSlot === null ? g.logId : null);
    writeAlertProjection(m, k, g.events);
  }

  private async fencedCommit(g: Group, snapshotJson: string | null): Promise<void> {
    const pk = this.options.partition;
    const args = this.commitArgs(g, snapshotJson);
    const results = await this.redis.pipeline().eval(FENCED_COMMIT, 8, ...this.commitKeys(), ...args).exec();
    if (results === null) throw new Error('pipeline aborted');
    for (const [err] of results) if (err) throw err;
    this.droppedForArchive(results[0][1]);
    await waitForReplicas(this.redis, pk.log, this.options.waitReplicas);
  }

  private async project(g: Group): Promise<void> {
    if (g.trail.length === 0 && g.events.length === 0) return;
    const m = this.redis.multi();
    this.stageProjection(m, g);
    const results = await m.exec();
    if (results === null) throw new Error('transaction aborted');
    for (const [err] of results) if (err && !isAlreadyWritten(err)) throw err;
  }

  private fail(g: Group, e: Error): void {
    this.broken = true;
    this.dropSnapshotInProgress();
    const err = new StorageUnavailableError(e.message);
    for (const w of g.waiters) w.reject(err);
    // Everything staged after the failed group was evaluated on top of it: none of it stands.
    for (const w of this.current.waiters) w.reject(err);
    this.current = new Group();
    this.onBroken(e);
  }
}
