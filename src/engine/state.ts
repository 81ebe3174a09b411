import { ZoneHits } from '../../geo/index.js';
import type { AlertEvent, AlertType, Confidence } from './alert.js';
import type { CompiledCondition, CompiledConfig, CompiledSubject, Settings } from './config.js';
import { STRAP_NONE, type Fix } from './fix.js';
import { SeqSet } from './seq-set.js';
import { TimerQueue, type Timer } from './timer-queue.js';

/**
 * The engine's state: per-subject records (episodes, slots, tracks, devices) and the one
 * EngineState record the engine's free functions (rules, timers, late fixes, roster, snapshot)
 * read and write. Every class sets all its fields in its constructor, so each keeps one hidden
 * class on the per-fix path.
 */

const HISTORY = 8;
/** In-order fix times kept per device, to find when a late episode was next contradicted. */
export const RECENT_TS = 16;

export class Episode {
  constructor(
    readonly id: string,
    readonly type: AlertType,
    readonly startMs: number,
    public confidence: Confidence,
    readonly late: boolean,
  ) {}
}

/**
 * A run of clearly-safe fixes (debounced closing): when it began (NaN: no run), and that first
 * safe fix (what the closed event shows: its seq, position and accuracy) with its distance
 * (proximity). Plain numbers, reused by its slot's later runs: a run starting allocates nothing
 * after the slot's first.
 */
class SafeRun {
  sinceMs = NaN;
  distM = NaN;
  seq = 0;
  lat = NaN;
  lon = NaN;
  acc = NaN;
}

/** One alert type for one key (subject + condition [+ zone]): its open episode and recent past. */
export class Slot {
  open: Episode | null = null;
  /** Episode raised by a late burst, and the last late breaching fix time in it. */
  late: Episode | null = null;
  lateLastMs = 0;
  /** Recent episodes as [start, end) pairs in a ring of HISTORY, for deciding whether a late fix is already covered. */
  hist: Float64Array | null = null;
  histN = 0;
  /**
   * Debounced closing: the current run of clearly-safe fixes (see SafeRun), made on the slot's
   * first run and reused after: a slot that never held an episode (nearly all of them) carries
   * no record and no boxed numbers for it.
   */
  private safe: SafeRun | null = null;

  /**
   * `subjectId`: the subject's id for a device-health slot ('' for a track's slot: the track
   * names it). The id prefix is made when an episode opens, not here: a national configuration
   * has 700,000 slots, nearly all of which never hold an episode.
   */
  constructor(readonly type: AlertType, private readonly subjectId: string, readonly track: Track | null) {}

  /** The episode id prefix: subject, condition [, zone] [, warning type] (episodes.ts adds the start). */
  get idPrefix(): string {
    const t = this.track;
    if (t === null) return `${this.subjectId}:${this.type}`;
    // The track's subject and condition are rebound only to ones with the same ids (roster.ts).
    const base = `${t.subject.cfg.id}:${t.cond.id}${t.zoneId === null ? '' : `:${t.zoneId}`}`;
    return this === t.breach ? base : `${base}:${this.type}`;
  }

  /** When the current safe run began (NaN: none). Set it to NaN to end the run. */
  get safeSinceMs(): number {
    return this.safe === null ? NaN : this.safe.sinceMs;
  }

  set safeSinceMs(t: number) {
    if (this.safe !== null) this.safe.sinceMs = t;
    else if (t === t) throw new Error('a safe run starts through startSafeRun');
  }

  /** The distance at the safe run's first fix (proximity; NaN otherwise or with no run). */
  get safeDistM(): number {
    return this.safe === null ? NaN : this.safe.distM;
  }

  /** Starts a safe run at this reading (the breach ended at `at`). */
  startSafeRun(at: number, pos: Position, distanceM: number): void {
    let r = this.safe;
    if (r === null) r = this.safe = new SafeRun();
    r.sinceMs = at;
    r.distM = distanceM;
    r.seq = pos.seq;
    r.lat = pos.lat;
    r.lon = pos.lon;
    r.acc = pos.accuracy;
  }

