import { boxExtent } from './box-extent.js';
import { M_PER_DEG } from './earth.js';
import { ringContains } from './polygon.js';
import { StaticGrid } from './static-grid.js';

/**
 * The static part of the zone index: a sparse grid whose cells split where zones are dense, with
 * everything a point query reads laid out flat in typed arrays.
 *
 * - A root grid of about one cell per item covers the data; a cell holding more than LEAF
 *   entries gets a child grid of k×k sub-cells (k from its count), recursively, as long as the
 *   split pays (see trySplit). A zone too large for the sub-cells (more than SPAN of them
 *   each way) stays in the parent cell, so large zones are not copied into many small cells.
 *   A point query walks one cell per depth (two or three in a dense city), never a tree.
 * - Each cell's entries are contiguous in one Float64Array, 8 numbers (64 bytes) each: tag,
 *   box (minX, minY, maxX, maxY), and for circles the flat-frame test (kx, sure-in², sure-out²).
 *   A point query reads the cell's entries in sequence and decides most circles without leaving
 *   them; only polygons whose box holds the point, and circles in the narrow band where the
 *   flat test cannot decide, go to the zone itself.
 * - Zones wider than ROOT_SPAN root cells (boroughs, continents) go to a small level hierarchy
 *   (static-grid.ts) instead, so a huge zone is never copied into thousands of cells.
 *
 * Items are numbered 0..n-1 by the caller; boxes are [minX, minY, maxX, maxY] in degrees. Each
 * item has a tag (a non-negative integer below 2^31) that queries report; tag >>> 2 is its key:
 * items with the same key (one zone's boxes) are reported once per range query.
 */

/** Entries a cell may hold before it is split. */
const LEAF = 8;
/** Sub-cells per side a split may choose from. */
const SPLITS = [2, 4, 8, 16];
/** A split may copy items into several sub-cells up to this many entries per entry of the cell. */
const COPY_MAX = 2;
const MAX_DEPTH = 4;
/** An item goes down into sub-cells only if it spans at most this many of them each way. */
const SPAN = 2;
/** Items spanning more root cells than this (either way) go to the level hierarchy. */
const ROOT_SPAN = 8;
export const STRIDE = 8;

/**
 * Per item: box and tag, and what decides a point in the box without the caller.
 * Circles: kx > 0, with the flat-frame test's sureIn2 / sureOut2 (see CircleZone).
 * Small one-ring polygons: kx = -1, sureIn2 / sureOut2 = start and end of the ring in
 * ringCoords (x, y pairs, closed). Anything else: kx = 0 (the caller decides).
 */
export interface FlatItems {
  boxes: Float64Array;
  tags: Float64Array;
  kx: Float64Array;
  sureIn2: Float64Array;
  sureOut2: Float64Array;
  ringCoords: Float64Array;
}

export interface GridStats {
  entries: number;
  cells: number;
  nonEmptyCells: number;
  maxPerCell: number;
  meanPerNonEmptyCell: number;
  nodes: number;
  maxDepth: number;
  bigItems: number;
}

/** Called for an entry whose box holds the point: sure is 1 when the point is surely inside, 0 when the zone must decide. */
export type PointVisit = (tag: number, sure: number) => void;

export class FlatGrid {
  readonly size: number;
  // Nodes: origin and cells-per-degree (nodeF, 4 per node), nx, ny, first cell (nodeI, 3 per node).
  private nodeF: Float64Array;
  private nodeI: Int32Array;
  /** Per cell: entry start, entry end (in entries), child node or -1. */
  private cells: Int32Array;
  private ent: Float64Array;
  private readonly big: StaticGrid | null;
  private readonly bigItem: Int32Array;
  private readonly items: FlatItems;
  private readonly minX: number;
  private readonly minY: number;
  private readonly maxX: number;
  private readonly maxY: number;
  /** Query stamps per key, so an item met in several cells is reported once per range query. */
  private readonly stamp: Uint32Array;
  private query = 0;
  private nodeCount = 0;
  private cellCount = 0;
  private entCount = 0;
  private depthMax = 0;
  private stack = new Int32Array(64);
  private scratch = new Int32Array(256);

