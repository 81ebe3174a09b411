/**
 * The baseline: the rules check a careful developer would write with turf and Intl, without a
 * prepared-geometry engine. Everything that depends only on the configuration is done once, at
 * build time: circles become 64-step turf.circle polygons, a circle's buffer band a second one
 * (radius + bufferM), every polygon gets its bbox (so turf's booleanPointInPolygon rejects far
 * points on the box), and one Intl.DateTimeFormat is made. (turf.buffer was tried for the polygon
 * zones' bands: over a minute for 1,200 polygons, town centres of 20,000 vertices the worst; a
 * careful developer would measure the distance instead, and only near the zone.) Per fix:
 *  - de-duplicate by the device's last seq; battery and strap flags;
 *  - exclusion: booleanPointInPolygon on the zone, then on its buffer circle; for a polygon zone,
 *    turf.pointToPolygonDistance when the point is within its bbox grown by bufferM;
 *  - layer exclusion: booleanPointInPolygon on every zone of the layer (~300 schools);
 *  - curfew: formatToParts(ts) for the local hour and minute, and if the window (plus grace) is on,
 *    booleanPointInPolygon on the home circle;
 *  - proximity: turf.distance to the victim device's latest position;
 *  - a state per condition, and an event object when it changes (no hysteresis, no episode ids,
 *    no timers, no late-fix rules: it does less than the engine, never more).
 */
import { bbox, booleanPointInPolygon, circle, distance, pointToPolygonDistance } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { STRAP_NONE, STRAP_OK, type Fix } from '../../src/engine/fix.js';
import {
  CURFEW_END_MIN, CURFEW_GRACE_S, CURFEW_START_MIN, EXCLUSION_BUFFER_M, M_PER_DEG, POLYGON_BUFFER_M, SETTINGS, type World,
} from './world.js';

type Area = Feature<Polygon | MultiPolygon>;

const K_EXCL = 0;
const K_LAYER = 1;
const K_CURFEW = 2;
const K_PROX = 3;

class BaselineCondition {
  constructor(
    readonly kind: number,
    readonly id: string,
    readonly zone: Area | null,
    readonly band: Area | null,
    /** Polygon zones: bbox grown by bandM (minLon, minLat, maxLon, maxLat), and the band in metres. */
    readonly bandBox: Float64Array | null,
    readonly bandM: number,
    readonly layer: Area[] | null,
    readonly victim: number,
    readonly distanceM: number,
    readonly warnM: number,
  ) {}
}

export interface BaselineEvent {
  subjectId: string;
  conditionId: string;
  type: string;
  state: number;
  at: string;
}

function withBbox(f: Area): Area {
  f.bbox = bbox(f);
  return f;
}

function turfCircle(lon: number, lat: number, radiusM: number): Area {
  return withBbox(circle([lon, lat], radiusM, { units: 'meters', steps: 64 }));
}

export class BaselineEngine {
  private readonly deviceIndex = new Map<string, number>();
  private readonly lastSeq: Float64Array;
  private readonly victimLon: Float64Array;
  private readonly victimLat: Float64Array;
  private readonly conds: BaselineCondition[][];
  /** Per subject, offset of its first condition in state. */
  private readonly stateAt: Int32Array;
  private readonly state: Int32Array;
  private readonly batteryLow: Uint8Array;
  private readonly tamper: Uint8Array;
  private readonly fmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  private out: BaselineEvent[] = [];
  readonly polygonsBuilt: number;

  /** Builds the turf forms for the given subjects (all when null); other subjects' fixes are skipped. */
  constructor(private readonly world: World, subjects: Uint8Array | null = null) {
    const S = world.subjects;
    world.deviceIds.forEach((id, d) => this.deviceIndex.set(id, d));
    this.lastSeq = new Float64Array(world.devices).fill(-1);
    this.victimLon = new Float64Array(world.devices).fill(NaN);
    this.victimLat = new Float64Array(world.devices).fill(NaN);
    this.batteryLow = new Uint8Array(S);
    this.tamper = new Uint8Array(S);
    this.conds = new Array<BaselineCondition[]>(S);
    this.stateAt = new Int32Array(S + 1);
    let polygons = 0;
    const layerPolys = new Map<number, Area[]>();
    const zones = world.config.zones;
    for (let i = 0; i < S; i++) {
      this.stateAt[i] = i === 0 ? 0 : this.stateAt[i - 1]! + this.conds[i - 1]!.length;
      const list: BaselineCondition[] = [];
      this.conds[i] = list;
      if (subjects !== null && subjects[i] === 0) continue;
      if (world.config.subjects[i]!.status === 'suspended') continue;
      let k = 0;
      if (world.exclR[i] === world.exclR[i]) {
        const r = world.exclR[i]!;
        list.push(new BaselineCondition(K_EXCL, `c${++k}`, turfCircle(world.exclLon[i]!, world.exclLat[i]!, r),
          turfCircle(world.exclLon[i]!, world.exclLat[i]!, r + EXCLUSION_BUFFER_M), null, 0, null, -1, 0, 0));
        polygons += 2;
      }
      if (world.curfewR[i] === world.curfewR[i]) {
        list.push(new BaselineCondition(K_CURFEW, `c${++k}`, turfCircle(world.homeLon[i]!, world.homeLat[i]!, world.curfewR[i]!), null, null, 0, null, -1, 0, 0));
        polygons++;
      }
      if (world.victimDevice[i]! >= 0) {
        list.push(new BaselineCondition(K_PROX, `c${++k}`, null, null, null, 0, null, world.victimDevice[i]!, world.proxDistM[i]!, world.proxWarnM[i]!));
      }
      if (world.layer[i]! >= 0) {
        const l = world.layer[i]!;
        let polys = layerPolys.get(l);
        if (polys === undefined) {
          const layer = world.layers[l]!;
          polys = [];
          for (let z = layer.first; z < layer.first + layer.count; z++) {
            const f = zones[z]!;
            if (f.geometry.type === 'Point') {
              const [x, y] = f.geometry.coordinates;
              polys.push(turfCircle(x!, y!, (f.properties as { radiusM: number }).radiusM));
            } else polys.push(withBbox(structuredClone(f as Area)));
          }
          layerPolys.set(l, polys);
          polygons += polys.length;
        }
        list.push(new BaselineCondition(K_LAYER, `c${++k}`, null, null, null, 0, polys, -1, 0, 0));
      }
      if (world.polyZone[i]! >= 0) {
        const zone = withBbox(structuredClone(zones[world.polyZone[i]!]!) as Area);
        const [x0, y0, x1, y1] = zone.bbox!;
        const dy = POLYGON_BUFFER_M / M_PER_DEG, dx = dy / Math.cos((((y0! + y1!) / 2) * Math.PI) / 180);
        const box = Float64Array.of(x0! - dx, y0! - dy, x1! + dx, y1! + dy);
        list.push(new BaselineCondition(K_EXCL, `c${++k}`, zone, null, box, POLYGON_BUFFER_M, null, -1, 0, 0));
        polygons++;
      }
    }
    this.stateAt[S] = S === 0 ? 0 : this.stateAt[S - 1]! + this.conds[S - 1]!.length;
    this.state = new Int32Array(this.stateAt[S]!);
    this.polygonsBuilt = polygons;
  }

