import { boxExtent } from './box-extent.js';

/**
 * The static part of the zone index: a hierarchy of uniform grids.
 *
 * Level 0 has cells about twice the typical box; each level above has cells 8 times wider and
 * taller. A box lives on the finest level where it spans at most SPAN cells each way, so every
 * box is in at most SPAN² cells of one level, and a point query reads one cell per level.
 *
 * Why grids: at national scale nearly every zone is small (an address, a school, a street
 * block) and a point query has about one candidate. A grid finds it with a division and an
 * array read, where a tree walk reads several levels of nodes, each a likely cache miss, and
 * flatbush's search allocates per call (bench/geo measures both; see docs/geo.md). Zones a few
 * cells wide (hand-drawn areas, town centres) sit on a coarser level instead of filling many
 * fine cells.
 *
 * Items are numbered 0..n-1 by the caller; boxes are [minX, minY, maxX, maxY] in degrees.
 */
const SPAN = 4;
const FACTOR = 8;

class Level {
  readonly nx: number;
  readonly ny: number;
  readonly perX: number;
  readonly perY: number;
  /** CSR: items of cell c are items[start[c] .. start[c + 1]). */
  start: Int32Array = new Int32Array(1);
  items: Int32Array = new Int32Array(0);

  constructor(readonly minX: number, readonly minY: number, spanX: number, spanY: number, cellW: number, cellH: number) {
    this.nx = Math.max(1, Math.ceil(spanX / cellW));
    this.ny = Math.max(1, Math.ceil(spanY / cellH));
    this.perX = this.nx / spanX;
    this.perY = this.ny / spanY;
  }

  cellX(x: number): number {
    const c = Math.floor((x - this.minX) * this.perX);
    return c < 0 ? 0 : c >= this.nx ? this.nx - 1 : c;
  }

  cellY(y: number): number {
    const c = Math.floor((y - this.minY) * this.perY);
    return c < 0 ? 0 : c >= this.ny ? this.ny - 1 : c;
  }

  /** True if the box fits this level (at most SPAN cells each way), or the level is the top. */
  fits(b: Float64Array, i: number): boolean {
    return this.cellX(b[i + 2]) - this.cellX(b[i]) < SPAN && this.cellY(b[i + 3]) - this.cellY(b[i + 1]) < SPAN;
  }
}

export class StaticGrid {
  readonly size: number;
  private readonly levels: Level[] = [];
  private readonly boxes: Float64Array;
  private readonly minX: number;
  private readonly minY: number;
  private readonly maxX: number;
  private readonly maxY: number;
  /** Query stamps, so an item spanning several cells is reported once per range query. */
  private readonly stamp: Uint32Array;
  private query = 0;

  /** Upper bound on level-0 cells, whatever the spread of the data (memory: 4 bytes per cell). */
  static maxCells = 1 << 22;

  constructor(boxes: Float64Array) {
    const n = boxes.length / 4;
    this.size = n;
    this.boxes = boxes;
    this.stamp = new Uint32Array(n);
    const { minX, minY, maxX, maxY, medianWidth, medianHeight } = boxExtent(boxes);
    this.minX = minX;
    this.minY = minY;
    this.maxX = maxX;
    this.maxY = maxY;
    // Level 0: cell about twice the typical box, so a typical box touches one to four cells.
    let cw = Math.max(2 * medianWidth, 1e-7);
    let ch = Math.max(2 * medianHeight, 1e-7);
    const spanX = Math.max(maxX - minX, 1e-7), spanY = Math.max(maxY - minY, 1e-7);
    const cells = Math.ceil(spanX / cw) * Math.ceil(spanY / ch);
    if (cells > StaticGrid.maxCells) {
      const k = Math.sqrt(cells / StaticGrid.maxCells);
      cw *= k;
      ch *= k;
    }
    for (;;) {
      const level = new Level(minX, minY, spanX, spanY, cw, ch);
      this.levels.push(level);
      if (level.nx <= SPAN && level.ny <= SPAN) break; // the top level takes whatever is left
      cw *= FACTOR;
      ch *= FACTOR;
    }
    // Assign each box to the finest level it fits, then fill each level's cells (CSR).
    const levelOf = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let l = 0;
      while (l < this.levels.length - 1 && !this.levels[l].fits(boxes, i * 4)) l++;
      levelOf[i] = l;
    }
    this.levels.forEach((level, l) => {
      const cellCount = level.nx * level.ny;
      const counts = new Int32Array(cellCount + 1);
      const each = (fn: (cell: number, item: number) => void): void => {
        for (let i = 0; i < n; i++) {
          if (levelOf[i] !== l) continue;
          const b = i * 4;
          const x0 = level.cellX(boxes[b]), x1 = level.cellX(boxes[b + 2]);
          const y0 = level.cellY(boxes[b + 1]), y1 = level.cellY(boxes[b + 3]);
          for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) fn(y * level.nx + x, i);
        }
      };
      each((cell) => counts[cell + 1]++);
      for (let c = 0; c < cellCount; c++) counts[c + 1] += counts[c];
      const items = new Int32Array(counts[cellCount]);
      const fill = counts.slice(0, cellCount);
      each((cell, item) => {
        items[fill[cell]++] = item;
      });
      level.start = counts;
      level.items = items;
    });
    // Drop empty levels from the query path (keep at least one).
    const used = this.levels.filter((lv) => lv.items.length > 0);
    this.levels.length = 0;
    this.levels.push(...(used.length > 0 ? used : []));
  }

  /** Calls visit(item) for every item whose box contains the point. Allocation-free. */
  searchPoint(x: number, y: number, visit: (item: number) => void): void {
    if (x < this.minX || y < this.minY || x > this.maxX || y > this.maxY) return;
    const boxes = this.boxes;
    for (let l = 0; l < this.levels.length; l++) {
      const level = this.levels[l];
      const c = level.cellY(y) * level.nx + level.cellX(x);
      const items = level.items;
      for (let k = level.start[c], end = level.start[c + 1]; k < end; k++) {
        const i = items[k], b = i * 4;
        if (x >= boxes[b] && y >= boxes[b + 1] && x <= boxes[b + 2] && y <= boxes[b + 3]) visit(i);
      }
    }
  }

  /** Calls visit(item) once for every item whose box intersects the range. Allocation-free. */
  searchRange(minX: number, minY: number, maxX: number, maxY: number, visit: (item: number) => void): void {
    if (maxX < this.minX || maxY < this.minY || minX > this.maxX || minY > this.maxY) return;
    if (++this.query === 0xffffffff) {
      this.stamp.fill(0);
      this.query = 1;
    }
    const q = this.query;
    const boxes = this.boxes, stamp = this.stamp;
    for (let l = 0; l < this.levels.length; l++) {
      const level = this.levels[l];
      const x0 = level.cellX(minX), x1 = level.cellX(maxX), y0 = level.cellY(minY), y1 = level.cellY(maxY);
      const items = level.items;
      for (let cy = y0; cy <= y1; cy++) {
        for (let cx = x0; cx <= x1; cx++) {
          const c = cy * level.nx + cx;
          for (let k = level.start[c], end = level.start[c + 1]; k < end; k++) {
            const i = items[k];
            if (stamp[i] === q) continue;
            stamp[i] = q;
            const b = i * 4;
            if (maxX >= boxes[b] && maxY >= boxes[b + 1] && minX <= boxes[b + 2] && minY <= boxes[b + 3]) visit(i);
          }
        }
      }
    }
  }
}
