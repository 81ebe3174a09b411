import type { ChainableCommander, Redis } from 'ioredis';
import type { CompiledSubject } from '../engine/config.js';
import type { Engine } from '../engine/engine.js';
import type { Keys } from './keys.js';

/**
 * Who a device was assigned to, and when: a trail belongs to a device AND the period of an
 * assignment. Each device keeps a history (Keys.deviceAssignments): entries {role, subjectId?,
 * from}, oldest first, where `from` is the id of the last trail entry written before the
 * assignment (stream ids are arrival order; a change is written in the same MULTI as, and after,
 * the fixes the engine saw before it). Roles: "subject" (worn as a subject's tag), "victim" (a
 * victim unit some proximity condition watches) and "none" (nobody's since).
 *
 * A subject's trail on a device is the fixes inside the periods the device was this subject's:
 * from where the previous subject or victim assignment ended (so a registered device's fixes
 * while nobody wore it go to the subject linked next) or from the beginning if there was none,
 * to where the device was unassigned or given to someone else. A device without history (data
 * from before histories) counts as its current wearer's from the beginning.
 */

export type Role = { role: 'subject'; subjectId: string } | { role: 'victim' } | { role: 'none' };
type Entry = Role & { from: string };

/** The devices a subject uses: its tag and the victim units its conditions watch. */
export function devicesOf(s: CompiledSubject | undefined): string[] {
  if (s === undefined) return [];
  return [s.deviceId, ...s.conditions.flatMap((c) => (c.victimDeviceId === null ? [] : [c.victimDeviceId]))];
}

/** Each device's role as the engine now has it. */
export function rolesOf(engine: Pick<Engine, 'deviceRole'>, devices: Iterable<string>): Map<string, Role> {
  const out = new Map<string, Role>();
  for (const d of devices) {
    const r = engine.deviceRole(d);
    out.set(d, r === null ? { role: 'none' } : 'subjectId' in r ? { role: 'subject', subjectId: r.subjectId } : { role: 'victim' });
  }
  return out;
}

/**
 * Appends {role, subjectId, from} unless the device's last entry already says so; `from` is the
 * trail's last id (0-0 if it has none). KEYS: history, trail, subject's device set.
 * ARGV: role, subjectId ('' if none), device.
 */
const RECORD = `
local last = redis.call('LINDEX', KEYS[1], -1)
if last then
  local l = cjson.decode(last)
  if l.role == ARGV[1] and (l.subjectId or '') == ARGV[2] then return 0 end
end
local from = '0-0'
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #top > 0 then from = top[1][1] end
local e = {role = ARGV[1], from = from}
if ARGV[2] ~= '' then
  e.subjectId = ARGV[2]
  redis.call('SADD', KEYS[3], ARGV[3])
end
redis.call('RPUSH', KEYS[1], cjson.encode(e))
return 1
`;

/** Stages each device's new role in the change's MULTI (after the group's trail writes). */
export function stageAssignments(m: ChainableCommander, keys: Keys, roles: Map<string, Role>): void {
  for (const [device, r] of roles) {
    const subjectId = r.role === 'subject' ? r.subjectId : '';
    m.eval(RECORD, 3, keys.deviceAssignments(device), keys.trail(device), keys.subjectDevices(subjectId), r.role, subjectId, device);
  }
}

/** A stretch of a trail stream: ids after `after` (exclusive) up to `to` (inclusive, or '+'). */
export interface Period { after: string; to: string }

/** The periods of `device`'s trail that are `subjectId`'s (see the module comment). */
export function periodsOf(history: readonly Entry[], subjectId: string, currentWearer: boolean): Period[] {
  if (history.length === 0) return currentWearer ? [{ after: '0-0', to: '+' }] : [];
  const out: Period[] = [];
  for (let i = 0; i < history.length; i++) {
    const e = history[i];
    if (e.role !== 'subject' || e.subjectId !== subjectId) continue;
    // Back over unassigned stretches: they belong to the wearer linked next.
    let j = i;
    while (j > 0 && history[j - 1].role === 'none') j--;
    // From the beginning if nothing came before; else from where the previous assignment ended
    // (a leading "none" ends an assignment made before histories were kept).
    const after = j === 0 && history[0].role !== 'none' ? '0-0' : history[j].from;
    out.push({ after, to: i + 1 < history.length ? history[i + 1].from : '+' });
  }
  return out;
}

/** The trail periods of each device a subject has worn (its current tag included). */
export async function subjectPeriods(redis: Redis, keys: Keys, subjectId: string, currentDevice: string): Promise<Map<string, Period[]>> {
  const devices = new Set(await redis.smembers(keys.subjectDevices(subjectId)));
  devices.add(currentDevice);
  const out = new Map<string, Period[]>();
  for (const d of devices) {
    const history = (await redis.lrange(keys.deviceAssignments(d), 0, -1)).map((s) => JSON.parse(s) as Entry);
    const periods = periodsOf(history, subjectId, d === currentDevice);
    if (periods.length > 0) out.set(d, periods);
  }
  return out;
}
