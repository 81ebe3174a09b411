/**
 * The reproducibility check of an alert-episode pack: replay the archived fixes, with the
 * configuration then in force, through the real engine (the same `Engine` the service and
 * `npm run replay` run, clock driven by the fixes) and compare the events it raises for this
 * episode with the events the archive holds. Checked every time a pack is made; never assumed.
 *
 * What replay needs, and how it is chosen here:
 * - A starting point where the engine's state for this subject is empty, so a fresh engine
 *   starts where the live one stood: the latest time at least LEAD_MS before the opening at
 *   which none of the subject's episodes (any type) was open or settling (an episode counts
 *   until SETTLE_MS after its close), searched back at most LOOKBACK_MS.
 * - The configuration as of that point (the subject's archived body, the zones it names and the
 *   zones of the layers it names), then every later change to them applied in time order
 *   between the fixes, as the service applied them.
 * - Every fix of the subject's device(s) and of any victim device its proximity conditions
 *   watch, from that point to SETTLE_MS after the episode's last archived event. Each device's
 *   fixes go in the order the service received them (received_at, then seq), because that
 *   order decides which were late; devices are merged on event time as `npm run replay` does.
 * - The engine settings: the service's ENGINE_SETTINGS now (settings are not archived; the
 *   pack says so).
 */
import type pg from 'pg';
import { compileZone } from '../../../geo/index.js';
import type { AlertEvent } from '../../engine/alert.js';
import { compileConfig, compileSubject, parseStoredSubject, type Settings, type SubjectParsed } from '../../engine/config.js';
import { Engine } from '../../engine/engine.js';
import { Fix, STRAP_NAMES, STRAP_NONE } from '../../engine/fix.js';
import { eventTimeOrder } from '../../cli/replay.js';
import { changesBetween, configAsOf, deviceFixes, subjectEvents, zonesAsOf, type ArchivedFix, type ConfigChange } from './archive-read.js';
import { utc } from './format.js';

export const LEAD_MS = 60 * 60_000;
export const LOOKBACK_MS = 24 * 3600_000;
export const SETTLE_MS = 30 * 60_000;
/** Most fixes one check replays (24 h of one fix every 5 s for two devices). */
export const MAX_REPLAY_FIXES = 40_000;

export interface ReproduceResult {
  ok: boolean;
  /** "Reproduced: yes (3 events identical)" or "NOT reproduced: …". */
  line: string;
  /** How: start point, fixes, configuration versions, settings. */
  details: string[];
}

/** Keys sorted at every level: jsonb reorders keys, the engine writes them in its own order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The first field where two events differ, in words. */
function difference(a: AlertEvent, b: AlertEvent): string {
  const ao = a as unknown as Record<string, unknown>, bo = b as unknown as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])]) {
    if (canonical(ao[k]) !== canonical(bo[k])) return `${k}: archived ${canonical(ao[k]) ?? 'absent'}, replay ${canonical(bo[k]) ?? 'absent'}`;
  }
  return 'no field differs';
}

/** Latest state-free instant at or before `openMs - LEAD_MS` (see the header), and why. */
export function stateFreeStart(events: readonly AlertEvent[], episodeId: string, openMs: number): { startMs: number; clean: boolean } {
  const lower = openMs - LOOKBACK_MS;
  const spans = new Map<string, [number, number]>();
  for (const e of events) {
    if (e.episodeId === episodeId) continue;
    const t = Date.parse(e.at);
    const s = spans.get(e.episodeId) ?? [e.event === 'opened' ? t : lower, openMs];
    if (e.event === 'opened') s[0] = Math.min(s[0], t);
    if (e.event === 'closed') s[1] = t + SETTLE_MS;
    spans.set(e.episodeId, s);
  }
  let t = openMs - LEAD_MS;
  for (let moved = true; moved && t >= lower;) {
    moved = false;
    for (const [from, to] of spans.values()) {
      if (from <= t && t <= to) {
        t = from - 1;
        moved = true;
      }
    }
  }
  return t < lower ? { startMs: lower, clean: false } : { startMs: t, clean: true };
}

