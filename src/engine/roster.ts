import type { PreparedZone } from '../../geo/index.js';
import { subjectRecord, type CompiledSubject } from './config.js';
import { releaseConditionSlots } from './condition-slots.js';
import { closeCondition, closeSubject, closeTrack } from './episodes.js';
import { deleteLayerZone, setLayerZone } from './layer-index.js';
import { newDevice, releaseDeviceSlot, setDeviceSubject, SubjectState, type DeviceState, type EngineState } from './state.js';
import { armSubject, rearmHealthTimers } from './timers.js';

/**
 * Configuration changes while fixes flow (the API applies them without a restart): zones and
 * subjects added, replaced and deleted, and the links between subjects, devices and zones.
 */

/** Devices worn by subjects, and victim devices watched by proximity conditions (a registered device no one uses has no role). */
export function deviceRole(st: EngineState, deviceId: string): { subjectId: string } | { victimOf: string[] } | null {
  const d = st.devices.get(deviceId);
  if (d === undefined) return null;
  if (d.subject !== null) return { subjectId: d.subject.cfg.id };
  if (!st.watchers.has(deviceId)) return null;
  return { victimOf: (st.watchers.get(deviceId) ?? []).map((w) => w.subject.cfg.id) };
}

/** The subjects whose conditions name this zone. */
function usersOf(st: EngineState, id: string): SubjectState[] {
  const users = st.zoneUsers.get(id);
  return users === undefined ? [] : users instanceof Set ? [...users] : [users];
}

/** Subject ids whose conditions name this zone. */
export function zoneUsersOf(st: EngineState, id: string): string[] {
  return usersOf(st, id).map((s) => s.cfg.id).sort();
}

/**
 * Adds or replaces a zone; conditions naming it use the new geometry from the next fix.
 * `sharedDone`: the zone map and layer indexes are shared with other engines (the service's
 * partitions) and another engine has already updated them; only this engine's conditions rebind.
 */
