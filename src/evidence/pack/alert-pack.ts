/**
 * An alert episode's evidence pack, gathered from the archive (PostgreSQL): the episode's events
 * and decisions, the subject's trail around it, the condition and schedule in force when it
 * opened, the device's health, the engine version and the reproducibility check
 * (reproduce.ts). The result is a PackDocument for the renderers.
 *
 * A proximity episode's pack never holds the protected person's position: the victim's fixes are
 * read to work out each trail position's distance band ("within 500 m") and for the replay, and
 * go no further.
 */
import type pg from 'pg';
import { compileZone, haversineM, type PreparedZone } from '../../../geo/index.js';
import type { AlertEvent } from '../../engine/alert.js';
import { parseStoredSubject, type Settings, type SubjectParsed } from '../../engine/config.js';
import { configAsOf, deviceFixes, episodeDecisions, episodeEvents, subjectEvents, zonesAsOf, type ArchivedFix } from './archive-read.js';
import { DISCLAIMER, seal } from './common-text.js';
import { conditionsText } from './conditions-text.js';
import { engineVersion } from './engine-version.js';
import { duration, metres, ukLocal, utc, when } from './format.js';
import type { MapArea, PackDocument, PackFix, PackSection } from './model.js';
import { numberPositions, type RawPosition } from './positions.js';
import { reproduce } from './reproduce.js';

/** Trail shown around the episode: this long before its opening and after its close. */
export const TRAIL_MARGIN_MS = 30 * 60_000;
/** The longest trail a pack shows (from 30 min before the opening). */
export const MAX_TRAIL_MS = 24 * 3600_000;
/** The most positions a pack lists. */
export const MAX_POSITIONS = 2000;

const HEALTH_TYPES = new Set(['tamper', 'battery_low', 'no_fix', 'device_offline']);
const TYPE_WORDS: Record<string, string> = {
  exclusion: 'entered an exclusion zone', exclusion_buffer: 'within the warning band of an exclusion zone', curfew: 'absent from the curfew address during curfew',
  inclusion: 'outside the area they must stay in', proximity: 'within the protected distance of the protected person', proximity_warning: 'within the warning distance of the protected person',
  tamper: 'strap opened or tampered with', battery_low: 'tag battery low', no_fix: 'tag reporting without a position', device_offline: 'tag not reporting',
};

export interface AlertPackOptions {
  /** Engine settings in force (the service's ENGINE_SETTINGS): default accuracy, health thresholds, and the replay. */
  settings: Settings;
  requestedBy: string;
  purpose: string;
  /** Epoch ms the pack is made (default Date.now()). */
  now?: number;
}

function zoneLabel(id: string, body: unknown): string {
  const name = (body as { properties?: { name?: unknown } } | null)?.properties?.name;
  return typeof name === 'string' && name !== '' ? `zone ${id} (${name})` : `zone ${id}`;
}

/** The zone's outline for the map (GeoJSON Polygon, MultiPolygon, or Point + radiusM). */
function mapArea(id: string, body: unknown): MapArea | null {
  const f = body as { geometry?: { type?: string; coordinates?: unknown }; properties?: { radiusM?: unknown } };
  const g = f.geometry;
  const label = zoneLabel(id, body);
  if (g?.type === 'Polygon') return { kind: 'polygon', label, role: 'zone', polygons: [g.coordinates as number[][][]] };
  if (g?.type === 'MultiPolygon') return { kind: 'polygon', label, role: 'zone', polygons: g.coordinates as number[][][][] };
  if (g?.type === 'Point' && typeof f.properties?.radiusM === 'number') {
    const [lon, lat] = g.coordinates as number[];
    return { kind: 'circle', label, role: 'zone', lon, lat, radiusM: f.properties.radiusM };
  }
  return null;
}

function eventFixSeqs(events: readonly AlertEvent[]): Set<number> {
  return new Set(events.flatMap((e) => (e.fix === undefined ? [] : [e.fix.seq])));
}

/** The band a subject position is in, from the protected person's latest position (never printed). */
function proximityBand(p: RawPosition, victim: readonly ArchivedFix[], distanceM: number, warnM: number | undefined, staleMs: number): string {
  let latest: ArchivedFix | null = null;
  for (const v of victim) {
    if (v.ts > p.ts) break;
    if (v.lat !== null && v.lon !== null) latest = v;
  }
  if (latest === null || p.ts - latest.ts > staleMs) return 'protected person\'s position not known then';
  const d = haversineM(p.lon, p.lat, latest.lon as number, latest.lat as number);
  if (d <= distanceM) return `within ${metres(distanceM)} of protected person`;
  if (warnM !== undefined && d <= warnM) return `within ${metres(warnM)} of protected person`;
  return `more than ${metres(warnM ?? distanceM)} from protected person`;
}

