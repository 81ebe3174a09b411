import RBush from 'rbush';
import { DEG, EARTH_RADIUS_M, M_PER_DEG } from './earth.js';
import { FlatGrid } from './flat-grid.js';
import { CircleZone, PolygonZone, type PreparedZone } from './prepared-zone.js';

export interface ZoneIndexOptions {
  /** Ignored (kept for callers of earlier versions): the static part is now a grid hierarchy. */
  nodeSize?: number;
  /**
   * Changes (added boxes plus deleted static boxes) held in the dynamic overlay before the
   * static grids are rebuilt. The effective limit grows with the index (see rebuildFraction) so
   * rebuild cost stays amortised. Infinity keeps everything in the rbush overlay (no static
   * part). Default 1024.
   */
  overlayMax?: number;
  /** The overlay may also grow to this fraction of the static size before a rebuild. Default 0.25. */
  rebuildFraction?: number;
}

/** Query results, reused across queries so a query allocates nothing of its own. */
export class ZoneHits {
  count = 0;
  zones: PreparedZone[];
  /** Signed distances (near queries only): positive inside, negative outside. */
  distM: Float64Array;

  constructor(capacity = 16) {
    this.zones = new Array<PreparedZone>(capacity);
    this.distM = new Float64Array(capacity);
  }

  push(zone: PreparedZone, distM: number, unique: boolean): void {
    if (unique) for (let i = 0; i < this.count; i++) if (this.zones[i] === zone) return;
    if (this.count === this.distM.length) {
      const grown = new Float64Array(this.count * 2);
      grown.set(this.distM);
      this.distM = grown;
    }
    this.zones[this.count] = zone;
    this.distM[this.count++] = distM;
  }
}

interface OverlayEntry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  slot: number;
}

const MODE_CONTAINS = 0;
const MODE_NEAR = 1;

// Kinds of static entries (tag = slot * 4 + kind).
const KIND_BOX = 0;
const KIND_CIRCLE = 1;
/** One of several boxes of a zone (split at the antimeridian): a hit is checked for duplicates. */
const KIND_MULTI = 2;

/**
 * All zones, searchable by point. A static sparse grid (flat-grid.ts: cells split where zones
 * are dense, boxes and circle tests inline in the cell arrays) holds the bulk; a small dynamic R-tree
 * (rbush) holds boxes added since the last rebuild, and deleted zones are tombstoned (their
 * slot emptied). When overlay and tombstones outgrow a fraction of the whole, the static grids
 * are rebuilt in one go: no rebuild per change, and queries always see the current set. Why
 * this pair and not one tree: see docs/geo.md (bench/geo measures it).
 */
export class ZoneIndex {
  private readonly overlayMax: number;
  private readonly rebuildFraction: number;

  /** slot → zone; null once the zone is deleted or replaced. Slots are compacted on rebuild. */
  private slots: (PreparedZone | null)[] = [];
  private readonly slotById = new Map<string, number>();
  /** Slots below this are in the static grids; the rest are in the overlay. */
  private staticSlotEnd = 0;
  private staticTree: FlatGrid | null = null;
  /** Boxes in the static grid. */
  private staticItems = 0;
  private staticDead = 0;
  private overlay = new RBush<OverlayEntry>();
  private overlayEntries = new Map<number, OverlayEntry[]>();
  private overlayCount = 0;

  /** Bounding-box candidates examined by the last query (for benchmarks and diagnostics). */
  lastCandidates = 0;

  // Query state, set once per query and read by the visitor: no closure per query.
  private qLon = 0;
  private qLat = 0;
  private qMaxM = 0;
  private qMode = MODE_CONTAINS;
  private qUnique = false;
  private qOut: ZoneHits = new ZoneHits(0);
  private readonly qBox = { minX: 0, minY: 0, maxX: 0, maxY: 0 };
  private readonly visitStaticPoint = (tag: number, sure: number): void => {
    const zone = this.slots[tag >>> 2];
    if (zone === null) return;
    this.lastCandidates++;
    if (sure === 1 || zone.contains(this.qLon, this.qLat)) this.qOut.push(zone, 0, this.qUnique || (tag & 3) === KIND_MULTI);
  };
  private readonly visitStatic = (tag: number): void => {
    this.visit(tag >>> 2);
  };

