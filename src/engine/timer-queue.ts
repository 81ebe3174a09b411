/**
 * A binary min-heap of timers ordered by due time, then by insertion order, so timers due at
 * the same instant fire in a stable order (replay output is byte-identical across runs).
 */
export interface Timer {
  due: number;
  order: number;
}

export class TimerQueue<T extends Timer> {
  private heap: T[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(t: T): void {
    t.order = this.counter++;
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** Every queued timer, in no particular order (for snapshots). */
  items(): readonly T[] {
    return this.heap;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as T;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}