function toFix(f: ArchivedFix): Fix {
  const strap = f.strap === null ? STRAP_NONE : STRAP_NAMES.indexOf(f.strap as (typeof STRAP_NAMES)[number]);
  return new Fix(f.deviceId, f.seq, f.ts, f.lat ?? NaN, f.lon ?? NaN, f.accuracyM ?? NaN, f.battery ?? NaN, strap < 0 ? STRAP_NONE : strap);
}

function devicesOf(s: SubjectParsed | null): string[] {
  if (s === null) return [];
  return [s.deviceId, ...s.conditions.flatMap((c) => (c.type === 'proximity' ? [c.victimDeviceId] : []))];
}

function zoneRefs(s: SubjectParsed | null): { ids: string[]; layers: string[] } {
  const ids: string[] = [], layers: string[] = [];
  for (const c of s?.conditions ?? []) {
    if ('zone' in c && c.zone !== undefined) ids.push(c.zone);
    if ('layer' in c && c.layer !== undefined && c.layer !== null) layers.push(c.layer);
  }
  return { ids, layers };
}

/** Replays and compares. `archived` are the episode's archived events in order. */
export async function reproduce(db: Pick<pg.Pool, 'query'>, archived: readonly AlertEvent[], settings: Settings): Promise<ReproduceResult> {
  const details: string[] = [];
  const no = (why: string): ReproduceResult => ({ ok: false, line: `NOT reproduced: ${why}`, details });
  if (archived.length === 0) return no('the archive holds no event of this episode');
  const episodeId = archived[0].episodeId;
  const subjectId = archived[0].subjectId;
  const openMs = Date.parse(archived[0].at);
  const lastMs = Date.parse(archived[archived.length - 1].at);
  const endMs = lastMs + SETTLE_MS;

  const history = await subjectEvents(db, subjectId, openMs - LOOKBACK_MS, openMs);
  const { startMs, clean } = stateFreeStart(history, episodeId, openMs);
  details.push(clean
    ? `Replay starts at ${utc(startMs)}, a point when none of the subject's episodes was open (searched back from an hour before the opening).`
    : `No point without an open episode was found in the 24 hours before the opening; replay starts at ${utc(startMs)} with a fresh engine.`);

  // Configuration at the start, and every change to it until the end.
  const subjectAt = await configAsOf(db, 'subject', subjectId, startMs);
  const startSubject = subjectAt?.body == null ? null : parseStoredSubject(subjectAt.body).subject;
  const probe = await changesBetween(db, subjectId, [], false, startMs, endMs);
  const later = probe.filter((c) => c.kind === 'subject').map((c) => (c.body == null ? null : parseStoredSubject(c.body).subject));
  const everyone = [startSubject, ...later];
  if (everyone.every((s) => s === null)) return no(`the subject's configuration (${subjectId}) is not in the archive for this period`);
  const refs = everyone.map(zoneRefs);
  const zoneIds = [...new Set(refs.flatMap((r) => r.ids))];
  const layers = [...new Set(refs.flatMap((r) => r.layers))];
  const zones = await zonesAsOf(db, zoneIds, layers, startMs);
  const changes = await changesBetween(db, subjectId, zoneIds, layers.length > 0, startMs, endMs);
  const devices = [...new Set(everyone.flatMap(devicesOf))];

  let engine: Engine;
  try {
    engine = new Engine(compileConfig({ settings, zones: zones.map((z) => z.body), subjects: startSubject === null ? [] : [subjectAt?.body] }), { clock: 'fixes' });
  } catch (e) {
    return no(`the configuration in force at ${utc(startMs)} does not compile (${(e as Error).message})`);
  }
  details.push(`Configuration: subject ${subjectId} ${subjectAt === null ? 'not yet configured' : `version ${subjectAt.version} of ${utc(subjectAt.at)}`}, ${zones.length} zone(s) as of then, ${changes.length} later change(s) applied in time order.`);
  details.push(`Engine settings: the service's ENGINE_SETTINGS at the time the pack was made (${canonical(settings)}); settings are not archived.`);

  const archivedFixes = await deviceFixes(db, devices, startMs, endMs, MAX_REPLAY_FIXES + 1);
  if (archivedFixes.length > MAX_REPLAY_FIXES) return no(`more than ${MAX_REPLAY_FIXES} fixes between ${utc(startMs)} and ${utc(endMs)}; the check is bounded`);
  // Each device's fixes in arrival order (what decided lateness), devices merged on event time.
  const arrival = [...archivedFixes].sort((a, b) => a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.receivedAt - b.receivedAt || a.seq - b.seq);
  const fixes = arrival.map(toFix);
  const order = eventTimeOrder(fixes);
  const worn = [...new Set(everyone.flatMap((s) => (s === null ? [] : [s.deviceId])))];
  const watched = devices.length - worn.length;
  details.push(`Fixes replayed: ${fixes.length} from device(s) ${worn.join(', ')}${watched > 0 ? ` and ${watched} protected person's device(s) (used by the engine, never shown)` : ''}, ${utc(startMs)} to ${utc(endMs)}, each device in the order the service received them.`);

  const out: AlertEvent[] = [];
  const applyChange = (c: ConfigChange): void => {
    try {
      if (c.kind === 'zone') {
        const known = engine.getZone(c.itemId) !== undefined;
        if (c.body == null) {
          if (known) engine.deleteZone(c.itemId);
          return;
        }
        const layer = (c.body as { properties?: { layer?: unknown } }).properties?.layer;
        if (known || zoneIds.includes(c.itemId) || (typeof layer === 'string' && layers.includes(layer))) engine.setZone(compileZone(c.body));
      } else if (c.kind === 'subject') {
        if (c.body == null) engine.deleteSubject(c.itemId);
        else engine.setSubject(compileSubject(parseStoredSubject(c.body).subject, engine.zones, engine.settings, 'subject'));
      }
    } catch (e) {
      details.push(`Change version ${c.version} (${c.kind} ${c.itemId} at ${utc(c.at)}) could not be applied: ${(e as Error).message}`);
    }
    for (const ev of engine.drain()) out.push(ev);
  };
  let next = 0;
  for (const i of order) {
    const f = fixes[i];
    while (next < changes.length && changes[next].at <= f.ts) applyChange(changes[next++]);
    engine.ingest(f);
    for (const ev of engine.drain()) out.push(ev);
  }
  while (next < changes.length) applyChange(changes[next++]);
  engine.flush();
  for (const ev of engine.drain()) out.push(ev);

  const replayed = out.filter((e) => e.episodeId === episodeId);
  for (let k = 0; k < archived.length; k++) {
    const a = archived[k], b = replayed[k];
    if (b === undefined) {
      return no(replayed.length === 0
        ? `the replay raised no event for this episode (it raised ${out.length} other event(s)); archived: ${archived.length} event(s)`
        : `the archive holds ${archived.length} event(s), the replay gave ${replayed.length}; archived event ${k + 1} (${a.event} at ${a.at}) is missing`);
    }
    if (canonical(a) !== canonical(b)) return no(`event ${k + 1} (${a.event}) differs: ${difference(a, b)}`);
  }
  const closedArchived = archived.some((e) => e.event === 'closed');
  if (replayed.length > archived.length) {
    const extra = replayed.slice(archived.length);
    if (closedArchived) return no(`the replay gave ${replayed.length} events, the archive holds ${archived.length}; extra: ${extra.map((e) => `${e.event} at ${e.at}`).join(', ')}`);
    return {
      ok: true, details,
      line: `Reproduced: yes (${archived.length} event${archived.length === 1 ? '' : 's'} identical; the replay also gives ${extra.map((e) => `${e.event} at ${e.at}`).join(', ')}, not yet in the archive)`,
    };
  }
  return { ok: true, details, line: `Reproduced: yes (${archived.length} event${archived.length === 1 ? '' : 's'} identical)` };
}
