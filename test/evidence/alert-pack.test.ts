// Alert-episode evidence packs built from archive rows in a REAL PostgreSQL/PostGIS (the rows the
// archive copier writes), read back as a person would: the PDF through pdftotext, a page through
// pdftoppm. The reproducibility line is checked against a true history and a tampered one.
import { copyFileSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { SettingsSchema } from '../../src/engine/config.js';
import { ukLocal, utc } from '../../src/evidence/pack/format.js';
import { buildAlertPack, renderHtml, renderPdf, type PackDocument } from '../../src/evidence/pack/index.js';
import { freshArchive, type TestArchive } from '../support/pg.js';
import { archiveScenario, insertDecision } from './archive-fixture.js';
import { curfewScenario, exclusionScenario, proximityScenario, VICTIM } from './scenarios.js';
import { pdfPage, pdfPages, pdfText, squash } from './pdf-tools.js';

const settings = SettingsSchema.parse({});
const opts = { settings, requestedBy: 'operator (token 0badf00d)', purpose: 'Breach report to Leeds Magistrates, case 4471', now: Date.parse('2026-12-01T10:00:00Z') };

let a: TestArchive;
const events: Record<string, AlertEvent[]> = {};
beforeAll(async () => {
  a = await freshArchive();
  events.curfew = await archiveScenario(a.db, curfewScenario());
  events.exclusion = await archiveScenario(a.db, exclusionScenario());
  events.proximity = await archiveScenario(a.db, proximityScenario());
});
afterAll(async () => {
  await a?.drop();
});

const episode = (kind: string, type: string): string => (events[kind].find((e) => e.type === type && e.event === 'opened') as AlertEvent).episodeId;

/** The archive's positions of a device in [from, to], as the table must list them. */
async function archivedPositions(deviceId: string, fromMs: number, toMs: number): Promise<{ ts: Date; lat: number; lon: number; accuracy_m: number }[]> {
  const r = await a.db.query('SELECT ts, lat, lon, accuracy_m FROM fixes WHERE device_id = $1 AND ts BETWEEN $2 AND $3 AND lat IS NOT NULL ORDER BY ts, seq', [deviceId, new Date(fromMs), new Date(toMs)]);
  return r.rows;
}

function expectTableMatchesArchive(text: string, rows: { ts: Date; lat: number; lon: number; accuracy_m: number }[]): void {
  rows.forEach((r, i) => {
    const t = r.ts.getTime();
    expect(text, `positions row ${i + 1}`).toContain(`${i + 1} ${ukLocal(t)} ${utc(t)} ${r.lat.toFixed(5)} ${r.lon.toFixed(5)} ${Math.round(r.accuracy_m)}`);
  });
}

describe('alert-episode evidence packs from the archive (real PostgreSQL/PostGIS)', () => {
  it('a curfew breach: positions table and witness statement match the archive rows; reproduced', async () => {
    const id = episode('curfew', 'curfew');
    expect(id).toBe('S-CUR:c2:2026-11-23T19:05:00Z');
    await insertDecision(a.db, id, 0, { by: 'PC 1234 Jones', role: 'team:iom-north', tokenId: 'aa11bb22', outcome: 'warning', note: 'Spoke to subject by phone at 19:20.', at: '2026-11-23T19:21:00Z' });
    const doc = await buildAlertPack(a.db, id, opts) as PackDocument;
    expect(doc.reproducibility).toMatchObject({ ok: true, line: 'Reproduced: yes (2 events identical)' });
    // Trail: 30 minutes before the opening (18:35) to 30 minutes after the close (20:08).
    const rows = await archivedPositions('TAG-C', Date.parse('2026-11-23T18:35:00Z'), Date.parse('2026-11-23T20:08:00Z'));
    expect(doc.positions).toHaveLength(rows.length);
    expect(rows.length).toBe(74);

    const pdf = await renderPdf(doc);
    const text = squash(pdfText(pdf));
    expectTableMatchesArchive(text, rows);
    // The fix that opened it (19:05) and the one that closed it (19:38) are in the table, in bold in the PDF.
    expect(text).toContain('31 Mon 23/11/2026 19:05:00 GMT 2026-11-23 19:05:00Z');
    // Condition in plain words, events, decision, device health.
    expect(text).toContain("Must be at zone Z-home-C (Curfew address) 19:00–07:00 daily (overnight, ending the next morning), 5 minutes' grace.");
    expect(text).toMatch(/opened curfew Mon 23\/11\/2026 19:05:00 GMT 2026-11-23 19:05:00Z confirmed high 31/);
    expect(text).toMatch(/closed curfew Mon 23\/11\/2026 19:38:00 GMT 2026-11-23 19:38:00Z confirmed high 64/);
    expect(text).toContain('PC 1234 Jones');
    expect(text).toContain('Spoke to subject by phone at 19:20.');
    expect(text).toMatch(/Battery: \d+% at the start, \d+% at the end, lowest \d+%/);
    expect(text).toContain('Strap: reported closed (ok) throughout.');
    expect(text).toContain('Gaps in reporting: Mon 23/11/2026 19:44:00 GMT to Mon 23/11/2026 20:05:00 GMT (21 min).');
    expect(text).toMatch(/iom-geofence 0\.1\.0, git commit ([0-9a-f]{40}|unknown)/);
    expect(text).toContain('Reproduced: yes (2 events identical)');
    expect(text).toContain('A position near a place is not proof that the person committed an offence');
    // Witness statement: heading, fields, declaration, and facts that match the archive.
    expect(text).toContain('WITNESS STATEMENT Criminal Justice Act 1967, s.9');
    expect(text).toContain('Statement of: Age if under 18: over 18 Occupation:');
    expect(text).toContain('This statement (consisting of ____ page(s) each signed by me) is true to the best of my knowledge and belief');
    expect(text).toContain(`the positions recorded by electronic monitoring device TAG-C, worn by subject S-CUR, between Mon 23/11/2026 18:35:00 GMT (2026-11-23 18:35:00Z) and Mon 23/11/2026 20:08:00 GMT (2026-11-23 20:08:00Z): ${rows.length} position(s)`);
    expect(text).toContain('Purpose stated Breach report to Leeds Magistrates, case 4471');
    const pages = pdfPages(pdf);
    expect(text).toContain(`page ${pages} of ${pages}`);

    // The HTML carries the same pack (same digest), self-contained.
    const html = renderHtml(doc);
    expect(html).toContain(doc.digest);
    expect(html).not.toMatch(/<script|<link|<img|url\(http|src="http/);

    if (process.env.PACK_SAMPLE_DIR !== undefined) {
      mkdirSync(process.env.PACK_SAMPLE_DIR, { recursive: true });
      for (const p of [1, 2, 3, 4, pages]) copyFileSync(pdfPage(pdf, p, 80), `${process.env.PACK_SAMPLE_DIR}/curfew-page-${p}.png`);
      copyFileSync(pdfPage(pdf, 1, 110), `${process.env.PACK_SAMPLE_DIR}/curfew-page-1-110.png`);
    }
  });

  it('an exclusion: the zone, inside/outside per position, the tamper nearby in device health; reproduced', async () => {
    const id = episode('exclusion', 'exclusion');
    const doc = await buildAlertPack(a.db, id, opts) as PackDocument;
    expect(doc.reproducibility.ok).toBe(true);
    expect(doc.reproducibility.line).toBe('Reproduced: yes (2 events identical)');
    // Opened 10:59 (seq 1179), closed 11:15: rows inside the zone say so.
    const opened = doc.positions.find((p) => p.seq === 1179) as PackDocument['positions'][number];
    expect(opened.highlight).toBe(true);
    expect(opened.relation).toMatch(/^inside, \d+ m from edge$/);
    expect(doc.positions[0].relation).toMatch(/^outside, /);
    const text = squash(pdfText(await renderPdf(doc)));
    expect(text).toContain("Must not enter zone Z-victim (victim's home) at any time; a warning is raised within 100 m of its edge.");
    expect(text).toContain('Zone Z-victim: inside / outside');
    expect(text).toMatch(/Strap: reported open at Mon 23\/11\/2026 11:20:00 GMT/);
    expect(text).toMatch(/Device-health alert tamper: opened Mon 23\/11\/2026 11:20:00 GMT, closed Mon 23\/11\/2026 11:21:00 GMT/);
    const rows = await archivedPositions('TAG-E', Date.parse('2026-11-23T10:29:00Z'), Date.parse('2026-11-23T11:45:00Z'));
    expectTableMatchesArchive(text, rows);
  });

  it('a proximity breach: distance bands only; the protected person\'s position is in neither the HTML nor the PDF', async () => {
    const id = episode('proximity', 'proximity');
    const doc = await buildAlertPack(a.db, id, opts) as PackDocument;
    expect(doc.reproducibility.line).toBe('Reproduced: yes (2 events identical)');
    expect(doc.map.areas).toEqual([]);
    expect(doc.positions.some((p) => p.relation === 'within 500 m of protected person')).toBe(true);
    expect(doc.positions.some((p) => p.relation === 'within 1,000 m of protected person')).toBe(true);
    const html = renderHtml(doc);
    const pdf = await renderPdf(doc);
    const text = pdfText(pdf);
    const json = JSON.stringify(doc);
    if (process.env.PACK_SAMPLE_DIR !== undefined) copyFileSync(pdfPage(pdf, 1, 80), `${process.env.PACK_SAMPLE_DIR}/proximity-page-1.png`);
    for (const out of [html, text, json]) {
      for (const v of [VICTIM.lat, VICTIM.lon]) {
        for (const digits of [4, 5, 6]) expect(out).not.toContain(v.toFixed(digits));
      }
      expect(out).not.toContain('VIC-9');
    }
    expect(squash(text)).toContain('Must stay more than 500 m from the protected person\'s device at all times; a warning is raised within 1,000 m.');
    expect(squash(text)).toContain('The protected person\'s position is not shown.');
  });

  it('says NOT reproduced when an archived event was tampered with, and names the difference', async () => {
    const id = episode('exclusion', 'exclusion');
    await a.db.query(`UPDATE alert_events SET body = jsonb_set(body, '{at}', '"2026-11-23T11:12:00Z"') WHERE episode_id = $1 AND event = 'closed'`, [id]);
    try {
      const doc = await buildAlertPack(a.db, id, opts) as PackDocument;
      expect(doc.reproducibility.ok).toBe(false);
      expect(doc.reproducibility.line).toBe('NOT reproduced: event 2 (closed) differs: at: archived "2026-11-23T11:12:00Z", replay "2026-11-23T11:15:00Z"');
      const text = squash(pdfText(await renderPdf(doc)));
      expect(text).toContain('NOT reproduced: event 2 (closed) differs');
    } finally {
      await a.db.query(`UPDATE alert_events SET body = jsonb_set(body, '{at}', '"2026-11-23T11:15:00Z"') WHERE episode_id = $1 AND event = 'closed'`, [id]);
    }
    // A moved fix is caught as well: the replay no longer opens the episode at that fix.
    await a.db.query(`UPDATE fixes SET lat = lat + 0.01 WHERE device_id = 'TAG-E' AND seq = 1179`);
    try {
      const doc = await buildAlertPack(a.db, id, opts) as PackDocument;
      expect(doc.reproducibility.ok).toBe(false);
      expect(doc.reproducibility.line).toMatch(/^NOT reproduced: /);
    } finally {
      await a.db.query(`UPDATE fixes SET lat = lat - 0.01 WHERE device_id = 'TAG-E' AND seq = 1179`);
    }
  });

  it('uses the configuration in force at the opening, not a later one', async () => {
    const id = episode('curfew', 'curfew');
    const later = curfewScenario().subjects[0];
    await a.db.query('INSERT INTO config_changes (kind, item_id, at, body) VALUES ($1, $2, $3, $4)', ['subject', 'S-CUR', new Date('2026-11-25T09:00:00Z'),
      JSON.stringify({ ...later, conditions: [{ ...later.conditions?.[0], graceS: 900, schedule: { windows: [{ days: ['mon'], start: '20:00', end: '06:00' }] } }] })]);
    const doc = await buildAlertPack(a.db, id, opts) as PackDocument;
    const text = doc.sections.flatMap((s) => s.paragraphs).join('\n');
    expect(text).toContain("19:00–07:00 daily (overnight, ending the next morning), 5 minutes' grace");
    expect(text).not.toContain('20:00');
    expect(doc.reproducibility.ok).toBe(true);
  });

  it('is null for an episode the archive does not hold', async () => {
    expect(await buildAlertPack(a.db, 'S-CUR:c2:2026-11-24T19:05:00Z', opts)).toBeNull();
  });
});
