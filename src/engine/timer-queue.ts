/**
 * Timers ordered by due time, then by insertion order, so timers due at the same instant fire in
 * a stable order (replay output is byte-identical across runs).
 *
 * Timers due at the same instant share one bucket (a FIFO in insertion order), and a binary
 * min-heap orders the buckets by due time. Schedules put tens of thousands of timers on one
 * instant (every 19:00 curfew's deadline at 19:05): popping such a wave is then O(1) a timer
 * instead of a walk down a heap of every pending timer, each step a cache miss
 * (`npm run bench:engine`, the 19:05 batch in "slowest samples").
 */
export interface Timer {
  due: number;
  order: number;
}

class Bucket<T> {
  items: T[];
  head = 0;
  constructor(readonly due: number, first: T) {
    this.items = [first];
  }
}

export class TimerQueue<T extends Timer> {
  private heap: Bucket<T>[] = [];
  private byDue = new Map<number, Bucket<T>>();
  private counter = 0;
  private count = 0;
  /** Due time of the earliest timer (Infinity when empty): the per-fix check reads only this. */
  nextDue = Infinity;

  get size(): number {
    return this.count;
  }

  push(t: T): void {
    t.order = this.counter++;
    this.count++;
    const same = this.byDue.get(t.due);
    if (same !== undefined) {
      same.items.push(t);
      return;
    }
    const b = new Bucket(t.due, t);
    this.byDue.set(t.due, b);
    const h = this.heap;
    h.push(b);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].due <= b.due) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = b;
    this.nextDue = h[0].due;
  }

  /** Every queued timer, in no particular order (for snapshots). */
  items(): readonly T[] {
    const out: T[] = [];
    for (const b of this.heap) for (let i = b.head; i < b.items.length; i++) out.push(b.items[i]);
    return out;
  }

  peek(): T | undefined {
    const b = this.heap[0];
    return b === undefined ? undefined : b.items[b.head];
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const t = top.items[top.head];
    top.items[top.head++] = undefined as unknown as T; // fired timers are not kept alive by the bucket
    this.count--;
    if (top.head === top.items.length) {
      this.byDue.delete(top.due);
      const last = h.pop() as Bucket<T>;
      if (h.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = l;
          if (l >= h.length) break;
          if (r < h.length && h[r].due < h[l].due) m = r;
          if (h[m].due >= last.due) break;
          h[i] = h[m];
          i = m;
        }
        h[i] = last;
      }
      this.nextDue = h.length === 0 ? Infinity : h[0].due;
    }
    return t;
  }
}
