import type { Random } from './random.js';

/**
 * Street-like movement: a person follows a leaning street grid, block by block, turning at
 * corners towards where they are going (with some wandering), and steers clear of an area they
 * must avoid unless told to go there. Positions are local metres (x east, y north).
 */

export type Mode = 'walk' | 'cycle' | 'drive';

/** Typical urban speeds, m/s: walking, cycling, driving in city traffic (stops included). */
export const SPEED_MPS: Record<Mode, number> = { walk: 1.4, cycle: 4.5, drive: 8.5 };

export interface AvoidArea {
  x: number;
  y: number;
  radiusM: number;
}

const BLOCK_MIN_M = 70;
const BLOCK_MAX_M = 170;
/** Within this distance of the target a person leaves the grid and walks straight to it. */
const FINAL_APPROACH_M = 60;

export class StreetWalker {
  /** Unit vectors of the four street directions: along the grid, across it, and back. */
  private readonly dirX: Float64Array;
  private readonly dirY: Float64Array;
  heading: number;
  private toCornerM: number;
  targetX = 0;
  targetY = 0;
  hasTarget = false;
  speedMps: number;
  /** Area to keep out of while `avoiding` (a victim's address, with room to spare). */
  avoid: AvoidArea | null = null;
  avoiding = true;

  constructor(public x: number, public y: number, gridDeg: number, private readonly rng: Random, mode: Mode = 'walk') {
    const t = (gridDeg * Math.PI) / 180;
    this.dirX = Float64Array.from([Math.sin(t), Math.cos(t), -Math.sin(t), -Math.cos(t)]);
    this.dirY = Float64Array.from([Math.cos(t), -Math.sin(t), -Math.cos(t), Math.sin(t)]);
    this.heading = rng.int(0, 3);
    this.toCornerM = rng.between(0, BLOCK_MAX_M);
    this.speedMps = SPEED_MPS[mode];
  }

  setMode(mode: Mode, factor = 1): void {
    this.speedMps = SPEED_MPS[mode] * factor;
  }

  goTo(x: number, y: number): void {
    this.targetX = x;
    this.targetY = y;
    this.hasTarget = true;
  }

  distanceTo(x: number, y: number): number {
    return Math.hypot(this.x - x, this.y - y);
  }

  /** Moves for dtS seconds; true when the target has been reached. */
  step(dtS: number): boolean {
    let left = this.speedMps * dtS * this.rng.between(0.7, 1.2);
    while (left > 1e-6) {
      if (this.hasTarget) {
        const d = Math.hypot(this.targetX - this.x, this.targetY - this.y);
        if (d <= FINAL_APPROACH_M) {
          if (d <= left) {
            this.x = this.targetX;
            this.y = this.targetY;
            this.hasTarget = false;
            return true;
          }
          this.x += ((this.targetX - this.x) / d) * left;
          this.y += ((this.targetY - this.y) / d) * left;
          return false;
        }
      }
      const m = Math.min(left, this.toCornerM);
      this.x += this.dirX[this.heading]! * m;
      this.y += this.dirY[this.heading]! * m;
      left -= m;
      this.toCornerM -= m;
      if (this.toCornerM <= 1e-6) this.turn();
    }
    return false;
  }

  /** At a corner: straight on, left or right, whichever leads best towards the target. */
  private turn(): void {
    const h = this.heading;
    const options = [h, (h + 1) & 3, (h + 3) & 3];
    const look = (BLOCK_MIN_M + BLOCK_MAX_M) / 2;
    const a = this.avoiding ? this.avoid : null;
    const hereToAvoid = a === null ? Infinity : Math.hypot(this.x - a.x, this.y - a.y);
    let best = -1;
    let bestScore = Infinity;
    let allowed = 0;
    for (const o of options) {
      const ex = this.x + this.dirX[o]! * look;
      const ey = this.y + this.dirY[o]! * look;
      if (a !== null) {
        const d = Math.hypot(ex - a.x, ey - a.y);
        // Never step further into the area; stepping out of it is always allowed.
        if (d < a.radiusM && d < hereToAvoid) continue;
      }
      allowed |= 1 << o;
      let score = this.hasTarget ? Math.hypot(this.targetX - ex, this.targetY - ey) : 0;
      score += this.rng.next() * (this.hasTarget ? 90 : 400);
      if (score < bestScore) {
        bestScore = score;
        best = o;
      }
    }
    if (best < 0) {
      // Boxed in (only the way back is allowed): turn round.
      this.heading = (h + 2) & 3;
    } else {
      this.heading = best;
      // Now and then a person wanders off their best line (never into the area).
      const o = options[this.rng.int(0, 2)]!;
      if ((allowed & (1 << o)) !== 0 && this.rng.chance(0.08)) this.heading = o;
    }
    this.toCornerM = this.rng.between(BLOCK_MIN_M, BLOCK_MAX_M);
  }
}
