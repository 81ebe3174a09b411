import { haversineM, ZoneHits, ZoneIndex, type PreparedZone } from '../../geo/index.js';
import { severityOf, type AlertEvent, type AlertType, type Confidence, type EpisodeEvent } from './alert.js';
import { subjectRecord, type CompiledCondition, type CompiledConfig, type CompiledSubject, type Settings } from './config.js';
import { Fix, STRAP_NONE, STRAP_OK } from './fix.js';
import { SeqSet } from './seq-set.js';
import { formatTime } from './time.js';
import { TimerQueue, type Timer } from './timer-queue.js';

/**
 * The monitoring rules engine: fixes in, episode events out. Pure and deterministic: no I/O,
 * and time comes only from the fixes and from advanceTo(now). Replay and the live service run
 * this same code; they differ only in who moves the clock (see EngineOptions.clock).
 *
 * Semantics (what opens, updates and closes an episode; late fixes; drift) are written down in
 * the README, section "Engine semantics". In short:
 * - A breach is an episode: `opened` on the first breaching fix (or a timer's deadline),
 *   `updated` when its confidence rises to confirmed, `closed` when it ends.
 * - Hysteresis: an episode closes only on a fix at least hysteresisM on the safe side.
 * - A late fix (older than the newest already processed from its device) never changes the
 *   current state; it can only raise a past episode that nothing already covered.
 */

export type IngestOutcome = 'accepted' | 'late' | 'duplicate' | 'unknown_device';

export interface EngineOptions {
  /**
   * 'fixes': the clock is the latest fix time seen (replay). 'external': only advanceTo() moves
   * it (the live service passes wall time). Default 'fixes'.
   */
  clock?: 'fixes' | 'external';
}

const HISTORY = 8;
/** Returned by drain() when nothing happened: no allocation per call. Never modified. */
const NO_EVENTS: AlertEvent[] = [];
const RECENT_TS = 16;

class Episode {
  constructor(
    readonly id: string,
    readonly type: AlertType,
    readonly startMs: number,
    public confidence: Confidence,
    readonly late: boolean,
  ) {}
}

/** One alert type for one key (subject + condition [+ zone]): its open episode and recent past. */
class Slot {
  open: Episode | null = null;
  /** Episode raised by a late burst, and the last late breaching fix time in it. */
  late: Episode | null = null;
  lateLastMs = 0;
  /** Recent episodes as [start, end) pairs, for deciding whether a late fix is already covered. */
  private hist: Float64Array | null = null;
  private histN = 0;

  constructor(readonly type: AlertType, readonly idPrefix: string, readonly track: Track | null) {}

  remember(startMs: number, endMs: number): void {
    if (this.hist === null) this.hist = new Float64Array(HISTORY * 2);
    const i = (this.histN % HISTORY) * 2;
    this.hist[i] = startMs;
    this.hist[i + 1] = endMs;
    this.histN++;
  }

  /** Has this slot ever held an episode (live or late)? */
  get hasHistory(): boolean {
    return this.hist !== null || this.open !== null || this.late !== null;
  }

  copyHistory(from: Slot): void {
    this.hist = from.hist === null ? null : from.hist.slice();
    this.histN = from.histN;
  }

  toJSON(): SlotSnapshot | null {
    if (this.open === null && this.late === null && this.hist === null) return null;
    return {
      open: this.open === null ? null : episodeToJson(this.open),
      late: this.late === null ? null : episodeToJson(this.late),
      lateLastMs: this.lateLastMs,
      hist: this.hist === null ? [] : Array.from(this.hist, num),
      histN: this.histN,
    };
  }

  load(j: SlotSnapshot | null): void {
    if (j === null) return;
    this.open = j.open === null ? null : episodeFromJson(j.open);
    this.late = j.late === null ? null : episodeFromJson(j.late);
    this.lateLastMs = j.lateLastMs;
    this.hist = j.hist.length === 0 ? null : Float64Array.from(j.hist, (x) => den(x, 0));
    this.histN = j.histN;
  }

  covers(t: number): boolean {
    if (this.open !== null && this.open.startMs <= t) return true;
    if (this.late !== null && this.late.startMs <= t && t <= this.lateLastMs) return true;
    const h = this.hist;
    if (h === null) return false;
    const n = Math.min(this.histN, HISTORY);
    for (let k = 0; k < n; k++) if (h[k * 2] <= t && t < h[k * 2 + 1]) return true;
    return false;
  }
}

/** The state of one condition (or one zone of a layer condition): breach and warning slots. */
class Track {
  readonly breach: Slot;
  readonly warn: Slot | null;
  /** Dwell: when the current unbroken run of breaching fixes began (NaN: none). */
  pendingSinceMs = NaN;
  /** Curfew: when the previous window ended (a position from before it says nothing about tonight). */
  prevWindowEndMs = -Infinity;

  constructor(
    readonly subject: SubjectState,
    /** Rebound when the condition's zone is replaced through the API. */
    public cond: CompiledCondition,
    readonly zoneId: string | null,
  ) {
    const base = `${subject.cfg.id}:${cond.id}${zoneId === null ? '' : `:${zoneId}`}`;
    const mainType: AlertType = cond.type;
    const warnType: AlertType = cond.type === 'exclusion' ? 'exclusion_buffer' : 'proximity_warning';
    this.breach = new Slot(mainType, base, this);
    this.warn = cond.warnBandM > 0 ? new Slot(warnType, `${base}:${warnType}`, this) : null;
  }

  toJSON(): TrackSnapshot {
    return { pendingSinceMs: num(this.pendingSinceMs), prevWindowEndMs: num(this.prevWindowEndMs), breach: this.breach.toJSON(), warn: this.warn === null ? null : this.warn.toJSON() };
  }

  load(j: TrackSnapshot): void {
    this.pendingSinceMs = den(j.pendingSinceMs, NaN);
    this.prevWindowEndMs = den(j.prevWindowEndMs ?? null, -Infinity);
    this.breach.load(j.breach);
    if (this.warn !== null) this.warn.load(j.warn);
  }

  /** Nothing open and no breach pending. */
  get idle(): boolean {
    return this.breach.open === null && (this.warn === null || this.warn.open === null) && this.pendingSinceMs !== this.pendingSinceMs;
  }
}

