import Flatbush from 'flatbush';

/**
 * The static part of the zone index: a uniform grid over the many small boxes, plus a packed
 * R-tree (flatbush) over the few large ones.
 *
 * Why a grid: at national scale nearly every zone is small (an address, a school, a street
 * block) and a point query has about one candidate. A grid finds that candidate with one
 * division and one array read, where a tree walk reads several levels of nodes, each a likely
 * cache miss (bench/geo measures both; see docs/geo.md). Zones much larger than a cell (town
 * centres, boroughs) would fill many cells, so they go to the tree, which is tiny.
 *
 * Items are numbered 0..n-1 by the caller; boxes are [minX, minY, maxX, maxY] in degrees.
 */
export class StaticGrid {
  readonly size: number;
  private readonly minX: number;
  private readonly minY: number;
  private readonly nx: number;
  private readonly ny: number;
  private readonly cellsPerX: number;
  private readonly cellsPerY: number;
  /** CSR: items of cell c are cellItems[cellStart[c] .. cellStart[c + 1]). */
  private readonly cellStart: Int32Array;
  private readonly cellItems: Int32Array;
  private readonly boxes: Float64Array;
  private readonly large: Flatbush | null;
  private readonly largeItems: Int32Array;
  /** Query stamps, so an item spanning several cells is reported once per range query. */
  private readonly stamp: Uint32Array;
  private query = 0;
  /** The visitor of the query in progress, for the one filter function flatbush calls. */
  private largeVisit: (item: number) => void = () => undefined;
  private readonly largeFilter = (k: number): boolean => {
    this.largeVisit(this.largeItems[k]);
    return false;
  };

  /** A box wider or taller than this many cells goes to the tree. */
  static largeCells = 4;
  /** Upper bound on cells, whatever the spread of the data (memory: 4 bytes per cell). */
  static maxCells = 1 << 22;

  constructor(boxes: Float64Array, nodeSize = 8) {
    const n = boxes.length / 4;
    this.size = n;
    this.boxes = boxes;
    this.stamp = new Uint32Array(n);
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    const widths = new Float64Array(n), heights = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const b = i * 4;
      if (boxes[b] < minX) minX = boxes[b];
      if (boxes[b + 1] < minY) minY = boxes[b + 1];
      if (boxes[b + 2] > maxX) maxX = boxes[b + 2];
      if (boxes[b + 3] > maxY) maxY = boxes[b + 3];
      widths[i] = boxes[b + 2] - boxes[b];
      heights[i] = boxes[b + 3] - boxes[b + 1];
    }
    // Cell about twice the typical box, so a typical box touches one to four cells.
    let cw = Math.max(2 * median(widths), 1e-6);
    let ch = Math.max(2 * median(heights), 1e-6);
    const spanX = Math.max(maxX - minX, cw), spanY = Math.max(maxY - minY, ch);
    const cells = (spanX / cw) * (spanY / ch);
    if (cells > StaticGrid.maxCells) {
      const k = Math.sqrt(cells / StaticGrid.maxCells);
      cw *= k;
      ch *= k;
    }
    const nx = n === 0 ? 1 : Math.max(1, Math.ceil(spanX / cw));
    const ny = n === 0 ? 1 : Math.max(1, Math.ceil(spanY / ch));
    this.minX = n === 0 ? 0 : minX;
    this.minY = n === 0 ? 0 : minY;
    this.nx = nx;
    this.ny = ny;
    this.cellsPerX = nx / spanX;
    this.cellsPerY = ny / spanY;

