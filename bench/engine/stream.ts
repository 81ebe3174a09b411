/**
 * The fix stream for the engine benchmark: a seeded, realistic mix of tag and victim-device
 * reports, generated ahead of time into typed columns (~36 bytes a fix) so that nothing of the
 * generator is timed. Fix objects are made from the columns a chunk at a time, just before the
 * chunk is ingested, as a parser would hand them over.
 *
 * Model (one simulated clock, Europe/London wall time for behaviour):
 *  - every device reports once a minute at its own second of the minute (0–59, +0/1 s jitter), so
 *    each device's fixes are in ts order and the whole stream is in ts order to within a second;
 *  - out of the house a subject moves between anchors (travel at 4–40 km/h, then 10–40 min of
 *    slow wander). 95 % of anchors are far from all of the subject's own zones, 4 % near an edge
 *    (in an exclusion's buffer band, next to a school, inside a proximity warning distance), 1 %
 *    breaching (inside the victim-address circle, a school, the polygon zone, near the victim);
 *  - everyone goes home in the evening and leaves in the morning. Curfew subjects: 92 % home
 *    before 18:52, 6 % arrive in the grace period, 2 % late (breach), and 0.4 % of night-time
 *    stays at home are an outing (breach); 3 % of home stays wander the garden (drift near the
 *    curfew circle's edge);
 *  - GPS: accuracy log-normal around 8 m outdoors and 14 m at home, position noise of half the
 *    accuracy; heartbeats (no position) for 2 % of fixes outside and 8 % at home, and 0.1 % of
 *    segments are a 16–30 min run of heartbeats only (no_fix);
 *  - device health: battery drains and charges overnight (some fall below 0.2), 0.1 % of
 *    segments start a 31–50 min silence (device_offline), 0.02 % a strap opening of 1–3 fixes;
 *    0.1 % of fixes are sent twice (a retried upload: the same seq, a duplicate).
 */
import { Fix, STRAP_NONE, STRAP_OK, STRAP_OPEN } from '../../src/engine/fix.js';
import { pickCity } from '../common/cities.js';
import { gaussian, intBetween, mixSeed, mulberry32 } from '../common/prng.js';
import {
  CURFEW_END_MIN, CURFEW_GRACE_S, CURFEW_START_MIN, EXCLUSION_BUFFER_M, flatM, nearestSchoolGapM, offset, placeInCity,
  POLYGON_BUFFER_M, type World,
} from './world.js';

export interface StreamOptions {
  seed: number;
  fixes: number;
  /** Local wall time the stream starts at, 'YYYY-MM-DDTHH:MM' in Europe/London. */
  startLocal: string;
}

export interface StreamStats {
  positionFixes: number;
  heartbeats: number;
  duplicates: number;
  strapOpenFixes: number;
  batteryLowFixes: number;
  /** Position fixes of subjects (not victims). */
  subjectPositionFixes: number;
  /**
   * Subject position fixes in breach: measured for circles, curfews and proximity (distance to
   * the centre / home / the victim's true position), by intent for schools and polygons.
   */
  breachingFixes: number;
  /** Subject position fixes near an edge (buffer band, garden, warning distance), not breaching. */
  nearEdgeFixes: number;
  /** Subject fixes generated in each anchor mode. */
  byMode: Record<string, number>;
  /** Device-minutes without any message (offline stretches). */
  silentDeviceMinutes: number;
  minutes: number;
}

export interface FixStream {
  readonly n: number;
  readonly dev: Int32Array;
  readonly seq: Uint32Array;
  readonly ts: Float64Array;
  /** NaN for a heartbeat. */
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  /** Decimetres; 0xffff when absent. */
  readonly acc10: Uint16Array;
  /** Percent; 255 when absent. */
  readonly battery100: Uint8Array;
  readonly strap: Int8Array;
  readonly startMs: number;
  readonly endMs: number;
  readonly tzOffsetMs: number;
  readonly stats: StreamStats;
  readonly generateMs: number;
}

const MIN = 60_000;
const DAY = 86_400_000;
const KMH_TO_M_PER_MS = 1000 / 3_600_000;

