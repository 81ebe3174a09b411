import type { FixInput } from '../engine/fix.js';
import { round6 } from './city.js';
import { Random } from './random.js';
import { CITY_RADIUS_M, VICTIM_ROAM_M, type Person, type Scenario, type VictimDevice } from './scenario.js';
import { SPEED_MPS, StreetWalker, type Mode } from './street-walker.js';

/**
 * The simulated tags: each person's day, minute by minute, as fixes (contract section 1). Every
 * device reports once a simulated minute (at its own second of the minute); between fixes the
 * person moves in 10-second steps along the streets. Subjects go out (walking, cycling or
 * driving), spend time somewhere, and head home in time for curfew; victims potter about near
 * home. Scripted subjects breach at their script's time.
 */

const STEP_MS = 10_000;
const MINUTE_MS = 60_000;

type State = 'home' | 'trip' | 'dwell' | 'script-approach' | 'script-linger';


class Agent {
  seq = 0;
  nextFixMs: number;
  lastMs: number;
  state: State;
  untilMs: number;
  goingHome = false;
  homewardAtMs: number;
  battery: number;
  /** Battery change per minute (negative: draining). */
  batteryPerMin: number;
  alive = true;
  scriptDone = false;
  /** Where the person stands when not moving (home spot, a place they visit). */
  spotX: number;
  spotY: number;
  readonly walker: StreetWalker;

  constructor(
    readonly deviceId: string,
    readonly person: Person | null,
    readonly victim: VictimDevice | null,
    x: number, y: number, gridDeg: number, startMs: number, readonly rng: Random,
  ) {
    this.walker = new StreetWalker(x, y, gridDeg, rng, person?.mode ?? 'walk');
    this.nextFixMs = startMs + rng.int(0, 59) * 1000;
    this.lastMs = startMs;
    this.state = 'home';
    this.untilMs = startMs;
    this.homewardAtMs = Infinity;
    this.battery = rng.between(0.55, 1);
    this.batteryPerMin = -0.0015;
    this.spotX = x;
    this.spotY = y;
  }
}

export class Fleet {
  private readonly agents: Agent[] = [];
  private readonly byDevice = new Map<string, Agent>();
  private readonly curfewDeadlineMs: number;
  /** Devices that went silent on purpose (flat battery): their device_offline is real. */
  readonly silenced = new Set<string>();

  constructor(private readonly sc: Scenario, seed: number) {
    const o = sc.options;
    const grid = sc.city.gridDeg;
    this.curfewDeadlineMs = o.curfewStartMs + o.curfewGraceS * 1000;
    const span = o.simEndMs - o.simStartMs;
    for (const p of sc.persons) {
      const rng = new Random(seed ^ (0x9e3779b9 * (p.index + 1)));
      // Home by curfew: most set off 10-40 minutes before it; the curfew breaker a while after.
      const script = p.script;
      const homewardAtMs = script?.kind === 'curfew'
        ? this.curfewDeadlineMs + rng.between(10, 20) * MINUTE_MS
        : o.curfewStartMs - rng.between(10, 40) * MINUTE_MS;
      // Start at home, or out somewhere no further than the time to curfew allows.
      const atHome = rng.chance(0.45);
      let x = p.homeX, y = p.homeY;
      if (!atHome) {
        const reach = Math.max(300, SPEED_MPS[p.mode] * Math.max(0, homewardAtMs - o.simStartMs) / 1000 * 0.6);
        [x, y] = this.destination(p, rng, Math.min(reach, 4000), p.homeX, p.homeY);
      } else {
        [x, y] = jitter(rng, p.homeX, p.homeY, Math.min(15, p.homeRadiusM / 4));
      }
      const a = new Agent(p.deviceId, p, null, x, y, grid, o.simStartMs, rng);
      a.homewardAtMs = homewardAtMs;
      a.state = atHome ? 'home' : 'dwell';
      a.untilMs = o.simStartMs + rng.between(0, 25) * MINUTE_MS;
      a.walker.avoid = { x: p.victimX, y: p.victimY, radiusM: p.avoidRadiusM };
      if (script?.kind === 'battery') {
        // Flat by the script's time plus a sixth of the run: low-battery alert at the script's time.
        a.batteryPerMin = -Math.max(0.004, (0.2 - 0.03) / Math.max(1, span / 6 / MINUTE_MS));
        a.battery = 0.2 + (-a.batteryPerMin * (script.atMs - o.simStartMs)) / MINUTE_MS;
      }
      this.add(a);
    }
    for (const v of sc.victims) {
      const rng = new Random(seed ^ (0x85ebca6b * (v.watchedBy + 1)));
      const [x, y] = jitter(rng, v.homeX, v.homeY, 10);
      const a = new Agent(v.deviceId, null, v, x, y, grid, o.simStartMs, rng);
      a.untilMs = o.simStartMs + rng.between(0, 40) * MINUTE_MS;
      a.batteryPerMin = 0;
      this.add(a);
    }
  }

  get deviceCount(): number {
    return this.agents.length;
  }