    const largeList: number[] = [];
    const counts = new Int32Array(nx * ny + 1);
    const isLarge = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const b = i * 4;
      const x0 = this.cellX(boxes[b]), x1 = this.cellX(boxes[b + 2]);
      const y0 = this.cellY(boxes[b + 1]), y1 = this.cellY(boxes[b + 3]);
      if (x1 - x0 >= StaticGrid.largeCells || y1 - y0 >= StaticGrid.largeCells) {
        isLarge[i] = 1;
        largeList.push(i);
        continue;
      }
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) counts[y * nx + x + 1]++;
    }
    for (let c = 0; c < nx * ny; c++) counts[c + 1] += counts[c];
    const cellItems = new Int32Array(counts[nx * ny]);
    const fill = counts.slice(0, nx * ny);
    for (let i = 0; i < n; i++) {
      if (isLarge[i] === 1) continue;
      const b = i * 4;
      const x0 = this.cellX(boxes[b]), x1 = this.cellX(boxes[b + 2]);
      const y0 = this.cellY(boxes[b + 1]), y1 = this.cellY(boxes[b + 3]);
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) cellItems[fill[y * nx + x]++] = i;
    }
    this.cellStart = counts;
    this.cellItems = cellItems;
    this.largeItems = Int32Array.from(largeList);
    if (largeList.length > 0) {
      const tree = new Flatbush(largeList.length, nodeSize);
      for (const i of largeList) tree.add(boxes[i * 4], boxes[i * 4 + 1], boxes[i * 4 + 2], boxes[i * 4 + 3]);
      tree.finish();
      this.large = tree;
    } else {
      this.large = null;
    }
  }

  private cellX(x: number): number {
    const c = Math.floor((x - this.minX) * this.cellsPerX);
    return c < 0 ? 0 : c >= this.nx ? this.nx - 1 : c;
  }

  private cellY(y: number): number {
    const c = Math.floor((y - this.minY) * this.cellsPerY);
    return c < 0 ? 0 : c >= this.ny ? this.ny - 1 : c;
  }

  /**
   * Calls visit(item) for every item whose box contains the point. Allocation-free on the grid
   * path; the (rare) large items go through flatbush.
   */
  searchPoint(x: number, y: number, visit: (item: number) => void): void {
    const fx = (x - this.minX) * this.cellsPerX, fy = (y - this.minY) * this.cellsPerY;
    if (fx >= 0 && fy >= 0 && fx <= this.nx && fy <= this.ny) {
      let cx = Math.floor(fx), cy = Math.floor(fy);
      if (cx === this.nx) cx--;
      if (cy === this.ny) cy--;
      const c = cy * this.nx + cx;
      const boxes = this.boxes, items = this.cellItems;
      for (let k = this.cellStart[c], end = this.cellStart[c + 1]; k < end; k++) {
        const i = items[k], b = i * 4;
        if (x >= boxes[b] && y >= boxes[b + 1] && x <= boxes[b + 2] && y <= boxes[b + 3]) visit(i);
      }
    }
    if (this.large !== null) this.searchLarge(x, y, x, y, visit);
  }

  /** Calls visit(item) once for every item whose box intersects the range. */
  searchRange(minX: number, minY: number, maxX: number, maxY: number, visit: (item: number) => void): void {
    if (++this.query === 0xffffffff) {
      this.stamp.fill(0);
      this.query = 1;
    }
    const q = this.query;
    const x0 = this.cellX(minX), x1 = this.cellX(maxX), y0 = this.cellY(minY), y1 = this.cellY(maxY);
    const overlaps = maxX >= this.minX && maxY >= this.minY && minX <= this.minX + this.nx / this.cellsPerX && minY <= this.minY + this.ny / this.cellsPerY;
    if (overlaps) {
      const boxes = this.boxes, items = this.cellItems, stamp = this.stamp;
      for (let cy = y0; cy <= y1; cy++) {
        for (let cx = x0; cx <= x1; cx++) {
          const c = cy * this.nx + cx;
          for (let k = this.cellStart[c], end = this.cellStart[c + 1]; k < end; k++) {
            const i = items[k];
            if (stamp[i] === q) continue;
            stamp[i] = q;
            const b = i * 4;
            if (maxX >= boxes[b] && maxY >= boxes[b + 1] && minX <= boxes[b + 2] && minY <= boxes[b + 3]) visit(i);
          }
        }
      }
    }
    if (this.large !== null) this.searchLarge(minX, minY, maxX, maxY, visit);
  }

  private searchLarge(minX: number, minY: number, maxX: number, maxY: number, visit: (item: number) => void): void {
    const large = this.large as Flatbush;
    if (maxX < large.minX || maxY < large.minY || minX > large.maxX || minY > large.maxY) return;
    this.largeVisit = visit;
    large.search(minX, minY, maxX, maxY, this.largeFilter);
  }
}

function median(a: Float64Array): number {
  if (a.length === 0) return 0;
  const s = a.slice().sort();
  return s[s.length >> 1];
}