// Anchor modes.
const FAR = 0;
const EDGE = 1;
const BREACH = 2;
const HOME = 3;
const NIGHT_OUT = 4;
const GARDEN = 5;
const MODE_NAMES = ['far', 'edge', 'breach', 'home', 'nightOut', 'garden'];

// Targets of an edge or breach anchor.
const T_NONE = 0;
const T_EXCL = 1;
const T_POLY = 2;
const T_SCHOOL = 3;
const T_PROX = 4;

/** UTC offset (ms, east positive) of tz at instant t. */
export function tzOffsetMs(tz: string, t: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(t);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return wall - Math.floor(t / 1000) * 1000;
}

export function generateStream(world: World, options: StreamOptions): FixStream {
  const t0 = performance.now();
  const N = options.fixes;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(options.startLocal);
  if (m === null) throw new RangeError(`startLocal must be YYYY-MM-DDTHH:MM, got ${JSON.stringify(options.startLocal)}`);
  const wallStart = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
  const off = tzOffsetMs('Europe/London', wallStart);
  const startMs = wallStart - off;
  // One offset for the whole stream: checked below not to change within it.

  const S = world.subjects, D = world.devices;
  const rng = mulberry32(mixSeed(options.seed, 11));

  const dev = new Int32Array(N), seqCol = new Uint32Array(N), ts = new Float64Array(N);
  const lat = new Float64Array(N), lon = new Float64Array(N);
  const acc10 = new Uint16Array(N), battery100 = new Uint8Array(N), strap = new Int8Array(N);

  // --- per-device state ----------------------------------------------------------------------
  const phaseS = new Uint8Array(D);
  const mode = new Uint8Array(D), target = new Uint8Array(D), targetIdx = new Int32Array(D);
  const segEnd = new Float64Array(D);
  const fromLon = new Float64Array(D), fromLat = new Float64Array(D);
  const toLon = new Float64Array(D), toLat = new Float64Array(D);
  const departMs = new Float64Array(D), arriveMs = new Float64Array(D);
  const driftX = new Float32Array(D), driftY = new Float32Array(D), extraJitterM = new Float32Array(D);
  const seq = new Uint32Array(D);
  const battery = new Float32Array(D);
  const silentUntil = new Float64Array(D), hbUntil = new Float64Array(D);
  const tamperLeft = new Uint8Array(D);
  const eveMin = new Int16Array(D), mornMin = new Int16Array(D);
  const truLon = new Float64Array(D), truLat = new Float64Array(D);
  const charges = new Uint8Array(D);

  for (let d = 0; d < D; d++) {
    phaseS[d] = intBetween(rng, 0, 59);
    seq[d] = intBetween(rng, 1, 50_000); // tags have been running for a while
    battery[d] = 0.22 + 0.78 * rng();
    charges[d] = rng() < 0.85 ? 1 : 0;
    const isSubject = d < S;
    const curfew = isSubject && world.curfewR[d] === world.curfewR[d];
    if (curfew) {
      const u = rng();
      eveMin[d] = u < 0.92 ? intBetween(rng, 16 * 60, 18 * 60 + 40) : u < 0.98 ? intBetween(rng, 18 * 60 + 41, 18 * 60 + 52) : intBetween(rng, 18 * 60 + 55, 21 * 60);
      mornMin[d] = intBetween(rng, CURFEW_END_MIN, 9 * 60 + 30);
    } else if (isSubject) {
      eveMin[d] = intBetween(rng, 17 * 60, 23 * 60 + 30);
      mornMin[d] = intBetween(rng, 6 * 60, 10 * 60);
    } else {
      eveMin[d] = intBetween(rng, 16 * 60, 22 * 60);
      mornMin[d] = intBetween(rng, 6 * 60 + 30, 9 * 60);
    }
    truLon[d] = world.homeLon[d]!;
    truLat[d] = world.homeLat[d]!;
    mode[d] = 255; // no segment yet: the first fix starts one
  }
  // Emission order within a minute: by phase, then device.
  const order = Array.from({ length: D }, (_, d) => d).sort((a, b) => phaseS[a]! - phaseS[b]! || a - b);

  const p = new Float64Array(2);
  const stats: StreamStats = {
    positionFixes: 0, heartbeats: 0, duplicates: 0, strapOpenFixes: 0, batteryLowFixes: 0, subjectPositionFixes: 0,
    breachingFixes: 0, nearEdgeFixes: 0, byMode: {}, silentDeviceMinutes: 0, minutes: 0,
  };
  const byMode = new Float64Array(MODE_NAMES.length);

  const localMinute = (t: number): number => Math.floor((((t + off) % DAY) + DAY) % DAY / MIN);
  const isHomeTime = (d: number, lm: number): boolean => lm >= eveMin[d]! || lm < mornMin[d]!;
  const curfewBreachTime = (lm: number): boolean => lm >= CURFEW_START_MIN + CURFEW_GRACE_S / 60 || lm < CURFEW_END_MIN;

  /** Travel from the current true position to (lon, lat) at speedKmh, at most maxTravelMin. */
  const travelTo = (d: number, t: number, x: number, y: number, speedKmh: number, maxTravelMin: number): void => {
    fromLon[d] = truLon[d]!;
    fromLat[d] = truLat[d]!;
    toLon[d] = x;
    toLat[d] = y;
    departMs[d] = t;
    const dist = flatM(fromLon[d]!, fromLat[d]!, x, y);
    arriveMs[d] = t + Math.min(maxTravelMin * MIN, dist / (speedKmh * KMH_TO_M_PER_MS));
  };

  /** A far anchor: somewhere in the city (3 %: another city), clear of the subject's own zones. */
  const farAnchor = (d: number): void => {
    for (let attempt = 0; attempt < 8; attempt++) {
      placeInCity(rng, rng() < 0.03 ? pickCity(rng) : world.city[d]!, p);
      if (d >= S || clearOfOwnZones(d, p[0]!, p[1]!)) return;
    }
  };
  const clearOfOwnZones = (i: number, x: number, y: number): boolean => {
    if (world.exclR[i] === world.exclR[i] && flatM(x, y, world.exclLon[i]!, world.exclLat[i]!) < world.exclR[i]! + EXCLUSION_BUFFER_M + 1_500) return false;
    if (world.polyZone[i]! >= 0 && flatM(x, y, world.polyLon[i]!, world.polyLat[i]!) < world.polyOuterM[i]! + POLYGON_BUFFER_M + 1_500) return false;
    const v = world.victimDevice[i]!;
    if (v >= 0 && flatM(x, y, world.homeLon[v]!, world.homeLat[v]!) < world.proxWarnM[i]! + 1_000) return false;
    const l = world.layer[i]!;
    if (l >= 0 && nearestSchoolGapM(world.layers[l]!, x, y) < 150) return false;
    return true;
  };

  /** An edge or breach anchor against one of the subject's zone or proximity conditions. */
  const pickTarget = (i: number): number => {
    let n = 0;
    const has = [false, world.exclR[i] === world.exclR[i], world.polyZone[i]! >= 0, world.layer[i]! >= 0, world.victimDevice[i]! >= 0];
    for (let k = 1; k < has.length; k++) if (has[k]) n++;
    if (n === 0) return T_NONE;
    let pick = Math.floor(rng() * n);
    for (let k = 1; k < has.length; k++) if (has[k] && pick-- === 0) return k;
    return T_NONE;
  };

  const placeAt = (x: number, y: number, rLo: number, rHi: number): void => {
    const r = rLo + (rHi - rLo) * Math.sqrt(rng());
    const a = rng() * 2 * Math.PI;
    offset(x, y, r * Math.cos(a), r * Math.sin(a), p);
  };

  const startOut = (d: number, t: number): void => {
    let md = FAR;
    let tg = T_NONE;
    if (d < S) {
      const u = rng();
      if (u < 0.05) {
        tg = pickTarget(d);
        if (tg !== T_NONE) md = u < 0.01 ? BREACH : EDGE;
      }
    }
    const breach = md === BREACH;
    switch (tg) {
      case T_EXCL: {
        const r = world.exclR[d]!;
        if (breach) placeAt(world.exclLon[d]!, world.exclLat[d]!, 0, 0.7 * r);
        else placeAt(world.exclLon[d]!, world.exclLat[d]!, r + 15, r + EXCLUSION_BUFFER_M - 15);
        break;
      }
      case T_POLY: {
        const R = world.polyR[d]!;
        if (breach) placeAt(world.polyLon[d]!, world.polyLat[d]!, 0.26 * R, 0.34 * R);
        else placeAt(world.polyLon[d]!, world.polyLat[d]!, world.polyOuterM[d]! + 5, world.polyOuterM[d]! + POLYGON_BUFFER_M);
        break;
      }
      case T_SCHOOL: {
        const layer = world.layers[world.layer[d]!]!;
        const k = intBetween(rng, 0, layer.count - 1);
        targetIdx[d] = k;
        if (breach) placeAt(layer.lon[k]!, layer.lat[k]!, 0, 0.7 * layer.innerM[k]!);
        else placeAt(layer.lon[k]!, layer.lat[k]!, layer.outerM[k]! + 10, layer.outerM[k]! + 60);
        break;
      }
      case T_PROX: {
        const v = world.victimDevice[d]!;
        if (breach) placeAt(truLon[v]!, truLat[v]!, 0, 0.5 * world.proxDistM[d]!);
        else placeAt(truLon[v]!, truLat[v]!, world.proxDistM[d]! + 50, world.proxWarnM[d]! - 50);
        break;
      }
      default:
        farAnchor(d);
    }
    mode[d] = md;
    target[d] = tg;
    travelTo(d, t, p[0]!, p[1]!, 4 + 36 * rng(), 25);
    const dwellMin = md === FAR ? 10 + 30 * rng() : 5 + 15 * rng();
    segEnd[d] = arriveMs[d]! + dwellMin * MIN;
    const wander = md === FAR ? 20 * rng() : 0;
    const a = rng() * 2 * Math.PI;
    driftX[d] = wander * Math.cos(a);
    driftY[d] = wander * Math.sin(a);
    extraJitterM[d] = 0;
    healthEvents(d, t);
  };

  const startHome = (d: number, t: number, lm: number): void => {
    const curfew = d < S && world.curfewR[d] === world.curfewR[d];
    let md = HOME;
    const u = rng();
    if (curfew && mode[d] !== NIGHT_OUT && curfewBreachTime(lm) && mode[d] !== 255 && u < 0.004) md = NIGHT_OUT;
    else if (curfew && u < 0.03) md = GARDEN;
    if (md === NIGHT_OUT) {
      placeAt(world.homeLon[d]!, world.homeLat[d]!, 500, 3_000);
      travelTo(d, t, p[0]!, p[1]!, 5 + 20 * rng(), 15);
      segEnd[d] = arriveMs[d]! + (20 + 40 * rng()) * MIN;
    } else {
      placeAt(world.homeLon[d]!, world.homeLat[d]!, 0, 5);
      // Commute home: at most 12 minutes (curfew arrivals are planned with that).
      if (mode[d] === 255) {
        truLon[d] = p[0]!;
        truLat[d] = p[1]!;
      }
      travelTo(d, t, p[0]!, p[1]!, 25, 12);
      segEnd[d] = arriveMs[d]! + (30 + 60 * rng()) * MIN;
    }
    mode[d] = md;
    target[d] = T_NONE;
    driftX[d] = 0;
    driftY[d] = 0;
    extraJitterM[d] = md === GARDEN ? 0.4 * world.curfewR[d]! : 3;
    healthEvents(d, t);
  };

  const healthEvents = (d: number, t: number): void => {
    const u = rng();
    if (u < 0.001) silentUntil[d] = t + intBetween(rng, 31, 50) * MIN;
    else if (u < 0.002) hbUntil[d] = t + intBetween(rng, 16, 30) * MIN;
    else if (u < 0.0022 && d < S) tamperLeft[d] = intBetween(rng, 1, 3);
  };

  // --- the minutes ---------------------------------------------------------------------------
  let n = 0;
  let minute = 0;
  outer: for (;; minute++) {
    const minuteStart = startMs + minute * MIN;
    for (let k = 0; k < D; k++) {
      const d = order[k]!;
      const t = minuteStart + phaseS[d]! * 1000 + (rng() < 0.3 ? 1000 : 0);
      if (t < silentUntil[d]!) {
        stats.silentDeviceMinutes++;
        continue;
      }
      const lm = localMinute(t);
      const homeTime = isHomeTime(d, lm);
      const md = mode[d]!;
      const inHomeMode = md === HOME || md === GARDEN || md === NIGHT_OUT;
      if (md === 255) {
        if (homeTime) startHome(d, t, lm);
        else {
          farAnchor(d);
          truLon[d] = p[0]!;
          truLat[d] = p[1]!;
          startOut(d, t);
        }
      } else if (homeTime && !inHomeMode) startHome(d, t, lm);
      else if (!homeTime && inHomeMode) startOut(d, t);
      else if (t >= segEnd[d]!) {
        if (homeTime) startHome(d, t, lm);
        else startOut(d, t);
      }

      // True position now.
      const cur = mode[d]!;
      let x: number, y: number;
      if (t < arriveMs[d]!) {
        const f = (t - departMs[d]!) / (arriveMs[d]! - departMs[d]!);
        x = fromLon[d]! + f * (toLon[d]! - fromLon[d]!);
        y = fromLat[d]! + f * (toLat[d]! - fromLat[d]!);
      } else {
        const mins = (t - arriveMs[d]!) / MIN;
        offset(toLon[d]!, toLat[d]!, driftX[d]! * mins, driftY[d]! * mins, p);
        x = p[0]!;
        y = p[1]!;
      }
      truLon[d] = x;
      truLat[d] = y;

      // Battery: drains, and charges at home overnight for most.
      const atHome = cur === HOME || cur === GARDEN;
      if (atHome && charges[d] === 1 && (lm >= 21 * 60 || lm < 6 * 60)) battery[d] = Math.min(1, battery[d]! + 0.004);
      else battery[d] = Math.max(0.01, battery[d]! - (atHome ? 0.0003 : 0.0006));

      // What the tag reports.
      const heartbeat = t < hbUntil[d]! || rng() < (atHome ? 0.08 : 0.02);
      const accM = Math.min(atHome ? 150 : 100, Math.max(3, (atHome ? 14 : 8) * Math.exp(0.5 * gaussian(rng))));
      const a10 = Math.round(accM * 10);
      dev[n] = d;
      seqCol[n] = seq[d]!++;
      ts[n] = t;
      if (heartbeat) {
        lat[n] = NaN;
        lon[n] = NaN;
        acc10[n] = 0xffff;
        stats.heartbeats++;
      } else {
        const sigma = (a10 / 10) * 0.5 + extraJitterM[d]!;
        offset(x, y, gaussian(rng) * sigma, gaussian(rng) * sigma, p);
        lon[n] = Math.round(p[0]! * 1e6) / 1e6;
        lat[n] = Math.round(p[1]! * 1e6) / 1e6;
        acc10[n] = a10;
        stats.positionFixes++;
        if (d < S) {
          stats.subjectPositionFixes++;
          byMode[cur]!++;
          const g = groundTruth(world, d, lon[n]!, lat[n]!, curfewBreachTime(lm), cur, target[d]!, t >= arriveMs[d]!, truLon, truLat);
          if (g === 2) stats.breachingFixes++;
          else if (g === 1) stats.nearEdgeFixes++;
        }
      }
      const b = Math.round(battery[d]! * 100);
      battery100[n] = b;
      if (b < 20) stats.batteryLowFixes++;
      if (d >= S) strap[n] = STRAP_NONE;
      else if (tamperLeft[d]! > 0) {
        tamperLeft[d]!--;
        strap[n] = STRAP_OPEN;
        stats.strapOpenFixes++;
      } else strap[n] = STRAP_OK;
      if (++n === N) break outer;
      // A retried upload: the same message again.
      if (rng() < 0.001) {
        dev[n] = dev[n - 1]!;
        seqCol[n] = seqCol[n - 1]!;
        ts[n] = ts[n - 1]!;
        lat[n] = lat[n - 1]!;
        lon[n] = lon[n - 1]!;
        acc10[n] = acc10[n - 1]!;
        battery100[n] = battery100[n - 1]!;
        strap[n] = strap[n - 1]!;
        stats.duplicates++;
        if (++n === N) break outer;
      }
    }
  }
  stats.minutes = minute + 1;
  MODE_NAMES.forEach((name, k) => (stats.byMode[name] = byMode[k]!));
  const endMs = ts[N - 1]!;
  if (tzOffsetMs('Europe/London', endMs) !== off) {
    throw new RangeError('the stream crosses a daylight-saving change; the generator keeps one UTC offset: start elsewhere or generate fewer fixes');
  }
  return {
    n: N, dev, seq: seqCol, ts, lat, lon, acc10, battery100, strap, startMs, endMs, tzOffsetMs: off, stats,
    generateMs: performance.now() - t0,
  };
}