  constructor(options: ZoneIndexOptions = {}) {
    this.overlayMax = options.overlayMax ?? 1024;
    this.rebuildFraction = options.rebuildFraction ?? 0.25;
  }

  static from(zones: Iterable<PreparedZone>, options?: ZoneIndexOptions): ZoneIndex {
    const index = new ZoneIndex(options);
    index.setMany(zones);
    return index;
  }

  get size(): number {
    return this.slotById.size;
  }

  get(id: string): PreparedZone | undefined {
    const slot = this.slotById.get(id);
    return slot === undefined ? undefined : (this.slots[slot] ?? undefined);
  }

  has(id: string): boolean {
    return this.slotById.has(id);
  }

  *values(): IterableIterator<PreparedZone> {
    for (const slot of this.slotById.values()) yield this.slots[slot] as PreparedZone;
  }

  /** Adds the zone, or replaces the zone with the same id. */
  set(zone: PreparedZone): void {
    this.unlink(zone.id);
    const slot = this.slots.length;
    this.slots.push(zone);
    this.slotById.set(zone.id, slot);
    this.addToOverlay(slot, zone);
    this.maybeRebuild();
  }

  /** Adds or replaces many zones, bulk-loading instead of inserting one by one. */
  setMany(zones: Iterable<PreparedZone>): void {
    const added: number[] = [];
    for (const zone of zones) {
      this.unlink(zone.id);
      const slot = this.slots.length;
      this.slots.push(zone);
      this.slotById.set(zone.id, slot);
      added.push(slot);
    }
    const pendingBoxes = added.reduce((n, s) => n + (this.slots[s] as PreparedZone).boxes.length / 4, 0);
    // A bulk load into an empty index (or one outgrowing the overlay) goes straight to the
    // static part: an overlay is for the odd change, not for whole layers.
    const fresh = this.staticItems === 0 && this.overlayCount === 0;
    if (fresh || this.overlayCount + this.staticDead + pendingBoxes > this.rebuildThreshold()) {
      this.rebuild();
      return;
    }
    const entries: OverlayEntry[] = [];
    for (const slot of added) entries.push(...this.entriesFor(slot, this.slots[slot] as PreparedZone));
    this.overlay.load(entries);
  }

  delete(id: string): boolean {
    if (!this.unlink(id)) return false;
    this.maybeRebuild();
    return true;
  }

  /**
   * Zones containing the point (boundary included), each once, into out.zones[0 .. n).
   * Returns n.
   */
  containing(lon: number, lat: number, out: ZoneHits): number {
    this.begin(lon, lat, 0, MODE_CONTAINS, out);
    this.search(lon, lat, lon, lat);
    // ±180 is one meridian: a zone may have been drawn on either side of it.
    if (lon === 180 || lon === -180) {
      this.qUnique = true;
      this.qLon = -lon;
      this.search(-lon, lat, -lon, lat);
      this.qLon = lon;
    }
    return out.count;
  }

