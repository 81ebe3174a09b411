import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { compileZone, type PreparedZone } from '../../geo/index.js';
import type { AlertEvent } from '../engine/alert.js';
import { compileSubject, parseStoredSubject, type CompiledSubject } from '../engine/config.js';
import type { DeviceStatus, Engine, IngestOutcome } from '../engine/engine.js';
import type { Fix } from '../engine/fix.js';
import { fixFromLog, logFix, type LogItem } from '../engine/fix-codec.js';
import { Committer, isFenced, StorageUnavailableError, type CommitterOptions } from './committer.js';
import type { Keys } from './keys.js';
import { waitForReplicas, holderIsDead, LEASE_ACQUIRE, LEASE_RELEASE, LEASE_RENEW, partitionOf, pidAlive, preferredOwner } from './partitions.js';
import { loadConfig, partitionEngine, restorePartition, type LoadedConfig } from './state-store.js';
import { overlay, StatusBoard } from './status-board.js';

/** What the rest of the service may ask the engine without changing it. */
export type EngineView = Pick<Engine, 'zones' | 'settings' | 'zoneUsersOf' | 'getSubject' | 'deviceRole' | 'isKnownDevice' | 'deviceStatus' | 'eachDeviceStatus' | 'teamOfDevice'>;

/** What a configuration change may do to the engine (every partition's, as one). */
export type EngineChange = EngineView & Pick<Engine, 'setZone' | 'deleteZone' | 'setSubject' | 'deleteSubject' | 'registerDevice' | 'unregisterDevice'>;

export interface EngineHostOptions {
  redis: Redis;
  keys: Keys;
  /** Engine settings (contract section 2 "settings"), as JSON. */
  engineSettingsJson: string;
  trailMaxPerDevice: number;
  snapshotIntervalMs: number;
  log: Logger;
  /** Seconds a group commit took (both steps). */
  observeRedisSeconds(s: number): void;
  /** Alert events are durably committed (alert records and outbox written): deliver them. */
  eventsCommitted(events: readonly AlertEvent[]): void;
  /** State was rebuilt after a failed write (or a partition was taken over) and ingest may resume. */
  recovered(): void;
  /**
   * The service clock (epoch ms), default Date.now: the engine's time for timers, arrival
   * (device_offline) and future-dated fixes. Tests inject one to run the service in scenario time.
   */
  now?: () => number;
  /** How often the clock is applied to the engine's timers (ms), default 1000. */
  tickMs?: number;
  /** The archive's share of each commit (CommitterOptions.archive); absent: the archive is off. */
  archive?: CommitterOptions['archive'];
  /** The log's bound dropped entries the archive had not copied. */
  archiveLogDropped?(n: number): void;
  /** This instance's id in leases (INSTANCE_ID). */
  instanceId: string;
  /** Partition lease lifetime (LEASE_TTL_MS); renewed every fifth of it. */
  leaseTtlMs: number;
  /** Replicas a commit or inbox entry must reach before the ack (REDIS_WAIT_REPLICAS). */
  waitReplicas: number;
  /** How often the live state of owned partitions is published for the other instances (STATUS_PUBLISH_MS), default 1000. */
  statusPublishMs?: number;
  /** A connection of its own for blocking reads (the configuration-change stream). */
  blockingConnection(): Redis;
  /**
   * A connection of its own for leases (acquire, renew, release, the instance heartbeat), so a
   * renewal never queues behind the bulk writes of the main connection (snapshots, commits, the
   * live state). Default: `redis`.
   */
  leaseConnection?: Redis;
  /** A plain-Redis connection of its own for one-slot commits (PARTITIONS=1, no cluster), else null (see CommitterOptions.oneSlot). */
  oneSlotConnection(): Redis | null;
}

/** One partition: its engine (always: it holds the partition's configuration) and, while this instance owns it, its committer. */
class Partition {
  engine: Engine;
  committer: Committer | null = null;
  /** `instanceId|token` while owned (or being loaded). */
  holder: string | null = null;
  loading = false;
  releasing = false;
  recovering: Promise<void> | null = null;
  inboxCursor = '-';
  pumping = false;
  freeRounds = 0;
  /**
   * The engine is as partitionEngine() built it from the configuration: no change applied, no
   * state restored, no fix. Taking the partition over then uses it as is instead of building
   * another (at national scale that build is most of a takeover's rebuild).
   */
  pristine = true;
  constructor(readonly n: number, engine: Engine) {
    this.engine = engine;
  }
  /** Owned, loaded, writable: fixes are evaluated here. */
  get active(): boolean {
    return this.committer !== null && !this.loading && !this.releasing;
  }
}

