import type { PreparedZone } from '../../geo/index.js';
import type { AlertEvent } from './alert.js';
import { advanceClock, flushClock } from './clock.js';
import type { CompiledConfig, CompiledSubject, Settings } from './config.js';
import type { Fix } from './fix.js';
import { deviceStatus, eachDeviceStatus, teamOfDevice, type DeviceStatus } from './device-view.js';
import { ingestFix, ingestFixAt, type IngestOutcome } from './ingest.js';
import { addSubject, deleteSubject, deleteZone, deviceRole, forgetZone, registerDevice, setSubject, setZone, unregisterDevice, zoneUsersOf } from './roster.js';
import { restoreState, snapshotState, type EngineSnapshot } from './snapshot.js';
import { EngineState } from './state.js';

export type { IngestOutcome } from './ingest.js';
export type { DeviceStatus } from './device-view.js';
export type { EngineSnapshot } from './snapshot.js';

export interface EngineOptions {
  /**
   * 'fixes': the clock is the latest fix time seen (replay). 'external': only advanceTo() moves
   * it (the live service passes its clock); a subject's timers then also fire on its device's
   * first in-order message past them, and otherwise settings.timerWaitS after they are due
   * (timers.ts). Default 'fixes'.
   */
  clock?: 'fixes' | 'external';
}

/** Returned by drain() when nothing happened: no allocation per call. Never modified. */
const NO_EVENTS: AlertEvent[] = [];

/**
 * The monitoring rules engine: fixes in, episode events out. Pure and deterministic: no I/O,
 * and time comes only from the fixes and from advanceTo(now). Replay and the live service run
 * this same code; they differ only in who moves the clock (see EngineOptions.clock).
 *
 * Semantics (what opens, updates and closes an episode; late fixes; drift) are written down in
 * the README, section "Engine semantics". In short:
 * - A breach is an episode: `opened` on the first breaching fix (or a timer's deadline),
 *   `updated` when its confidence rises to confirmed, `closed` when it ends.
 * - No flapping: an episode closes only once the subject has stayed clearly on the safe side
 *   (accuracy circle hysteresisM clear of the boundary) for closeAfterS, at the first such fix.
 * - A late fix (older than the newest already processed from its device) never changes the
 *   current state; it can only raise a past episode that nothing already covered.
 *
 * This class is the facade; the work is in one file per concern, each taking the engine's
 * state record (state.ts): ingest.ts (one fix), rules.ts (health and location conditions, the
 * episode state machine), late-fixes.ts, episodes.ts (open/update/close and events), timers.ts
 * (arming) and clock.ts (firing), roster.ts (zones and subjects changed while fixes flow),
 * snapshot.ts (persisted state).
 */
export class Engine {
  readonly settings: Settings;
  private readonly st: EngineState;

  constructor(config: CompiledConfig, options: EngineOptions = {}) {
    this.st = new EngineState(config, (options.clock ?? 'fixes') === 'fixes');
    this.settings = config.settings;
    for (const cfg of config.subjects) addSubject(this.st, cfg, undefined);
    for (const id of config.devices ?? []) registerDevice(this.st, id);
  }

  /** The engine's clock (epoch ms); -Infinity before the first fix or advanceTo. */
  get now(): number {
    return this.st.clockMs;
  }

  /** Whether the clock has been set (first fix or advanceTo). */
  get isStarted(): boolean {
    return this.st.started;
  }

  /** When the next timer is due on the engine's clock (epoch ms; live: + timerWaitS for subject timers), or Infinity. */
  nextDue(): number {
    return this.st.timers.peek()?.due ?? Infinity;
  }

  /** Events raised since the last call, in the order they happened. */
  drain(): AlertEvent[] {
    const out = this.st.out;
    if (out.length === 0) return NO_EVENTS;
    this.st.out = [];
    return out;
  }

  isKnownDevice(deviceId: string): boolean {
    return this.st.devices.has(deviceId);
  }

  /** Processes one validated fix. Events go to drain(). */
  ingest(fix: Fix): IngestOutcome {
    return ingestFix(this.st, fix);
  }

  /**
   * The device's slot id in this engine (-1 if unknown), for ingestAt: resolve it once per
   * device where the input is parsed, and no fix is looked up by its device id string. A slot
   * stays the device's while the engine knows it; a stale one is only a missed shortcut.
   */
  deviceSlot(deviceId: string): number {
    return this.st.devices.get(deviceId)?.slot ?? -1;
  }

  /** ingest(fix) with the fix's device slot from deviceSlot(): the same outcome and events. */
  ingestAt(slot: number, fix: Fix): IngestOutcome {
    return ingestFixAt(this.st, slot, fix);
  }

