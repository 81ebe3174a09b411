// Nightly compaction of the archive (README "Crime-scene matching"): closed days of fixes are
// clustered by subject and time, one run at a time, each day once; open days are left alone,
// and nothing runs outside the quiet hours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactClosedDays, quietHour } from '../../src/evidence/crime/compact-day.js';
import { insertFixes, offset, type ArchiveFix } from '../support/crime.js';
import { freshArchive, type TestArchive } from '../support/pg.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-25T02:30:00Z');

function day(ms: number, n: number): ArchiveFix[] {
  const out: ArchiveFix[] = [];
  for (let i = 0; i < n; i++) out.push({ deviceId: `T-${i % 7}`, subjectId: `S-${i % 7}`, seq: i + 1, ms: ms + i * 1000, ...offset(i, 0), accuracyM: 10 });
  return out;
}

describe('closed-day compaction (real PostgreSQL)', () => {
  let a: TestArchive;
  beforeAll(async () => {
    a = await freshArchive();
    // Three closed days (20, 21, 22 Nov), and 23-25 Nov still open (within two days of their end).
    for (const d of [20, 21, 22, 23, 25]) await insertFixes(a.db, day(Date.UTC(2026, 10, d, 12), 50));
  });
  afterAll(async () => { await a?.drop(); });

  const clusteredDays = async (): Promise<string[]> => (await a.db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE x.indisclustered AND n.nspname = current_schema() ORDER BY 1`)).rows.map((r) => r.name);

  it('clusters the oldest closed day first, one per run, each once, and never an open day', async () => {
    expect(await compactClosedDays(a.db, NOW)).toEqual(['2026-11-20']);
    expect(await compactClosedDays(a.db, NOW, { maxDays: 5 })).toEqual(['2026-11-21', '2026-11-22']);
    expect(await compactClosedDays(a.db, NOW, { maxDays: 5 })).toEqual([]);
    expect(await clusteredDays()).toEqual(['fixes_p20261120', 'fixes_p20261121', 'fixes_p20261122']);
    // The rows are all still there, now in subject order within the day.
    const n = await a.db.query<{ n: string }>('SELECT count(*) AS n FROM fixes');
    expect(Number(n.rows[0].n)).toBe(250);
    const heapOrder = async (part: string): Promise<string[]> => (await a.db.query<{ s: string }>(`SELECT subject_id AS s FROM ${part}`)).rows.map((r) => r.s);
    const clustered = await heapOrder('fixes_p20261120');
    expect(clustered).toEqual([...clustered].sort());
    const open = await heapOrder('fixes_p20261125');
    expect(open).not.toEqual([...open].sort());
    // A day later, 23 Nov has closed.
    expect(await compactClosedDays(a.db, NOW + DAY, { maxDays: 5 })).toEqual(['2026-11-23']);
  });

  it('runs only in the quiet hours, 01:00-05:00 UK time (GMT in winter, BST in summer)', () => {
    expect(quietHour(Date.parse('2026-11-25T00:59:00Z'))).toBe(false);
    expect(quietHour(Date.parse('2026-11-25T01:00:00Z'))).toBe(true);
    expect(quietHour(Date.parse('2026-11-25T04:59:00Z'))).toBe(true);
    expect(quietHour(Date.parse('2026-11-25T05:00:00Z'))).toBe(false);
    // 00:30 UTC in July is 01:30 BST.
    expect(quietHour(Date.parse('2026-07-01T00:30:00Z'))).toBe(true);
    expect(quietHour(Date.parse('2026-07-01T04:30:00Z'))).toBe(false);
  });
});