/**
 * The one owner of the engine partitions of this process (docs/scaling.md): it builds every
 * partition's engine from the configuration in Redis, takes partition leases (with fencing
 * tokens) and loads the partitions it owns from snapshot + log, commits each through its group
 * committer, rebuilds a partition when a write fails, hands partitions over and takes them over
 * as instances come and go, forwards fixes of partitions owned elsewhere to their inbox, and
 * moves the clock. The rest of the service goes through this narrow door: submit fixes, apply a
 * change, ask whether a device is known, read the back pressure; the engines never leave (only
 * a read-only view). With one instance and PARTITIONS=1 it is the single engine of old.
 */
export class EngineHost {
  private readonly parts: Partition[];
  private started = false;
  private stopping = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private leaseRunning: Promise<void> | null = null;
  /** Partition loads, one after another (acquire). */
  private loads: Promise<void> = Promise.resolve();
  /** Leases and the instance heartbeat (EngineHostOptions.leaseConnection). */
  private readonly leaseRedis: Redis;
  /** When the last lease round started (Date.now ms; 0: none yet). */
  private lastRoundMs = 0;
  /** Partition hand-overs, one after another (leaseRound; release never rejects). */
  private handovers: Promise<void> = Promise.resolve();
  private follower: Redis | null = null;
  private configCursor = '$';
  /** The last configuration-change entry of another instance applied here (configCursor moves before it is applied). */
  private configApplied = '0-0';
  /** This host object's own mark (in lease values, and on the config-log entries it wrote, not applied again). */
  private readonly nonce = Math.random().toString(36).slice(2, 10);
  private readonly incarnation = `${process.pid}-${this.nonce}`;
  /** The service clock (EngineHostOptions.now). */
  readonly now: () => number;
  readonly view: EngineView;
  private readonly P: number;
  private oneSlot: Redis | null | undefined;
  /** Live state of partitions owned elsewhere (status-board.ts). */
  private readonly board: StatusBoard;
  /** Instances alive at the last lease round (this one included). */
  private liveInstances = 1;
  /**
   * targets() of the devices asked about since the last change of which devices an engine
   * knows (subjects and the register, through changer()): asking every partition's engine cost
   * 64 map lookups a fix, and a fifth of a national instance's CPU time (bench:takeover profile).
   */
  private readonly targetsOf = new Map<string, readonly number[]>();

  private constructor(private readonly opts: EngineHostOptions, private readonly config: LoadedConfig) {
    this.now = opts.now ?? Date.now;
    this.leaseRedis = opts.leaseConnection ?? opts.redis;
    this.P = opts.keys.partitions;
    this.board = new StatusBoard({ redis: opts.redis, keyOf: (n) => opts.keys.partition(n).status, intervalMs: opts.statusPublishMs ?? 1000, now: this.now });
    this.parts = config.subjects.map((subjects, n) => new Partition(n, partitionEngine(config, subjects, config.devices[n])));
    this.view = this.changer(new Set());
  }

  /**
   * Builds every partition's engine from Redis, takes the leases this instance can take now
   * (a lease held under its own INSTANCE_ID is a previous incarnation's: taken at once), loads
   * those partitions and fires the timers that came due while they were unowned. Not ready until
   * start().
   */
  static async open(opts: EngineHostOptions): Promise<EngineHost> {
    const config = await loadConfig(opts.redis, opts.keys, opts.engineSettingsJson, opts.log);
    const host = new EngineHost(opts, config);
    const last = await opts.redis.xrevrange(opts.keys.configLog, '+', '-', 'COUNT', 1);
    host.configCursor = last.length > 0 ? last[0][0] : '0-0';
    host.configApplied = host.configCursor;
    if (host.P === 1) {
      host.oneSlot = opts.oneSlotConnection();
      await host.oneSlot?.connect();
    }
    // Leases are renewed from the first one taken: loading many partitions (a national
    // configuration on a busy machine) can outlast LEASE_TTL_MS.
    host.leaseRunning = host.leaseRound(true).finally(() => (host.leaseRunning = null));
    host.leaseTimer();
    try {
      await host.leaseRunning;
      await host.loads;
    } catch (e) {
      host.halt();
      throw e;
    }
    return host;
  }

  /** Lease rounds every fifth of LEASE_TTL_MS: renew, hand over, take what is free. */
  private leaseTimer(): void {
    const t = setInterval(() => {
      if (this.leaseRunning !== null || this.stopping) return;
      this.leaseRunning = this.leaseRound(false)
        .catch((e: Error) => this.opts.log.warn({ err: e.message }, 'partition lease round failed'))
        .finally(() => (this.leaseRunning = null));
    }, Math.max(50, Math.floor(this.opts.leaseTtlMs / 5)));
    t.unref();
    this.timers.push(t);
  }