  /** Upper bound on root cells (memory: 12 bytes per cell). */
  static maxRootCells = 1 << 21;

  constructor(items: FlatItems) {
    const boxes = items.boxes;
    const n = boxes.length / 4;
    this.size = n;
    this.items = items;
    let maxKey = -1;
    for (let i = 0; i < n; i++) maxKey = Math.max(maxKey, items.tags[i] >>> 2);
    this.stamp = new Uint32Array(maxKey + 1);
    const { minX, minY, maxX, maxY, medianWidth, medianHeight } = boxExtent(boxes);
    this.minX = minX;
    this.minY = minY;
    this.maxX = maxX;
    this.maxY = maxY;
    const spanX = Math.max(maxX - minX, 1e-7), spanY = Math.max(maxY - minY, 1e-7);
    // Root cells: about one per item, shaped like the median box; never finer than twice it.
    const mw = Math.max(medianWidth, 1e-7), mh = Math.max(medianHeight, 1e-7);
    const aspect = mw / mh;
    const target = Math.min(FlatGrid.maxRootCells, Math.max(1, n));
    let ch = Math.sqrt((spanX * spanY) / (target * aspect));
    let cw = ch * aspect;
    if (cw < 2 * mw) {
      cw = 2 * mw;
      ch = 2 * mh;
    }
    const nx = Math.max(1, Math.min(1 << 15, Math.ceil(spanX / cw)));
    const ny = Math.max(1, Math.min(1 << 15, Math.ceil(spanY / ch)));
    const perX = nx / spanX, perY = ny / spanY;

    // Split the items: small enough for the root grid, or big.
    const small: number[] = [], big: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = i * 4;
      const sx = cellOf(boxes[b + 2], minX, perX, nx) - cellOf(boxes[b], minX, perX, nx);
      const sy = cellOf(boxes[b + 3], minY, perY, ny) - cellOf(boxes[b + 1], minY, perY, ny);
      (sx < ROOT_SPAN && sy < ROOT_SPAN ? small : big).push(i);
    }
    this.nodeF = new Float64Array(64);
    this.nodeI = new Int32Array(48);
    this.cells = new Int32Array(Math.max(16, nx * ny * 3 + 16));
    this.ent = new Float64Array(Math.max(64, small.length * 2 * STRIDE));
    this.makeNode(minX, minY, perX, perY, nx, ny, Int32Array.from(small), 0);
    this.nodeF = this.nodeF.slice(0, this.nodeCount * 4);
    this.nodeI = this.nodeI.slice(0, this.nodeCount * 3);
    this.cells = this.cells.slice(0, this.cellCount * 3);
    this.ent = this.ent.slice(0, this.entCount * STRIDE);
    this.bigItem = Int32Array.from(big);
    if (big.length > 0) {
      const bb = new Float64Array(big.length * 4);
      for (let k = 0; k < big.length; k++) bb.set(boxes.subarray(big[k] * 4, big[k] * 4 + 4), k * 4);
      this.big = new StaticGrid(bb);
    } else {
      this.big = null;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  /** Calls visit(tag, sure) for every item whose box holds the point, except circles the flat test rules out. Allocation-free. */
  searchPoint(x: number, y: number, visit: PointVisit): void {
    if (x < this.minX || y < this.minY || x > this.maxX || y > this.maxY) return;
    const nodeF = this.nodeF, nodeI = this.nodeI, cells = this.cells, e = this.ent, rings = this.items.ringCoords;
    let node = 0;
    for (;;) {
      const f = node * 4, g = node * 3;
      const nx = nodeI[g], ny = nodeI[g + 1];
      let cx = Math.floor((x - nodeF[f]) * nodeF[f + 2]);
      let cy = Math.floor((y - nodeF[f + 1]) * nodeF[f + 3]);
      if (cx < 0) cx = 0;
      else if (cx >= nx) cx = nx - 1;
      if (cy < 0) cy = 0;
      else if (cy >= ny) cy = ny - 1;
      const c = (nodeI[g + 2] + cy * nx + cx) * 3;
      const end = cells[c + 1] * STRIDE;
      for (let k = cells[c] * STRIDE; k < end; k += STRIDE) {
        if (x < e[k + 1] || y < e[k + 2] || x > e[k + 3] || y > e[k + 4]) continue;
        const kx = e[k + 5];
        if (kx <= 0) {
          if (kx === 0) visit(e[k], 0);
          else if (ringContains(rings, e[k + 6], e[k + 7], x, y)) visit(e[k], 1);
          continue;
        }
        // Circle: flat distance from the centre of its box (the box is symmetric about it).
        const dx = (x - (e[k + 1] + e[k + 3]) * 0.5) * kx;
        const dy = (y - (e[k + 2] + e[k + 4]) * 0.5) * M_PER_DEG;
        const d2 = dx * dx + dy * dy;
        if (d2 < e[k + 6]) visit(e[k], 1);
        else if (d2 <= e[k + 7]) visit(e[k], 0);
      }
      node = cells[c + 2];
      if (node < 0) break;
    }
    if (this.big !== null) {
      const big = this.big, bigItem = this.bigItem, tags = this.items.tags;
      big.searchPoint(x, y, (i) => visit(tags[bigItem[i]], 0));
    }
  }

  /** Calls visit(tag) once for every item whose box intersects the range. Allocation-free. */
  searchRange(minX: number, minY: number, maxX: number, maxY: number, visit: (tag: number) => void): void {
    if (maxX < this.minX || maxY < this.minY || minX > this.maxX || minY > this.maxY) return;
    if (++this.query === 0xffffffff) {
      this.stamp.fill(0);
      this.query = 1;
    }
    const q = this.query;
    const nodeF = this.nodeF, nodeI = this.nodeI, cells = this.cells, e = this.ent, stamp = this.stamp;
    let stack = this.stack;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      const f = node * 4, g = node * 3;
      const nx = nodeI[g], ny = nodeI[g + 1], base = nodeI[g + 2];
      const x0 = clampCell(Math.floor((minX - nodeF[f]) * nodeF[f + 2]), nx);
      const x1 = clampCell(Math.floor((maxX - nodeF[f]) * nodeF[f + 2]), nx);
      const y0 = clampCell(Math.floor((minY - nodeF[f + 1]) * nodeF[f + 3]), ny);
      const y1 = clampCell(Math.floor((maxY - nodeF[f + 1]) * nodeF[f + 3]), ny);
      for (let cy = y0; cy <= y1; cy++) {
        for (let cx = x0; cx <= x1; cx++) {
          const c = (base + cy * nx + cx) * 3;
          const end = cells[c + 1] * STRIDE;
          for (let k = cells[c] * STRIDE; k < end; k += STRIDE) {
            if (maxX < e[k + 1] || maxY < e[k + 2] || minX > e[k + 3] || minY > e[k + 4]) continue;
            const tag = e[k], key = tag >>> 2;
            if (stamp[key] === q) continue;
            stamp[key] = q;
            visit(tag);
          }
          const child = cells[c + 2];
          if (child >= 0) {
            if (sp === stack.length) {
              const grown = new Int32Array(stack.length * 2);
              grown.set(stack);
              this.stack = stack = grown;
            }
            stack[sp++] = child;
          }
        }
      }
    }
    if (this.big !== null) {
      const bigItem = this.bigItem, tags = this.items.tags;
      this.big.searchRange(minX, minY, maxX, maxY, (i) => {
        const tag = tags[bigItem[i]], key = tag >>> 2;
        if (stamp[key] === q) return;
        stamp[key] = q;
        visit(tag);
      });
    }
  }

