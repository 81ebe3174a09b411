import { gaussian, mixSeed, mulberry32, type Rng } from '../common/prng.js';
import type { BenchWorld } from './world.js';

/**
 * Fix messages for one connection's share of the tags (contract section 1), built as JSON text
 * directly: the generator has to keep ahead of a service doing 100k fixes/s on the same
 * machine, so it allocates one string per fix and nothing else.
 *
 * Each tag reports once per simulated minute, taking turns round its connection; its day: out
 * and about within 2.5 km of home, home during curfew hours (19:00-07:00 local unless moved),
 * charging overnight. A few misbehave: out for 50 minutes after curfew starts, or at the
 * victim's address from 18:00 to 18:25. Now
 * and then a tag loses coverage for 10-60 minutes and then uploads its backlog in one burst:
 * oldest first (4 in 5), or newest first, which makes the rest late.
 */

const MINUTE_MS = 60_000;
const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;
/** Chance per fix that a tag loses coverage. */
const GAP_CHANCE = 1 / 1500;

/** Per-device state shared by every stream (each device belongs to exactly one). */
export class FleetState {
  readonly seq: Float64Array;
  readonly minute: Int32Array;
  readonly offsetS: Uint8Array;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly battery: Float32Array;
  readonly silentUntil: Int32Array;
  readonly backlog: (string[] | null)[];
  readonly mPerDegLon: Float64Array;
  /** Fixes generated, and of those: sent in a backlog burst, sent late (after a newer one). */
  generated = 0;
  burst = 0;
  late = 0;
  /** Fixes whose time had to be held back to stay behind the real clock. */
  clamped = 0;

  constructor(readonly world: BenchWorld, readonly simStartMs: number, readonly tzOffsetMin: number, seed: number) {
    const n = world.devices;
    const rng = mulberry32(mixSeed(seed, 77));
    this.seq = new Float64Array(n);
    this.minute = new Int32Array(n);
    this.offsetS = new Uint8Array(n);
    this.x = new Float32Array(n);
    this.y = new Float32Array(n);
    this.battery = new Float32Array(n);
    this.silentUntil = new Int32Array(n).fill(-1);
    this.backlog = new Array<string[] | null>(n).fill(null);
    this.mPerDegLon = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.offsetS[i] = Math.floor(rng() * 60);
      this.battery[i] = 0.4 + rng() * 0.6;
      this.mPerDegLon[i] = M_PER_DEG * Math.cos((world.homeLat[i] as number) * (Math.PI / 180));
      const r = Math.sqrt(rng()) * 1500, a = rng() * 2 * Math.PI;
      this.x[i] = Math.cos(a) * r;
      this.y[i] = Math.sin(a) * r;
    }
  }
}

export class TagStream {
  private cursor = 0;
  /** Backlog fixes waiting to go out, ahead of new ones. */
  private burst: string[] = [];
  private burstAt = 0;
  private readonly rng: Rng;
  private readonly isoCache = new Map<number, string>();

  constructor(
    private readonly fleet: FleetState,
    /** Device indices this stream sends for. */
    private readonly tags: Int32Array,
    private readonly tsFormat: 'iso' | 'epoch',
    seed: number,
  ) {
    this.rng = mulberry32(seed);
  }

  /** The next message: a JSON array of `count` fixes. */
  next(count: number): string {
    let out = '[';
    let k = 0;
    while (k < count) {
      let fix: string | null;
      if (this.burstAt < this.burst.length) {
        fix = this.burst[this.burstAt++] as string;
        if (this.burstAt === this.burst.length) {
          this.burst = [];
          this.burstAt = 0;
        }
      } else {
        const i = this.tags[this.cursor] as number;
        this.cursor = this.cursor + 1 === this.tags.length ? 0 : this.cursor + 1;
        fix = this.fix(i);
      }
      if (fix === null) continue;
      out += k === 0 ? fix : ',' + fix;
      k++;
    }
    return out + ']';
  }

