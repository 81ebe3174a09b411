/**
 * The evidence pack as data: what both renderers (HTML, PDF) draw. An alert-episode pack
 * (alert-pack.ts, read from the archive) and a crime-match pack (crime-pack.ts, built from a
 * reviewed match) produce the same `PackDocument`, so they share one renderer and one layout.
 *
 * Nothing in a PackDocument may hold a victim's position: a proximity pack carries distance
 * bands only (alert-pack.ts never copies a victim fix into it).
 */

/** One numbered position of the trail: the map's labels and the table's rows share `no`. */
export interface PackFix {
  /** 1-based, in time order; the number printed on the map. */
  no: number;
  deviceId: string;
  seq: number;
  /** Device time, epoch ms. */
  ts: number;
  lat: number;
  lon: number;
  /** Metres (the tag's, or the default assumed when it gave none: see `accuracyAssumed`). */
  accuracyM: number;
  accuracyAssumed: boolean;
  /** From the previous position (km/h), or as the tag reported it; null for the first. */
  speedKmh: number | null;
  /** Direction of travel from the previous position, degrees from true north; null when standing still or first. */
  headingDeg: number | null;
  /** The last column: inside/outside the zone and how far from its edge, or distance from a crime location, or a proximity band. */
  relation: string;
  /** Drawn and printed in bold: the fixes events or a match refer to. */
  highlight: boolean;
}

/** A shape drawn on the map (a zone, or a crime location's radius). Coordinates are WGS84 [lon, lat]. */
export type MapArea =
  | { kind: 'polygon'; label: string; role: 'zone' | 'crime'; polygons: number[][][][] }
  | { kind: 'circle'; label: string; role: 'zone' | 'crime'; lon: number; lat: number; radiusM: number };

export interface PackMap {
  areas: MapArea[];
  /** A point to mark with a cross (the crime location). */
  marker?: { lon: number; lat: number; label: string };
  caption: string;
}

/** A generic section: a heading, paragraphs and an optional table of text cells. */
export interface PackSection {
  heading: string;
  paragraphs: string[];
  table?: { columns: string[]; rows: string[][] };
}

export interface PackDocument {
  kind: 'alert-episode' | 'crime-match';
  title: string;
  /** The case identifiers printed under the title: [label, value]. */
  identifiers: [string, string][];
  /** Epoch ms. */
  generatedAt: number;
  /** Who asked (role and token id) and why (the stated purpose): printed and audited. */
  requestedBy: string;
  purpose: string;
  map: PackMap;
  /** Trail positions in time order (the map draws the same list). */
  positions: PackFix[];
  /** Heading of the table's last column, e.g. "Zone Z-1 (victim's home)". */
  relationHeading: string;
  /** Said under the table (bounds, how speed and direction were worked out). */
  positionsNotes: string[];
  /** In order: conditions, events, decisions, device health, engine version, reproducibility (alert); the match and review (crime). */
  sections: PackSection[];
  /** The one-line result of the replay check (alert packs) or of the match's recorded inputs. */
  reproducibility: { ok: boolean; line: string; details: string[] };
  /** Engine version line: "iom-geofence 0.1.0, commit abc1234 (…)". */
  engineVersion: string;
  disclaimer: string[];
  /** Pre-filled facts of the statement: what the exhibit is and what it covers. */
  witness: { exhibit: string; facts: string[] };
  /** SHA-256 (hex) of the pack's data: the same in the HTML and the PDF, printed on each. */
  digest: string;
}

/**
 * A reviewed (qualified) crime match, as the crime-matching routes hold it: everything a pack
 * needs, nothing more. `crimeMatchPack` (crime-pack.ts) turns it into a PackDocument.
 */
export interface CrimeMatchPackInput {
  crime: {
    /** The force's crime reference. */
    reference: string;
    /** e.g. "burglary dwelling". */
    type: string;
    /** The window the crime may have happened in (RFC 3339 or epoch ms). */
    from: string | number;
    to: string | number;
    /** WGS84 degrees (converted from BNG by the caller when the force sent easting/northing). */
    lat: number;
    lon: number;
    radiusM: number;
    /** The location as the force sent it, e.g. "BNG 530123 180456", printed beside the WGS84. */
    asSent?: string;
  };
  subject: { id: string; team: string; deviceId: string };
  match: {
    runId: string;
    /** The matching algorithm's version, recorded with the run. */
    algorithmVersion: string;
    /** Closest approach, metres from the crime location to the fix (before accuracy). */
    closestM: number;
    closestAt: string | number;
    /** Who qualified the match, when, and their note. */
    reviewedBy: string;
    reviewedAt: string | number;
    reviewNote: string;
    /** When the match was run. */
    ranAt: string | number;
  };
  /** The subject's fixes in the window (and a margin around it), any order. */
  trail: { deviceId?: string; seq: number; ts: string | number; lat: number; lon: number; accuracyM?: number | null; speedKmh?: number | null; headingDeg?: number | null }[];
  /** Seqs of the fixes that support the match (their accuracy circle reaches the radius). */
  supportingSeqs: number[];
  /** Gaps in reporting within the window. */
  gaps: { from: string | number; to: string | number }[];
  /** Who asked and why. */
  requestedBy: string;
  purpose: string;
  /** The accuracy assumed for fixes that gave none (default 10 m). */
  defaultAccuracyM?: number;
  /**
   * The result of re-running the match with its recorded inputs when the pack is made, e.g.
   * `{ ok: true, line: 'Reproduced: yes (same closest approach and 3 supporting fixes)' }`.
   * Absent: the pack says it was not re-checked (it never claims a check it did not make).
   */
  recheck?: { ok: boolean; line: string };
}
