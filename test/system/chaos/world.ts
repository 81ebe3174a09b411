/**
 * The monitored population of one scenario: exclusion zones near London, one subject per tag,
 * teams with signed webhooks, and each tag's fixes as a pure function of (tag, seq), so any fix
 * can be regenerated for a resend and the expected alerts computed by the engine itself.
 *
 * Most tags stay 800 m from their zone. Tags of a "misbehaving" group walk a 120-fix cycle:
 * far away, into the 100 m warning band, into the zone, back to the band, away again. Each cycle
 * gives six episode events (exclusion_buffer opened/closed twice, exclusion opened/closed).
 *
 * Expected alerts: a reference Engine (replay's clock) is fed every acknowledged fix in the order
 * it was acknowledged. The load client keeps at most one fix of a tag in flight, so each tag's
 * fixes reach the service in seq order, resends included; with only exclusion conditions and the
 * health timers ten days away, the live service must raise exactly the reference's events.
 */
import { randomBytes } from 'node:crypto';
import { compileConfig } from '../../../src/engine/config.js';
import { Engine } from '../../../src/engine/engine.js';
import { parseFix } from '../../../src/engine/fix.js';
import { mixSeed } from '../../../bench/common/prng.js';

const M_PER_DEG_LAT = (6_371_008.8 * Math.PI) / 180;
const ZONES = 8;
const CYCLE = 120;
// closeAfterS 0: episodes close on the first clearly safe fix, so the 120-second cycle (one fix a
// second) keeps its six events; the debounce is the engine suites' business.
export const ENGINE_SETTINGS = { offlineAfterS: 864_000, noFixAfterS: 864_000, closeAfterS: 0 };

export interface Group {
  name: string;
  count: number;
  /** Walks into its zone every CYCLE fixes. */
  misbehaves: boolean;
}

export interface Team {
  id: string;
  secret: string;
  /** Receiver path of its webhook. */
  path: string;
}

export interface ExpectedEvent {
  key: string;
  team: string;
  type: string;
}

export class World {
  readonly deviceIds: string[] = [];
  readonly subjectIds: string[] = [];
  readonly groupOf: string[] = [];
  readonly misbehaves: boolean[] = [];
  readonly index = new Map<string, number>();
  readonly teams: Team[];
  readonly zones: object[] = [];
  readonly subjects: object[] = [];
  /** Fix times: baseMs + seq * stepMs (12 h in the past, so the service never refuses them as future). */
  readonly baseMs: number;
  readonly stepMs = 1000;
  private readonly reference: Engine;
  readonly expected = new Map<string, ExpectedEvent>();
  /** Fixes fed to the reference engine. */
  referenceFixes = 0;

  constructor(readonly tag: string, groups: Group[], teamCount: number) {
    this.baseMs = Math.floor((Date.now() - 12 * 3600_000) / 1000) * 1000;
    this.teams = Array.from({ length: teamCount }, (_, k) => ({
      id: `iom-chaos-${k}`,
      secret: `chaos-secret-${k}-${randomBytes(16).toString('hex')}`,
      path: `/hook/iom-chaos-${k}`,
    }));
    for (let k = 0; k < ZONES; k++) {
      const lon0 = -0.2 + k * 0.03;
      this.zones.push({
        type: 'Feature', id: `${tag}-Z${k}`,
        geometry: { type: 'Polygon', coordinates: [[[lon0, 51.5], [lon0 + 0.01, 51.5], [lon0 + 0.01, 51.51], [lon0, 51.51], [lon0, 51.5]]] },
        properties: { name: `chaos zone ${k}` },
      });
    }
    for (const g of groups) {
      for (let j = 0; j < g.count; j++) {
        const i = this.deviceIds.length;
        const deviceId = `${tag}-${g.name}-${String(j).padStart(5, '0')}`;
        const subjectId = `S-${deviceId}`;
        this.deviceIds.push(deviceId);
        this.subjectIds.push(subjectId);
        this.groupOf.push(g.name);
        this.misbehaves.push(g.misbehaves);
        this.index.set(deviceId, i);
        this.subjects.push({
          id: subjectId, deviceId, team: this.teams[i % teamCount]!.id, risk: 'high', cohort: 'fixed', timezone: 'Europe/London',
          conditions: [{ id: 'c1', type: 'exclusion', zone: `${tag}-Z${i % ZONES}`, bufferM: 100 }],
        });
      }
    }
    this.reference = new Engine(compileConfig({ settings: ENGINE_SETTINGS, zones: this.zones, subjects: this.subjects }), { clock: 'fixes' });
  }

  devicesOf(group: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.deviceIds.length; i++) if (this.groupOf[i] === group) out.push(i);
    return out;
  }

  teamOfDevice(i: number): Team {
    return this.teams[i % this.teams.length]!;
  }

  /** Fix `seq` (1-based) of tag `i`, as JSON text. */
  fixJson(i: number, seq: number): string {
    const k = i % ZONES;
    const lonMid = -0.2 + k * 0.03 + 0.005;
    let northM = -800; // metres north of the zone's south edge (negative: south of it)
    if (this.misbehaves[i]) {
      const p = (seq + i * 7) % CYCLE;
      if (p >= 80 && p < 90) northM = -50;
      else if (p >= 90 && p < 105) northM = 300;
      else if (p >= 105 && p < 110) northM = -50;
    }
    const h = mixSeed(i, seq);
    const jitterN = ((h & 0xffff) / 0xffff - 0.5) * 6;
    const jitterE = (((h >>> 16) & 0xffff) / 0xffff - 0.5) * 6;
    const lat = 51.5 + (northM + jitterN) / M_PER_DEG_LAT;
    const lon = lonMid + jitterE / (M_PER_DEG_LAT * Math.cos((51.5 * Math.PI) / 180));
    const ts = this.baseMs + seq * this.stepMs;
    return `{"deviceId":"${this.deviceIds[i]}","seq":${seq},"ts":"${new Date(ts).toISOString()}","lat":${lat.toFixed(7)},"lon":${lon.toFixed(7)},"accuracy":5,"strap":"ok"}`;
  }

  /** Feeds an acknowledged fix to the reference engine (call once per fix, in ack order). */
  acknowledged(i: number, seq: number): void {
    this.reference.ingest(parseFix(JSON.parse(this.fixJson(i, seq))));
    this.referenceFixes++;
    for (const e of this.reference.drain()) {
      const key = `${e.episodeId}:${e.event}`;
      this.expected.set(key, { key, team: e.team, type: e.type });
    }
  }
}