class DeviceState {
  readonly seen = new SeqSet();
  /** Newest fix time processed (late fixes are older than this). */
  newestMs = -Infinity;
  firstMessageMs = -Infinity;
  lastMessageMs = -Infinity;
  /**
   * When the engine last heard from the device: the fix time in replay, the clock at arrival in
   * the live service. device_offline is about silence on the wire, so a tag uploading an old
   * backlog is talking, whatever its fixes' own times say.
   */
  lastHeardMs = -Infinity;
  lastPositionMs = -Infinity;
  /**
   * Latest position fix by time (not changed by late fixes), copied into this device's own
   * record rather than keeping the Fix: holding every fix object would make each one an
   * old-to-young pointer for the garbage collector to trace and promote.
   */
  private readonly last: PositionMemory;
  private hasLast = false;
  /** Recent in-order fix times, to find when a late episode was next contradicted. */
  readonly recent = new Float64Array(RECENT_TS).fill(Infinity);
  recentN = 0;
  /** Late-burst bookkeeping: time of the previous late fix, tracks with open late episodes. */
  lastLateMs = Infinity;
  readonly lateSlots: Slot[] = [];
  /** Timers armed (due time), so each device has at most one of each in the queue. */
  noFixDue = Infinity;
  offlineDue = Infinity;

  subject: SubjectState | null = null;

  constructor(readonly id: string) {
    this.last = new PositionMemory(id);
  }

  get lastFix(): PositionMemory | null {
    return this.hasLast ? this.last : null;
  }

  rememberPosition(fix: Fix): void {
    this.last.copy(fix);
    this.hasLast = true;
  }

  /** Since when the device has been without a position: its last position, or its first message. */
  get positionRefMs(): number {
    return this.lastPositionMs > -Infinity ? this.lastPositionMs : this.firstMessageMs;
  }
}

/** A device's latest position, updated in place (fields in Fix's order, same reading code). */
class PositionMemory {
  seq = 0;
  ts = 0;
  lat = NaN;
  lon = NaN;
  accuracy = NaN;
  battery = NaN;
  strap = STRAP_NONE;

  constructor(readonly deviceId: string) {}

  get hasPosition(): boolean {
    return this.lat === this.lat;
  }

  copy(f: Fix): void {
    this.seq = f.seq;
    this.ts = f.ts;
    this.lat = f.lat;
    this.lon = f.lon;
    this.accuracy = f.accuracy;
    this.battery = f.battery;
    this.strap = f.strap;
  }
}

class SubjectState {
  readonly tracks: (Track | null)[];
  /** Layer conditions: one track per zone met, created on first contact. */
  readonly layerTracks: (Map<string, Track> | null)[];
  readonly tamper: Slot;
  readonly battery: Slot;
  readonly noFix: Slot;
  readonly offline: Slot;
  /** Scheduled exclusions: the window end for which a closing timer is armed. */
  readonly endTimerMs: Float64Array;

  /** Set when the subject is replaced or deleted: its timers still in the queue are ignored. */
  retired = false;

  constructor(public cfg: CompiledSubject, readonly device: DeviceState) {
    this.tracks = cfg.conditions.map((c) => (c.layer === null ? new Track(this, c, null) : null));
    this.layerTracks = cfg.conditions.map((c) => (c.layer === null ? null : new Map()));
    this.tamper = new Slot('tamper', `${cfg.id}:tamper`, null);
    this.battery = new Slot('battery_low', `${cfg.id}:battery_low`, null);
    this.noFix = new Slot('no_fix', `${cfg.id}:no_fix`, null);
    this.offline = new Slot('device_offline', `${cfg.id}:device_offline`, null);
    this.endTimerMs = new Float64Array(cfg.conditions.length).fill(-Infinity);
  }

  validAt(t: number): boolean {
    return this.cfg.active && t >= this.cfg.validFromMs && t < this.cfg.validToMs;
  }
}

const T_CURFEW_DEADLINE = 1;
const T_CURFEW_END = 2;
/** Closes a scheduled condition's episodes at its window's end (exclusion, and curfew episodes opened late in the window). */
const T_WINDOW_END = 3;
const T_VALID_TO = 4;
const T_NO_FIX = 5;
const T_OFFLINE = 6;

interface EngineTimer extends Timer {
  kind: number;
  subject: SubjectState;
  cond: number;
  /** Curfew: the end of the interval whose deadline this is. */
  endMs: number;
}

export class Engine {
  readonly settings: Settings;
  private readonly devices = new Map<string, DeviceState>();
  private readonly subjects = new Map<string, SubjectState>();
  /** zone id → subjects with a condition naming it (to rebind when the zone is replaced) */
  private readonly zoneUsers = new Map<string, Set<SubjectState>>();
  /** victim device → proximity conditions watching it */
  private readonly watchers = new Map<string, { subject: SubjectState; cond: CompiledCondition }[]>();
  private readonly timers = new TimerQueue<EngineTimer>();
  private readonly fixClock: boolean;
  private clockMs = -Infinity;
  private started = false;
  private readonly hits = new ZoneHits(32);
  private out: AlertEvent[] = [];

  constructor(private readonly config: CompiledConfig, options: EngineOptions = {}) {
    this.settings = config.settings;
    this.fixClock = (options.clock ?? 'fixes') === 'fixes';
    for (const cfg of config.subjects) this.addSubject(cfg);
  }

  /** The engine's clock (epoch ms); -Infinity before the first fix or advanceTo. */
  get now(): number {
    return this.clockMs;
  }

  /** Whether the clock has been set (first fix or advanceTo). */
  get isStarted(): boolean {
    return this.started;
  }

  /** When the next timer is due (epoch ms), or Infinity. */
  nextDue(): number {
    return this.timers.peek()?.due ?? Infinity;
  }

  /** Events raised since the last call, in the order they happened. */
  drain(): AlertEvent[] {
    const out = this.out;
    if (out.length === 0) return NO_EVENTS;
    this.out = [];
    return out;
  }

