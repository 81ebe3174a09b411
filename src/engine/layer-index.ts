import { ZoneIndex, type PreparedZone } from '../../geo/index.js';

/**
 * The per-layer zone indexes a layer exclusion queries: built once from every zone (compiling
 * a configuration, loading the service's state) and kept current as zones change.
 */

/** One index per layer, bulk-loaded from the zones that name a layer. */
export function buildLayerIndexes(zones: Iterable<PreparedZone>): Map<string, ZoneIndex> {
  const byLayer = new Map<string, PreparedZone[]>();
  for (const zone of zones) {
    if (zone.layer === null) continue;
    const list = byLayer.get(zone.layer);
    if (list === undefined) byLayer.set(zone.layer, [zone]);
    else list.push(zone);
  }
  const layers = new Map<string, ZoneIndex>();
  for (const [layer, list] of byLayer) layers.set(layer, ZoneIndex.from(list));
  return layers;
}

/** Indexes a zone added or replaced (`old`: the zone it replaces, if any), moving it between layers if its layer changed. */
export function setLayerZone(layers: Map<string, ZoneIndex>, zone: PreparedZone, old: PreparedZone | undefined): void {
  if (old !== undefined && old.layer !== null && old.layer !== zone.layer) layers.get(old.layer)?.delete(zone.id);
  if (zone.layer === null) return;
  let index = layers.get(zone.layer);
  if (index === undefined) {
    index = new ZoneIndex();
    layers.set(zone.layer, index);
  }
  index.set(zone);
}

/** Removes a deleted zone from its layer's index. */
export function deleteLayerZone(layers: Map<string, ZoneIndex>, zone: PreparedZone): void {
  if (zone.layer !== null) layers.get(zone.layer)?.delete(zone.id);
}