  /** Devices still reporting. */
  get aliveCount(): number {
    let n = 0;
    for (const a of this.agents) if (a.alive) n++;
    return n;
  }

  /** Appends every fix due at or before simNowMs, each device's in time order. */
  advance(simNowMs: number, out: FixInput[]): void {
    for (const a of this.agents) {
      while (a.alive && a.nextFixMs <= simNowMs) {
        this.move(a, a.nextFixMs);
        const fix = this.fix(a, a.nextFixMs);
        if (fix !== null) out.push(fix);
        a.nextFixMs += MINUTE_MS;
      }
    }
  }

  private add(a: Agent): void {
    this.agents.push(a);
    this.byDevice.set(a.deviceId, a);
  }

  private move(a: Agent, toMs: number): void {
    while (a.lastMs < toMs) {
      const dt = Math.min(STEP_MS, toMs - a.lastMs);
      a.lastMs += dt;
      if (a.person !== null) this.subjectStep(a, a.person, a.lastMs);
      else this.victimStep(a, a.victim as VictimDevice, a.lastMs);
      if (a.state === 'trip' || a.state === 'script-approach') {
        if (a.walker.step(dt / 1000)) this.arrived(a, a.lastMs);
      }
    }
  }

  private subjectStep(a: Agent, p: Person, t: number): void {
    const s = p.script;
    if (s !== null && !a.scriptDone && t >= s.atMs && (s.kind === 'exclusion' || s.kind === 'proximity')) {
      if (a.state !== 'script-approach' && a.state !== 'script-linger') {
        // Borrowed a car: straight for the victim's address, or for the victim.
        a.state = 'script-approach';
        a.goingHome = false;
        a.walker.avoiding = false;
        a.walker.setMode('drive');
        const [tx, ty] = this.scriptTarget(p);
        a.walker.goTo(tx, ty);
      } else if (a.state === 'script-approach' && s.kind === 'proximity') {
        const [tx, ty] = this.scriptTarget(p);
        a.walker.goTo(tx, ty);
      } else if (a.state === 'script-linger' && t >= a.untilMs) {
        a.scriptDone = true;
        a.walker.avoiding = true;
        this.startTrip(a, this.destination(p, a.rng, 3000, p.homeX, p.homeY), 'drive');
      }
      return;
    }
    if (s !== null && s.kind === 'curfew' && !a.scriptDone && t >= s.atMs) {
      // Out for the evening, and not back until well after the curfew deadline.
      a.scriptDone = true;
      this.startTrip(a, this.destination(p, a.rng, 2500, p.homeX, p.homeY), p.mode);
      return;
    }
    if (!a.goingHome && t >= a.homewardAtMs && !(a.state === 'home' && a.untilMs === Infinity)) {
      this.goHome(a, p, t);
      return;
    }
    if ((a.state === 'home' || a.state === 'dwell') && t >= a.untilMs) {
      if (t < a.homewardAtMs - 25 * MINUTE_MS) {
        this.startTrip(a, this.destination(p, a.rng, 4000, a.walker.x, a.walker.y), p.mode);
      } else if (a.state === 'dwell') {
        this.goHome(a, p, t);
      } else {
        a.untilMs = Infinity;
      }
    }
  }

  private victimStep(a: Agent, v: VictimDevice, t: number): void {
    if ((a.state === 'home' || a.state === 'dwell') && t >= a.untilMs) {
      if (a.state === 'dwell') {
        a.goingHome = true;
        a.state = 'trip';
        a.walker.goTo(v.homeX, v.homeY);
      } else {
        const [x, y] = jitter(a.rng, v.homeX, v.homeY, VICTIM_ROAM_M);
        a.goingHome = false;
        a.state = 'trip';
        a.walker.goTo(x, y);
      }
    }
  }

  private arrived(a: Agent, t: number): void {
    const p = a.person;
    if (a.state === 'script-approach') {
      a.state = 'script-linger';
      a.untilMs = t + a.rng.between(6, 10) * MINUTE_MS;
      a.spotX = a.walker.x;
      a.spotY = a.walker.y;
      return;
    }
    if (a.goingHome) {
      a.state = 'home';
      const home = p ?? (a.victim as VictimDevice);
      [a.spotX, a.spotY] = jitter(a.rng, home.homeX, home.homeY, p === null ? 10 : Math.min(15, p.homeRadiusM / 4));
      a.walker.x = a.spotX;
      a.walker.y = a.spotY;
      // Home for good once curfew is near; otherwise out again later.
      a.untilMs = p !== null && t >= a.homewardAtMs - 30 * MINUTE_MS ? Infinity : t + a.rng.between(10, 50) * MINUTE_MS;
    } else {
      a.state = 'dwell';
      a.spotX = a.walker.x;
      a.spotY = a.walker.y;
      a.untilMs = t + a.rng.between(8, 35) * MINUTE_MS;
      // The curfew breaker stays where they are until they choose to go home.
      if (p?.script?.kind === 'curfew' && a.scriptDone) a.untilMs = Math.max(a.untilMs, a.homewardAtMs);
    }
    a.goingHome = false;
  }