  drain(): BaselineEvent[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  ingest(fix: Fix): void {
    const d = this.deviceIndex.get(fix.deviceId);
    if (d === undefined) return;
    if (fix.seq <= this.lastSeq[d]!) return;
    this.lastSeq[d] = fix.seq;
    const world = this.world;
    if (d >= world.subjects) {
      if (fix.lat === fix.lat) {
        this.victimLon[d] = fix.lon;
        this.victimLat[d] = fix.lat;
      }
      return;
    }
    const conds = this.conds[d]!;
    if (conds.length === 0) return;
    const subjectId = world.subjectIds[d]!;
    if (fix.battery === fix.battery) {
      const low = fix.battery < SETTINGS.batteryLowBelow ? 1 : 0;
      if (low !== this.batteryLow[d]) {
        this.batteryLow[d] = low;
        this.emit(subjectId, '', 'battery_low', low, fix.ts);
      }
    }
    if (fix.strap !== STRAP_NONE) {
      const t = fix.strap !== STRAP_OK ? 1 : 0;
      if (t !== this.tamper[d]) {
        this.tamper[d] = t;
        this.emit(subjectId, '', 'tamper', t, fix.ts);
      }
    }
    if (fix.lat !== fix.lat) return;
    const pt = [fix.lon, fix.lat];
    const base = this.stateAt[d]!;
    for (let k = 0; k < conds.length; k++) {
      const c = conds[k]!;
      let s = 0;
      switch (c.kind) {
        case K_EXCL:
          if (booleanPointInPolygon(pt, c.zone!)) s = 2;
          else if (c.band !== null) s = booleanPointInPolygon(pt, c.band) ? 1 : 0;
          else if (c.bandBox !== null) {
            const b = c.bandBox;
            if (pt[0]! >= b[0]! && pt[1]! >= b[1]! && pt[0]! <= b[2]! && pt[1]! <= b[3]! && pointToPolygonDistance(pt, c.zone!, { units: 'meters' }) <= c.bandM) s = 1;
          }
          break;
        case K_LAYER: {
          const polys = c.layer!;
          for (let z = 0; z < polys.length; z++) if (booleanPointInPolygon(pt, polys[z]!)) s = z + 2;
          break;
        }
        case K_CURFEW: {
          const parts = this.fmt.formatToParts(fix.ts);
          let h = 0, m = 0;
          for (const p of parts) {
            if (p.type === 'hour') h = Number(p.value);
            else if (p.type === 'minute') m = Number(p.value);
          }
          const local = h * 60 + m;
          const on = local >= CURFEW_START_MIN + CURFEW_GRACE_S / 60 || local < CURFEW_END_MIN;
          if (on && !booleanPointInPolygon(pt, c.zone!)) s = 2;
          break;
        }
        case K_PROX: {
          const vx = this.victimLon[c.victim]!;
          if (vx !== vx) break;
          const dist = distance(pt, [vx, this.victimLat[c.victim]!], { units: 'meters' });
          s = dist <= c.distanceM ? 2 : dist <= c.warnM ? 1 : 0;
          break;
        }
      }
      if (s !== this.state[base + k]) {
        this.state[base + k] = s;
        this.emit(subjectId, c.id, c.kind === K_CURFEW ? 'curfew' : c.kind === K_PROX ? 'proximity' : 'exclusion', s, fix.ts);
      }
    }
  }

  private emit(subjectId: string, conditionId: string, type: string, state: number, ts: number): void {
    this.out.push({ subjectId, conditionId, type, state, at: new Date(ts).toISOString() });
  }
}
