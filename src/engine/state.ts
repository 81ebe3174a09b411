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
 * RECENT_TS Infinities. A literal, not a loop of pushes: one allocation of the final size, and
 * its allocation site lets V8 allocate these long-lived arrays in old space directly.
 */
function recentTimes(): number[] {
  const I = Infinity;
  return [I, I, I, I, I, I, I, I, I, I, I, I, I, I, I, I];
}
if (recentTimes().length !== RECENT_TS) throw new Error('recentTimes() must hold RECENT_TS entries');

export class DeviceState {
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
   * Latest battery and strap reported by an in-order message (heartbeats included; NaN and
   * STRAP_NONE until one reports them). Not in the snapshot: after a restart the latest
   * position fix's own values stand in until the next report.
   */
  lastBattery = NaN;
  lastStrap = STRAP_NONE;
  /**
   * Latest position fix by time (not changed by late fixes), copied into this device's own
   * record rather than keeping the Fix: holding every fix object would make each one an
   * old-to-young pointer for the garbage collector to trace and promote.
   */
  private readonly last: PositionMemory;
  private hasLast = false;
  /**
   * Recent in-order fix times, to find when a late episode was next contradicted. A plain array
   * of doubles, not a Float64Array: its elements live on the JS heap next to this record, where
   * a typed array this size would keep them in a separate allocation (one more cache miss a fix).
   */
  readonly recent: number[] = recentTimes();
  recentN = 0;
  /** Late-burst bookkeeping: time of the previous late fix, tracks with open late episodes. */
  lastLateMs = Infinity;
  readonly lateSlots: Slot[] = [];
  /** device_offline timer armed (due time), so each device has at most one in the queue. */
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
  condBase = -1;
  condCount = 0;
  hotCfg: CompiledSubject | null = null;
  /** No device-health episode was open after the last in-order fix, and none opened since (rules.ts judgeHealth). */
  healthQuiet = false;

  /** Set when the subject is replaced or deleted: its timers still in the queue are ignored. */
  retired = false;
  /**
   * Live service: this subject's timers not yet fired (a handful at most), and the earliest of
   * their event times, so an in-order message from its device fires the ones it has passed
   * (timers.ts) with one comparison per fix.
   */
  readonly pending: EngineTimer[] = [];
  nextTimerMs = Infinity;

  /**
   * The order's validity, copied from cfg (read on every fix; cfg is one more cache miss). A
   * replaced cfg (a zone changed, roster.ts setZone) keeps the same validity; a changed order
   * is a new SubjectState.
   */
  readonly active: boolean;
  readonly validFromMs: number;
  readonly validToMs: number;

  constructor(public cfg: CompiledSubject, readonly device: DeviceState) {
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
export type Position = Fix | PositionMemory;

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
  readonly subjects = new Map<string, SubjectState>();
  /**
   * zone id → the subject with a condition naming it, or a Set when there are several (to rebind
   * when the zone is replaced). Nearly every zone has one user: a Set each was 200,000 Sets.
   */
  readonly zoneUsers = new Map<string, SubjectState | Set<SubjectState>>();
  /** victim device → proximity conditions watching it */
  readonly watchers = new Map<string, { subject: SubjectState; cond: CompiledCondition }[]>();
  /** Devices in the device register: kept (with their history) while no subject wears them. */
  readonly registered = new Set<string>();
  readonly timers = new TimerQueue<EngineTimer>();
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
