import { kml } from '@tmcw/togeojson';
import type { ZoneFeature } from './types.js';

/**
 * A file of zones as a FeatureCollection for POST /v1/zones: GeoJSON as it is, KML converted
 * here in the browser (@tmcw/togeojson). Every feature gets an id: its own, else a slug of its
 * name, else its position in the file.
 */
export function parseZoneFile(name: string, text: string): ZoneFeature[] {
  let fc: { type?: string; features?: unknown[] } & Record<string, unknown>;
  if (/\.kml$/i.test(name) || text.trimStart().startsWith('<')) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    if (doc.getElementsByTagName('parsererror').length > 0) throw new Error(`${name} is not well-formed KML (XML)`);
    fc = kml(doc) as unknown as typeof fc;
  } else {
    try {
      fc = JSON.parse(text) as typeof fc;
    } catch (e) {
      throw new Error(`${name} is not valid JSON: ${(e as Error).message}`);
    }
  }
  let features: unknown[];
  if (fc.type === 'FeatureCollection' && Array.isArray(fc.features)) features = fc.features;
  else if (fc.type === 'Feature') features = [fc];
  else throw new Error(`${name} holds no GeoJSON Feature or FeatureCollection`);
  const used = new Set<string>();
  return features.map((raw, i) => {
    const f = { ...(raw as ZoneFeature) };
    const props = { ...(f.properties ?? {}) } as Record<string, unknown>;
    // KML styling carried by togeojson is not zone data.
    for (const k of Object.keys(props)) if (k.startsWith('style') || k === 'fill' || k === 'stroke' || k.startsWith('fill-') || k.startsWith('stroke-')) delete props[k];
    if (typeof props.radiusM === 'string' && props.radiusM.trim() !== '' && Number.isFinite(Number(props.radiusM))) props.radiusM = Number(props.radiusM);
    f.properties = props;
    let id = f.id === undefined || f.id === null || String(f.id) === '' ? null : String(f.id);
    if (id === null && typeof props.id === 'string') id = props.id;
    if (id === null && typeof props.name === 'string') id = slug(props.name);
    if (id === null || id === '' || used.has(id)) id = `${id ?? 'zone'}-${i + 1}`;
    used.add(id);
    f.id = id;
    return f;
  });
}

export function slug(s: string): string {
  return s.normalize('NFKD').replace(/[^\w\s.-]/g, '').trim().replace(/\s+/g, '-').toLowerCase().slice(0, 100);
}