  /** The safe run's first fix, as a position an event can show (made when the episode closes). */
  safePosition(): PositionMemory {
    const p = new PositionMemory('');
    const r = this.safe;
    if (r === null) return p;
    p.seq = r.seq;
    p.ts = r.sinceMs;
    p.lat = r.lat;
    p.lon = r.lon;
    p.accuracy = r.acc;
    return p;
  }

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

  /** Takes over another slot's episodes and history (a subject replaced on the same device). */
  takeOver(from: Slot): void {
    this.open = from.open;
    this.late = from.late;
    this.lateLastMs = from.lateLastMs;
    this.hist = from.hist === null ? null : from.hist.slice();
    this.histN = from.histN;
    const r = from.safe;
    if (r === null) {
      if (this.safe !== null) this.safe.sinceMs = NaN;
    } else {
      const mine = this.safe ?? (this.safe = new SafeRun());
      mine.sinceMs = r.sinceMs;
      mine.distM = r.distM;
      mine.seq = r.seq;
      mine.lat = r.lat;
      mine.lon = r.lon;
      mine.acc = r.acc;
    }
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
export class Track {
  readonly breach: Slot;
  readonly warn: Slot | null;
  /** Dwell: when the current unbroken run of breaching fixes began (NaN: none). */
  pendingSinceMs = NaN;
  /** confirmFixes: breaching fixes in that run so far. */
  pendingN = 0;
  /** Curfew: when the previous window ended (a position from before it says nothing about tonight). */
  prevWindowEndMs = -Infinity;

  constructor(
    /** Rebound when the subject is replaced and this condition carries over (roster.ts). */
    public subject: SubjectState,
    /** Rebound when the condition's zone is replaced through the API. */
    public cond: CompiledCondition,
    readonly zoneId: string | null,
  ) {
    const mainType: AlertType = cond.type;
    const warnType: AlertType = cond.type === 'exclusion' ? 'exclusion_buffer' : 'proximity_warning';
    this.breach = new Slot(mainType, '', this);
    this.warn = cond.warnBandM > 0 ? new Slot(warnType, '', this) : null;
  }

  /** Nothing open and no breach pending. */
  get idle(): boolean {
    return this.breach.open === null && (this.warn === null || this.warn.open === null) && this.pendingSinceMs !== this.pendingSinceMs;
  }

  /** A breach or warning episode is open. */
  get hasOpen(): boolean {
    return this.breach.open !== null || (this.warn !== null && this.warn.open !== null);
  }
}

/** A device's latest position, updated in place (fields in Fix's order, same reading code). */
export class PositionMemory {
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

/**
 * A device's per-fix numbers, in one row of DEV_ROW doubles of EngineState.devHot (the row at
 * DeviceState.slot * DEV_ROW). Ingest reads and writes the row directly (ingest.ts), so an
 * in-order fix touches a few consecutive cache lines instead of the device object, its SeqSet,
 * its ring of times, its last position and the heap numbers behind each double field. The rest
 * of the engine reads the same numbers through DeviceState's accessors.
 */
export const DEV_ROW = 48;
export const D_NEWEST = 0;
export const D_LAST_LATE = 1;
export const D_LAST_HEARD = 2;
/** SeqSet's highest range (lo, hi): seq-set.ts. */
export const D_SEQ_LO = 3;
export const D_SEQ_HI = 4;
export const D_RECENT_N = 5;
export const D_OFFLINE_DUE = 6;
export const D_LAST_MSG = 7;
/** Latest position fix (PositionMemory's fields), D_HAS_LAST 1 once there is one. */
export const D_L_SEQ = 8;
export const D_L_TS = 9;
export const D_L_LAT = 10;
export const D_L_LON = 11;
export const D_L_ACC = 12;
export const D_L_BATTERY = 13;
export const D_L_STRAP = 14;
export const D_HAS_LAST = 15;
export const D_LAST_BATTERY = 16;
export const D_LAST_STRAP = 17;
export const D_FIRST_MSG = 18;
export const D_LAST_POS_MS = 19;
/**
 * The wearer's per-fix numbers, mirrored from its SubjectState (syncSubjectRow) while it is the
 * device's subject: its next live timer, its validity [from, to) (from Infinity when the order
 * is not active, or there is no subject), healthQuiet, and its condition rows (ready: filled
 * for its current configuration; base; count).
 */
export const D_S_NEXT_TIMER = 20;
export const D_S_FROM = 21;
export const D_S_TO = 22;
export const D_S_QUIET = 23;
export const D_S_READY = 24;
export const D_S_COND_BASE = 25;
export const D_S_COND_N = 26;
/** In-order fix times, a ring of RECENT_TS. */
export const D_RECENT = 32;

/** Fresh row values (a new device, or a released row's copy). */
function initRow(h: Float64Array, o: number): void {
  h.fill(0, o, o + DEV_ROW);
  h[o + D_NEWEST] = -Infinity;
  h[o + D_LAST_LATE] = Infinity;
  h[o + D_LAST_HEARD] = -Infinity;
  h[o + D_OFFLINE_DUE] = Infinity;
  h[o + D_LAST_MSG] = -Infinity;
  h[o + D_L_LAT] = NaN;
  h[o + D_L_LON] = NaN;
  h[o + D_L_ACC] = NaN;
  h[o + D_L_BATTERY] = NaN;
  h[o + D_L_STRAP] = STRAP_NONE;
  h[o + D_LAST_BATTERY] = NaN;
  h[o + D_LAST_STRAP] = STRAP_NONE;
  h[o + D_FIRST_MSG] = -Infinity;
  h[o + D_LAST_POS_MS] = -Infinity;
  noSubjectRow(h, o);
  h.fill(Infinity, o + D_RECENT, o + D_RECENT + RECENT_TS);
}

function noSubjectRow(h: Float64Array, o: number): void {
  h[o + D_S_NEXT_TIMER] = Infinity;
  h[o + D_S_FROM] = Infinity;
  h[o + D_S_TO] = -Infinity;
  h[o + D_S_QUIET] = 0;
  h[o + D_S_READY] = 0;
  h[o + D_S_COND_BASE] = -1;
  h[o + D_S_COND_N] = 0;
}

/** Writes the subject's mirrored numbers into its device's row, if it is the device's subject. */
export function syncSubjectRow(s: SubjectState): void {
  const d = s.device;
  if (d.subject !== s) return;
  const h = d.row, o = d.o;
  h[o + D_S_NEXT_TIMER] = s.nextTimerMs;
  h[o + D_S_FROM] = s.active ? s.validFromMs : Infinity;
  h[o + D_S_TO] = s.validToMs;
  h[o + D_S_QUIET] = s.healthQuiet ? 1 : 0;
  h[o + D_S_READY] = s.condBase >= 0 && s.hotCfg === s.cfg ? 1 : 0;
  h[o + D_S_COND_BASE] = s.condBase;
  h[o + D_S_COND_N] = s.condCount;
}

/** The device's wearer changes (or it has none now): its row mirrors the new one. */
export function setDeviceSubject(d: DeviceState, s: SubjectState | null): void {
  d.subject = s;
  if (s === null) noSubjectRow(d.row, d.o);
  else syncSubjectRow(s);
}

/** The device's latest position fix, read from its row (what PositionMemory was, without the copies). */
export class DevicePosition {
  constructor(private readonly d: DeviceState) {}

  get deviceId(): string {
    return this.d.id;
  }
  get seq(): number {
    return this.d.row[this.d.o + D_L_SEQ];
  }
  get ts(): number {
    return this.d.row[this.d.o + D_L_TS];
  }
  get lat(): number {
    return this.d.row[this.d.o + D_L_LAT];
  }
  get lon(): number {
    return this.d.row[this.d.o + D_L_LON];
  }
  get accuracy(): number {
    return this.d.row[this.d.o + D_L_ACC];
  }
  get battery(): number {
    return this.d.row[this.d.o + D_L_BATTERY];
  }
  get strap(): number {
    return this.d.row[this.d.o + D_L_STRAP];
  }
  get hasPosition(): boolean {
    const lat = this.d.row[this.d.o + D_L_LAT];
    return lat === lat;
  }
}

/** A proximity condition watching a victim's device. */
export interface Watcher {
  subject: SubjectState;
  cond: CompiledCondition;
}

export class DeviceState {
  /** Its row: EngineState.devHot at o = slot * DEV_ROW (or a row of its own once released). */
  row: Float64Array;
  o: number;
  /** Its slot id (EngineState.deviceBySlot), -1 once released. */
  slot: number;
  readonly seen: SeqSet;
  /** Late-burst bookkeeping: tracks with open late episodes. */
  readonly lateSlots: Slot[] = [];
  subject: SubjectState | null = null;
  /** Proximity conditions watching this device (st.watchers' list for its id, kept in step by roster.ts), or null. */
  watchers: Watcher[] | null = null;
  /** lastFix's view, made once (not during ingest). */
  private readonly view: DevicePosition;

  constructor(readonly id: string, row: Float64Array, slot: number) {
    this.row = row;
    this.slot = slot;
    this.o = slot * DEV_ROW;
    initRow(row, this.o);
    this.seen = new SeqSet(row, this.o + D_SEQ_LO);
    this.view = new DevicePosition(this);
  }

  /** The row moved (devHot grew, or the device left and keeps a copy of its own). */
  rebind(row: Float64Array, o: number): void {
    this.row = row;
    this.o = o;
    this.seen.rebind(row, o + D_SEQ_LO);
  }

  /** Newest fix time processed (late fixes are older than this). */
  get newestMs(): number { return this.row[this.o + D_NEWEST]; }
  set newestMs(v: number) { this.row[this.o + D_NEWEST] = v; }
  get firstMessageMs(): number { return this.row[this.o + D_FIRST_MSG]; }
  set firstMessageMs(v: number) { this.row[this.o + D_FIRST_MSG] = v; }
  get lastMessageMs(): number { return this.row[this.o + D_LAST_MSG]; }
  set lastMessageMs(v: number) { this.row[this.o + D_LAST_MSG] = v; }
  /**
   * When the engine last heard from the device: the fix time in replay, the clock at arrival in
   * the live service. device_offline is about silence on the wire, so a tag uploading an old
   * backlog is talking, whatever its fixes' own times say.
   */
  get lastHeardMs(): number { return this.row[this.o + D_LAST_HEARD]; }
  set lastHeardMs(v: number) { this.row[this.o + D_LAST_HEARD] = v; }
  get lastPositionMs(): number { return this.row[this.o + D_LAST_POS_MS]; }
  set lastPositionMs(v: number) { this.row[this.o + D_LAST_POS_MS] = v; }
  /**
   * Latest battery and strap reported by an in-order message (heartbeats included; NaN and
   * STRAP_NONE until one reports them). Not in the snapshot: after a restart the latest
   * position fix's own values stand in until the next report.
   */
  get lastBattery(): number { return this.row[this.o + D_LAST_BATTERY]; }
  set lastBattery(v: number) { this.row[this.o + D_LAST_BATTERY] = v; }
  get lastStrap(): number { return this.row[this.o + D_LAST_STRAP]; }
  set lastStrap(v: number) { this.row[this.o + D_LAST_STRAP] = v; }
  /** Late-burst bookkeeping: time of the previous late fix (Infinity: no burst). */
  get lastLateMs(): number { return this.row[this.o + D_LAST_LATE]; }
  set lastLateMs(v: number) { this.row[this.o + D_LAST_LATE] = v; }
  /** device_offline timer armed (due time), so each device has at most one in the queue. */
  get offlineDue(): number { return this.row[this.o + D_OFFLINE_DUE]; }
  set offlineDue(v: number) { this.row[this.o + D_OFFLINE_DUE] = v; }
  /** In-order fix times written so far (the ring `recent` holds the last RECENT_TS). */
  get recentN(): number { return this.row[this.o + D_RECENT_N]; }
  set recentN(v: number) { this.row[this.o + D_RECENT_N] = v; }
  /** Recent in-order fix times (a view of the row: writes go to it), to find when a late episode was next contradicted. */
  get recent(): Float64Array {
    return this.row.subarray(this.o + D_RECENT, this.o + D_RECENT + RECENT_TS);
  }

  /** Latest position fix by time (not changed by late fixes); a live view of the row. */
  get lastFix(): DevicePosition | null {
    return this.row[this.o + D_HAS_LAST] === 1 ? this.view : null;
  }

  rememberPosition(fix: Position): void {
    const h = this.row, o = this.o;
    h[o + D_L_SEQ] = fix.seq;
    h[o + D_L_TS] = fix.ts;
    h[o + D_L_LAT] = fix.lat;
    h[o + D_L_LON] = fix.lon;
    h[o + D_L_ACC] = fix.accuracy;
    h[o + D_L_BATTERY] = fix.battery;
    h[o + D_L_STRAP] = fix.strap;
    h[o + D_HAS_LAST] = 1;
  }

  /** Since when the device has been without a position: its last position, or its first message. */
  get positionRefMs(): number {
    return this.lastPositionMs > -Infinity ? this.lastPositionMs : this.firstMessageMs;
  }
}

export class SubjectState {
  readonly tracks: (Track | null)[];
  /** Layer conditions: one track per zone met, created on first contact. */
  readonly layerTracks: (Map<string, Track> | null)[];
  readonly tamper: Slot;
  readonly battery: Slot;
  readonly noFix: Slot;
  readonly offline: Slot;
  /** The four device-health slots, in snapshot order. */
  readonly healthSlots: readonly Slot[];
  /** Scheduled exclusions: the window end for which a closing timer is armed. */
  readonly endTimerMs: Float64Array;

  /**
   * Slot id of the subject's first condition row in EngineState.condHot (condition-slots.ts),
   * -1 until the first fix judges its conditions; the configuration the rows were filled for.
   */
  get condBase(): number { return this._condBase; }
  set condBase(v: number) { this._condBase = v; syncSubjectRow(this); }
  get condCount(): number { return this._condCount; }
  set condCount(v: number) { this._condCount = v; syncSubjectRow(this); }
  get hotCfg(): CompiledSubject | null { return this._hotCfg; }
  set hotCfg(v: CompiledSubject | null) { this._hotCfg = v; syncSubjectRow(this); }
  /** No device-health episode was open after the last in-order fix, and none opened since (rules.ts judgeHealth). */
  get healthQuiet(): boolean { return this._healthQuiet; }
  set healthQuiet(v: boolean) {
    if (v === this._healthQuiet) return;
    this._healthQuiet = v;
    syncSubjectRow(this);
  }
  /** Replaced when a zone it names changes (roster.ts setZone): its condition rows are refilled. */
  get cfg(): CompiledSubject { return this._cfg; }
  set cfg(v: CompiledSubject) { this._cfg = v; syncSubjectRow(this); }
  // Backing fields of the accessors above, which keep the device's row in step (syncSubjectRow).
  private _condBase = -1;
  private _condCount = 0;
  private _hotCfg: CompiledSubject | null = null;
  private _healthQuiet = false;
  private _cfg: CompiledSubject;
  private _nextTimerMs = Infinity;

  /** Set when the subject is replaced or deleted: its timers still in the queue are ignored. */
  retired = false;
  /**
   * Live service: this subject's timers not yet fired (a handful at most), and the earliest of
   * their event times, so an in-order message from its device fires the ones it has passed
   * (timers.ts) with one comparison per fix.
   */
  readonly pending: EngineTimer[] = [];
  get nextTimerMs(): number { return this._nextTimerMs; }
  set nextTimerMs(v: number) { this._nextTimerMs = v; syncSubjectRow(this); }

  /**
   * The order's validity, copied from cfg (read on every fix; cfg is one more cache miss). A
   * replaced cfg (a zone changed, roster.ts setZone) keeps the same validity; a changed order
   * is a new SubjectState.
   */
  readonly active: boolean;
  readonly validFromMs: number;
  readonly validToMs: number;

  constructor(cfg: CompiledSubject, readonly device: DeviceState) {
    this._cfg = cfg;
    this.active = cfg.active;
    this.validFromMs = cfg.validFromMs;
    this.validToMs = cfg.validToMs;
    // An inclusion over a layer is one track (inside any of its zones); an exclusion over a layer, one per zone.
    this.tracks = cfg.conditions.map((c) => (c.layer === null || c.inside ? new Track(this, c, null) : null));
    this.layerTracks = cfg.conditions.map((c) => (c.layer === null || c.inside ? null : new Map()));
    this.tamper = new Slot('tamper', cfg.id, null);
    this.battery = new Slot('battery_low', cfg.id, null);
    this.noFix = new Slot('no_fix', cfg.id, null);
    this.offline = new Slot('device_offline', cfg.id, null);
    this.healthSlots = [this.tamper, this.battery, this.noFix, this.offline];
    this.endTimerMs = new Float64Array(cfg.conditions.length).fill(-Infinity);
  }

  validAt(t: number): boolean {
    return this.active && t >= this.validFromMs && t < this.validToMs;
  }
}

/** A fix, or a device's remembered position: what an event shows and a rule measures from. */
export type Position = Fix | PositionMemory | DevicePosition;

/**
 * One measurement handed to the episode state machine (rules.ts update). One per engine,
 * refilled before each call (startReading), so a call names what it passes without allocating.
 * Numbers start as NaN, not 0, so each field is a double from the start (one hidden class). It
 * holds no reference to the fix: storing a young Fix into this long-lived record on every call
 * would cost a write barrier and a remembered-set entry per fix.
 */
export class Reading {
  /** Metres on the breach side of the boundary (negative on the safe side). */
  depthM = NaN;
  /** How far the position may be off, in metres (fix accuracy; both fixes' for proximity). */
  uncertaintyM = NaN;
  /** The reading may at most be 'possible' (a stale victim position). */
  forcePossible = false;
  /** When the reading applies (epoch ms). */
  atMs = NaN;
  /** Proximity: metres between subject and victim; NaN otherwise. */
  distanceM = NaN;
  /** The most clearance closing may ask for (inside conditions: half the zone's inner size); Infinity otherwise. */
  clearCapM = NaN;
}

export interface EngineTimer extends Timer {
  /**
   * When the timer is due in event time (what it decides and the `at` of its events). `due`,
   * the queue's key, is the same in replay; in the live service a subject timer's `due` is
   * atMs + timerWaitS (timers.ts).
   */
  atMs: number;
  /** Fired already (by its device's message, in the live service); skipped when the queue pops it. */
  fired: boolean;
  /** One of the T_* kinds in timers.ts. */
  kind: number;
  subject: SubjectState;
  cond: number;
  /** Curfew: the end of the interval whose deadline this is. */
  endMs: number;
}

/** Everything the engine holds; engine.ts wraps it, the concern files take it as their first argument. */
export class EngineState {
  readonly settings: Settings;
  readonly devices = new Map<string, DeviceState>();
  /** Device rows (DeviceState), DEV_ROW doubles a slot; devices by slot id (null: free). */
  devHot = new Float64Array(DEV_ROW * 1024);
  readonly deviceBySlot: (DeviceState | null)[] = [];
  readonly freeDeviceSlots: number[] = [];
  readonly subjects = new Map<string, SubjectState>();
  /**
   * zone id → the subject with a condition naming it, or a Set when there are several (to rebind
   * when the zone is replaced). Nearly every zone has one user: a Set each was 200,000 Sets.
   */
  readonly zoneUsers = new Map<string, SubjectState | Set<SubjectState>>();
  /** victim device → proximity conditions watching it */
  readonly watchers = new Map<string, Watcher[]>();
  /** Devices in the device register: kept (with their history) while no subject wears them. */
  readonly registered = new Set<string>();
  readonly timers = new TimerQueue<EngineTimer>();
  /** Devices with a late burst open (late episodes not yet closed): live, ended once the device is quiet (clock.ts). */
  readonly lateBursts = new Set<DeviceState>();
  /** Replay: the last timer fired, for arm() to reuse (clock.ts recycle). */
  spareTimer: EngineTimer | null = null;
  /** The clock is the latest fix time (replay), or only advanceTo moves it (live). */
  readonly fixClock: boolean;
  clockMs = -Infinity;
  started = false;
  /** Zone query results, reused by every query. */
  readonly hits = new ZoneHits(32);
  readonly reading = new Reading();
  /** Events raised since the last drain. */
  out: AlertEvent[] = [];
  /** Condition rows (condition-slots.ts): ROW doubles per condition, addressed by slot id. */
  condHot = new Float64Array(8 * 1024);
  condRows = 0;
  /** Released blocks of rows, by length. */
  readonly condFree = new Map<number, number[]>();

  constructor(readonly config: CompiledConfig, fixClock: boolean) {
    this.settings = config.settings;
    this.fixClock = fixClock;
  }
}

/** A position's accuracy, or the configured default when the fix gives none. */
export function accuracyOf(st: EngineState, p: Position): number {
  return p.accuracy === p.accuracy ? p.accuracy : st.settings.defaultAccuracyM;
}

/** How far from a zone's edge distances must be exact for this condition and position. */
export function marginOf(st: EngineState, c: CompiledCondition, p: Position): number {
  return c.warnBandM + c.hysteresisM + accuracyOf(st, p) + 1;
}

/** A layer condition's track for this zone, created on first contact. */
export function layerTrackFor(s: SubjectState, c: CompiledCondition, tracks: Map<string, Track>, zoneId: string): Track {
  let track = tracks.get(zoneId);
  if (track === undefined) {
    track = new Track(s, c, zoneId);
    tracks.set(zoneId, track);
  }
  return track;
}

/** Is this zone among the first n query results? */
export function hitsInclude(hits: ZoneHits, n: number, zoneId: string): boolean {
  for (let i = 0; i < n; i++) if (hits.zones[i].id === zoneId) return true;
  return false;
}

/** A new device with a row of its own in devHot (a free slot, or a new one: the array grows by doubling). */
export function newDevice(st: EngineState, id: string): DeviceState {
  let slot = st.freeDeviceSlots.pop();
  if (slot === undefined) {
    slot = st.deviceBySlot.length;
    st.deviceBySlot.push(null);
    if ((slot + 1) * DEV_ROW > st.devHot.length) {
      const grown = new Float64Array(st.devHot.length * 2);
      grown.set(st.devHot);
      st.devHot = grown;
      for (const d of st.deviceBySlot) if (d !== null) d.rebind(grown, d.o);
    }
  }
  const d = new DeviceState(id, st.devHot, slot);
  d.watchers = st.watchers.get(id) ?? null;
  st.deviceBySlot[slot] = d;
  return d;
}

/**
 * The device left the engine (st.devices no longer holds it): its slot is free for another. The
 * object keeps a copy of its row, so anything still holding it reads what it held.
 */
export function releaseDeviceSlot(st: EngineState, d: DeviceState): void {
  if (d.slot < 0 || st.deviceBySlot[d.slot] !== d) return;
  const own = st.devHot.slice(d.o, d.o + DEV_ROW);
  st.deviceBySlot[d.slot] = null;
  st.freeDeviceSlots.push(d.slot);
  d.slot = -1;
  d.rebind(own, 0);
}
