/**
 * The sequence numbers seen from one device, as sorted disjoint ranges [lo, hi]. Tags number
 * their messages consecutively, so a device's history is usually one range however long it is;
 * gaps (lost or not-yet-uploaded messages) add a range each until they fill.
 *
 * The newest range is held in two doubles (topLo, topHi) and the older ones in arrays, so the
 * common case, the next message in order, touches no array element. The two doubles live in a
 * Float64Array the owner may share: the engine keeps them in the device's row (state.ts), where
 * ingest reads and writes them without touching this object at all (`npm run bench:engine`).
 */
export class SeqSet {
  /** Older ranges, ascending, all below topLo. */
  private lo: number[] = [];
  private hi: number[] = [];
  /** The highest range at top[at] (lo) and top[at + 1] (hi); lo > hi when the set is empty. */
  private top: Float64Array;
  private at: number;

  /** Storage for the highest range: its own by default, or two doubles of the owner's (set to 1, 0 there). */
  constructor(top: Float64Array = new Float64Array(2), at = 0) {
    this.top = top;
    this.at = at;
    top[at] = 1;
    top[at + 1] = 0;
  }

  /** The highest range moved to another array (the owner's grew); the doubles were copied there. */
  rebind(top: Float64Array, at: number): void {
    this.top = top;
    this.at = at;
  }

  private get topLo(): number {
    return this.top[this.at];
  }

  private set topLo(v: number) {
    this.top[this.at] = v;
  }

  private get topHi(): number {
    return this.top[this.at + 1];
  }

  private set topHi(v: number) {
    this.top[this.at + 1] = v;
  }

  /** At most this many ranges are kept; the oldest are forgotten first (see README: duplicates). */
  static maxRanges = 4096;

  /** Adds seq; returns false if it was already there (a duplicate). */
  add(seq: number): boolean {
    // Fast path: the next message in order.
    if (seq === this.topHi + 1 && this.topLo <= this.topHi) {
      this.topHi = seq;
      return true;
    }
    if (seq > this.topHi + 1 || this.topLo > this.topHi) {
      // A new highest range (or the first).
      if (this.topLo <= this.topHi) {
        this.lo.push(this.topLo);
        this.hi.push(this.topHi);
        if (this.lo.length + 1 > SeqSet.maxRanges) {
          this.lo.shift();
          this.hi.shift();
        }
      }
      this.topLo = seq;
      this.topHi = seq;
      return true;
    }
    // Anywhere else: the general case on the full list, then the highest range back in the fields.
    this.lo.push(this.topLo);
    this.hi.push(this.topHi);
    const added = this.addToList(seq);
    this.topLo = this.lo.pop() as number;
    this.topHi = this.hi.pop() as number;
    return added;
  }

  private addToList(seq: number): boolean {
    const lo = this.lo, hi = this.hi;
    const n = lo.length;
    // Find the last range with lo <= seq.
    let a = 0, b = n - 1, k = -1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (lo[m] <= seq) {
        k = m;
        a = m + 1;
      } else b = m - 1;
    }
    if (k >= 0 && seq <= hi[k]) return false;
    const joinLeft = k >= 0 && hi[k] + 1 === seq;
    const joinRight = k + 1 < n && lo[k + 1] - 1 === seq;
    if (joinLeft && joinRight) {
      hi[k] = hi[k + 1];
      lo.splice(k + 1, 1);
      hi.splice(k + 1, 1);
    } else if (joinLeft) {
      hi[k] = seq;
    } else if (joinRight) {
      lo[k + 1] = seq;
    } else {
      lo.splice(k + 1, 0, seq);
      hi.splice(k + 1, 0, seq);
      if (lo.length > SeqSet.maxRanges) {
        lo.shift();
        hi.shift();
      }
    }
    return true;
  }

  has(seq: number): boolean {
    if (this.topLo <= this.topHi && seq >= this.topLo) return seq <= this.topHi;
    const lo = this.lo, hi = this.hi;
    let a = 0, b = lo.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (seq < lo[m]) b = m - 1;
      else if (seq > hi[m]) a = m + 1;
      else return true;
    }
    return false;
  }

  /** The ranges, for persistence. */
  toJSON(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.lo.length; i++) out.push(this.lo[i], this.hi[i]);
    if (this.topLo <= this.topHi) out.push(this.topLo, this.topHi);
    return out;
  }

  /** Replaces the contents with ranges from toJSON(). */
  load(flat: number[]): void {
    this.lo = [];
    this.hi = [];
    this.topLo = 1;
    this.topHi = 0;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      this.lo.push(flat[i]);
      this.hi.push(flat[i + 1]);
    }
    if (this.lo.length > 0) {
      this.topLo = this.lo.pop() as number;
      this.topHi = this.hi.pop() as number;
    }
  }
}