  /** Sizes of the structure (for benchmarks): how full the cells are. */
  stats(): GridStats {
    let nonEmpty = 0, maxPer = 0;
    for (let c = 0; c < this.cellCount; c++) {
      const k = this.cells[c * 3 + 1] - this.cells[c * 3];
      if (k > 0) nonEmpty++;
      if (k > maxPer) maxPer = k;
    }
    return {
      entries: this.entCount,
      cells: this.cellCount,
      nonEmptyCells: nonEmpty,
      maxPerCell: maxPer,
      meanPerNonEmptyCell: nonEmpty === 0 ? 0 : this.entCount / nonEmpty,
      nodes: this.nodeCount,
      maxDepth: this.depthMax,
      bigItems: this.bigItem.length,
    };
  }

  /** Cells on the path of the last entriesOnPath(). */
  lastPathDepth = 0;

  /** Entries a point query at (x, y) reads (all cells on its path, big items' boxes not counted). */
  entriesOnPath(x: number, y: number): number {
    if (x < this.minX || y < this.minY || x > this.maxX || y > this.maxY) return 0;
    let node = 0, total = 0;
    this.lastPathDepth = 0;
    for (;;) {
      this.lastPathDepth++;
      const f = node * 4, g = node * 3;
      const nx = this.nodeI[g], ny = this.nodeI[g + 1];
      const cx = clampCell(Math.floor((x - this.nodeF[f]) * this.nodeF[f + 2]), nx);
      const cy = clampCell(Math.floor((y - this.nodeF[f + 1]) * this.nodeF[f + 3]), ny);
      const c = (this.nodeI[g + 2] + cy * nx + cx) * 3;
      total += this.cells[c + 1] - this.cells[c];
      node = this.cells[c + 2];
      if (node < 0) return total;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Building

  /** Makes a node over the given items (their boxes meet its area), fills its cells; returns its number. */
  private makeNode(x0: number, y0: number, perX: number, perY: number, nx: number, ny: number, list: Int32Array, depth: number): number {
    if (depth > this.depthMax) this.depthMax = depth;
    const node = this.nodeCount++;
    if (this.nodeF.length < this.nodeCount * 4) {
      this.nodeF = grow(this.nodeF, this.nodeCount * 4);
      this.nodeI = growI(this.nodeI, this.nodeCount * 3);
    }
    const base = this.cellCount;
    const cellN = nx * ny;
    this.cellCount += cellN;
    if (this.cells.length < this.cellCount * 3) this.cells = growI(this.cells, this.cellCount * 3);
    this.nodeF[node * 4] = x0;
    this.nodeF[node * 4 + 1] = y0;
    this.nodeF[node * 4 + 2] = perX;
    this.nodeF[node * 4 + 3] = perY;
    this.nodeI[node * 3] = nx;
    this.nodeI[node * 3 + 1] = ny;
    this.nodeI[node * 3 + 2] = base;

    // Bucket the items into cells (CSR), two passes.
    const boxes = this.items.boxes;
    const counts = new Int32Array(cellN + 1);
    const range = (i: number, out: Int32Array): void => {
      const b = i * 4;
      out[0] = cellOf(boxes[b], x0, perX, nx);
      out[1] = cellOf(boxes[b + 2], x0, perX, nx);
      out[2] = cellOf(boxes[b + 1], y0, perY, ny);
      out[3] = cellOf(boxes[b + 3], y0, perY, ny);
    };
    const r = new Int32Array(4);
    for (let k = 0; k < list.length; k++) {
      range(list[k], r);
      for (let y = r[2]; y <= r[3]; y++) for (let x = r[0]; x <= r[1]; x++) counts[y * nx + x + 1]++;
    }
    for (let c = 0; c < cellN; c++) counts[c + 1] += counts[c];
    const members = new Int32Array(counts[cellN]);
    const fill = counts.slice(0, cellN);
    for (let k = 0; k < list.length; k++) {
      range(list[k], r);
      for (let y = r[2]; y <= r[3]; y++) for (let x = r[0]; x <= r[1]; x++) members[fill[y * nx + x]++] = list[k];
    }

    const cw = 1 / perX, ch = 1 / perY;
    for (let cy = 0; cy < ny; cy++) {
      for (let cx = 0; cx < nx; cx++) {
        const c = cy * nx + cx;
        const cell = (base + c) * 3;
        const mine = members.subarray(counts[c], counts[c + 1]);
        let child = -1;
        let stay: Int32Array = mine;
        if (mine.length > LEAF && depth < MAX_DEPTH) {
          const split = this.trySplit(x0 + cx * cw, y0 + cy * ch, cw, ch, mine);
          if (split !== null) {
            stay = split.stay;
            child = this.makeNode(x0 + cx * cw, y0 + cy * ch, split.k * perX, split.k * perY, split.k, split.k, split.down, depth + 1);
          }
        }
        this.cells[cell] = this.entCount;
        for (let k = 0; k < stay.length; k++) this.pushEntry(stay[k]);
        this.cells[cell + 1] = this.entCount;
        this.cells[cell + 2] = child;
      }
    }
    return node;
  }

  /**
   * Splits a crowded cell into k×k sub-cells if that pays: items small enough for the sub-cells
   * go down, the rest stay. Of k = 2, 4, 8, 16 it takes the one with the fewest
   * entries on a query's path (those that stay plus the mean of the non-empty sub-cells), among
   * those that copy items (into several sub-cells) to at most COPY_MAX times the cell's entries;
   * and only if that path is at most 3/4 of the cell.
   */
  private trySplit(x0: number, y0: number, cw: number, ch: number, mine: Int32Array): { k: number; stay: Int32Array; down: Int32Array } | null {
    const boxes = this.items.boxes;
    let bestK = 0, bestCost = 0.75 * mine.length;
    for (const k of SPLITS) {
      const perX = k / cw, perY = k / ch;
      let stay = 0, copies = 0, nonEmpty = 0;
      const counts = this.scratch.length >= k * k ? this.scratch.fill(0, 0, k * k) : (this.scratch = new Int32Array(k * k));
      for (let m = 0; m < mine.length; m++) {
        const b = mine[m] * 4;
        const xa = cellOf(boxes[b], x0, perX, k), xb = cellOf(boxes[b + 2], x0, perX, k);
        const ya = cellOf(boxes[b + 1], y0, perY, k), yb = cellOf(boxes[b + 3], y0, perY, k);
        if (xb - xa >= SPAN || yb - ya >= SPAN) {
          stay++;
          continue;
        }
        for (let y = ya; y <= yb; y++) {
          for (let x = xa; x <= xb; x++) if (counts[y * k + x]++ === 0) nonEmpty++;
        }
        copies += (xb - xa + 1) * (yb - ya + 1);
      }
      if (stay === mine.length || stay + copies > COPY_MAX * mine.length) continue;
      const cost = stay + copies / nonEmpty;
      if (cost < bestCost) {
        bestCost = cost;
        bestK = k;
      }
    }
    if (bestK === 0) return null;
    const k = bestK, perX = k / cw, perY = k / ch;
    const stay = new Int32Array(mine.length), down = new Int32Array(mine.length);
    let ns = 0, nd = 0;
    for (let m = 0; m < mine.length; m++) {
      const b = mine[m] * 4;
      const xa = cellOf(boxes[b], x0, perX, k), xb = cellOf(boxes[b + 2], x0, perX, k);
      const ya = cellOf(boxes[b + 1], y0, perY, k), yb = cellOf(boxes[b + 3], y0, perY, k);
      if (xb - xa >= SPAN || yb - ya >= SPAN) stay[ns++] = mine[m];
      else down[nd++] = mine[m];
    }
    return { k, stay: stay.subarray(0, ns), down: down.subarray(0, nd) };
  }

  private pushEntry(i: number): void {
    if (this.ent.length < (this.entCount + 1) * STRIDE) this.ent = grow(this.ent, (this.entCount + 1) * STRIDE);
    const o = this.entCount++ * STRIDE, b = i * 4, it = this.items, e = this.ent;
    e[o] = it.tags[i];
    e[o + 1] = it.boxes[b];
    e[o + 2] = it.boxes[b + 1];
    e[o + 3] = it.boxes[b + 2];
    e[o + 4] = it.boxes[b + 3];
    e[o + 5] = it.kx[i];
    e[o + 6] = it.sureIn2[i];
    e[o + 7] = it.sureOut2[i];
  }
}

function cellOf(v: number, origin: number, per: number, n: number): number {
  const c = Math.floor((v - origin) * per);
  return c < 0 ? 0 : c >= n ? n - 1 : c;
}

function clampCell(c: number, n: number): number {
  return c < 0 ? 0 : c >= n ? n - 1 : c;
}

function grow(a: Float64Array, need: number): Float64Array {
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growI(a: Int32Array, need: number): Int32Array {
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}
