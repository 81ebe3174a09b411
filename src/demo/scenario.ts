import type { AlertType } from '../engine/alert.js';
import { CITIES, LocalFrame, round6, type City } from './city.js';
import { Random } from './random.js';
import type { Mode } from './street-walker.js';

/**
 * The demo's people and their orders: for each subject a home (the curfew address, a circle),
 * usually a victim's address to stay away from (an exclusion zone: a circle or a street block,
 * with a warning band), sometimes a victim who carries a device (a proximity condition); and a
 * handful of subjects scripted to breach. Everything is built as the API's JSON (contract
 * section 2), from a seed.
 */

export type BreachKind = 'exclusion' | 'curfew' | 'proximity' | 'tamper' | 'battery' | 'no_fix';

const BREACH_ORDER: BreachKind[] = ['exclusion', 'curfew', 'proximity', 'tamper', 'battery', 'no_fix'];

/** The alert each scripted breach should raise. */
export const BREACH_ALERT: Record<BreachKind, AlertType> = {
  exclusion: 'exclusion', curfew: 'curfew', proximity: 'proximity', tamper: 'tamper', battery: 'battery_low', no_fix: 'no_fix',
};

export const BREACH_STORY: Record<BreachKind, string> = {
  exclusion: 'walks into the victim-address exclusion zone',
  curfew: 'stays out past curfew',
  proximity: 'goes looking for the victim',
  tamper: 'opens the strap',
  battery: 'lets the tag battery run flat',
  no_fix: 'shields the tag (no GPS fix)',
};

export interface Script {
  kind: BreachKind;
  /** When the breach starts (simulated epoch ms). */
  atMs: number;
}

export type Risk = 'low' | 'medium' | 'high' | 'very_high';

export interface Person {
  index: number;
  subjectId: string;
  deviceId: string;
  team: string;
  risk: Risk;
  mode: Mode;
  homeX: number;
  homeY: number;
  homeRadiusM: number;
  homeDistrict: string;
  /** The victim's address (centre of the exclusion zone). */
  victimX: number;
  victimY: number;
  /** Half-size of the victim-address zone (circle radius or half the block's diagonal). */
  victimZoneRadiusM: number;
  exclusion: boolean;
  bufferM: number;
  curfew: boolean;
  proximity: { victimDeviceId: string; distanceM: number; warnM: number } | null;
  /** Area the person keeps out of unless scripted otherwise. */
  avoidRadiusM: number;
  script: Script | null;
}

export interface VictimDevice {
  deviceId: string;
  homeX: number;
  homeY: number;
  /** Index of the subject whose proximity condition watches this device. */
  watchedBy: number;
}

export interface ScenarioOptions {
  prefix: string;
  city: string;
  tags: number;
  breaches: number;
  seed: number;
  simStartMs: number;
  simEndMs: number;
  /** Curfew window start and its grace. */
  curfewStartMs: number;
  curfewGraceS: number;
  /** Local wall-clock times (Europe/London) of the curfew window, "HH:MM". */
  curfewLocalStart: string;
  curfewLocalEnd: string;
}