  /**
   * Zones the point is inside or within maxDistM of, with signed distances to their edges
   * (positive inside, negative outside; +Infinity when inside deeper than maxDistM).
   * Returns the number of hits in out.
   */
  near(lon: number, lat: number, maxDistM: number, out: ZoneHits): number {
    this.begin(lon, lat, maxDistM, MODE_NEAR, out);
    const dLat = maxDistM / M_PER_DEG;
    const minLat = lat - dLat, maxLat = lat + dLat;
    if (minLat <= -90 || maxLat >= 90) {
      this.qUnique = true;
      this.search(-180, minLat, 180, maxLat);
      return out.count;
    }
    // Exact longitude half-width of a spherical cap of radius maxDistM.
    const s = Math.sin(maxDistM / EARTH_RADIUS_M) / Math.cos(lat * DEG);
    const dLon = s >= 1 ? 180 : Math.asin(s) / DEG + 1e-9;
    const minLon = lon - dLon, maxLon = lon + dLon;
    if (minLon < -180 || maxLon > 180) {
      this.qUnique = true;
      this.search(Math.max(minLon, -180), minLat, Math.min(maxLon, 180), maxLat);
      if (minLon < -180) this.search(minLon + 360, minLat, 180, maxLat);
      if (maxLon > 180) this.search(-180, minLat, maxLon - 360, maxLat);
    } else {
      this.search(minLon, minLat, maxLon, maxLat);
    }
    return out.count;
  }

  private begin(lon: number, lat: number, maxM: number, mode: number, out: ZoneHits): void {
    out.count = 0;
    this.lastCandidates = 0;
    this.qLon = lon;
    this.qLat = lat;
    this.qMaxM = maxM;
    this.qMode = mode;
    this.qOut = out;
    this.qUnique = false;
  }

  private search(minX: number, minY: number, maxX: number, maxY: number): void {
    if (this.staticTree !== null) {
      if (minX === maxX && minY === maxY && this.qMode === MODE_CONTAINS) this.staticTree.searchPoint(minX, minY, this.visitStaticPoint);
      else this.staticTree.searchRange(minX, minY, maxX, maxY, this.visitStatic);
    }
    if (this.overlayCount > 0) {
      const box = this.qBox;
      box.minX = minX;
      box.minY = minY;
      box.maxX = maxX;
      box.maxY = maxY;
      const found = this.overlay.search(box);
      for (let i = 0; i < found.length; i++) this.visit(found[i].slot);
    }
  }

  private visit(slot: number): void {
    const zone = this.slots[slot];
    if (zone === null) return;
    this.lastCandidates++;
    // A zone with several boxes (split at the antimeridian) can be met more than once; the
    // check is made only for hits, so misses never touch zone.boxes.
    if (this.qMode === MODE_CONTAINS) {
      if (zone.contains(this.qLon, this.qLat)) this.qOut.push(zone, 0, this.qUnique || zone.boxes.length > 4);
    } else {
      const d = zone.signedDistanceM(this.qLon, this.qLat, this.qMaxM);
      if (d !== -Infinity) this.qOut.push(zone, d, this.qUnique || zone.boxes.length > 4);
    }
  }

  /** Removes the zone with this id from every structure; false if there was none. */
  private unlink(id: string): boolean {
    const slot = this.slotById.get(id);
    if (slot === undefined) return false;
    const zone = this.slots[slot] as PreparedZone;
    this.slots[slot] = null;
    this.slotById.delete(id);
    if (slot < this.staticSlotEnd) {
      this.staticDead += zone.boxes.length / 4;
    } else {
      const entries = this.overlayEntries.get(slot);
      if (entries) {
        for (const e of entries) this.overlay.remove(e);
        this.overlayCount -= entries.length;
        this.overlayEntries.delete(slot);
      }
    }
    return true;
  }

  private entriesFor(slot: number, zone: PreparedZone): OverlayEntry[] {
    const b = zone.boxes;
    const entries: OverlayEntry[] = [];
    for (let i = 0; i < b.length; i += 4) entries.push({ minX: b[i], minY: b[i + 1], maxX: b[i + 2], maxY: b[i + 3], slot });
    this.overlayEntries.set(slot, entries);
    this.overlayCount += entries.length;
    return entries;
  }

  private addToOverlay(slot: number, zone: PreparedZone): void {
    for (const e of this.entriesFor(slot, zone)) this.overlay.insert(e);
  }

