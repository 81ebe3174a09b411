import proj4 from 'proj4';

/**
 * British National Grid (EPSG:27700) to WGS84 and back, with proj4 and the standard OSGB36
 * 7-parameter Helmert shift (no OSTN15 grid: the grid files are large and a separate licence).
 * The Helmert shift is good to about 5 m across Great Britain (Ordnance Survey, "A guide to
 * coordinate systems in Great Britain", section 6.6): enough for crime locations whose radius
 * is tens to hundreds of metres; the README says so.
 */
export const BNG_PROJ4 =
  '+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +ellps=airy ' +
  '+towgs84=446.448,-125.157,542.06,0.15,0.247,0.842,-20.489 +units=m +no_defs';

/** The grid's extent: 0..700 km east, 0..1300 km north (the lettered 100 km squares). */
export const BNG_MAX_EASTING = 700_000;
export const BNG_MAX_NORTHING = 1_300_000;

const converter = proj4('WGS84', BNG_PROJ4);

export function isOnGrid(easting: number, northing: number): boolean {
  return Number.isFinite(easting) && Number.isFinite(northing) &&
    easting >= 0 && easting <= BNG_MAX_EASTING && northing >= 0 && northing <= BNG_MAX_NORTHING;
}

/** Easting/northing (metres) to WGS84 {lat, lon}. The caller checks isOnGrid first. */
export function bngToWgs84(easting: number, northing: number): { lat: number; lon: number } {
  const [lon, lat] = converter.inverse([easting, northing]);
  return { lat, lon };
}

/** WGS84 to easting/northing (metres). */
export function wgs84ToBng(lat: number, lon: number): { easting: number; northing: number } {
  const [easting, northing] = converter.forward([lon, lat]);
  return { easting, northing };
}