/** 2 breaching, 1 near an edge, 0 neither (see StreamStats.breachingFixes). */
function groundTruth(
  world: World, i: number, x: number, y: number, curfewActive: boolean, md: number, tg: number, arrived: boolean,
  truLon: Float64Array, truLat: Float64Array,
): number {
  let g = 0;
  if (world.exclR[i] === world.exclR[i]) {
    const dist = flatM(x, y, world.exclLon[i]!, world.exclLat[i]!);
    if (dist <= world.exclR[i]!) return 2;
    if (dist <= world.exclR[i]! + EXCLUSION_BUFFER_M) g = 1;
  }
  if (curfewActive && world.curfewR[i] === world.curfewR[i]) {
    const dist = flatM(x, y, world.homeLon[i]!, world.homeLat[i]!);
    if (dist > world.curfewR[i]!) return 2;
    if (dist > world.curfewR[i]! - 20) g = 1;
  }
  const v = world.victimDevice[i]!;
  if (v >= 0) {
    const dist = flatM(x, y, truLon[v]!, truLat[v]!);
    if (dist <= world.proxDistM[i]!) return 2;
    if (dist <= world.proxWarnM[i]!) g = 1;
  }
  if (arrived && (tg === T_SCHOOL || tg === T_POLY)) {
    if (md === BREACH) return 2;
    if (md === EDGE) g = 1;
  }
  return g;
}