  /** Makes tag i's next fix; null if the tag is out of coverage (the fix waits in its backlog). */
  private fix(i: number): string | null {
    const f = this.fleet;
    const w = f.world;
    const rng = this.rng;
    const minute = f.minute[i]++;
    let ts = f.simStartMs + minute * MINUTE_MS + (f.offsetS[i] as number) * 1000;
    const latest = Date.now() - 1000;
    if (ts > latest) {
      ts = latest;
      f.clamped++;
    }
    f.generated++;
    const local = ((Math.floor(ts / MINUTE_MS) + f.tzOffsetMin) % 1440 + 1440) % 1440;
    const cw = w.curfew;
    const inCurfew = cw.startMin > cw.endMin ? local >= cw.startMin || local < cw.endMin : local >= cw.startMin && local < cw.endMin;
    let x = f.x[i] as number, y = f.y[i] as number;
    let lat: number, lon: number;
    let battery = f.battery[i] as number;
    if (w.isVictim[i] === 1) {
      // A victim's day: close to home.
      x = (x + gaussian(rng) * 30) * 0.98;
      y = (y + gaussian(rng) * 30) * 0.98;
      f.x[i] = x;
      f.y[i] = y;
      lat = (w.homeLat[i] as number) + y / M_PER_DEG;
      lon = (w.homeLon[i] as number) + x / (f.mPerDegLon[i] as number);
    } else if (w.misbehaves[i] === 2 && local >= 1080 && local < 1105) {
      // 18:00-18:25: at the victim's address.
      lat = (w.exclLat[i] as number) + (gaussian(rng) * 20) / M_PER_DEG;
      lon = (w.exclLon[i] as number) + (gaussian(rng) * 20) / (f.mPerDegLon[i] as number);
    } else if (inCurfew && w.hasCurfew[i] === 1 && !(w.misbehaves[i] === 1 && local >= (cw.startMin + 20) % 1440 && local < (cw.startMin + 70) % 1440)) {
      // At home (charging).
      x = gaussian(rng) * 5;
      y = gaussian(rng) * 5;
      f.x[i] = x;
      f.y[i] = y;
      battery = Math.min(1, battery + 0.01);
      lat = (w.homeLat[i] as number) + y / M_PER_DEG;
      lon = (w.homeLon[i] as number) + x / (f.mPerDegLon[i] as number);
    } else {
      // Out and about: a random walk that keeps within reach of home.
      x = (x + gaussian(rng) * 60) * 0.995;
      y = (y + gaussian(rng) * 60) * 0.995;
      const r = Math.hypot(x, y);
      if (r > 2500) {
        x *= 2500 / r;
        y *= 2500 / r;
      }
      f.x[i] = x;
      f.y[i] = y;
      battery = Math.max(0.02, battery - 0.0008);
      lat = (w.homeLat[i] as number) + y / M_PER_DEG;
      lon = (w.homeLon[i] as number) + x / (f.mPerDegLon[i] as number);
    }
    f.battery[i] = battery;
    const seq = ++f.seq[i];
    let s = '{"deviceId":"' + w.deviceIds[i] + '","seq":' + seq + ',"ts":' + this.time(ts);
    // One fix in 200 is a heartbeat (no position: indoors).
    if (rng() >= 0.005) s += ',"lat":' + lat.toFixed(6) + ',"lon":' + lon.toFixed(6) + ',"accuracy":' + (3 + Math.floor(rng() * 12));
    s += ',"battery":' + battery.toFixed(2);
    if (w.isVictim[i] === 0) s += rng() < 0.00005 ? ',"strap":"open"}' : ',"strap":"ok"}';
    else s += '}';

    // Coverage: silent tags keep their fixes; when coverage returns, the backlog goes out first.
    const silentUntil = f.silentUntil[i] as number;
    if (silentUntil >= 0) {
      const log = f.backlog[i] as string[];
      if (minute < silentUntil) {
        log.push(s);
        return null;
      }
      f.silentUntil[i] = -1;
      f.backlog[i] = null;
      f.burst += log.length;
      if (rng() < 0.2) {
        // Newest first: the stored ones arrive after it, late.
        f.late += log.length;
        this.queueBurst(log);
        return s;
      }
      log.push(s);
      this.queueBurst(log.slice(1));
      return log[0] as string;
    }
    if (rng() < GAP_CHANCE) {
      f.silentUntil[i] = minute + 10 + Math.floor(rng() * 50);
      f.backlog[i] = [];
    }
    return s;
  }

  private queueBurst(fixes: string[]): void {
    if (this.burstAt === this.burst.length) {
      this.burst = fixes;
      this.burstAt = 0;
    } else {
      for (const s of fixes) this.burst.push(s);
    }
  }

  /** The fix time as JSON: an RFC 3339 string (cached per minute) or epoch ms. */
  private time(ts: number): string {
    if (this.tsFormat === 'epoch') return String(ts);
    const minuteKey = Math.floor(ts / MINUTE_MS);
    let prefix = this.isoCache.get(minuteKey);
    if (prefix === undefined) {
      if (this.isoCache.size > 4096) this.isoCache.clear();
      prefix = '"' + new Date(minuteKey * MINUTE_MS).toISOString().slice(0, 17);
      this.isoCache.set(minuteKey, prefix);
    }
    const sec = Math.floor(ts / 1000) % 60;
    return prefix + (sec < 10 ? '0' + sec : String(sec)) + 'Z"';
  }
}