/** Gaps in reporting: consecutive messages further apart than max(5 min, 3 × the median interval). */
export function reportingGaps(ts: readonly number[]): { from: number; to: number }[] {
  if (ts.length < 2) return [];
  const steps = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
  const limit = Math.max(5 * 60_000, 3 * steps[steps.length >> 1]);
  const gaps: { from: number; to: number }[] = [];
  for (let i = 1; i < ts.length; i++) if (ts[i] - ts[i - 1] > limit) gaps.push({ from: ts[i - 1], to: ts[i] });
  return gaps;
}

/** Builds the pack of one archived episode; null when the archive holds no event of it. */
export async function buildAlertPack(db: Pick<pg.Pool, 'query'>, episodeId: string, o: AlertPackOptions): Promise<PackDocument | null> {
  const events = await episodeEvents(db, episodeId);
  if (events.length === 0) return null;
  const now = o.now ?? Date.now();
  const first = events[0];
  const openMs = Date.parse(first.at);
  const closed = events.find((e) => e.event === 'closed');
  const closeMs = closed === undefined ? null : Date.parse(closed.at);
  const lastMs = Date.parse(events[events.length - 1].at);
  const decisions = await episodeDecisions(db, episodeId);

  // Configuration as of the opening.
  const subjectChange = await configAsOf(db, 'subject', first.subjectId, openMs);
  let subject: SubjectParsed | null = null;
  if (subjectChange?.body != null) {
    try {
      subject = parseStoredSubject(subjectChange.body).subject;
    } catch { /* reported below as not readable */ }
  }
  const condition = subject?.conditions.find((c) => c.id === first.conditionId) ?? null;
  const zoneIds = [...new Set([...(subject?.conditions ?? []).flatMap((c) => ('zone' in c && c.zone !== undefined ? [c.zone] : [])), ...(first.zoneId === undefined ? [] : [first.zoneId])])];
  const zoneRows = await zonesAsOf(db, zoneIds, [], openMs);
  const zoneBodies = new Map(zoneRows.map((z) => [z.itemId, z.body]));
  const zoneName = (id: string): string => zoneLabel(id, zoneBodies.get(id) ?? null);

  // The episode's zone (a layer episode names its zone on the event).
  const episodeZoneId = first.zoneId ?? (condition !== null && 'zone' in condition ? condition.zone : undefined);
  const episodeZoneBody = episodeZoneId === undefined ? undefined : zoneBodies.get(episodeZoneId);
  let prepared: PreparedZone | null = null;
  if (episodeZoneBody !== undefined) {
    try {
      prepared = compileZone(episodeZoneBody);
    } catch { prepared = null; }
  }

  // The trail around it, bounded.
  const fromMs = openMs - TRAIL_MARGIN_MS;
  let toMs = (closeMs ?? lastMs) + TRAIL_MARGIN_MS;
  const notes: string[] = [];
  if (toMs - fromMs > MAX_TRAIL_MS) {
    toMs = fromMs + MAX_TRAIL_MS;
    notes.push(`The episode lasted longer than the pack shows: positions are listed for 24 hours from 30 minutes before the opening.`);
  }
  const fixes = await deviceFixes(db, [first.deviceId], fromMs, toMs, 20 * MAX_POSITIONS);
  const located = fixes.filter((f) => f.lat !== null && f.lon !== null);
  const shown = located.slice(0, MAX_POSITIONS);
  if (located.length > shown.length) notes.push(`Only the first ${MAX_POSITIONS} of ${located.length} positions in the period are listed.`);

  const highlightSeqs = eventFixSeqs(events);
  let relationHeading = 'Battery / strap';
  const bySeq = new Map(fixes.map((f) => [f.seq, f]));
  let relation = (p: RawPosition): string => {
    const f = bySeq.get(p.seq);
    return `battery ${f?.battery == null ? 'n/a' : `${Math.round(f.battery * 100)}%`}, strap ${f?.strap ?? 'n/a'}`;
  };
  if (prepared !== null && episodeZoneId !== undefined) {
    const z = prepared;
    relationHeading = `Zone ${episodeZoneId}: inside / outside`;
    relation = (p) => {
      const d = z.signedDistanceM(p.lon, p.lat, 1e7);
      const m = Number.isFinite(d) ? `${metres(Math.abs(d))} from edge` : 'far from edge';
      return `${d >= 0 ? 'inside' : 'outside'}, ${m}`;
    };
  } else if (condition?.type === 'proximity') {
    const victim = await deviceFixes(db, [condition.victimDeviceId], fromMs - o.settings.victimStaleS * 1000, toMs, 50 * MAX_POSITIONS);
    relationHeading = 'Distance band from protected person';
    relation = (p) => proximityBand(p, victim, condition.distanceM, condition.warnM, o.settings.victimStaleS * 1000);
  }
  const positions: PackFix[] = numberPositions(
    shown.map((f) => ({ deviceId: f.deviceId, seq: f.seq, ts: f.ts, lat: f.lat as number, lon: f.lon as number, accuracyM: f.accuracyM })),
    o.settings.defaultAccuracyM, relation, (p) => highlightSeqs.has(p.seq),
  );
  const noOfSeq = new Map(positions.map((p) => [p.seq, p.no]));
  notes.push(
    `Positions of device ${first.deviceId} from ${when(fromMs)} to ${when(toMs)}: ${positions.length} position(s)` +
      `${fixes.length > located.length ? ` and ${fixes.length - located.length} status message(s) without a position` : ''}. Bold rows are the positions the events below refer to.`,
    'Speed is the straight-line distance from the previous position divided by the time between them; direction is shown only where that move is larger than the accuracy of both positions.',
  );
  if (positions.some((p) => p.accuracyAssumed)) notes.push(`Positions marked * gave no accuracy; ${metres(o.settings.defaultAccuracyM)} is assumed, as the engine assumes.`);

  const sections: PackSection[] = [];

  // Condition and schedule in force.
  sections.push({
    heading: 'Conditions and schedule in force when the episode opened',
    paragraphs: subject === null
      ? [`The subject's configuration at ${when(openMs)} is not in the archive.`]
      : [
        `As configured at ${when(subjectChange?.at ?? openMs)} (archive configuration version ${subjectChange?.version ?? '?'}), in force at ${when(openMs)}. Risk of serious harm: ${subject.risk.replace('_', ' ')}${subject.mappaLevel === undefined ? '' : `; MAPPA level ${subject.mappaLevel}`}.`,
        ...conditionsText(subject, zoneName),
        first.conditionId === undefined
          ? `This episode is a device-health alert (${first.type}): ${TYPE_WORDS[first.type] ?? first.type}.`
          : `This episode concerns condition ${first.conditionId}${first.zoneId === undefined ? '' : `, ${zoneName(first.zoneId)}`}: ${TYPE_WORDS[first.type] ?? first.type}.`,
      ],
  });

  // Events.
  sections.push({
    heading: 'Episode events (as archived)',
    paragraphs: [closeMs === null
      ? `The episode opened at ${when(openMs)} and was still open at the last archived event (${when(lastMs)}).`
      : `The episode opened at ${when(openMs)} and closed at ${when(closeMs)} (${duration(closeMs - openMs)}).`],
    table: {
      columns: ['Event', 'Type', 'UK local time', 'UTC', 'Confidence', 'Severity', 'Position no.', 'Note'],
      rows: events.map((e) => {
        const t = Date.parse(e.at);
        const no = e.fix === undefined ? 'timer' : (noOfSeq.get(e.fix.seq) ?? `seq ${e.fix.seq}`);
        const note = [e.withinM === undefined ? '' : `within ${metres(e.withinM)}`, e.late ? 'late upload' : ''].filter((x) => x !== '').join('; ');
        return [e.event, e.type, ukLocal(t), utc(t), e.confidence, e.severity, String(no), note];
      }),
    },
  });

  // Decisions.
  sections.push({
    heading: 'Decisions recorded',
    paragraphs: decisions.length === 0 ? ['No decision was recorded on this episode.'] : [],
    ...(decisions.length === 0 ? {} : {
      table: {
        columns: ['UK local time', 'By', 'Role', 'Outcome', 'Note'],
        rows: decisions.map((d) => [ukLocal(Date.parse(String(d.at))), String(d.by ?? ''), String(d.role ?? ''), String(d.outcome ?? '').replaceAll('_', ' '), String(d.note ?? '')]),
      },
    }),
  });

  // Device health around it.
  const health: string[] = [];
  const batteries = fixes.filter((f) => f.battery !== null);
  health.push(`${fixes.length} message(s) from device ${first.deviceId} in the period shown (${located.length} with a position).`);
  if (batteries.length > 0) {
    const min = batteries.reduce((a, b) => ((b.battery as number) < (a.battery as number) ? b : a));
    health.push(`Battery: ${Math.round((batteries[0].battery as number) * 100)}% at the start, ${Math.round((batteries[batteries.length - 1].battery as number) * 100)}% at the end, lowest ${Math.round((min.battery as number) * 100)}% at ${ukLocal(min.ts)} (alert below ${Math.round(o.settings.batteryLowBelow * 100)}%).`);
  } else health.push('Battery: not reported in the period.');
  const strapIssues = fixes.filter((f) => f.strap !== null && f.strap !== 'ok');
  health.push(strapIssues.length === 0
    ? `Strap: ${fixes.some((f) => f.strap === 'ok') ? 'reported closed (ok) throughout' : 'not reported in the period'}.`
    : `Strap: reported ${strapIssues.map((f) => `${f.strap} at ${ukLocal(f.ts)}`).slice(0, 10).join(', ')}${strapIssues.length > 10 ? ` and ${strapIssues.length - 10} more` : ''}.`);
  const gaps = reportingGaps(fixes.map((f) => f.ts));
  health.push(gaps.length === 0
    ? 'Gaps in reporting: none longer than 5 minutes (or three times the usual interval).'
    : `Gaps in reporting: ${gaps.map((g) => `${ukLocal(g.from)} to ${ukLocal(g.to)} (${duration(g.to - g.from)})`).join('; ')}.`);
  const lateCount = fixes.filter((f) => f.late).length;
  if (lateCount > 0) health.push(`${lateCount} message(s) arrived late (uploaded after newer ones: the tag was out of coverage and sent them afterwards).`);
  const healthEvents = (await subjectEvents(db, first.subjectId, fromMs - MAX_TRAIL_MS, toMs)).filter((e) => HEALTH_TYPES.has(e.type) && e.episodeId !== episodeId);
  const byEpisode = new Map<string, AlertEvent[]>();
  for (const e of healthEvents) byEpisode.set(e.episodeId, [...(byEpisode.get(e.episodeId) ?? []), e]);
  for (const evs of byEpisode.values()) {
    const op = evs.find((e) => e.event === 'opened'), cl = evs.find((e) => e.event === 'closed');
    const opMs = op === undefined ? -Infinity : Date.parse(op.at), clMs = cl === undefined ? Infinity : Date.parse(cl.at);
    if (clMs < fromMs || opMs > toMs) continue;
    health.push(`Device-health alert ${evs[0].type}: ${op === undefined ? 'open before the period' : `opened ${ukLocal(opMs)}`}, ${cl === undefined ? 'not closed in the period' : `closed ${ukLocal(clMs)}`}.`);
  }
  sections.push({ heading: 'Device health around the episode', paragraphs: health });

  // Engine version and the reproducibility check.
  const version = engineVersion();
  sections.push({
    heading: 'Engine version',
    paragraphs: [
      `Made by ${version}. The version is read from package.json and the commit from the git checkout the service runs from, when the service makes its first pack.`,
      'Archived alert events do not record the engine version that raised them; the reproducibility check below replays them through this version.',
    ],
  });
  const check = await reproduce(db, events, o.settings);

  const identifiers: [string, string][] = [
    ['Alert episode', episodeId],
    ['Subject', `${first.subjectId}${subject?.name === undefined ? '' : ` (${subject.name})`}`],
    ['Team', first.team],
    ['Device', first.deviceId],
    ['Alert type', `${first.type}: ${TYPE_WORDS[first.type] ?? ''}`],
    ['Severity', `${events[events.length - 1].severity} (confidence ${events[events.length - 1].confidence})`],
    ['Opened', when(openMs)],
    ['Closed', closeMs === null ? `not closed (last archived event ${when(lastMs)})` : when(closeMs)],
  ];
  const areas = episodeZoneId !== undefined && episodeZoneBody !== undefined ? [mapArea(episodeZoneId, episodeZoneBody)].filter((a): a is MapArea => a !== null) : [];
  const caption = condition?.type === 'proximity'
    ? 'The trail of the subject (numbered positions, accuracy circles). The protected person\'s position is not shown.'
    : areas.length > 0 ? `${areas[0].label} and the trail of the subject (numbered positions, accuracy circles).` : 'The trail of the subject (numbered positions, accuracy circles).';

  return seal({
    kind: 'alert-episode',
    title: `Evidence pack: ${first.type.replaceAll('_', ' ')} alert`,
    identifiers,
    generatedAt: now,
    requestedBy: o.requestedBy,
    purpose: o.purpose,
    map: { areas, caption },
    positions,
    relationHeading,
    positionsNotes: notes,
    sections,
    reproducibility: check,
    engineVersion: version,
    disclaimer: [...DISCLAIMER],
    witness: {
      exhibit: `Evidence pack for alert episode ${episodeId}`,
      facts: [
        `This exhibit sets out the positions recorded by electronic monitoring device ${first.deviceId}, worn by subject ${first.subjectId}, between ${when(fromMs)} and ${when(toMs)}: ${positions.length} position(s), numbered 1 to ${positions.length} in the positions table and on the map.`,
        `It records alert episode ${episodeId} (${first.type}), opened ${when(openMs)}${closeMs === null ? '' : ` and closed ${when(closeMs)}`}, and the ${decisions.length} decision(s) recorded on it.`,
      ],
    },
  });
}