  /**
   * Moves the clock to now, firing every timer due strictly before it (a fix at the exact
   * deadline still counts as in time). Never moves the clock back.
   */
  advanceTo(now: number): void {
    advanceClock(this.st, now);
  }

  /** End of input (replay): fires timers due up to and including the clock; ends late bursts. */
  flush(): void {
    flushClock(this.st);
  }

  // Configuration changes while fixes flow (the API applies them without a restart)

  /** Every zone the engine holds, by id (read-only view for compiling subjects). */
  get zones(): ReadonlyMap<string, PreparedZone> {
    return this.st.config.zones;
  }

  /** Devices worn by subjects, and victim devices watched by proximity conditions. */
  deviceRole(deviceId: string): { subjectId: string } | { victimOf: string[] } | null {
    return deviceRole(this.st, deviceId);
  }

  /** A device's status (wearer, last heard, battery, strap, latest position, open episodes), or null if unknown. */
  deviceStatus(deviceId: string): DeviceStatus | null {
    return deviceStatus(this.st, deviceId);
  }

  /**
   * Visits the status of every device the engine knows (victim units included: callers filter),
   * or of those worn by `team`'s subjects. The record is reused between calls: copy what you keep.
   */
  eachDeviceStatus(visit: (s: DeviceStatus) => void, team: string | null = null): void {
    eachDeviceStatus(this.st, visit, team);
  }

  /** The team of the subject wearing the device, or null. */
  teamOfDevice(deviceId: string): string | null {
    return teamOfDevice(this.st, deviceId);
  }

  /** The zone with this id, as the engine currently uses it. */
  getZone(id: string): PreparedZone | undefined {
    return this.st.config.zones.get(id);
  }

  /** Subject ids whose conditions name this zone. */
  zoneUsersOf(id: string): string[] {
    return zoneUsersOf(this.st, id);
  }

  getSubject(id: string): CompiledSubject | undefined {
    return this.st.subjects.get(id)?.cfg;
  }

  /**
   * Adds or replaces a zone; conditions naming it use the new geometry from the next fix.
   * `sharedDone`: engines built over one shared zone map (the service's partitions) update the
   * map and layer indexes once, through the first engine; the others only rebind (true).
   */
  setZone(zone: PreparedZone, sharedDone = false): void {
    setZone(this.st, zone, sharedDone);
  }

  /** Deleting a zone another engine sharing the zone map has already removed: its layer tracks close. */
  forgetZone(zone: PreparedZone): void {
    forgetZone(this.st, zone);
  }

  /** The compiled subjects the engine holds (to build a fresh engine over the same configuration). */
  compiledSubjects(): CompiledSubject[] {
    return [...this.st.subjects.values()].map((s) => s.cfg);
  }

  /** The devices on the register (CompiledConfig.devices). */
  registeredDevices(): string[] {
    return [...this.st.registered];
  }

  /** The configuration the engine was built over (its zone map and layer indexes are live). */
  get config(): CompiledConfig {
    return this.st.config;
  }

  /**
   * Removes a zone. Refused (false) while a condition names it: delete or change the condition
   * first. A layer zone's open episodes close now.
   */
  deleteZone(id: string): boolean {
    return deleteZone(this.st, id);
  }

  /**
   * Adds or replaces a subject. State carries over where it still means the same thing: the
   * device's history, device-health episodes, and each condition kept with the same id and
   * type. Episodes of conditions that are gone close now.
   */
  setSubject(cfg: CompiledSubject): void {
    setSubject(this.st, cfg);
  }

  /** Removes a subject; its open episodes close now. Returns false if there was none. */
  deleteSubject(id: string): boolean {
    return deleteSubject(this.st, id);
  }

  /**
   * Puts a device on the register: its fixes are accepted and recorded (duplicates dropped) even
   * while no subject wears it; they raise no alerts until a subject does.
   */
  registerDevice(id: string): void {
    registerDevice(this.st, id);
  }

  /** Takes a device off the register; unless a subject or condition uses it, its fixes are refused again. */
  unregisterDevice(id: string): void {
    unregisterDevice(this.st, id);
  }

  /** The engine's state as JSON-safe data (the live service persists it). */
  snapshot(): EngineSnapshot {
    return snapshotState(this.st);
  }

  /**
   * Rebuilds the state a snapshot recorded, over the engine's current configuration. Subjects,
   * conditions and zones that no longer exist are dropped; new ones start fresh.
   */
  restore(snap: EngineSnapshot): void {
    restoreState(this.st, snap);
  }
}
