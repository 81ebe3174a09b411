import type { ChainableCommander } from 'ioredis';
import type { Keys } from './keys.js';
import { stageFacets, type Facets } from './list-index.js';

/**
 * What each stored collection is listed and searched by (list-index.ts). Every write of a
 * subject, zone or device record stages the matching call here in the same MULTI.
 */

/** A subject as stored (the accepted body; defaults may be absent). */
export interface StoredSubject {
  id: string;
  deviceId?: unknown;
  team?: unknown;
  cohort?: unknown;
  risk?: unknown;
  status?: unknown;
  name?: unknown;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** Subjects: by team, cohort, risk, status; searched by id and name. Defaults as SubjectSchema gives them. */
export function subjectFacets(s: StoredSubject): Facets {
  const f: Record<string, string> = { risk: str(s.risk) ?? 'medium', status: str(s.status) ?? 'active' };
  const team = str(s.team);
  if (team !== null) f.team = team;
  const cohort = str(s.cohort);
  if (cohort !== null) f.cohort = cohort;
  const name = str(s.name);
  const deviceId = str(s.deviceId);
  return { f, s: name === null ? [s.id] : [s.id, name], ...(deviceId === null ? {} : { x: { device: deviceId } }) };
}

/** Stages a subject's index update (subject null: deleted) next to its record write. */
export function stageSubjectIndex(m: ChainableCommander, k: Keys, id: string, subject: StoredSubject | null): void {
  stageFacets(m, k.listIndex('subjects'), id, subject === null ? null : subjectFacets(subject));
}

/** What a zone is listed by: its layer and name (properties.layer, properties.name). */
export interface ZoneLabels {
  layer: string | null;
  name: string | null;
}

/** Zones: by layer; searched by id and name. */
export function zoneFacets(id: string, z: ZoneLabels): Facets {
  return { f: z.layer === null ? {} : { layer: z.layer }, s: z.name === null ? [id] : [id, z.name] };
}

/** The labels of a stored Feature, read without compiling it (migration). */
export function zoneLabelsOf(feature: unknown): ZoneLabels {
  const props = (feature as { properties?: { layer?: unknown; name?: unknown } } | null)?.properties ?? {};
  return { layer: str(props.layer), name: str(props.name) };
}

/** Stages a zone's index update (zone null: deleted) next to its record write. */
export function stageZoneIndex(m: ChainableCommander, k: Keys, id: string, zone: ZoneLabels | null): void {
  stageFacets(m, k.listIndex('zones'), id, zone === null ? null : zoneFacets(id, zone));
}

/** Devices: by kind and status; searched by id and serial. */
export function deviceFacets(id: string, d: { kind: string; status: string; serial?: string | undefined }): Facets {
  return { f: { kind: d.kind, status: d.status }, s: d.serial === undefined ? [id] : [id, d.serial] };
}

export function stageDeviceIndex(m: ChainableCommander, k: Keys, id: string, d: { kind: string; status: string; serial?: string | undefined } | null): void {
  stageFacets(m, k.listIndex('devices'), id, d === null ? null : deviceFacets(id, d));
}
