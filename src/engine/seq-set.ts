/**
 * The sequence numbers seen from one device, as sorted disjoint ranges [lo, hi]. Tags number
 * their messages consecutively, so a device's history is usually one range however long it is;
 * gaps (lost or not-yet-uploaded messages) add a range each until they fill.
 */
export class SeqSet {
  private lo: number[] = [];
  private hi: number[] = [];

  /** At most this many ranges are kept; the oldest are forgotten first (see README: duplicates). */
  static maxRanges = 4096;

  /** Adds seq; returns false if it was already there (a duplicate). */
  add(seq: number): boolean {
    const lo = this.lo, hi = this.hi;
    const n = lo.length;
    // Fast path: the next message in order.
    if (n > 0 && seq === hi[n - 1] + 1) {
      hi[n - 1] = seq;
      return true;
    }
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
    return out;
  }

  /** Replaces the contents with ranges from toJSON(). */
  load(flat: number[]): void {
    this.lo = [];
    this.hi = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      this.lo.push(flat[i]);
      this.hi.push(flat[i + 1]);
    }
  }
}
