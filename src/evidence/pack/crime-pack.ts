/**
 * A qualified crime match's evidence pack: the crime location and radius, the subject's trail in
 * the window, the supporting fixes, gaps in reporting, the run's algorithm version and the
 * review. Built from a `CrimeMatchPackInput` (model.ts) that the crime-matching routes assemble;
 * rendered by the same renderers as an alert-episode pack.
 */
import { haversineM } from '../../../geo/index.js';
import { parseTime } from '../../engine/time.js';
import { DISCLAIMER, seal } from './common-text.js';
import { engineVersion } from './engine-version.js';
import { duration, metres, ukLocal, utc, when } from './format.js';
import type { CrimeMatchPackInput, PackDocument } from './model.js';
import { numberPositions } from './positions.js';

/** The most positions a crime-match pack lists. */
export const MAX_CRIME_POSITIONS = 2000;

function ms(v: string | number, what: string): number {
  const t = parseTime(v);
  if (Number.isNaN(t)) throw new Error(`crime-match pack: ${what} is not an RFC 3339 time or epoch ms: ${JSON.stringify(v)}`);
  return t;
}

/** Turns a reviewed match into a pack. Throws when the input is not a qualified, well-formed match. */
export function crimeMatchPack(input: CrimeMatchPackInput, now = Date.now()): PackDocument {
  const { crime, subject, match } = input;
  const fromMs = ms(crime.from, 'crime.from'), toMs = ms(crime.to, 'crime.to');
  if (!(crime.radiusM > 0) || Math.abs(crime.lat) > 90 || Math.abs(crime.lon) > 180) throw new Error('crime-match pack: crime location or radius out of range');
  const defaultAcc = input.defaultAccuracyM ?? 10;
  const supporting = new Set(input.supportingSeqs);
  const trail = input.trail.slice(0, MAX_CRIME_POSITIONS).map((f) => ({
    deviceId: f.deviceId ?? subject.deviceId, seq: f.seq, ts: ms(f.ts, `trail seq ${f.seq} ts`), lat: f.lat, lon: f.lon,
    accuracyM: f.accuracyM ?? null, speedKmh: f.speedKmh ?? null, headingDeg: f.headingDeg ?? null,
  }));
  const positions = numberPositions(trail, defaultAcc, (p) => {
    const d = haversineM(crime.lon, crime.lat, p.lon, p.lat);
    const reach = d - (p.accuracyM ?? defaultAcc);
    const inWindow = p.ts >= fromMs && p.ts <= toMs;
    return `${metres(d)} from crime location${reach <= crime.radiusM ? ' (within radius, with accuracy)' : ''}${inWindow ? '' : ' [outside window]'}`;
  }, (p) => supporting.has(p.seq));
  const noOfSeq = new Map(positions.map((p) => [p.seq, p.no]));
  const closestMs = ms(match.closestAt, 'match.closestAt');
  const notes = [
    `Positions of device ${subject.deviceId} supplied with the match: ${positions.length}${input.trail.length > positions.length ? ` (the first ${MAX_CRIME_POSITIONS} of ${input.trail.length})` : ''}. Bold rows are the positions that support the match (their accuracy circle reaches the crime radius).`,
    'Distance is from the crime location to the plotted position; "within radius, with accuracy" means the accuracy circle reaches within the search radius.',
  ];
  const location = `${crime.lat.toFixed(5)}, ${crime.lon.toFixed(5)} (WGS84)${crime.asSent === undefined ? '' : `; as sent: ${crime.asSent}`}`;
  const version = engineVersion();
  const recorded = `Recorded inputs: run ${match.runId}, algorithm ${match.algorithmVersion}, crime window ${utc(fromMs)} to ${utc(toMs)}, radius ${metres(crime.radiusM)}.`;
  return seal({
    kind: 'crime-match',
    title: 'Evidence pack: crime-scene match',
    identifiers: [
      ['Crime reference', crime.reference],
      ['Crime type', crime.type],
      ['Crime window', `${when(fromMs)} to ${when(toMs)} (${duration(toMs - fromMs)})`],
      ['Crime location', location],
      ['Search radius', metres(crime.radiusM)],
      ['Subject', subject.id],
      ['Team', subject.team],
      ['Device', subject.deviceId],
      ['Match run', `${match.runId} (${when(ms(match.ranAt, 'match.ranAt'))})`],
    ],
    generatedAt: now,
    requestedBy: input.requestedBy,
    purpose: input.purpose,
    map: {
      areas: [{ kind: 'circle', label: `search radius ${metres(crime.radiusM)}`, role: 'crime', lon: crime.lon, lat: crime.lat, radiusM: crime.radiusM }],
      marker: { lon: crime.lon, lat: crime.lat, label: `crime ${crime.reference}` },
      caption: `Crime location ${crime.reference} (cross) with the ${metres(crime.radiusM)} search radius, and the subject's trail (numbered positions, accuracy circles).`,
    },
    positions,
    relationHeading: 'Distance from crime location',
    positionsNotes: notes,
    sections: [
      {
        heading: 'The match',
        paragraphs: [
          `Closest approach: ${metres(match.closestM)} from the crime location at ${when(closestMs)}${noOfSeq.has(positions.find((p) => p.ts === closestMs)?.seq ?? -1) ? ` (position ${positions.find((p) => p.ts === closestMs)?.no})` : ''}.`,
          `Supporting positions: ${input.supportingSeqs.map((s) => (noOfSeq.has(s) ? `no. ${noOfSeq.get(s)}` : `seq ${s}`)).join(', ') || 'none listed'}.`,
          input.gaps.length === 0
            ? 'Gaps in reporting within the window: none.'
            : `Gaps in reporting within the window (the subject's whereabouts are unknown then): ${input.gaps.map((g) => `${ukLocal(ms(g.from, 'gap.from'))} to ${ukLocal(ms(g.to, 'gap.to'))} (${duration(ms(g.to, 'gap.to') - ms(g.from, 'gap.from'))})`).join('; ')}.`,
        ],
      },
      {
        heading: 'Review',
        paragraphs: [`Qualified by ${match.reviewedBy} at ${when(ms(match.reviewedAt, 'match.reviewedAt'))}.`, `Reviewer's note: ${match.reviewNote === '' ? '(none)' : match.reviewNote}`],
      },
      { heading: 'Engine version', paragraphs: [`Pack made by ${version}. Matching algorithm: ${match.algorithmVersion}, recorded with run ${match.runId}.`] },
    ],
    reproducibility: input.recheck !== undefined
      ? { ok: input.recheck.ok, line: input.recheck.line, details: [recorded] }
      : { ok: false, line: `Not re-checked when this pack was made. ${recorded}`, details: [] },
    engineVersion: version,
    disclaimer: [...DISCLAIMER],
    witness: {
      exhibit: `Evidence pack for crime reference ${crime.reference}, match run ${match.runId}, subject ${subject.id}`,
      facts: [
        `This exhibit sets out the positions recorded by electronic monitoring device ${subject.deviceId}, worn by subject ${subject.id}, supplied with match run ${match.runId}: ${positions.length} position(s), numbered 1 to ${positions.length} in the positions table and on the map.`,
        `The closest recorded position was ${metres(match.closestM)} from the crime location given for ${crime.reference}, at ${when(closestMs)}.`,
      ],
    },
  });
}