/** Fix objects for stream[from, to) into out[0 .. to - from), as a parser would make them. */
export function materialise(s: FixStream, deviceIds: readonly string[], from: number, to: number, out: Fix[]): void {
  const { dev, seq, ts, lat, lon, acc10, battery100, strap } = s;
  for (let i = from; i < to; i++) {
    const a = acc10[i]!, b = battery100[i]!;
    out[i - from] = new Fix(deviceIds[dev[i]!]!, seq[i]!, ts[i]!, lat[i]!, lon[i]!, a === 0xffff ? NaN : a / 10, b === 255 ? NaN : b / 100, strap[i]!);
  }
}

const STRAP_NAMES = ['ok', 'open', 'tampered'];

/** Fix i as one NDJSON line of contract section 1 (no newline). */
export function fixLine(s: FixStream, deviceIds: readonly string[], i: number): string {
  const iso = new Date(s.ts[i]!).toISOString();
  const tsText = iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
  let line = `{"deviceId":"${deviceIds[s.dev[i]!]!}","seq":${s.seq[i]!},"ts":"${tsText}"`;
  const la = s.lat[i]!;
  if (la === la) line += `,"lat":${la},"lon":${s.lon[i]!},"accuracy":${s.acc10[i]! / 10}`;
  const b = s.battery100[i]!;
  if (b !== 255) line += `,"battery":${b / 100}`;
  const st = s.strap[i]!;
  if (st !== STRAP_NONE) line += `,"strap":"${STRAP_NAMES[st]!}"`;
  return `${line}}`;
}