  private goHome(a: Agent, p: Person, t: number): void {
    a.goingHome = true;
    a.state = 'trip';
    // Fast enough to be in by the curfew deadline: the usual way if it will do, else faster.
    const leftS = Math.max(60, (this.curfewDeadlineMs - 4 * MINUTE_MS - t) / 1000);
    const neededMps = (a.walker.distanceTo(p.homeX, p.homeY) * 1.7) / leftS;
    let mode: Mode = p.mode;
    if (SPEED_MPS[mode] < neededMps) mode = SPEED_MPS.cycle >= neededMps && mode === 'walk' ? 'cycle' : 'drive';
    a.walker.setMode(mode, mode === 'drive' ? Math.min(3, Math.max(1, neededMps / SPEED_MPS.drive)) : 1);
    a.walker.goTo(p.homeX, p.homeY);
  }

  private startTrip(a: Agent, to: [number, number], mode: Mode): void {
    a.goingHome = false;
    a.state = 'trip';
    a.walker.setMode(mode);
    a.walker.goTo(to[0], to[1]);
  }

  private scriptTarget(p: Person): [number, number] {
    if (p.script?.kind === 'proximity' && p.proximity !== null) {
      const v = this.byDevice.get(p.proximity.victimDeviceId) as Agent;
      return [v.walker.x, v.walker.y];
    }
    return [p.victimX, p.victimY];
  }

  /**
   * A place to go: near a district of the city, well clear of the area to avoid; within reachM
   * of (fromX, fromY) if any candidate is, else the nearest candidate.
   */
  private destination(p: Person, rng: Random, reachM: number, fromX: number, fromY: number): [number, number] {
    const districts = this.sc.city.districts;
    const f = this.sc.frame;
    let best: [number, number] | null = null;
    let bestD = Infinity;
    for (let k = 0; k < 40; k++) {
      const d = rng.pick(districts);
      let x = f.x(d.lon) + rng.gaussian() * 400, y = f.y(d.lat) + rng.gaussian() * 400;
      // Short trips stay in the neighbourhood: a point part way there.
      const dist = Math.hypot(x - fromX, y - fromY);
      if (dist > reachM && k >= 20) {
        x = fromX + ((x - fromX) / dist) * reachM * rng.between(0.5, 1);
        y = fromY + ((y - fromY) / dist) * reachM * rng.between(0.5, 1);
      }
      if (Math.hypot(x - p.victimX, y - p.victimY) < p.avoidRadiusM + 300) continue;
      if (Math.hypot(x, y) > CITY_RADIUS_M) continue;
      const from = Math.hypot(x - fromX, y - fromY);
      if (from <= reachM) return [x, y];
      if (from < bestD) {
        bestD = from;
        best = [x, y];
      }
    }
    return best ?? [p.homeX, p.homeY];
  }

  private fix(a: Agent, t: number): FixInput | null {
    const p = a.person;
    a.battery = Math.min(1, a.battery + (a.state === 'home' && a.batteryPerMin > -0.003 ? 0.004 : a.batteryPerMin));
    if (p?.script?.kind === 'battery' && a.battery <= 0.03) {
      a.alive = false;
      this.silenced.add(a.deviceId);
      return null;
    }
    a.seq++;
    const moving = a.state === 'trip' || a.state === 'script-approach';
    let x = moving ? a.walker.x : a.spotX, y = moving ? a.walker.y : a.spotY;
    if (!moving) {
      a.walker.x = x;
      a.walker.y = y;
    }
    // GPS: a few metres out, more indoors; the error stays inside the reported accuracy.
    const accuracy = Math.round(moving ? a.rng.between(4, 12) : a.rng.between(6, 14));
    x += clamp(a.rng.gaussian() * accuracy * 0.35, accuracy * 0.9);
    y += clamp(a.rng.gaussian() * accuracy * 0.35, accuracy * 0.9);
    const s = p?.script ?? null;
    const fix: FixInput = { deviceId: a.deviceId, seq: a.seq, ts: new Date(t).toISOString().slice(0, 19) + 'Z', battery: Math.round(a.battery * 100) / 100 };
    const shielded = s?.kind === 'no_fix' && t >= s.atMs && t < s.atMs + 20 * MINUTE_MS;
    if (!shielded) {
      fix.lat = round6(this.sc.frame.lat(y));
      fix.lon = round6(this.sc.frame.lon(x));
      fix.accuracy = accuracy;
    }
    if (p !== null) fix.strap = s?.kind === 'tamper' && t >= s.atMs && t < s.atMs + 8 * MINUTE_MS ? 'open' : 'ok';
    return fix;
  }
}

function jitter(rng: Random, x: number, y: number, r: number): [number, number] {
  const d = Math.sqrt(rng.next()) * r, ang = rng.between(0, 2 * Math.PI);
  return [x + Math.cos(ang) * d, y + Math.sin(ang) * d];
}

function clamp(v: number, lim: number): number {
  return v > lim ? lim : v < -lim ? -lim : v;
}