  /** Ready for ingest and changes; the clock drives timers; leases are renewed and balanced. */
  start(): void {
    this.started = true;
    const every = (ms: number, f: () => void): void => {
      const t = setInterval(f, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.tickMs ?? 1000, () => {
      for (const p of this.parts) if (p.active && p.recovering === null) p.committer?.tick(this.now()).catch(() => undefined);
    });
    every(100, () => {
      for (const p of this.parts) if (p.active && p.recovering === null && !p.pumping) void this.pumpInbox(p);
    });
    every(this.opts.statusPublishMs ?? 1000, () => {
      if (this.liveInstances <= 1) return;
      const owned = this.parts.filter((p) => p.active && p.recovering === null);
      this.board.publish(owned).catch((e: Error) => this.opts.log.debug({ err: e.message }, 'live state not published'));
    });
    void this.followConfig();
  }

  /** Started and no owned partition is being rebuilt. */
  get ready(): boolean {
    return this.started && this.parts.every((p) => p.recovering === null);
  }

  /** Partitions this instance owns and has loaded. */
  ownedPartitions(): number[] {
    return this.parts.filter((p) => p.committer !== null && !p.loading).map((p) => p.n);
  }

  /** Back pressure: ingest pauses while writes are broken or too many fixes wait to be written. */
  get isBroken(): boolean {
    return this.parts.some((p) => p.recovering !== null || (p.committer?.isBroken ?? false));
  }

  get pendingFixes(): number {
    let n = 0;
    for (const p of this.parts) n += p.committer?.pendingFixes ?? 0;
    return n;
  }

  isKnownDevice(deviceId: string): boolean {
    // Once per fix on the ingest path: no list built.
    for (const p of this.parts) if (p.engine.isKnownDevice(deviceId)) return true;
    return false;
  }

  /**
   * A device's status across partitions: its wearer's from its home partition; a victim's unit
   * watched from several partitions merged (the latest heard and position, any watcher).
   * Only partitions loaded here have live state (positions, last heard): with several instances
   * a partition owned elsewhere shows its configuration only.
   */
  deviceStatus(deviceId: string): DeviceStatus | null {
    if (this.P === 1) return this.live(0, this.parts[0].engine.deviceStatus(deviceId));
    let best: DeviceStatus | null = null;
    for (const n of this.targets(deviceId)) {
      const s = this.live(n, this.parts[n].engine.deviceStatus(deviceId));
      if (s === null) continue;
      if (best === null) {
        best = s;
        continue;
      }
      if (best.subjectId === null && s.subjectId !== null) {
        best.subjectId = s.subjectId;
        best.team = s.team;
        best.openAlerts = s.openAlerts;
        best.maxSeverity = s.maxSeverity;
      }
      best.watchedAsVictim ||= s.watchedAsVictim;
      if (s.lastHeardMs > best.lastHeardMs) {
        best.lastHeardMs = s.lastHeardMs;
        best.battery = s.battery;
        best.strap = s.strap;
      }
      if (s.lastFix !== null && (best.lastFix === null || s.lastFix.tsMs > best.lastFix.tsMs)) best.lastFix = s.lastFix;
    }
    return best;
  }

  /** A device's status from partition n: its live fields from the owner's published document when n is owned elsewhere. */
  private live(n: number, s: DeviceStatus | null): DeviceStatus | null {
    if (s === null || this.parts[n].active) return s;
    const r = this.board.row(n, s.deviceId);
    return r === undefined ? s : overlay(s, r);
  }

  /**
   * Fetches the live state other instances published for the partitions they own (at most every
   * half STATUS_PUBLISH_MS), so that deviceStatus and eachDeviceStatus show it; call before a
   * read that shows positions or health. Redis unreachable: those devices show their
   * configuration only.
   */
  async refreshRemote(): Promise<void> {
    const elsewhere = this.parts.filter((p) => !p.active).map((p) => p.n);
    if (elsewhere.length === 0) return;
    await this.board.refresh(elsewhere).catch((e: Error) => this.opts.log.debug({ err: e.message }, 'live state of other instances not read'));
  }

  /**
   * The partitions that evaluate a device's fixes: those whose engine knows it (its home
   * partition, and for a victim unit every partition watching it), lowest first. The first one
   * writes its trail.
   */
  targets(deviceId: string): readonly number[] {
    if (this.P === 1) return this.parts[0].engine.isKnownDevice(deviceId) ? ONLY_PARTITION_0 : NO_PARTITIONS;
    const hit = this.targetsOf.get(deviceId);
    if (hit !== undefined) return hit;
    const out: number[] = [];
    for (const p of this.parts) if (p.engine.isKnownDevice(deviceId)) out.push(p.n);
    // Unknown devices are not remembered: a stream of made-up ids must not grow the map.
    if (out.length > 0) this.targetsOf.set(deviceId, out);
    return out;
  }

  /**
   * Evaluates validated fixes in order in every partition that needs them (forwarded to the
   * inbox of partitions owned elsewhere); `recorded` settles once they are durable in all of them
   * (or rejects: not recorded). Outcomes are exact for the partitions owned here.
   */
  submit(fixes: readonly Fix[]): { outcomes: IngestOutcome[]; recorded: Promise<void> } {
    let outcomes: IngestOutcome[] = fixes.map(() => 'accepted');
    if (this.P === 1) {
      const p = this.parts[0];
      if (p.active && p.committer !== null) return p.committer.submit(fixes);
      if (p.recovering !== null) throw new StorageUnavailableError('recovering');
      return { outcomes, recorded: this.toInbox(0, fixes) };
    }
    const byPart = new Map<number, Fix[]>();
    for (const f of fixes) {
      for (const n of this.targets(f.deviceId)) {
        const list = byPart.get(n);
        if (list === undefined) byPart.set(n, [f]);
        else list.push(f);
      }
    }
    const waits: Promise<void>[] = [];
    try {
      for (const [n, list] of byPart) {
        const p = this.parts[n];
        if (p.recovering !== null) throw new StorageUnavailableError('recovering');
        if (p.active && p.committer !== null) {
          const r = p.committer.submit(list);
          waits.push(r.recorded);
          if (byPart.size === 1) outcomes = r.outcomes;
        } else {
          waits.push(this.toInbox(n, list));
        }
      }
    } catch (e) {
      for (const w of waits) w.catch(() => undefined);
      throw e;
    }
    return { outcomes, recorded: Promise.all(waits).then(() => undefined) };
  }

  /** Appends fixes to a partition's inbox for its owner (and waits for the replicas). */
  private async toInbox(n: number, fixes: readonly Fix[]): Promise<void> {
    const inbox = this.opts.keys.partition(n).inbox;
    try {
      await this.opts.redis.xadd(inbox, '*', 'f', JSON.stringify(fixes.map(logFix)));
      await waitForReplicas(this.opts.redis, inbox, this.opts.waitReplicas);
    } catch (e) {
      throw new StorageUnavailableError((e as Error).message);
    }
  }

  /** Evaluates the whole inbox now (before a partition just acquired takes fixes directly). */
  private async drainInbox(p: Partition, c: Committer): Promise<void> {
    for (;;) {
      const from = p.inboxCursor === '-' ? '-' : `(${p.inboxCursor}`;
      const entries = await this.opts.redis.xrange(this.opts.keys.partition(p.n).inbox, from, '+', 'COUNT', 500);
      if (entries.length === 0) return;
      for (const [id, fields] of entries) {
        const fixes = (JSON.parse(fields[1]) as LogItem[]).map((i) => fixFromLog(i)).filter((f): f is Fix => f !== null);
        c.submit(fixes, id).recorded.catch(() => undefined);
        p.inboxCursor = id;
      }
    }
  }

  /** The owner reads what other instances forwarded, in order, and evaluates it. */
  private async pumpInbox(p: Partition): Promise<void> {
    p.pumping = true;
    try {
      const c = p.committer;
      if (c === null) return;
      const from = p.inboxCursor === '-' ? '-' : `(${p.inboxCursor}`;
      const entries = await this.opts.redis.xrange(this.opts.keys.partition(p.n).inbox, from, '+', 'COUNT', 200);
      for (const [id, fields] of entries) {
        if (p.committer !== c || !p.active || c.isBroken) return;
        const items = JSON.parse(fields[1]) as LogItem[];
        const fixes = items.map((i) => fixFromLog(i)).filter((f): f is Fix => f !== null);
        c.submit(fixes, id).recorded.catch(() => undefined);
        p.inboxCursor = id;
      }
    } catch {
      // Redis unreachable: the next pass tries again (the committer's own failure path rebuilds).
    } finally {
      p.pumping = false;
    }
  }

  /**
   * A configuration change: `apply` changes the engines (synchronously; throw to refuse),
   * `write` stages the matching Redis writes (one MULTI, with a note on the configuration-change
   * stream for the other instances); every partition owned here that the change touched commits
   * its events and a snapshot.
   */
  async change(apply: (engine: EngineChange) => void, write: (m: ChainableCommander) => void): Promise<void> {
    const touched = new Set<number>();
    const ids = { zones: new Set<string>(), subjects: new Set<string>(), devices: new Set<string>() };
    for (const p of this.parts) if (p.recovering !== null) throw new StorageUnavailableError('recovering');
    apply(this.changer(touched, ids));
    const committed = this.commitChanged(touched);
    // Awaited below, after the configuration write: a commit refused meanwhile (FENCED: the lease
    // moved) must not count as an unhandled rejection, which ends the process.
    committed.catch(() => undefined);
    const m = this.opts.redis.multi();
    write(m);
    m.xadd(this.opts.keys.configLog, 'MAXLEN', '~', 1000, '*', 'by', this.incarnation,
      'zones', JSON.stringify([...ids.zones]), 'subjects', JSON.stringify([...ids.subjects]), 'devices', JSON.stringify([...ids.devices]));
    try {
      const results = await m.exec();
      if (results === null) throw new Error('transaction aborted');
      for (const [err] of results) if (err) throw err;
    } catch (e) {
      // The engines have a change Redis does not: rebuild the partitions it touched.
      committed.catch(() => undefined);
      for (const n of touched) this.rebuild(this.parts[n], e as Error);
      throw new StorageUnavailableError((e as Error).message);
    }
    await committed;
  }

  /** Events of a change: committed (with a snapshot) by owned partitions, dropped by the others (their owner raises them). */
  private commitChanged(touched: Set<number>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const n of touched) {
      const p = this.parts[n];
      p.pristine = false;
      if (p.committer !== null && !p.loading) waits.push(p.committer.changed());
      else p.engine.drain();
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** The engines of every partition, as one (reads) and routing each change to the partitions it concerns. */
  private changer(touched: Set<number>, ids = { zones: new Set<string>(), subjects: new Set<string>(), devices: new Set<string>() }): EngineChange {
    const parts = this.parts;
    const P = this.P;
    const all = (): void => {
      for (const p of parts) touched.add(p.n);
    };
    const holding = (subjectId: string): Partition | undefined => parts.find((p) => p.engine.getSubject(subjectId) !== undefined);
    return {
      get zones() { return parts[0].engine.zones; },
      get settings() { return parts[0].engine.settings; },
      zoneUsersOf: (id) => (P === 1 ? parts[0].engine.zoneUsersOf(id) : parts.flatMap((p) => p.engine.zoneUsersOf(id)).sort()),
      getSubject: (id) => (P === 1 ? parts[0].engine.getSubject(id) : holding(id)?.engine.getSubject(id)),
      deviceRole: (deviceId) => {
        if (P === 1) return parts[0].engine.deviceRole(deviceId);
        const home = parts[partitionOf(deviceId, P)].engine.deviceRole(deviceId);
        if (home !== null && 'subjectId' in home) return home;
        const victimOf: string[] = [];
        for (const p of parts) {
          const r = p.engine.deviceRole(deviceId);
          if (r !== null && 'victimOf' in r) victimOf.push(...r.victimOf);
        }
        return victimOf.length > 0 ? { victimOf: victimOf.sort() } : null;
      },
      isKnownDevice: (deviceId) => this.isKnownDevice(deviceId),
      deviceStatus: (deviceId) => this.deviceStatus(deviceId),
      eachDeviceStatus: (visit, team = null) => {
        if (P === 1) {
          const p = parts[0];
          parts[0].engine.eachDeviceStatus(p.active ? visit : (s) => visit(this.live(0, s) ?? s), team);
          return;
        }
        // Each device once: a worn device lives in its home partition only; a victim's unit
        // watched from several partitions is visited (merged) from the first of them.
        for (const p of parts) {
          p.engine.eachDeviceStatus((s) => {
            if (team !== null) return visit(this.live(p.n, s) ?? s);
            const t = this.targets(s.deviceId);
            if (t.length <= 1) return visit(this.live(p.n, s) ?? s);
            if (t[0] !== p.n) return;
            const merged = this.deviceStatus(s.deviceId);
            if (merged !== null) visit(merged);
          }, team);
        }
      },
      teamOfDevice: (deviceId) => (P === 1 ? parts[0].engine.teamOfDevice(deviceId) : parts[partitionOf(deviceId, P)].engine.teamOfDevice(deviceId)),
      setZone: (zone: PreparedZone) => {
        ids.zones.add(zone.id);
        all();
        parts.forEach((p, i) => p.engine.setZone(zone, i > 0));
      },
      deleteZone: (id) => {
        ids.zones.add(id);
        const zone = parts[0].engine.zones.get(id);
        if (zone === undefined) return true;
        if (parts.some((p) => p.engine.zoneUsersOf(id).length > 0)) return false;
        all();
        parts[0].engine.deleteZone(id);
        for (let i = 1; i < parts.length; i++) parts[i].engine.forgetZone(zone);
        return true;
      },
      setSubject: (cfg: CompiledSubject) => {
        ids.subjects.add(cfg.id);
        this.targetsOf.clear();
        const target = parts[partitionOf(cfg.deviceId, P)];
        const from = P === 1 ? undefined : holding(cfg.id);
        if (from !== undefined && from !== target) {
          // The subject changed to a device of another partition: it moves (its episodes close
          // in the old partition and its state starts afresh in the new one).
          const other = target.engine.deviceRole(cfg.deviceId);
          if (other !== null && 'subjectId' in other && other.subjectId !== cfg.id) {
            throw new Error(`device ${cfg.deviceId} is already worn by subject ${other.subjectId}`);
          }
          from.engine.deleteSubject(cfg.id);
          touched.add(from.n);
        }
        target.engine.setSubject(cfg);
        touched.add(target.n);
      },
      deleteSubject: (id) => {
        ids.subjects.add(id);
        this.targetsOf.clear();
        const p = P === 1 ? parts[0] : holding(id);
        if (p === undefined) return false;
        touched.add(p.n);
        return p.engine.deleteSubject(id);
      },
      registerDevice: (id) => {
        ids.devices.add(id);
        this.targetsOf.clear();
        const p = parts[partitionOf(id, P)];
        touched.add(p.n);
        p.engine.registerDevice(id);
      },
      unregisterDevice: (id) => {
        ids.devices.add(id);
        this.targetsOf.clear();
        this.targetsOf.clear();
        const p = parts[partitionOf(id, P)];
        touched.add(p.n);
        p.engine.unregisterDevice(id);
      },
    };
  }

  /** Other instances are alive: a configuration change made on one of them reaches this one through the stream. */
  get followsOthers(): boolean {
    return this.liveInstances > 1;
  }

  /**
   * Waits (at most `maxMs`) until every configuration change already on the stream is applied
   * here: ingest asks before refusing a fix as "device not known", so that a subject created a
   * moment ago on another instance is known here too. Resolves at once when nothing is pending.
   */
  async catchUpConfig(maxMs: number): Promise<void> {
    const last = await this.opts.redis.xrevrange(this.opts.keys.configLog, '+', '-', 'COUNT', 1).catch(() => []);
    if (last.length === 0) return;
    const target = last[0][0];
    const until = Date.now() + maxMs;
    while (streamIdBefore(this.configApplied, target) && Date.now() < until && !this.stopping) await new Promise((r) => setTimeout(r, 10));
  }

  /** Applies changes other instances made (their ids on the configuration-change stream) by reading the records again. */
  private async followConfig(): Promise<void> {
    const r = this.opts.blockingConnection();
    this.follower = r;
    while (!this.stopping) {
      let got: [string, [string, string[]][]][] | null;
      try {
        got = (await r.xread('COUNT', 100, 'BLOCK', 1000, 'STREAMS', this.opts.keys.configLog, this.configCursor)) as typeof got;
      } catch {
        if (this.stopping) return;
        await new Promise((res) => setTimeout(res, 500));
        continue;
      }
      for (const [, entries] of got ?? []) {
        for (const [id, fields] of entries) {
          this.configCursor = id;
          const f = new Map<string, string>();
          for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
          if (f.get('by') !== this.incarnation) {
            try {
              await this.applyRemote(JSON.parse(f.get('zones') ?? '[]') as string[], JSON.parse(f.get('subjects') ?? '[]') as string[], JSON.parse(f.get('devices') ?? '[]') as string[]);
            } catch (e) {
              this.opts.log.warn({ err: (e as Error).message }, 'a configuration change made on another instance could not be applied here');
            }
          }
          this.configApplied = id;
        }
      }
    }
  }

  private async applyRemote(zones: string[], subjects: string[], devices: string[]): Promise<void> {
    const { redis, keys } = this.opts;
    const z = zones.length === 0 ? [] : await redis.hmget(keys.zones, ...zones);
    const s = subjects.length === 0 ? [] : await redis.hmget(keys.subjects, ...subjects);
    const d = devices.length === 0 ? [] : await redis.hmget(keys.devices, ...devices);
    const touched = new Set<number>();
    const e = this.changer(touched);
    zones.forEach((id, i) => {
      const json = z[i];
      if (json === null) e.deleteZone(id);
      else e.setZone(compileZone(JSON.parse(json)));
    });
    subjects.forEach((id, i) => {
      const json = s[i];
      if (json === null) e.deleteSubject(id);
      else e.setSubject(compileSubject(parseStoredSubject(JSON.parse(json)).subject, e.zones as Map<string, PreparedZone>, e.settings, `subject ${id}`));
    });
    devices.forEach((id, i) => {
      const json = d[i];
      if (json === null || (JSON.parse(json) as { status?: string }).status === 'retired') e.unregisterDevice(id);
      else e.registerDevice(id);
    });
    await this.commitChanged(touched).catch(() => undefined);
  }

  /** One round of ownership: heartbeat, renew what is owned, hand over, take what is free. */
  private async leaseRound(atStart: boolean): Promise<void> {
    const { keys, instanceId: me, leaseTtlMs: ttl } = this.opts;
    const redis = this.leaseRedis;
    const now = Date.now();
    // A round far behind its schedule (every fifth of the TTL) means renewals are late: say so
    // before the leases lapse, with how late (the event loop or Redis was held up).
    if (!atStart && this.lastRoundMs > 0 && now - this.lastRoundMs > ttl / 2) {
      this.opts.log.warn({ sinceLastRoundMs: now - this.lastRoundMs, leaseTtlMs: ttl }, 'partition lease round late');
    }
    this.lastRoundMs = now;
    await redis.zadd(keys.instances, now + ttl, me);
    await redis.zremrangebyscore(keys.instances, '-inf', now);
    const live = await redis.zrangebyscore(keys.instances, now, '+inf');
    this.liveInstances = live.length;
    await Promise.all(this.parts.map(async (p) => {
      const pk = keys.partition(p.n);
      const want = preferredOwner(p.n, live);
      if (p.holder !== null) {
        // A partition still loading is renewed too (its load may outlast the lease), and so is
        // one being handed over (its drain and snapshot may too).
        const ok = await redis.eval(LEASE_RENEW, 1, pk.lease, p.holder, ttl);
        if (ok !== 1) {
          // A hand-over that has released the lease clears the partition itself.
          if (!p.releasing) this.drop(p, 'the lease lapsed or was taken');
          return;
        }
        if (p.loading || p.releasing) return;
        // A hand-over waits for the partition's writes and a snapshot: not awaited here (the
        // other partitions' leases would go unrenewed meanwhile), and one at a time (an instance
        // joining takes half the partitions: 30 snapshots in one go held the event loop and the
        // connection long enough for the leases kept here to lapse). From now on its fixes go to
        // its inbox, as for any partition not active here.
        if (want !== null && want !== me && !this.stopping) {
          p.releasing = true;
          this.handovers = this.handovers.then(() => this.release(p));
        }
        return;
      }
      if (this.stopping) return;
      if (want !== me && !atStart) {
        const held = await redis.exists(pk.lease);
        p.freeRounds = held === 1 ? 0 : p.freeRounds + 1;
        if (p.freeRounds < 3) return;
      }
      await this.acquire(p, atStart);
    }));
  }

  private async acquire(p: Partition, atStart: boolean): Promise<void> {
    const { keys, instanceId, leaseTtlMs } = this.opts;
    const redis = this.leaseRedis;
    const pk = keys.partition(p.n);
    let replace = '';
    if (atStart) {
      const current = await redis.get(pk.lease);
      if (current !== null && holderIsDead(current, instanceId, pidAlive)) replace = current;
    }
    const name = `${instanceId}/${process.pid}/${this.nonce}`;
    const token = await redis.eval(LEASE_ACQUIRE, 2, pk.lease, pk.fence, name, leaseTtlMs, replace);
    if (token === null) return;
    const holder = `${name}|${String(token)}`;
    p.holder = holder;
    p.loading = true;
    p.freeRounds = 0;
    const started = Date.now();
    // One partition loads at a time: each becomes active as soon as it is loaded (the first of
    // a takeover evaluate fixes while the rest wait), and lease rounds keep running meanwhile.
    this.loads = this.loads.then(() => this.load(p, holder, Number(token), started));
  }

  /** Loads an acquired partition (`holder`): engine, snapshot + log, inbox; then it is active. */
  private async load(p: Partition, holder: string, token: number, started: number): Promise<void> {
    const { redis, keys, log } = this.opts;
    const pk = keys.partition(p.n);
    if (p.holder !== holder || this.stopping) return;
    const loadStart = Date.now();
    try {
      // A fresh engine over the partition's current configuration (changes from here on reach it).
      const engine = p.pristine ? p.engine : partitionEngine(this.config, p.engine.compiledSubjects(), p.engine.registeredDevices());
      p.pristine = false;
      p.engine = engine;
      const r = await restorePartition(redis, keys, p.n, engine, this.retrail(p.n));
      if (p.holder !== holder) return;
      p.committer = this.committerFor(p, engine, holder, r.lastLogId);
      p.inboxCursor = '-';
      // What other instances forwarded while the partition had no owner goes first: fixes sent
      // here from now on come after it, as they were sent (a device's order is kept).
      await this.drainInbox(p, p.committer);
      if (p.holder !== holder) return;
      p.loading = false;
      await p.committer.tick(this.now());
      log.info({ partition: p.n, token, replayed: r.replayed, ms: Date.now() - started, loadMs: Date.now() - loadStart }, 'partition acquired and loaded');
      if (this.started) this.opts.recovered();
    } catch (e) {
      log.warn({ partition: p.n, err: (e as Error).message }, 'partition acquired but could not be loaded; letting it go');
      if (p.holder === holder) {
        p.loading = false;
        p.committer = null;
        p.holder = null;
      }
      await redis.eval(LEASE_RELEASE, 1, pk.lease, holder).catch(() => undefined);
    }
  }

  /** Two-step commits (see CommitterOptions.oneSlot): what a rebuild writes again of the last group's trail. */
  private retrail(n: number): { writesTrail(deviceId: string): boolean; trailMaxPerDevice: number } | null {
    if (this.oneSlot !== null && this.oneSlot !== undefined) return null;
    return { writesTrail: this.P === 1 ? () => true : (d) => this.targets(d)[0] === n, trailMaxPerDevice: this.opts.trailMaxPerDevice };
  }

  private committerFor(p: Partition, engine: Engine, holder: string, lastLogId: string | null): Committer {
    const c: Committer = new Committer(this.opts.redis, engine, this.opts.keys, {
      trailMaxPerDevice: this.opts.trailMaxPerDevice,
      snapshotIntervalMs: this.opts.snapshotIntervalMs,
      // Spread over the interval by partition number (see CommitterOptions.snapshotPhase).
      snapshotPhase: p.n / this.P,
      now: this.now,
      partition: this.opts.keys.partition(p.n),
      holder,
      waitReplicas: this.opts.waitReplicas,
      writesTrail: this.P === 1 ? () => true : (deviceId) => this.targets(deviceId)[0] === p.n,
      oneSlot: this.oneSlot ?? null,
      ...(this.opts.archive === undefined ? {} : { archive: this.opts.archive }),
    }, {
      observeRedisSeconds: this.opts.observeRedisSeconds, eventsCommitted: this.opts.eventsCommitted,
      ...(this.opts.archiveLogDropped === undefined ? {} : { archiveLogDropped: this.opts.archiveLogDropped }),
    }, (e) => {
      if (p.committer !== c) return;
      if (isFenced(e)) this.drop(p, 'a commit was fenced: another instance owns the partition');
      else this.rebuild(p, e);
    }, lastLogId);
    return c;
  }

  /** The partition is no longer ours: stop evaluating it here (its unwritten fixes are nacked by the fence). */
  private drop(p: Partition, why: string): void {
    if (p.holder === null) return;
    this.opts.log.warn({ partition: p.n }, `partition given up: ${why}`);
    p.committer = null;
    p.holder = null;
    p.loading = false;
  }

  /** Hands a partition to the instance now preferred for it: drain, snapshot, release the lease. */
  private async release(p: Partition): Promise<void> {
    const c = p.committer;
    const holder = p.holder;
    if (c === null || holder === null) {
      p.releasing = false;
      return;
    }
    p.releasing = true;
    try {
      await c.drain();
      if (!c.isBroken) await c.snapshotSoon();
      await this.leaseRedis.eval(LEASE_RELEASE, 1, this.opts.keys.partition(p.n).lease, holder);
      this.opts.log.info({ partition: p.n }, 'partition handed over');
    } catch (e) {
      this.opts.log.warn({ partition: p.n, err: (e as Error).message }, 'partition hand-over failed; the lease will lapse');
    } finally {
      p.releasing = false;
      if (p.committer === c) {
        p.committer = null;
        p.holder = null;
      }
    }
  }

  /** A write failed (not fenced): rebuild the partition from Redis, ingest to it paused meanwhile. */
  private rebuild(p: Partition, error: Error): void {
    if (p.recovering !== null || this.stopping) return;
    const { log } = this.opts;
    log.warn({ err: error.message, partition: p.n }, 'a Redis write failed: reloading engine state from Redis; ingest is paused');
    p.recovering = (async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        const c = p.committer;
        if (c === null) return;
        try {
          const engine = partitionEngine(this.config, p.engine.compiledSubjects(), p.engine.registeredDevices());
          p.engine = engine;
          const r = await restorePartition(this.opts.redis, this.opts.keys, p.n, engine, this.retrail(p.n));
          if (p.committer !== c) return;
          c.resume(engine, r.lastLogId);
          p.inboxCursor = '-';
          // Timers that came due while recovering fire now, through the log like any tick.
          await c.tick(this.now());
          log.info({ attempt, partition: p.n }, 'engine state reloaded; ingest resumed');
          return;
        } catch (e) {
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
          if (attempt % 10 === 0) log.warn({ err: e instanceof Error ? e.message : String(e), attempt }, 'still waiting for Redis');
        }
      }
    })().finally(() => {
      p.recovering = null;
      if (!this.stopping) this.opts.recovered();
    });
  }

