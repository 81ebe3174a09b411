import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AlertEvent } from '../engine/alert.js';
import type { Engine, IngestOutcome } from '../engine/engine.js';
import type { Fix } from '../engine/fix.js';
import { Committer, type CommitterOptions } from './committer.js';
import type { Keys } from './keys.js';
import { loadState } from './state-store.js';

/** What the rest of the service may ask the engine without changing it. */
export type EngineView = Pick<Engine, 'zones' | 'settings' | 'zoneUsersOf' | 'getSubject' | 'deviceRole' | 'isKnownDevice' | 'deviceStatus' | 'eachDeviceStatus' | 'teamOfDevice'>;

export interface EngineHostOptions {
  redis: Redis;
  keys: Keys;
  /** Engine settings (contract section 2 "settings"), as JSON. */
  engineSettingsJson: string;
  trailMaxPerDevice: number;
  snapshotIntervalMs: number;
  log: Logger;
  /** Seconds a group commit's EXEC took. */
  observeRedisSeconds(s: number): void;
  /** Alert events are durably committed (alert records and outbox written): deliver them. */
  eventsCommitted(events: readonly AlertEvent[]): void;
  /** State was rebuilt after a failed write and ingest may resume. */
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
}

/**
 * The one owner of the engine: it loads it from Redis, commits through the group committer,
 * rebuilds it when a write fails (ingest paused meanwhile), and moves its clock. The rest of the
 * service goes through this narrow door: submit fixes, apply a change, ask whether a device is
 * known, read the back pressure; the engine object itself never leaves (only a read-only view).
 */
export class EngineHost {
  private engine: Engine;
  private readonly committer: Committer;
  private recovering: Promise<void> | null = null;
  private started = false;
  private stopping = false;
  private clock: NodeJS.Timeout | null = null;
  /** The service clock (EngineHostOptions.now). */
  readonly now: () => number;

  private constructor(private readonly opts: EngineHostOptions, engine: Engine, lastLogId: string | null) {
    this.engine = engine;
    this.now = opts.now ?? Date.now;
    this.committer = new Committer(opts.redis, engine, opts.keys, {
      trailMaxPerDevice: opts.trailMaxPerDevice,
      snapshotIntervalMs: opts.snapshotIntervalMs,
      now: this.now,
      ...(opts.archive === undefined ? {} : { archive: opts.archive }),
    }, {
      observeRedisSeconds: opts.observeRedisSeconds, eventsCommitted: opts.eventsCommitted,
      ...(opts.archiveLogDropped === undefined ? {} : { archiveLogDropped: opts.archiveLogDropped }),
    }, (e) => this.recover(e), lastLogId);
  }

  /**
   * Loads the engine from Redis and fires the timers that came due while the service was down
   * (curfew deadlines, offline), through the committer so their events are recorded and queued
   * like any others. Not ready until start().
   */
  static async open(opts: EngineHostOptions): Promise<EngineHost> {
    const state = await loadState(opts.redis, opts.keys, opts.engineSettingsJson, opts.log);
    const host = new EngineHost(opts, state.engine, state.lastLogId);
    await host.committer.tick(host.now());
    return host;
  }

  /**
   * Ready for ingest and changes; the service clock now drives timers: device_offline, and a
   * quiet device's curfew deadlines, window ends and validTo (timerWaitS after they are due).
   */
  start(): void {
    this.started = true;
    this.clock = setInterval(() => {
      if (!this.ready) return;
      this.committer.tick(this.now()).catch(() => undefined);
    }, this.opts.tickMs ?? 1000);
    this.clock.unref();
  }

  /** Loaded, started and not recovering. */
  get ready(): boolean {
    return this.started && this.recovering === null;
  }

  get view(): EngineView {
    return this.engine;
  }

  /** Back pressure: ingest pauses while writes are broken or too many fixes wait to be written. */
  get isBroken(): boolean {
    return this.committer.isBroken;
  }

  get pendingFixes(): number {
    return this.committer.pendingFixes;
  }

  isKnownDevice(deviceId: string): boolean {
    return this.engine.isKnownDevice(deviceId);
  }

  /** Evaluates validated fixes in order; `recorded` settles once they are in Redis (or rejects). */
  submit(fixes: readonly Fix[]): { outcomes: IngestOutcome[]; recorded: Promise<void> } {
    return this.committer.submit(fixes);
  }

  /**
   * A configuration change: `apply` changes the engine (synchronously; throw to refuse), `write`
   * stages the matching Redis writes, committed together with a snapshot.
   */
  change(apply: (engine: Engine) => void, write: (m: ChainableCommander) => void): Promise<void> {
    return this.committer.change(() => apply(this.engine), write);
  }

  /** The first step of a graceful stop: no more ticks, no more recovery. */
  halt(): void {
    this.stopping = true;
    if (this.clock !== null) clearInterval(this.clock);
  }

  /** Resolves when everything staged so far is written. */
  drain(): Promise<void> {
    return this.committer.drain();
  }

  /** Writes a snapshot now, unless writes are broken (then Redis holds the last good one). */
  async snapshot(): Promise<void> {
    if (!this.committer.isBroken) await this.committer.snapshotSoon();
  }

  private recover(error: Error): void {
    if (this.recovering !== null || this.stopping) return;
    const { log } = this.opts;
    log.warn({ err: error.message }, 'a Redis write failed: reloading engine state from Redis; ingest is paused');
    this.recovering = (async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          const state = await loadState(this.opts.redis, this.opts.keys, this.opts.engineSettingsJson, log);
          this.engine = state.engine;
          this.committer.resume(state.engine, state.lastLogId);
          // Timers that came due while recovering fire now, through the log like any tick.
          await this.committer.tick(this.now());
          log.info({ attempt }, 'engine state reloaded; ingest resumed');
          return;
        } catch (e) {
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
          if (attempt % 10 === 0) log.warn({ err: e instanceof Error ? e.message : String(e), attempt }, 'still waiting for Redis');
        }
      }
    })().finally(() => {
      this.recovering = null;
      if (!this.stopping) this.opts.recovered();
    });
  }
}

