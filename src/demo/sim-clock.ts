/**
 * The demo's simulated clock. It runs `speed` times faster than real time but must never run
 * ahead of it: the service refuses fixes stamped more than INGEST_MAX_FUTURE_S (30 s) after its
 * own clock. So the simulation starts in the past, at
 *
 *     start = now − span × (speed − 1) / speed     (span = --minutes of simulated time)
 *
 * and catches up with real time exactly as it ends: at real time now + span/speed the simulated
 * clock reads start + span = that same instant. A further 2 s of margin covers clock jitter.
 * If the service falls behind (acks slow), the clock is held, so it only drops further back.
 */
export class SimClock {
  readonly startMs: number;
  readonly endMs: number;
  private simMs: number;
  private lastRealMs: number;
  held = false;

  constructor(readonly speed: number, readonly spanMs: number, realNowMs = Date.now()) {
    this.startMs = Math.floor((realNowMs - (spanMs * (speed - 1)) / speed - 2000) / 1000) * 1000;
    this.endMs = this.startMs + spanMs;
    this.simMs = this.startMs;
    this.lastRealMs = realNowMs;
  }

  /** Simulated epoch ms now. */
  get now(): number {
    return this.simMs;
  }

  get done(): boolean {
    return this.simMs >= this.endMs;
  }

  /** How far the simulated clock trails real time, ms. */
  lagMs(realNowMs = Date.now()): number {
    return realNowMs - this.simMs;
  }

  /** Moves the clock on by the real time since the last tick × speed (unless held). */
  tick(realNowMs = Date.now()): number {
    const dReal = Math.min(1000, realNowMs - this.lastRealMs);
    this.lastRealMs = realNowMs;
    if (!this.held && dReal > 0) {
      this.simMs = Math.min(this.endMs, this.simMs + dReal * this.speed, realNowMs - 1000);
    }
    return this.simMs;
  }
}

const LONDON_TIME = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const LONDON_DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', weekday: 'short', day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/** "19:02:11" in Europe/London. */
export function londonTime(ms: number): string {
  return LONDON_TIME.format(new Date(ms));
}

/** "Mon 23 Nov, 19:02" in Europe/London. */
export function londonDateTime(ms: number): string {
  return LONDON_DATE_TIME.format(new Date(ms));
}

/** "HH:MM" local (Europe/London) of an instant on a whole minute. */
export function londonHHMM(ms: number): string {
  return londonTime(ms).slice(0, 5);
}

/** "HH:MM" plus whole hours, wrapping past midnight. */
export function addHours(hhmm: string, hours: number): string {
  const h = (Number(hhmm.slice(0, 2)) + hours) % 24;
  return `${String(h).padStart(2, '0')}${hhmm.slice(2)}`;
}

/** 125000 → "2m05s". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
