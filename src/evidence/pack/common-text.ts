/** The fixed wording every pack carries (disclaimer, witness statement) and its digest. */
import { createHash } from 'node:crypto';
import type { PackDocument } from './model.js';

export const DISCLAIMER: readonly string[] = [
  'A position near a place is not proof that the person committed an offence, nor that they were at that exact spot. ' +
    'It shows where the tag estimated itself to be, at the time its own clock recorded, within the accuracy stated.',
  'GPS accuracy: every position is an estimate. The accuracy figure (metres) is the radius of the circle drawn around the point on the map; ' +
    'the true position is usually inside it, but not always. Buildings, narrow streets, being indoors and weather make positions worse and can make a trail jump.',
  'Nothing is recorded between two positions: the line joining them is drawn to make the order easy to follow and is not the route taken. ' +
    'Speed and direction are worked out from consecutive positions and are approximate (a straight line is the shortest possible path).',
  'Times are the tag\'s own clock, shown as UK local time (GMT or BST) and as UTC.',
  'This pack was produced automatically from the monitoring archive. It must be reviewed by a person before it is relied on, and read with the witness statement below.',
];

export const WITNESS = {
  heading: 'WITNESS STATEMENT',
  act: 'Criminal Justice Act 1967, s.9; Magistrates\' Courts Act 1980, s.5A(3)(a) and s.5B; Criminal Procedure Rules 2020, r.16.2',
  fields: ['Statement of:', 'Age if under 18:', 'Occupation:'],
  ageDefault: 'over 18',
  declaration: 'This statement (consisting of ____ page(s) each signed by me) is true to the best of my knowledge and belief and I make it knowing that, ' +
    'if it is tendered in evidence, I shall be liable to prosecution if I have wilfully stated in it anything which I know to be false, or do not believe to be true.',
  signature: ['Signature:', 'Date:'],
  body: 'Statement (to be completed by the witness):',
} as const;

/** Keys sorted at every level. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Seals a document: SHA-256 of everything in it but the digest itself. */
export function seal(doc: Omit<PackDocument, 'digest'>): PackDocument {
  return { ...doc, digest: createHash('sha256').update(canonical(doc)).digest('hex') };
}