  isKnownDevice(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  /** Processes one validated fix. Events go to drain(). */
  ingest(fix: Fix): IngestOutcome {
    const device = this.devices.get(fix.deviceId);
    if (device === undefined) return 'unknown_device';
    if (!device.seen.add(fix.seq)) return 'duplicate';
    if (this.fixClock && fix.ts > this.clockMs) this.advanceTo(fix.ts);
    else if (!this.started) this.start(fix.ts);

    const late = fix.ts < device.newestMs;
    if (!late) {
      this.endLateBurst(device);
      device.newestMs = fix.ts;
      device.recent[device.recentN++ % RECENT_TS] = fix.ts;
    } else if (fix.ts < device.lastLateMs) {
      // A late fix older than the previous one starts a new burst.
      this.endLateBurst(device);
    }
    if (late) device.lastLateMs = fix.ts;

    const heard = this.fixClock ? fix.ts : Math.max(fix.ts, this.clockMs);
    if (heard > device.lastHeardMs) device.lastHeardMs = heard;

    const subject = device.subject;
    if (subject === null) {
      this.victimFix(device, fix, late);
      return late ? 'late' : 'accepted';
    }
    if (!late) {
      if (device.firstMessageMs === -Infinity) device.firstMessageMs = fix.ts;
      if (fix.ts > device.lastMessageMs) device.lastMessageMs = fix.ts;
      if (fix.hasPosition) {
        device.lastPositionMs = fix.ts;
        device.rememberPosition(fix);
      }
    }
    if (!subject.validAt(fix.ts)) {
      if (!late) this.armHealthTimers(device);
      return late ? 'late' : 'accepted';
    }
    if (late) {
      // Any message, even an old one from a backlog, shows the device is talking.
      if (subject.offline.open !== null) this.close(subject, null, subject.offline, fix.ts, fix);
      this.lateFix(subject, fix);
    } else {
      this.health(subject, fix);
      if (fix.hasPosition) this.evaluate(subject, fix);
      this.armHealthTimers(device);
    }
    return late ? 'late' : 'accepted';
  }

  /**
   * Moves the clock to now, firing every timer due strictly before it (a fix at the exact
   * deadline still counts as in time). Never moves the clock back.
   */
  advanceTo(now: number): void {
    if (!this.started) this.start(now);
    for (;;) {
      const t = this.timers.peek();
      if (t === undefined || t.due >= now) break;
      this.timers.pop();
      this.fire(t);
    }
    if (now > this.clockMs) this.clockMs = now;
  }

  /** End of input (replay): fires timers due up to and including the clock; ends late bursts. */
  flush(): void {
    for (;;) {
      const t = this.timers.peek();
      if (t === undefined || t.due > this.clockMs) break;
      this.timers.pop();
      this.fire(t);
    }
    for (const device of this.devices.values()) this.endLateBurst(device);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  private start(now: number): void {
    this.started = true;
    this.clockMs = now;
    for (const s of this.subjects.values()) this.armSubject(s, now);
  }

  /** Arms a subject's timers that come from configuration: validTo and each curfew's next deadline. */
  private armSubject(s: SubjectState, now: number): void {
    if (s.cfg.validToMs !== Infinity && s.cfg.validToMs > now) {
      this.timers.push({ due: s.cfg.validToMs, order: 0, kind: T_VALID_TO, subject: s, cond: -1, endMs: 0 });
    }
    s.cfg.conditions.forEach((c, k) => {
      if (c.type === 'curfew') this.armCurfew(s, k, now, true);
    });
  }

  private pushTimer(t: EngineTimer): void {
    // An always-active schedule has no start or end: nothing to time.
    if (Number.isFinite(t.due)) this.timers.push(t);
  }

  /** Arms the curfew's next deadline (window start + grace) at or after `from`. */
  private armCurfew(s: SubjectState, k: number, from: number, allowCurrent: boolean): void {
    const c = s.cfg.conditions[k];
    const sched = c.schedule;
    if (sched === null) return;
    const cur = allowCurrent ? sched.intervalAt(from) : null;
    if (cur !== null) {
      const deadline = cur.startMs + c.graceMs;
      // Started mid-window past its deadline: fixes decide from here on; the end still closes.
      if (deadline > from && deadline < cur.endMs) {
        this.pushTimer({ due: deadline, order: 0, kind: T_CURFEW_DEADLINE, subject: s, cond: k, endMs: cur.endMs });
      } else {
        this.pushTimer({ due: cur.endMs, order: 0, kind: T_CURFEW_END, subject: s, cond: k, endMs: cur.endMs });
      }
      return;
    }
    const next = sched.nextIntervalAfter(from);
    if (next === null) return;
    const deadline = next.startMs + c.graceMs;
    if (deadline < next.endMs) {
      this.pushTimer({ due: deadline, order: 0, kind: T_CURFEW_DEADLINE, subject: s, cond: k, endMs: next.endMs });
    } else {
      this.pushTimer({ due: next.endMs, order: 0, kind: T_CURFEW_END, subject: s, cond: k, endMs: next.endMs });
    }
  }

  private armHealthTimers(device: DeviceState): void {
    const s = device.subject;
    if (s === null) return;
    const noFixDue = device.positionRefMs + this.settings.noFixAfterS * 1000;
    if (device.positionRefMs > -Infinity && noFixDue < device.noFixDue) {
      device.noFixDue = noFixDue;
      this.timers.push({ due: noFixDue, order: 0, kind: T_NO_FIX, subject: s, cond: -1, endMs: 0 });
    }
    const offDue = device.lastHeardMs + this.settings.offlineAfterS * 1000;
    if (device.lastHeardMs > -Infinity && offDue < device.offlineDue) {
      device.offlineDue = offDue;
      this.timers.push({ due: offDue, order: 0, kind: T_OFFLINE, subject: s, cond: -1, endMs: 0 });
    }
  }

  private fire(t: EngineTimer): void {
    const s = t.subject;
    if (s.retired) return;
    const device = s.device;
    switch (t.kind) {
      case T_CURFEW_DEADLINE: {
        const c = s.cfg.conditions[t.cond];
        const track = s.tracks[t.cond] as Track;
        const last = device.lastFix;
        // Not home by start + grace: judged on the latest position known at the deadline, if it
        // is recent: taken since the previous window ended and within offlineAfterS. An older
        // one says nothing about tonight; device-health alerts report the silence and the next
        // fix decides.
        const recent = last !== null && last.ts >= track.prevWindowEndMs && t.due - last.ts <= this.settings.offlineAfterS * 1000;
        if (s.validAt(t.due) && recent && track.breach.open === null) {
          track.pendingSinceMs = NaN;
          const d = (c.zone as PreparedZone).signedDistanceM(last.lon, last.lat, this.margin(c, last));
          this.update(track, -d, false, this.accuracy(last), false, t.due, last);
        }
        this.pushTimer({ due: t.endMs, order: 0, kind: T_CURFEW_END, subject: s, cond: t.cond, endMs: t.endMs });
        break;
      }
      case T_CURFEW_END:
        (s.tracks[t.cond] as Track).prevWindowEndMs = t.due;
        this.closeCondition(s, t.cond, t.due);
        this.armCurfew(s, t.cond, t.due, false);
        break;
      case T_WINDOW_END:
        if (s.endTimerMs[t.cond] === t.due) {
          s.endTimerMs[t.cond] = -Infinity;
          this.closeCondition(s, t.cond, t.due);
        }
        break;
      case T_VALID_TO:
        for (let k = 0; k < s.cfg.conditions.length; k++) this.closeCondition(s, k, t.due);
        for (const slot of [s.tamper, s.battery, s.noFix, s.offline]) this.close(s, null, slot, t.due, null);
        break;
      case T_NO_FIX: {
        device.noFixDue = Infinity;
        const due = device.positionRefMs + this.settings.noFixAfterS * 1000;
        if (due > t.due) {
          this.armHealthTimers(device);
        } else if (device.lastMessageMs > device.positionRefMs && s.validAt(t.due) && s.noFix.open === null) {
          // Messages keep coming but none with a position.
          this.open(s, null, s.noFix, t.due, t.due, 'confirmed', null, false);
        }
        break;
      }
      case T_OFFLINE: {
        device.offlineDue = Infinity;
        const due = device.lastHeardMs + this.settings.offlineAfterS * 1000;
        if (due > t.due) this.armHealthTimers(device);
        else if (s.validAt(t.due) && s.offline.open === null) this.open(s, null, s.offline, t.due, t.due, 'confirmed', null, false);
        break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // In-order fixes

  private health(s: SubjectState, fix: Fix): void {
    const t = fix.ts;
    if (s.offline.open !== null) this.close(s, null, s.offline, t, fix);
    if (fix.hasPosition) {
      if (s.noFix.open !== null) this.close(s, null, s.noFix, t, fix);
    } else if (s.noFix.open === null && t - s.device.positionRefMs >= this.settings.noFixAfterS * 1000) {
      this.open(s, null, s.noFix, t, t, 'confirmed', fix, false);
    }
    if (fix.strap !== STRAP_NONE) {
      if (fix.strap !== STRAP_OK) {
        if (s.tamper.open === null) this.open(s, null, s.tamper, t, t, 'confirmed', fix, false);
      } else if (s.tamper.open !== null) this.close(s, null, s.tamper, t, fix);
    }
    const b = fix.battery;
    if (b === b) {
      if (b < this.settings.batteryLowBelow) {
        if (s.battery.open === null) this.open(s, null, s.battery, t, t, 'confirmed', fix, false);
      } else if (s.battery.open !== null && b >= this.settings.batteryLowBelow + this.settings.batteryHysteresis) {
        this.close(s, null, s.battery, t, fix);
      }
    }
  }

  private evaluate(s: SubjectState, fix: Fix): void {
    const conds = s.cfg.conditions;
    for (let k = 0; k < conds.length; k++) {
      const c = conds[k];
      if (c.type === 'proximity') {
        const victim = this.devices.get(c.victimDeviceId as string) as DeviceState;
        if (victim.lastFix !== null) this.proximity(s.tracks[k] as Track, fix, victim.lastFix, fix.ts, fix);
        continue;
      }
      let windowEnd = Infinity;
      if (c.schedule !== null) {
        const iv = c.schedule.intervalAt(fix.ts);
        if (iv === null) continue;
        if (c.type === 'curfew' && fix.ts < iv.startMs + c.graceMs) continue;
        windowEnd = iv.endMs;
      }
      if (c.type === 'curfew') {
        const d = (c.zone as PreparedZone).signedDistanceM(fix.lon, fix.lat, this.margin(c, fix));
        this.update(s.tracks[k] as Track, -d, false, this.accuracy(fix), false, fix.ts, fix);
      } else if (c.zone !== null) {
        const d = c.zone.signedDistanceM(fix.lon, fix.lat, this.margin(c, fix));
        this.update(s.tracks[k] as Track, d, true, this.accuracy(fix), false, fix.ts, fix);
      } else {
        this.layerExclusion(s, k, fix);
      }
      // An episode opened in a window must close at its end, even when that end has passed on the
      // clock already (a live backlog uploaded in order after the window's own timer fired).
      if (windowEnd !== Infinity && this.hasOpen(s, k) && s.endTimerMs[k] !== windowEnd) {
        s.endTimerMs[k] = windowEnd;
        this.timers.push({ due: windowEnd, order: 0, kind: T_WINDOW_END, subject: s, cond: k, endMs: windowEnd });
      }
    }
  }

  private layerExclusion(s: SubjectState, k: number, fix: Fix): void {
    const c = s.cfg.conditions[k];
    const tracks = s.layerTracks[k] as Map<string, Track>;
    const index = this.config.layers.get(c.layer as string);
    const hits = this.hits;
    const n = index === undefined ? 0 : index.near(fix.lon, fix.lat, this.margin(c, fix), hits);
    const acc = this.accuracy(fix);
    for (let i = 0; i < n; i++) {
      const zone = hits.zones[i];
      let track = tracks.get(zone.id);
      if (track === undefined) {
        track = new Track(s, c, zone.id);
        tracks.set(zone.id, track);
      }
      this.update(track, hits.distM[i], true, acc, false, fix.ts, fix);
    }
    // Zones with an open episode that the query no longer reaches: the subject is far outside.
    if (tracks.size > n) {
      for (const [zoneId, track] of tracks) {
        let seen = false;
        for (let i = 0; i < n; i++) if (hits.zones[i].id === zoneId) seen = true;
        if (seen) continue;
        if (!track.idle) this.update(track, -Infinity, true, acc, false, fix.ts, fix);
        // A zone passed by without any episode leaves nothing worth keeping (deleting during
        // iteration is safe for a Map): per-zone state would otherwise grow with every school
        // the subject ever walked past.
        if (track.idle && !track.breach.hasHistory && (track.warn === null || !track.warn.hasHistory)) tracks.delete(zoneId);
      }
    }
  }

  private victimFix(device: DeviceState, fix: Fix, late: boolean): void {
    // Only the victim's latest position counts; a late victim fix is older than what we have.
    if (late || !fix.hasPosition) return;
    device.rememberPosition(fix);
    const list = this.watchers.get(device.id);
    if (list === undefined) return;
    for (const { subject, cond } of list) {
      const last = subject.device.lastFix;
      if (last === null || !subject.validAt(fix.ts)) continue;
      this.proximity(subject.tracks[cond.index] as Track, last, fix, fix.ts, last);
    }
  }

  private proximity(track: Track, subjectFix: Fix, victimFix: Fix, at: number, shown: Fix): void {
    const c = track.cond;
    const dist = haversineM(subjectFix.lon, subjectFix.lat, victimFix.lon, victimFix.lat);
    const stale = Math.abs(subjectFix.ts - victimFix.ts) > this.settings.victimStaleS * 1000;
    this.update(track, c.distanceM - dist, true, this.accuracy(subjectFix) + this.accuracy(victimFix), stale, at, shown, dist);
  }

  /**
   * The episode state machine shared by every location condition. `depth` is metres on the
   * breach side of the boundary (negative on the safe side); the warning band, if any, is the
   * warnBandM before it. The boundary itself is a breach when boundaryIsBreach (exclusion,
   * proximity), safe otherwise (curfew: on the curfew address's edge is at home).
   */
  private update(
    track: Track, depth: number, boundaryIsBreach: boolean, uncertaintyM: number, forcePossible: boolean,
    t: number, shown: Fix | null, distanceM = NaN,
  ): void {
    const s = track.subject;
    const c = track.cond;
    const h = c.hysteresisM;
    const band = c.warnBandM;
    const breaching = boundaryIsBreach ? depth >= 0 : depth > 0;
    const inBand = band > 0 && depth >= -band;
    const breachConf: Confidence = !forcePossible && depth >= uncertaintyM ? 'confirmed' : 'possible';
    const warnConf: Confidence = !forcePossible && depth >= -band + uncertaintyM ? 'confirmed' : 'possible';

    if (track.breach.open !== null) {
      if (!breaching && depth <= -h) {
        this.close(s, track, track.breach, t, shown, distanceM);
        track.pendingSinceMs = NaN;
        if (track.warn !== null && inBand) this.open(s, track, track.warn, t, t, warnConf, shown, false, distanceM);
      } else if (breachConf === 'confirmed' && track.breach.open.confidence === 'possible') {
        this.upgrade(s, track, track.breach, t, shown, distanceM);
      }
      return;
    }

    if (breaching) {
      if (track.pendingSinceMs !== track.pendingSinceMs) track.pendingSinceMs = t;
      // A breach inside an episode already reported (and closed by a timer that ran ahead of
      // this device's fixes) is covered: reopening it would report it twice.
      if (track.breach.covers(t)) {
        track.pendingSinceMs = NaN;
        return;
      }
      if (t - track.pendingSinceMs >= c.dwellMs) {
        if (track.warn !== null && track.warn.open !== null) this.close(s, track, track.warn, t, shown, distanceM);
        this.open(s, track, track.breach, t, track.pendingSinceMs, breachConf, shown, false, distanceM);
        return;
      }
    } else {
      track.pendingSinceMs = NaN;
    }

    const warn = track.warn;
    if (warn === null) return;
    if (warn.open !== null) {
      if (!inBand && depth <= -(band + h)) this.close(s, track, warn, t, shown, distanceM);
      else if (warnConf === 'confirmed' && warn.open.confidence === 'possible') this.upgrade(s, track, warn, t, shown, distanceM);
    } else if (inBand && !warn.covers(t)) {
      this.open(s, track, warn, t, t, warnConf, shown, false, distanceM);
    }
  }

  private closeCondition(s: SubjectState, k: number, at: number): void {
    const single = s.tracks[k];
    if (single !== null) this.closeTrack(s, single, at);
    const layer = s.layerTracks[k];
    if (layer !== null) for (const track of layer.values()) this.closeTrack(s, track, at);
  }

  private hasOpen(s: SubjectState, k: number): boolean {
    const open = (track: Track): boolean => track.breach.open !== null || (track.warn !== null && track.warn.open !== null);
    const single = s.tracks[k];
    if (single !== null) return open(single);
    for (const track of (s.layerTracks[k] as Map<string, Track>).values()) if (open(track)) return true;
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Late fixes: judged on their own time; they may raise a past episode nothing covered, and
  // change nothing else (see README "Late fixes").

  private lateFix(s: SubjectState, fix: Fix): void {
    const t = fix.ts;
    this.lateSlot(s, null, s.tamper, fix.strap !== STRAP_NONE ? fix.strap !== STRAP_OK : null, fix, 'confirmed');
    if (!fix.hasPosition) return;
    const acc = this.accuracy(fix);
    const conds = s.cfg.conditions;
    for (let k = 0; k < conds.length; k++) {
      const c = conds[k];
      if (c.type === 'proximity') {
        // The victim's position at that time is not known well enough to judge a late fix.
        continue;
      }
      if (c.schedule !== null) {
        const iv = c.schedule.intervalAt(t);
        if (iv === null || (c.type === 'curfew' && t < iv.startMs + c.graceMs)) continue;
      }
      if (c.type === 'curfew') {
        const d = (c.zone as PreparedZone).signedDistanceM(fix.lon, fix.lat, this.margin(c, fix));
        this.lateSlot(s, s.tracks[k], (s.tracks[k] as Track).breach, d < 0, fix, -d >= acc ? 'confirmed' : 'possible');
      } else if (c.zone !== null) {
        const d = c.zone.signedDistanceM(fix.lon, fix.lat, this.margin(c, fix));
        this.lateSlot(s, s.tracks[k], (s.tracks[k] as Track).breach, d >= 0, fix, d >= acc ? 'confirmed' : 'possible');
      } else {
        const tracks = s.layerTracks[k] as Map<string, Track>;
        const index = this.config.layers.get(c.layer as string);
        const n = index === undefined ? 0 : index.containing(fix.lon, fix.lat, this.hits);
        for (let i = 0; i < n; i++) {
          const zone = this.hits.zones[i];
          let track = tracks.get(zone.id);
          if (track === undefined) {
            track = new Track(s, c, zone.id);
            tracks.set(zone.id, track);
          }
          const d = zone.signedDistanceM(fix.lon, fix.lat, acc + 1);
          this.lateSlot(s, track, track.breach, true, fix, d >= acc ? 'confirmed' : 'possible');
        }
        for (const track of tracks.values()) {
          if (track.breach.late === null) continue;
          let inside = false;
          for (let i = 0; i < n; i++) if (this.hits.zones[i].id === track.zoneId) inside = true;
          if (!inside) this.lateSlot(s, track, track.breach, false, fix, 'possible');
        }
      }
    }
  }

  /** breaching: true / false, or null when the fix says nothing about this slot. */
  private lateSlot(s: SubjectState, track: Track | null, slot: Slot, breaching: boolean | null, fix: Fix, conf: Confidence): void {
    if (breaching === null) return;
    const t = fix.ts;
    if (breaching) {
      if (slot.late !== null && t >= slot.late.startMs) {
        slot.lateLastMs = Math.max(slot.lateLastMs, t);
        return;
      }
      if (slot.covers(t)) return;
      if (slot.late !== null) this.endLate(s, track, slot);
      this.open(s, track, slot, t, t, conf, fix, true);
      slot.lateLastMs = t;
      s.device.lateSlots.push(slot);
    } else if (slot.late !== null && t > slot.lateLastMs) {
      const ep = slot.late;
      this.emit(s, track, ep, 'closed', t, fix, true);
      slot.remember(ep.startMs, t);
      slot.late = null;
    }
  }

  /** Closes a late episode that no late fix contradicted, at the next known fix after it. */
  private endLate(s: SubjectState, track: Track | null, slot: Slot): void {
    const ep = slot.late;
    if (ep === null) return;
    let at = this.successor(s.device, slot.lateLastMs);
    // Never past the end of the rules that made it a breach: the window, or the order itself.
    const sched = track?.cond.schedule ?? null;
    const iv = sched === null ? null : sched.intervalAt(slot.lateLastMs);
    if (iv !== null && iv.endMs < at) at = iv.endMs;
    if (s.cfg.validToMs < at) at = s.cfg.validToMs;
    this.emit(s, track, ep, 'closed', at, null, true);
    slot.remember(ep.startMs, at);
    slot.late = null;
  }

  private endLateBurst(device: DeviceState): void {
    device.lastLateMs = Infinity;
    const s = device.subject;
    if (s === null || device.lateSlots.length === 0) return;
    for (const slot of device.lateSlots) this.endLate(s, slot.track, slot);
    device.lateSlots.length = 0;
  }

  private successor(device: DeviceState, t: number): number {
    let best = device.newestMs;
    for (let i = 0; i < RECENT_TS; i++) {
      const x = device.recent[i];
      if (x > t && x < best) best = x;
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // Episodes and events

  private open(
    s: SubjectState, track: Track | null, slot: Slot, at: number, startMs: number, conf: Confidence,
    fix: Fix | null, late: boolean, distanceM = NaN,
  ): void {
    const ep = new Episode(`${slot.idPrefix}:${formatTime(startMs)}`, slot.type, startMs, conf, late);
    if (late) slot.late = ep;
    else slot.open = ep;
    this.emit(s, track, ep, 'opened', at, fix, late, distanceM);
  }

  private upgrade(s: SubjectState, track: Track | null, slot: Slot, at: number, fix: Fix | null, distanceM = NaN): void {
    const ep = slot.open as Episode;
    ep.confidence = 'confirmed';
    this.emit(s, track, ep, 'updated', at, fix, false, distanceM);
  }

  private close(s: SubjectState, track: Track | null, slot: Slot, at: number, fix: Fix | null, distanceM = NaN): void {
    const ep = slot.open;
    if (ep === null) return;
    const end = at < ep.startMs ? ep.startMs : at;
    slot.open = null;
    slot.remember(ep.startMs, end);
    this.emit(s, track, ep, 'closed', end, fix, false, distanceM);
  }

  private emit(
    s: SubjectState, track: Track | null, ep: Episode, event: EpisodeEvent, at: number, fix: Fix | null, late: boolean, distanceM = NaN,
  ): void {
    const cfg = s.cfg;
    const zoneId = track === null ? undefined : (track.zoneId ?? track.cond.zone?.id);
    // Keys in contract order, optional ones only when they apply: output is byte-stable.
    const e: AlertEvent = {
      episodeId: ep.id,
      event,
      type: ep.type,
      severity: severityOf(ep.type, cfg.effectiveRisk),
      confidence: ep.confidence,
      subjectId: cfg.id,
      deviceId: cfg.deviceId,
      ...(track === null ? {} : { conditionId: track.cond.id }),
      ...(zoneId === undefined ? {} : { zoneId }),
      team: cfg.team,
      at: formatTime(at),
      ...(fix === null ? {} : { fix: fix.hasPosition ? { seq: fix.seq, lat: fix.lat, lon: fix.lon, accuracy: this.accuracy(fix) } : { seq: fix.seq } }),
      ...(distanceM === distanceM ? { distanceM: Math.round(distanceM) } : {}),
      late,
    };
    this.out.push(e);
  }

  private accuracy(fix: Fix): number {
    return fix.accuracy === fix.accuracy ? fix.accuracy : this.settings.defaultAccuracyM;
  }

  // -------------------------------------------------------------------------------------------
  // Configuration changes while fixes flow (the API applies them without a restart)

  /** Every zone the engine holds, by id (read-only view for compiling subjects). */
  get zones(): ReadonlyMap<string, PreparedZone> {
    return this.config.zones;
  }

  /** Devices worn by subjects, and victim devices watched by proximity conditions. */
  deviceRole(deviceId: string): { subjectId: string } | { victimOf: string[] } | null {
    const d = this.devices.get(deviceId);
    if (d === undefined) return null;
    if (d.subject !== null) return { subjectId: d.subject.cfg.id };
    return { victimOf: (this.watchers.get(deviceId) ?? []).map((w) => w.subject.cfg.id) };
  }

  /** The zone with this id, as the engine currently uses it. */
  getZone(id: string): PreparedZone | undefined {
    return this.config.zones.get(id);
  }

  /** Subject ids whose conditions name this zone. */
  zoneUsersOf(id: string): string[] {
    return [...(this.zoneUsers.get(id) ?? [])].map((s) => s.cfg.id).sort();
  }

  getSubject(id: string): CompiledSubject | undefined {
    return this.subjects.get(id)?.cfg;
  }

  /** Adds or replaces a zone; conditions naming it use the new geometry from the next fix. */
  setZone(zone: PreparedZone): void {
    const old = this.config.zones.get(zone.id);
    if (old !== undefined && old.layer !== null && old.layer !== zone.layer) this.config.layers.get(old.layer)?.delete(zone.id);
    this.config.zones.set(zone.id, zone);
    if (zone.layer !== null) {
      let index = this.config.layers.get(zone.layer);
      if (index === undefined) {
        index = new ZoneIndex();
        this.config.layers.set(zone.layer, index);
      }
      index.set(zone);
    }
    for (const s of this.zoneUsers.get(zone.id) ?? []) {
      const conditions = s.cfg.conditions.map((c) => (c.zone !== null && c.zone.id === zone.id ? c.withZone(zone) : c));
      const cfg = s.cfg;
      s.cfg = subjectRecord(cfg.input, cfg.effectiveRisk, cfg.validFromMs, cfg.validToMs, conditions);
      s.tracks.forEach((track, k) => {
        if (track !== null) track.cond = conditions[k];
      });
    }
  }

  /**
   * Removes a zone. Refused (false) while a condition names it: delete or change the condition
   * first. A layer zone's open episodes close now.
   */
  deleteZone(id: string): boolean {
    const zone = this.config.zones.get(id);
    if (zone === undefined) return true;
    if ((this.zoneUsers.get(id)?.size ?? 0) > 0) return false;
    this.config.zones.delete(id);
    if (zone.layer !== null) {
      this.config.layers.get(zone.layer)?.delete(id);
      for (const s of this.subjects.values()) {
        s.layerTracks.forEach((tracks) => {
          const track = tracks?.get(id);
          if (track !== undefined) {
            this.closeTrack(s, track, this.clockMs);
            tracks?.delete(id);
          }
        });
      }
    }
    return true;
  }

  /**
   * Adds or replaces a subject. State carries over where it still means the same thing: the
   * device's history, device-health episodes, and each condition kept with the same id and
   * type. Episodes of conditions that are gone close now.
   */
  setSubject(cfg: CompiledSubject): void {
    for (const c of cfg.conditions) {
      if (c.zone !== null && this.config.zones.get(c.zone.id) !== c.zone) {
        throw new Error(`subject ${cfg.id}: condition ${c.id} names zone ${c.zone.id}, which the engine does not hold`);
      }
    }
    const other = this.devices.get(cfg.deviceId);
    if (other !== undefined && other.subject !== null && other.subject.cfg.id !== cfg.id) {
      throw new Error(`device ${cfg.deviceId} is already worn by subject ${other.subject.cfg.id}`);
    }
    const old = this.subjects.get(cfg.id);
    if (old === undefined) {
      const s = this.addSubject(cfg);
      if (this.started) this.armSubject(s, this.clockMs);
      return;
    }
    const next = this.addSubject(cfg, old);
    for (const [k, c] of old.cfg.conditions.entries()) {
      const keep = cfg.conditions.findIndex((n) => n.id === c.id && n.type === c.type);
      if (keep < 0) {
        this.closeCondition(old, k, this.clockMs);
        continue;
      }
      const track = old.tracks[k];
      if (track !== null && next.tracks[keep] !== null) {
        track.cond = cfg.conditions[keep];
        (track as { subject: SubjectState }).subject = next;
        next.tracks[keep] = track;
      }
      const layer = old.layerTracks[k];
      if (layer !== null && next.layerTracks[keep] !== null) {
        for (const t of layer.values()) {
          t.cond = cfg.conditions[keep];
          (t as { subject: SubjectState }).subject = next;
        }
        next.layerTracks[keep] = layer;
      }
    }
    if (this.started) {
      this.armSubject(next, this.clockMs);
      next.device.noFixDue = Infinity;
      next.device.offlineDue = Infinity;
      this.armHealthTimers(next.device);
    }
  }

  /** Removes a subject; its open episodes close now. Returns false if there was none. */
  deleteSubject(id: string): boolean {
    const s = this.subjects.get(id);
    if (s === undefined) return false;
    for (let k = 0; k < s.cfg.conditions.length; k++) this.closeCondition(s, k, this.clockMs);
    for (const slot of [s.tamper, s.battery, s.noFix, s.offline]) this.close(s, null, slot, this.clockMs, null);
    this.unlinkSubject(s);
    if (this.devices.get(s.cfg.deviceId)?.subject === s) this.devices.delete(s.cfg.deviceId);
    return true;
  }

  private addSubject(cfg: CompiledSubject, replacing?: SubjectState): SubjectState {
    let device: DeviceState;
    if (replacing !== undefined) {
      this.unlinkSubject(replacing);
      const same = replacing.cfg.deviceId === cfg.deviceId;
      if (!same && this.devices.get(replacing.cfg.deviceId)?.subject === replacing) this.devices.delete(replacing.cfg.deviceId);
      device = same ? replacing.device : this.deviceFor(cfg.deviceId);
    } else {
      device = this.deviceFor(cfg.deviceId);
    }
    const subject = new SubjectState(cfg, device);
    if (replacing !== undefined && replacing.device === device) {
      for (const key of ['tamper', 'battery', 'noFix', 'offline'] as const) {
        const from = replacing[key], to = subject[key];
        to.open = from.open;
        to.late = from.late;
        to.lateLastMs = from.lateLastMs;
        to.copyHistory(from);
      }
      device.lateSlots.length = 0;
    }
    device.subject = subject;
    this.subjects.set(cfg.id, subject);
    for (const cond of cfg.conditions) {
      if (cond.zone !== null) {
        let users = this.zoneUsers.get(cond.zone.id);
        if (users === undefined) this.zoneUsers.set(cond.zone.id, (users = new Set()));
        users.add(subject);
      }
      if (cond.victimDeviceId === null) continue;
      let list = this.watchers.get(cond.victimDeviceId);
      if (list === undefined) {
        list = [];
        this.watchers.set(cond.victimDeviceId, list);
        if (!this.devices.has(cond.victimDeviceId)) this.devices.set(cond.victimDeviceId, new DeviceState(cond.victimDeviceId));
      }
      list.push({ subject, cond });
    }
    return subject;
  }

  private deviceFor(id: string): DeviceState {
    const existing = this.devices.get(id);
    if (existing !== undefined && existing.subject === null) return existing;
    const device = new DeviceState(id);
    this.devices.set(id, device);
    return device;
  }

  private unlinkSubject(s: SubjectState): void {
    s.retired = true;
    this.subjects.delete(s.cfg.id);
    for (const users of this.zoneUsers.values()) users.delete(s);
    for (const [victim, list] of this.watchers) {
      const kept = list.filter((w) => w.subject !== s);
      if (kept.length > 0) this.watchers.set(victim, kept);
      else {
        this.watchers.delete(victim);
        const d = this.devices.get(victim);
        if (d !== undefined && d.subject === null) this.devices.delete(victim);
      }
    }
  }

  private closeTrack(s: SubjectState, track: Track, at: number): void {
    track.pendingSinceMs = NaN;
    if (track.breach.open !== null) this.close(s, track, track.breach, at, null);
    if (track.warn !== null && track.warn.open !== null) this.close(s, track, track.warn, at, null);
  }

  // -------------------------------------------------------------------------------------------
  // Snapshot and restore: the live service persists engine state so a restart resumes exactly.

  snapshot(): EngineSnapshot {
    const devices: DeviceSnapshot[] = [];
    for (const d of this.devices.values()) {
      devices.push({
        id: d.id, seen: d.seen.toJSON(), newestMs: num(d.newestMs), firstMessageMs: num(d.firstMessageMs),
        lastMessageMs: num(d.lastMessageMs), lastHeardMs: num(d.lastHeardMs), lastPositionMs: num(d.lastPositionMs),
        lastFix: d.lastFix === null ? null : fixToJson(d.lastFix),
        recent: Array.from(d.recent, num), recentN: d.recentN, lastLateMs: num(d.lastLateMs),
      });
    }
    const subjects: SubjectSnapshot[] = [];
    for (const s of this.subjects.values()) {
      subjects.push({
        id: s.cfg.id,
        health: [s.tamper.toJSON(), s.battery.toJSON(), s.noFix.toJSON(), s.offline.toJSON()],
        conditions: s.cfg.conditions.map((c, k) => ({
          id: c.id,
          type: c.type,
          track: s.tracks[k]?.toJSON() ?? null,
          layer: s.layerTracks[k] === null ? null : [...(s.layerTracks[k] as Map<string, Track>)].map(([z, t]) => [z, t.toJSON()] as [string, TrackSnapshot]),
          endTimerMs: num(s.endTimerMs[k]),
        })),
      });
    }
    const timers: TimerSnapshot[] = [];
    for (const t of this.timers.items()) {
      if (t.subject.retired) continue;
      timers.push({ due: t.due, order: t.order, kind: t.kind, subjectId: t.subject.cfg.id, cond: t.cond, endMs: num(t.endMs) });
    }
    timers.sort((a, b) => a.due - b.due || a.order - b.order);
    return { v: 1, clockMs: num(this.clockMs), started: this.started, devices, subjects, timers };
  }

  /**
   * Rebuilds the state a snapshot recorded, over the engine's current configuration. Subjects,
   * conditions and zones that no longer exist are dropped; new ones start fresh.
   */
  restore(snap: EngineSnapshot): void {
    if (snap.v !== 1) throw new Error(`engine snapshot version ${String(snap.v)} is not supported`);
    this.clockMs = den(snap.clockMs, -Infinity);
    this.started = snap.started;
    for (const ds of snap.devices) {
      const d = this.devices.get(ds.id);
      if (d === undefined) continue;
      d.seen.load(ds.seen);
      d.newestMs = den(ds.newestMs, -Infinity);
      d.firstMessageMs = den(ds.firstMessageMs, -Infinity);
      d.lastMessageMs = den(ds.lastMessageMs, -Infinity);
      d.lastHeardMs = den(ds.lastHeardMs ?? ds.lastMessageMs, -Infinity);
      d.lastPositionMs = den(ds.lastPositionMs, -Infinity);
      if (ds.lastFix !== null) d.rememberPosition(fixFromJson(ds.id, ds.lastFix));
      ds.recent.forEach((x, i) => (d.recent[i] = den(x, Infinity)));
      d.recentN = ds.recentN;
      d.lastLateMs = den(ds.lastLateMs, Infinity);
      d.noFixDue = Infinity;
      d.offlineDue = Infinity;
    }
    for (const ss of snap.subjects) {
      const s = this.subjects.get(ss.id);
      if (s === undefined) continue;
      [s.tamper, s.battery, s.noFix, s.offline].forEach((slot, i) => slot.load(ss.health[i]));
      for (const cs of ss.conditions) {
        const k = s.cfg.conditions.findIndex((c) => c.id === cs.id && c.type === cs.type);
        if (k < 0) continue;
        const track = s.tracks[k];
        if (track !== null && cs.track !== null) track.load(cs.track);
        const layer = s.layerTracks[k];
        if (layer !== null && cs.layer !== null) {
          for (const [zoneId, ts] of cs.layer) {
            if (!this.config.zones.has(zoneId)) continue;
            const t = new Track(s, s.cfg.conditions[k], zoneId);
            t.load(ts);
            layer.set(zoneId, t);
          }
        }
        s.endTimerMs[k] = den(cs.endTimerMs, -Infinity);
      }
      for (const slot of [s.tamper, ...s.tracks.map((t) => t?.breach)]) {
        if (slot !== undefined && slot.late !== null) s.device.lateSlots.push(slot);
      }
    }
    for (const ts of snap.timers) {
      const s = this.subjects.get(ts.subjectId);
      if (s === undefined) continue;
      if (ts.kind === T_NO_FIX) s.device.noFixDue = Math.min(s.device.noFixDue, ts.due);
      if (ts.kind === T_OFFLINE) s.device.offlineDue = Math.min(s.device.offlineDue, ts.due);
      this.timers.push({ due: ts.due, order: 0, kind: ts.kind, subject: s, cond: ts.cond, endMs: den(ts.endMs, 0) });
    }
  }

  /** How far from a zone's edge distances must be exact for this condition and fix. */
  private margin(c: CompiledCondition, fix: Fix): number {
    return c.warnBandM + c.hysteresisM + this.accuracy(fix) + 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshot format (JSON-safe: infinities and NaN become null)

type EpisodeSnapshot = [id: string, type: AlertType, startMs: number, confidence: Confidence, late: boolean];
interface SlotSnapshot { open: EpisodeSnapshot | null; late: EpisodeSnapshot | null; lateLastMs: number; hist: (number | null)[]; histN: number }
interface TrackSnapshot { pendingSinceMs: number | null; prevWindowEndMs?: number | null; breach: SlotSnapshot | null; warn: SlotSnapshot | null }
type FixSnapshot = [seq: number, ts: number, lat: number, lon: number, accuracy: number | null];
interface DeviceSnapshot {
  id: string; seen: number[]; newestMs: number | null; firstMessageMs: number | null; lastMessageMs: number | null; lastHeardMs?: number | null;
  lastPositionMs: number | null; lastFix: FixSnapshot | null; recent: (number | null)[]; recentN: number; lastLateMs: number | null;
}
interface SubjectSnapshot {
  id: string;
  health: (SlotSnapshot | null)[];
  conditions: { id: string; type: string; track: TrackSnapshot | null; layer: [string, TrackSnapshot][] | null; endTimerMs: number | null }[];
}
interface TimerSnapshot { due: number; order: number; kind: number; subjectId: string; cond: number; endMs: number | null }
export interface EngineSnapshot {
  v: 1;
  clockMs: number | null;
  started: boolean;
  devices: DeviceSnapshot[];
  subjects: SubjectSnapshot[];
  timers: TimerSnapshot[];
}

function num(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function den(x: number | null, absent: number): number {
  return x === null ? absent : x;
}

function episodeToJson(e: Episode): EpisodeSnapshot {
  return [e.id, e.type, e.startMs, e.confidence, e.late];
}

function episodeFromJson(j: EpisodeSnapshot): Episode {
  return new Episode(j[0], j[1], j[2], j[3], j[4]);
}

function fixToJson(f: Fix): FixSnapshot {
  return [f.seq, f.ts, f.lat, f.lon, num(f.accuracy)];
}

function fixFromJson(deviceId: string, j: FixSnapshot): Fix {
  return new Fix(deviceId, j[0], j[1], j[2], j[3], den(j[4], NaN), NaN, STRAP_NONE);
}