  private rebuildThreshold(): number {
    return Math.max(this.overlayMax, this.rebuildFraction * this.staticItems);
  }

  private maybeRebuild(): void {
    if (this.overlayCount + this.staticDead > this.rebuildThreshold()) this.rebuild();
  }

  /** Compacts the slots and packs every live zone into new static grids; empties the overlay. */
  rebuild(): void {
    const live: PreparedZone[] = [];
    for (const zone of this.slots) if (zone !== null) live.push(zone);
    this.slots = live;
    this.slotById.clear();
    let items = 0;
    for (let s = 0; s < live.length; s++) {
      this.slotById.set(live[s].id, s);
      items += live[s].boxes.length / 4;
    }
    this.overlay.clear();
    this.overlayEntries.clear();
    this.overlayCount = 0;
    this.staticDead = 0;
    this.staticSlotEnd = live.length;
    this.staticItems = items;
    if (items === 0) {
      this.staticTree = null;
      return;
    }
    const boxes = new Float64Array(items * 4);
    const tags = new Float64Array(items);
    const kx = new Float64Array(items), sureIn2 = new Float64Array(items), sureOut2 = new Float64Array(items);
    // Small one-ring polygons get a copy of their ring next to the grid, so a point query tests
    // them without reaching the zone (see FlatGrid).
    let ringLength = 0;
    for (const zone of live) ringLength += inlineRing(zone)?.length ?? 0;
    const ringCoords = new Float64Array(ringLength);
    let item = 0, ringAt = 0;
    for (let s = 0; s < live.length; s++) {
      const zone = live[s];
      const b = zone.boxes;
      const circle = zone instanceof CircleZone && b.length === 4;
      const ring = b.length === 4 ? inlineRing(zone) : null;
      for (let i = 0; i < b.length; i += 4) {
        const o = item * 4;
        boxes[o] = b[i];
        boxes[o + 1] = b[i + 1];
        boxes[o + 2] = b[i + 2];
        boxes[o + 3] = b[i + 3];
        tags[item] = s * 4 + (b.length > 4 ? KIND_MULTI : circle ? KIND_CIRCLE : KIND_BOX);
        if (circle) {
          kx[item] = zone.kx;
          sureIn2[item] = zone.sureIn2;
          sureOut2[item] = zone.sureOut2;
        } else if (ring !== null) {
          ringCoords.set(ring, ringAt);
          kx[item] = -1;
          sureIn2[item] = ringAt;
          sureOut2[item] = ringAt += ring.length;
        }
        item++;
      }
    }
    this.staticTree = new FlatGrid({ boxes, tags, kx, sureIn2, sureOut2, ringCoords });
  }

  /** Sizes of the static grid (for benchmarks), or null when it is empty. */
  gridStats(): ReturnType<FlatGrid['stats']> | null {
    return this.staticTree === null ? null : this.staticTree.stats();
  }

  /** Static entries a point query at (lon, lat) reads (for benchmarks). */
  entriesOnPath(lon: number, lat: number): number {
    return this.staticTree === null ? 0 : this.staticTree.entriesOnPath(lon, lat);
  }

  /** Cells on the path of the last entriesOnPath() (for benchmarks). */
  get lastPathDepth(): number {
    return this.staticTree === null ? 0 : this.staticTree.lastPathDepth;
  }
}

/** Rings of at most this many vertices are copied next to the static grid. */
const INLINE_RING_MAX = 34;

/** The ring of a one-part, one-ring, small polygon zone (its coordinates, closed); else null. */
function inlineRing(zone: PreparedZone): Float64Array | null {
  if (!(zone instanceof PolygonZone) || zone.parts.length !== 1) return null;
  const part = zone.parts[0];
  if (part.ringStart.length !== 2 || !part.scansAll || part.coords.length > 2 * INLINE_RING_MAX) return null;
  return part.coords;
}