export function setZone(st: EngineState, zone: PreparedZone, sharedDone = false): void {
  const config = st.config;
  if (!sharedDone) {
    setLayerZone(config.layers, zone, config.zones.get(zone.id));
    config.zones.set(zone.id, zone);
  }
  for (const s of usersOf(st, zone.id)) {
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
export function deleteZone(st: EngineState, id: string): boolean {
  const zone = st.config.zones.get(id);
  if (zone === undefined) return true;
  if (st.zoneUsers.has(id)) return false;
  st.config.zones.delete(id);
  if (zone.layer !== null) deleteLayerZone(st.config.layers, zone);
  forgetZone(st, zone);
  return true;
}

/**
 * The per-engine half of deleting a zone whose shared map entry another engine has already
 * removed: its layer tracks close now.
 */
export function forgetZone(st: EngineState, zone: PreparedZone): void {
  const id = zone.id;
  if (zone.layer !== null) {
    for (const s of st.subjects.values()) {
      for (const tracks of s.layerTracks) {
        const track = tracks?.get(id);
        if (track !== undefined) {
          closeTrack(st, track, st.clockMs);
          tracks?.delete(id);
        }
      }
    }
  }
}

/**
 * Adds or replaces a subject. State carries over where it still means the same thing: the
 * device's history, device-health episodes, and each condition kept with the same id and
 * type. Episodes of conditions that are gone close now.
 */
export function setSubject(st: EngineState, cfg: CompiledSubject): void {
  for (const c of cfg.conditions) {
    if (c.zone !== null && st.config.zones.get(c.zone.id) !== c.zone) {
      throw new Error(`subject ${cfg.id}: condition ${c.id} names zone ${c.zone.id}, which the engine does not hold`);
    }
  }
  const other = st.devices.get(cfg.deviceId);
  if (other !== undefined && other.subject !== null && other.subject.cfg.id !== cfg.id) {
    throw new Error(`device ${cfg.deviceId} is already worn by subject ${other.subject.cfg.id}`);
  }
  const old = st.subjects.get(cfg.id);
  if (old === undefined) {
    const s = addSubject(st, cfg, undefined);
    if (st.started) armSubject(st, s, st.clockMs);
    return;
  }
  const next = addSubject(st, cfg, old);
  for (const [k, c] of old.cfg.conditions.entries()) {
    const keep = cfg.conditions.findIndex((n) => n.id === c.id && n.type === c.type);
    if (keep < 0) {
      closeCondition(st, old, k, st.clockMs);
      continue;
    }
    const track = old.tracks[k];
    if (track !== null && next.tracks[keep] !== null) {
      track.cond = cfg.conditions[keep];
      track.subject = next;
      next.tracks[keep] = track;
    }
    const layer = old.layerTracks[k];
    if (layer !== null && next.layerTracks[keep] !== null) {
      for (const t of layer.values()) {
        t.cond = cfg.conditions[keep];
        t.subject = next;
      }
      next.layerTracks[keep] = layer;
    }
  }
  if (st.started) {
    armSubject(st, next, st.clockMs);
    rearmHealthTimers(st, next.device);
  }
}

/** Removes a subject; its open episodes close now. Returns false if there was none. */
export function deleteSubject(st: EngineState, id: string): boolean {
  const s = st.subjects.get(id);
  if (s === undefined) return false;
  closeSubject(st, s, st.clockMs);
  unlinkSubject(st, s);
  if (st.devices.get(s.cfg.deviceId)?.subject === s) releaseDevice(st, s.cfg.deviceId);
  return true;
}

/**
 * Adds a device to the register: its fixes are accepted and recorded while no subject wears
 * it (they raise nothing), and it keeps its history when a subject starts wearing it.
 */
export function registerDevice(st: EngineState, id: string): void {
  st.registered.add(id);
  if (!st.devices.has(id)) st.devices.set(id, newDevice(st, id));
}

/** Takes a device off the register; if nothing else uses it, its fixes are refused again. */
export function unregisterDevice(st: EngineState, id: string): void {
  if (!st.registered.delete(id)) return;
  const d = st.devices.get(id);
  if (d !== undefined && d.subject === null && !st.watchers.has(id)) dropDevice(st, d);
}

/** A subject stopped wearing the device: a registered one stays (bare), any other goes. */
function releaseDevice(st: EngineState, id: string): void {
  const d = st.devices.get(id);
  if (d === undefined) return;
  if (!st.registered.has(id)) {
    dropDevice(st, d);
    return;
  }
  setDeviceSubject(d, null);
  d.lateSlots.length = 0;
  d.offlineDue = Infinity;
}

/** Links a subject in (replacing `replacing`, whose device and device-health episodes it takes over if it is the same device). */
export function addSubject(st: EngineState, cfg: CompiledSubject, replacing: SubjectState | undefined): SubjectState {
  let device: DeviceState;
  if (replacing !== undefined) {
    unlinkSubject(st, replacing);
    const same = replacing.cfg.deviceId === cfg.deviceId;
    if (!same && st.devices.get(replacing.cfg.deviceId)?.subject === replacing) releaseDevice(st, replacing.cfg.deviceId);
    device = same ? replacing.device : deviceFor(st, cfg.deviceId);
  } else {
    device = deviceFor(st, cfg.deviceId);
  }
  const subject = new SubjectState(cfg, device);
  if (replacing !== undefined && replacing.device === device) {
    for (let i = 0; i < subject.healthSlots.length; i++) subject.healthSlots[i].takeOver(replacing.healthSlots[i]);
    device.lateSlots.length = 0;
  }
  setDeviceSubject(device, subject);
  st.subjects.set(cfg.id, subject);
  for (const cond of cfg.conditions) {
    if (cond.zone !== null) {
      const id = cond.zone.id;
      const users = st.zoneUsers.get(id);
      if (users === undefined) st.zoneUsers.set(id, subject);
      else if (users instanceof Set) users.add(subject);
      else if (users !== subject) st.zoneUsers.set(id, new Set([users, subject]));
    }
    if (cond.victimDeviceId === null) continue;
    let list = st.watchers.get(cond.victimDeviceId);
    if (list === undefined) {
      list = [];
      st.watchers.set(cond.victimDeviceId, list);
      if (!st.devices.has(cond.victimDeviceId)) st.devices.set(cond.victimDeviceId, newDevice(st, cond.victimDeviceId));
      syncWatchers(st, cond.victimDeviceId);
    }
    list.push({ subject, cond });
  }
  return subject;
}

function deviceFor(st: EngineState, id: string): DeviceState {
  const existing = st.devices.get(id);
  if (existing !== undefined && existing.subject === null) return existing;
  // Another subject's device object is replaced in the map: it keeps its numbers, not the slot.
  if (existing !== undefined) releaseDeviceSlot(st, existing);
  const device = newDevice(st, id);
  st.devices.set(id, device);
  return device;
}

function unlinkSubject(st: EngineState, s: SubjectState): void {
  s.retired = true;
  releaseConditionSlots(st, s);
  st.subjects.delete(s.cfg.id);
  // The zones its conditions name (a zone replaced through the API keeps its id).
  for (const c of s.cfg.conditions) {
    if (c.zone === null) continue;
    const users = st.zoneUsers.get(c.zone.id);
    if (users === s) st.zoneUsers.delete(c.zone.id);
    else if (users instanceof Set && users.delete(s) && users.size === 0) st.zoneUsers.delete(c.zone.id);
  }
  for (const [victim, list] of st.watchers) {
    const kept = list.filter((w) => w.subject !== s);
    if (kept.length > 0) {
      st.watchers.set(victim, kept);
      syncWatchers(st, victim);
    } else {
      st.watchers.delete(victim);
      syncWatchers(st, victim);
      const d = st.devices.get(victim);
      if (d !== undefined && d.subject === null && !st.registered.has(victim)) dropDevice(st, d);
    }
  }
}

/** Removes the device from the engine and frees its row. */
function dropDevice(st: EngineState, d: DeviceState): void {
  st.devices.delete(d.id);
  releaseDeviceSlot(st, d);
}

/** The device's own reference to its watchers' list (rules.ts judgeVictimFix reads it there). */
function syncWatchers(st: EngineState, victimId: string): void {
  const d = st.devices.get(victimId);
  if (d !== undefined) d.watchers = st.watchers.get(victimId) ?? null;
}
