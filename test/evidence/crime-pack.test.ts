// A crime-match pack from a hand-built reviewed match (the crime-matching routes build the same
// input at merge time): the same renderers as an alert pack, read back with pdftotext.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crimeMatchPack, renderHtml, renderPdf, type CrimeMatchPackInput } from '../../src/evidence/pack/index.js';
import { pdfPage, pdfText, squash } from './pdf-tools.js';

const T0 = Date.parse('2026-11-23T01:00:00Z');
const CRIME = { lat: 53.80080, lon: -1.54910 };

/** A walk north through the crime location at one fix a minute, 1 m/s. */
function trail(): CrimeMatchPackInput['trail'] {
  const out: CrimeMatchPackInput['trail'] = [];
  for (let i = 0; i < 20; i++) {
    out.push({ seq: 500 + i, ts: new Date(T0 + i * 60_000).toISOString(), lat: CRIME.lat - 0.0054 + i * 0.00054, lon: CRIME.lon + 0.0003, accuracyM: i === 7 ? null : 8 + (i % 3) * 4 });
  }
  return out;
}

export function crimeInput(over: Partial<CrimeMatchPackInput> = {}): CrimeMatchPackInput {
  return {
    crime: { reference: 'WY-2026-118822', type: 'burglary dwelling', from: '2026-11-23T01:00:00Z', to: '2026-11-23T03:00:00Z', lat: CRIME.lat, lon: CRIME.lon, radiusM: 100, asSent: 'BNG 429950 433570' },
    subject: { id: 'S-LEEDS-7', team: 'iom-leeds', deviceId: 'TAG-7707' },
    match: { runId: 'run-42', algorithmVersion: 'crime-match 1.0', closestM: 20.4, closestAt: new Date(T0 + 10 * 60_000).toISOString(), reviewedBy: 'DC A. Patel', reviewedAt: '2026-11-24T09:30:00Z', reviewNote: 'Trail passes the address at the time of the offence.', ranAt: '2026-11-24T09:00:00Z' },
    trail: trail(),
    supportingSeqs: [509, 510, 511],
    gaps: [{ from: '2026-11-23T01:20:00Z', to: '2026-11-23T02:10:00Z' }],
    requestedBy: 'operator (token 1a2b3c4d)',
    purpose: 'Disclosure to West Yorkshire Police, op. Larch',
    ...over,
  };
}

describe('crime-match evidence pack', () => {
  it('lists the trail, the supporting fixes, the gap and the review, in HTML and PDF alike', async () => {
    const doc = crimeMatchPack(crimeInput(), Date.parse('2026-11-24T10:00:00Z'));
    expect(doc.positions).toHaveLength(20);
    expect(doc.positions.filter((p) => p.highlight).map((p) => p.no)).toEqual([10, 11, 12]);
    // Fix 11 (seq 510) is 33 m east of the crime location; fix 1 is 600 m south.
    expect(doc.positions[10].relation).toMatch(/^\d+ m from crime location \(within radius, with accuracy\)$/);
    expect(doc.positions[0].relation).not.toContain('within radius');
    // The fix with no accuracy is marked as assumed.
    expect(doc.positions[7].accuracyAssumed).toBe(true);

    const html = renderHtml(doc);
    expect(html).toContain('WY-2026-118822');
    expect(html).toContain('BNG 429950 433570');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain(doc.digest);

    const pdf = await renderPdf(doc);
    const text = squash(pdfText(pdf));
    expect(text).toContain('Evidence pack: crime-scene match');
    // Row 11: number, UK local, UTC, lat, lon, accuracy, as in the input.
    const f = doc.positions[10];
    expect(text).toContain(`11 Mon 23/11/2026 01:10:00 GMT 2026-11-23 01:10:00Z ${f.lat.toFixed(5)} ${f.lon.toFixed(5)} ${Math.round(f.accuracyM)}`);
    expect(text).toContain('8 Mon 23/11/2026 01:07:00 GMT 2026-11-23 01:07:00Z');
    expect(text).toMatch(/Gaps in reporting within the window.*Mon 23\/11\/2026 01:20:00 GMT to Mon 23\/11\/2026 02:10:00 GMT \(50 min\)/);
    expect(text).toContain('Qualified by DC A. Patel');
    expect(text).toContain('Not re-checked when this pack was made');
    expect(text).toContain('WITNESS STATEMENT');
    expect(text).toContain('is true to the best of my knowledge and belief');
    expect(text).toContain('Age if under 18: over 18');
    expect(text).toContain(doc.digest);

    if (process.env.PACK_SAMPLE_DIR !== undefined) {
      mkdirSync(process.env.PACK_SAMPLE_DIR, { recursive: true });
      copyFileSync(pdfPage(pdf, 1, 80), `${process.env.PACK_SAMPLE_DIR}/crime-page-1.png`);
      copyFileSync(pdfPage(pdf, 2, 80), `${process.env.PACK_SAMPLE_DIR}/crime-page-2.png`);
      writeFileSync(`${process.env.PACK_SAMPLE_DIR}/crime.html`, html);
    }
  });

  it('says when the match was re-checked, and refuses a location out of range', () => {
    const doc = crimeMatchPack(crimeInput({ recheck: { ok: true, line: 'Reproduced: yes (same closest approach, 3 supporting fixes)' } }));
    expect(doc.reproducibility).toMatchObject({ ok: true, line: 'Reproduced: yes (same closest approach, 3 supporting fixes)' });
    expect(() => crimeMatchPack(crimeInput({ crime: { ...crimeInput().crime, lat: 123 } }))).toThrow(/out of range/);
  });
});