  /** The first step of a graceful stop: no more ticks, lease rounds, inbox reads or recovery. */
  halt(): void {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.follower?.disconnect();
  }

  /** Resolves when everything staged so far is written. */
  async drain(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.committer?.drain()));
  }

  /** Writes a snapshot of every owned partition now, unless writes are broken (then Redis holds the last good one). */
  async snapshot(): Promise<void> {
    await Promise.all(this.parts.map(async (p) => {
      if (p.committer !== null && !p.committer.isBroken && !p.loading) await p.committer.snapshotSoon();
    }));
  }

  /** The last step of a graceful stop: leases released (another instance, or a restart, takes over at once). */
  async releaseAll(): Promise<void> {
    await this.leaseRunning?.catch(() => undefined);
    const { keys, instanceId } = this.opts;
    const redis = this.leaseRedis;
    await Promise.all(this.parts.map(async (p) => {
      if (p.holder !== null) await redis.eval(LEASE_RELEASE, 1, keys.partition(p.n).lease, p.holder).catch(() => undefined);
      p.committer = null;
      p.holder = null;
    }));
    await redis.zrem(keys.instances, instanceId).catch(() => undefined);
    this.oneSlot?.disconnect();
  }
}

const ONLY_PARTITION_0: readonly number[] = [0];
const NO_PARTITIONS: readonly number[] = [];

/** Is stream id a before b (`<ms>-<seq>`)? */
function streamIdBefore(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}