export interface Scenario {
  options: ScenarioOptions;
  city: City;
  frame: LocalFrame;
  persons: Person[];
  victims: VictimDevice[];
  zones: object[];
  subjects: object[];
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** How far a person's wandering may take them from the city centre. */
export const CITY_RADIUS_M = 7000;
/** Victim devices wander this far from their home. */
export const VICTIM_ROAM_M = 500;

export function buildScenario(o: ScenarioOptions): Scenario {
  const city = CITIES[o.city];
  if (city === undefined) throw new Error(`unknown city ${JSON.stringify(o.city)}: use ${Object.keys(CITIES).join(' or ')}`);
  const rng = new Random(o.seed);
  const frame = new LocalFrame(city.lat, city.lon);
  const district = (): { x: number; y: number; name: string } => {
    const d = rng.pick(city.districts);
    return { x: frame.x(d.lon) + rng.gaussian() * 450, y: frame.y(d.lat) + rng.gaussian() * 450, name: d.name };
  };

  // Scripted breaches go to people spread through the list (every k-th), kinds in turn.
  const scripted = new Map<number, BreachKind>();
  const nBreach = Math.min(o.breaches, o.tags);
  for (let b = 0; b < nBreach; b++) scripted.set(Math.floor(((b + 0.5) * o.tags) / nBreach), BREACH_ORDER[b % BREACH_ORDER.length] as BreachKind);
  const span = o.simEndMs - o.simStartMs;

  const persons: Person[] = [];
  const victims: VictimDevice[] = [];
  const zones: object[] = [];
  const subjects: object[] = [];
  // An inclusion area some orders carry ("must not leave the city"): wide enough that the
  // simulated fleet never breaches it by wandering; it shows the condition in the demo's config.
  const areaZone = `${o.prefix}-Z-area`;
  zones.push({
    type: 'Feature', id: areaZone,
    geometry: { type: 'Point', coordinates: [round6(frame.lon(0)), round6(frame.lat(0))] },
    properties: { radiusM: CITY_RADIUS_M + 5000, name: `${city.name} (inclusion area)` },
  });
  const pad = String(o.tags).length;
  for (let i = 0; i < o.tags; i++) {
    const n = String(i + 1).padStart(Math.max(3, pad), '0');
    const kind = scripted.get(i) ?? null;
    let home = district();
    for (let k = 0; k < 20 && Math.hypot(home.x, home.y) > CITY_RADIUS_M - 1000; k++) home = district();
    // The victim lives in another part of town: 3-7 km away (2-3 km for those scripted to go
    // there, so the trip fits a short run).
    const near = kind === 'exclusion' || kind === 'proximity';
    let vx = 0, vy = 0;
    for (let k = 0; k < 50; k++) {
      const dist = near ? rng.between(2000, 3000) : rng.between(3000, 7000);
      const ang = rng.between(0, 2 * Math.PI);
      vx = home.x + Math.cos(ang) * dist;
      vy = home.y + Math.sin(ang) * dist;
      if (Math.hypot(vx, vy) < CITY_RADIUS_M) break;
    }
    const polygon = rng.chance(0.4);
    const halfA = rng.between(60, 110), halfB = rng.between(60, 110);
    const circleR = Math.round(rng.between(100, 180));
    const victimZoneRadiusM = polygon ? Math.hypot(halfA, halfB) : circleR;
    const exclusion = kind === 'exclusion' || (kind !== 'proximity' && rng.chance(0.85));
    const curfew = kind === 'curfew' || rng.chance(0.8) || (!exclusion && kind === null);
    const proximity = kind === 'proximity' || (kind === null && rng.chance(0.12));
    const bufferM = 200;
    const distanceM = 250, warnM = 750;
    const avoidRadiusM = Math.max(exclusion ? victimZoneRadiusM + bufferM : 0, proximity ? VICTIM_ROAM_M + warnM : victimZoneRadiusM + bufferM) + 150;
    const riskRoll = rng.next();
    const risk: Risk = riskRoll < 0.2 ? 'low' : riskRoll < 0.65 ? 'medium' : riskRoll < 0.93 ? 'high' : 'very_high';
    const modeRoll = rng.next();
    const mode: Mode = modeRoll < 0.55 ? 'walk' : modeRoll < 0.75 ? 'cycle' : 'drive';
    const subjectId = `${o.prefix}-S${n}`;
    const deviceId = `${o.prefix}-T${n}`;
    const homeZone = `${o.prefix}-Z${n}-home`;
    const victimZone = `${o.prefix}-Z${n}-victim`;
    const homeRadiusM = Math.round(rng.between(60, 90));
    const team = `iom-${o.city}-${home.y >= 0 ? 'north' : 'south'}${home.x >= 0 ? 'east' : 'west'}`;

    zones.push({
      type: 'Feature', id: homeZone,
      geometry: { type: 'Point', coordinates: [round6(frame.lon(home.x)), round6(frame.lat(home.y))] },
      properties: { radiusM: homeRadiusM, name: `Curfew address of ${subjectId}` },
    });
    if (exclusion) {
      zones.push(polygon
        ? { type: 'Feature', id: victimZone, geometry: { type: 'Polygon', coordinates: [block(frame, vx, vy, halfA, halfB, city.gridDeg)] }, properties: { name: `Victim address area (${subjectId})` } }
        : { type: 'Feature', id: victimZone, geometry: { type: 'Point', coordinates: [round6(frame.lon(vx)), round6(frame.lat(vy))] }, properties: { radiusM: circleR, name: `Victim address (${subjectId})` } });
    }
    const conditions: object[] = [];
    if (exclusion) conditions.push({ id: 'c1', type: 'exclusion', zone: victimZone, bufferM });
    if (curfew) {
      conditions.push({
        id: 'c2', type: 'curfew', zone: homeZone, graceS: o.curfewGraceS,
        schedule: { windows: [{ days: DAYS, start: o.curfewLocalStart, end: o.curfewLocalEnd }] },
      });
    }
    // Every fourth order (not drawn from the seeded stream, so the rest of the fleet is unchanged)
    // carries the inclusion area.
    if (i % 4 === 1) conditions.push({ id: 'c5', type: 'inclusion', zone: areaZone });
    let prox: Person['proximity'] = null;
    if (proximity) {
      const victimDeviceId = `${o.prefix}-V${n}`;
      prox = { victimDeviceId, distanceM, warnM };
      conditions.push({ id: 'c3', type: 'proximity', victimDeviceId, distanceM, warnM });
      victims.push({ deviceId: victimDeviceId, homeX: vx, homeY: vy, watchedBy: i });
    }
    subjects.push({
      id: subjectId, deviceId, team, cohort: 'fixed', risk, timezone: 'Europe/London',
      ...(risk === 'very_high' ? { mappaLevel: 3 } : {}), ...(proximity || exclusion ? { domesticAbuse: true } : {}),
      conditions,
    });

    let script: Script | null = null;
    if (kind !== null) {
      // Breaches that need a trip start early enough to arrive within the run.
      // The curfew breaker goes out 20-40 minutes before curfew (or at the start of a short run).
      const atMs = kind === 'curfew'
        ? Math.max(o.simStartMs + 60_000, o.curfewStartMs - rng.between(20, 40) * 60_000)
        : o.simStartMs + span * rng.between(0.1, kind === 'exclusion' || kind === 'proximity' ? 0.35 : 0.45);
      script = { kind, atMs: Math.round(atMs) };
    }
    persons.push({
      index: i, subjectId, deviceId, team, risk, mode, homeX: home.x, homeY: home.y, homeRadiusM, homeDistrict: home.name,
      victimX: vx, victimY: vy, victimZoneRadiusM, exclusion, bufferM, curfew, proximity: prox, avoidRadiusM, script,
    });
  }
  return { options: o, city, frame, persons, victims, zones, subjects };
}

/** A street block around (x, y): a rectangle along the street grid, closed, anticlockwise. */
function block(frame: LocalFrame, x: number, y: number, halfA: number, halfB: number, gridDeg: number): number[][] {
  const t = (gridDeg * Math.PI) / 180;
  const ax = Math.sin(t), ay = Math.cos(t); // along the grid
  const bx = Math.cos(t), by = -Math.sin(t); // across it
  const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([p, q]) => {
    const px = x + (p as number) * halfB * bx + (q as number) * halfA * ax;
    const py = y + (p as number) * halfB * by + (q as number) * halfA * ay;
    return [round6(frame.lon(px)), round6(frame.lat(py))];
  });
  if (ringArea2(corners) < 0) corners.reverse();
  return [...corners, corners[0] as number[]];
}

function ringArea2(ring: number[][]): number {
  let a = 0;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i] as number[], q = ring[(i + 1) % ring.length] as number[];
    a += (p[0] as number) * (q[1] as number) - (q[0] as number) * (p[1] as number);
  }
  return a;
}
