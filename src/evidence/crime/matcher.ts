import type pg from 'pg';
import type { Crime } from './crime-input.js';
import { degreesFor, EARTH_RADIUS_M } from './geodesy.js';
import { matchSubject, type MatchParams, type SubjectMatch, type TrailFix } from './match-subject.js';

/**
 * Crime matching against the archive (PostgreSQL/PostGIS). Three steps, each one query for the
 * whole batch:
 *
 * 1. the ring: every positioned fix of a tagged subject (subject_id set, device not a victim
 *    unit) within radius + max(`ringM`, `accuracyCapM`) of each crime, between
 *    `padS` before the window and `padS` after it (the day partitions and the GiST index on geom
 *    do the work; the time bound prunes partitions);
 * 2. the fill: where two fixes that follow each other in the ring are not consecutive in the
 *    trail (another device, or a sequence number skipped: the subject left the ring and came
 *    back), the first fix after the one and the last before the other, so the lines leaving and
 *    entering the ring are known; and for each subject, the last fix before its first ring fix
 *    and the first after its last, so a gap straddling the window is seen with both sides;
 * 3. the judgement per (crime, subject) in TypeScript (`matchSubject`): accuracy circles,
 *    closest approach, speeds, interpolated lines and gaps.
 *
 * What stays unseen: a straight line between two fixes both outside the ring (then it is longer
 * than 2 × max(ringM, accuracyCapM)); the README states it.
 */

export interface MatchOptions {
  params: MatchParams;
  /** Devices never matched (victim units), besides those the archive's configuration history names. */
  excludeDevices: readonly string[];
  /** Devices never matched, asked per device seen (the live service's view: a victim's device). */
  isExcludedDevice?: (deviceId: string) => boolean;
  /** Fixes this long before and after the window are read for the lines and gaps that cross its edges (s). */
  padS?: number;
  /** How far back (and ahead) the fill looks for the fix before (after) a subject's first (last) ring fix (s). */
  edgeLookS?: number;
  /** The ring query is split into this many parts run at once on the pool (default 2: PostgreSQL then uses two cores). */
  parallel?: number;
}

export interface Candidate extends SubjectMatch {
  subjectId: string;
}

export interface CrimeMatches {
  crime: Crime;
  candidates: Candidate[];
}

export interface MatchStats {
  ringFixes: number;
  fillFixes: number;
  groups: number;
  ringMs: number;
  fillMs: number;
  judgeMs: number;
}

const DAY_S = 86_400;
/** Metres per degree of latitude on the matcher's sphere (geodesy.ts). */
const M_PER_DEG = (EARTH_RADIUS_M * Math.PI) / 180;

/** Device ids the archive's configuration history records as victim units (register or proximity conditions). */
export async function victimDevicesInArchive(db: pg.Pool): Promise<string[]> {
  const r = await db.query<{ id: string }>(`
    SELECT item_id AS id FROM config_changes WHERE kind = 'device' AND body->>'kind' = 'victim_unit'
    UNION
    SELECT v #>> '{}' FROM config_changes, jsonb_path_query(body, '$.conditions[*].victimDeviceId') AS v
     WHERE kind = 'subject' AND body IS NOT NULL AND jsonb_typeof(v) = 'string'`);
  return r.rows.map((x) => x.id);
}

type Row = [number, string, string, string, number, number, number, number | null];

function toFix(row: Row, from = 2): TrailFix {
  return { deviceId: row[from] as string, seq: Number(row[from + 1]), ms: Number(row[from + 2]), lat: Number(row[from + 3]), lon: Number(row[from + 4]), accuracyM: row[from + 5] === null ? null : Number(row[from + 5]) };
}

const FIX_COLS = `f.device_id, f.seq::text, (extract(epoch from f.ts) * 1000)::float8, f.lat, f.lon, f.accuracy_m::float8`;

export async function matchCrimes(db: pg.Pool, crimes: readonly Crime[], o: MatchOptions): Promise<{ results: CrimeMatches[]; stats: MatchStats }> {
  const p = o.params;
  const padMs = (o.padS ?? 1800) * 1000;
  const edgeMs = (o.edgeLookS ?? DAY_S) * 1000;
  const stats: MatchStats = { ringFixes: 0, fillFixes: 0, groups: 0, ringMs: 0, fillMs: 0, judgeMs: 0 };
  const excluded = [...new Set([...o.excludeDevices, ...(await victimDevicesInArchive(db))])];
  if (crimes.length === 0) return { results: [], stats };

  // 1. The ring.
  let t = performance.now();
  const n = crimes.length;
  const idx: number[] = [], x0: number[] = [], y0: number[] = [], x1: number[] = [], y1: number[] = [], t0: Date[] = [], t1: Date[] = [];
  const cx: number[] = [], cy: number[] = [], kx: number[] = [], reach: number[] = [];
  crimes.forEach((c, i) => {
    // Every fix that can count is within radius + ringM (lines, gaps) or radius + accuracyCapM (circles).
    const reachM = c.radiusM + Math.max(p.ringM, p.accuracyCapM);
    const { dLat, dLon } = degreesFor(reachM, c.lat);
    idx.push(i); x0.push(c.lon - dLon); y0.push(c.lat - dLat); x1.push(c.lon + dLon); y1.push(c.lat + dLat);
    cx.push(c.lon); cy.push(c.lat); kx.push(Math.cos((c.lat * Math.PI) / 180)); reach.push(reachM + 1);
    t0.push(new Date(c.fromMs - padMs)); t1.push(new Date(c.toMs + padMs));
  });
  // One row per (crime, subject), its fixes packed in one text (device seq ms lat·1e7 lon·1e7
  // accuracy·100, ';' between fixes): a few thousand rows instead of hundreds of thousands, so
  // the wire protocol and the driver's per-field parsing stop dominating (bench:crime).
  const RING_SQL = `
      SELECT c.i, f.subject_id,
             string_agg(f.device_id || ' ' || f.seq || ' ' || (extract(epoch from f.ts) * 1000)::bigint || ' ' ||
                        round(f.lat * 1e7)::bigint || ' ' || round(f.lon * 1e7)::bigint || ' ' ||
                        coalesce(round(f.accuracy_m * 100)::bigint::text, '-'), ';') AS fx
        FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::timestamptz[], $7::timestamptz[],
                    $9::float8[], $10::float8[], $11::float8[], $12::float8[])
             AS c(i, x0, y0, x1, y1, t0, t1, cx, cy, kx, reach)
        JOIN LATERAL (
          SELECT * FROM fixes f
           WHERE f.geom && ST_MakeEnvelope(c.x0, c.y0, c.x1, c.y1, 4326)
             AND f.ts >= c.t0 AND f.ts <= c.t1
             AND f.subject_id IS NOT NULL
             AND NOT (f.device_id = ANY($8::text[]))
             -- the circle inside the box (planar metres, 1 m of slack): the corners are a fifth of the box
             AND ((f.lon - c.cx) * c.kx) ^ 2 + (f.lat - c.cy) ^ 2 <= (c.reach / ${M_PER_DEG}) ^ 2
        ) f ON true
       GROUP BY c.i, f.subject_id`;
  const parts = Math.max(1, Math.min(o.parallel ?? 2, Math.ceil(n / 50)));
  const per = Math.ceil(n / parts);
  const answers = await Promise.all(Array.from({ length: parts }, (_, k) => {
    const a = k * per, b = Math.min(n, a + per);
    return db.query<[number, string, string]>({ text: RING_SQL, values: [idx.slice(a, b), x0.slice(a, b), y0.slice(a, b), x1.slice(a, b), y1.slice(a, b), t0.slice(a, b), t1.slice(a, b), excluded, cx.slice(a, b), cy.slice(a, b), kx.slice(a, b), reach.slice(a, b)], rowMode: 'array' });
  }));
  const ring = { rows: answers.length === 1 ? answers[0].rows : answers.flatMap((x) => x.rows) };
  const excludedNow = new Map<string, boolean>();
  const isExcluded = (id: string): boolean => {
    if (o.isExcludedDevice === undefined) return false;
    let v = excludedNow.get(id);
    if (v === undefined) excludedNow.set(id, (v = o.isExcludedDevice(id)));
    return v;
  };
  const groups = new Map<string, { i: number; subjectId: string; fixes: TrailFix[] }>();
  for (const [i, subjectId, packed] of ring.rows) {
    const fixes: TrailFix[] = [];
    for (const one of packed.split(';')) {
      const [deviceId, seq, ms, lat, lon, acc] = one.split(' ');
      if (isExcluded(deviceId)) continue;
      fixes.push({ deviceId, seq: Number(seq), ms: Number(ms), lat: Number(lat) / 1e7, lon: Number(lon) / 1e7, accuracyM: acc === '-' ? null : Number(acc) / 100 });
    }
    stats.ringFixes += fixes.length;
    if (fixes.length > 0) groups.set(`${i}\u0000${subjectId}`, { i, subjectId, fixes });
  }
  stats.groups = groups.size;
  for (const g of groups.values()) g.fixes.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
  stats.ringMs = performance.now() - t;

  // 2. The fill: for each pair of ring neighbours that are not trail neighbours, and each
  // subject's edges. Kind 0: first fix after `a` (before `b`); 1: last fix before `b` (after `a`).
  t = performance.now();
  const keys: string[] = [], kinds: number[] = [], subj: string[] = [], lo: Date[] = [], hi: Date[] = [];
  for (const [key, g] of groups) {
    const c = crimes[g.i];
    const f = g.fixes;
    for (let k = 0; k + 1 < f.length; k++) {
      const a = f[k], b = f[k + 1];
      if (b.ms <= c.fromMs || a.ms >= c.toMs) continue;
      if (a.deviceId === b.deviceId && b.seq === a.seq + 1) continue;
      keys.push(key, key); kinds.push(0, 1); subj.push(g.subjectId, g.subjectId);
      lo.push(new Date(a.ms), new Date(a.ms)); hi.push(new Date(b.ms), new Date(b.ms));
    }
    // The edges: what came before the first ring fix (after the last) matters only when that fix
    // is inside the window; otherwise the ring already holds a fix on that side of the window.
    const first = f[0], lastFix = f[f.length - 1];
    const needStart = first.ms > c.fromMs, needEnd = lastFix.ms < c.toMs;
    if (needStart || needEnd) {
      keys.push(key, key); kinds.push(1, 0); subj.push(g.subjectId, g.subjectId);
      lo.push(new Date(needStart ? first.ms - edgeMs : first.ms), new Date(lastFix.ms));
      hi.push(new Date(first.ms), new Date(needEnd ? lastFix.ms + edgeMs : lastFix.ms));
    }
  }
  const fill = keys.length === 0 ? { rows: [] as [number, ...Row][] } : await db.query<[number, ...Row]>({
    text: `
      SELECT q.k, q.kind, ${FIX_COLS.replaceAll('f.', 'x.')}
        FROM unnest($1::int[], $2::int[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS q(k, kind, s, lo, hi)
        JOIN LATERAL (
          (SELECT * FROM fixes f
            WHERE q.kind = 0 AND f.subject_id = q.s AND f.ts > q.lo AND f.ts < q.hi AND f.geom IS NOT NULL
              AND NOT (f.device_id = ANY($6::text[]))
            ORDER BY f.ts ASC LIMIT 1)
          UNION ALL
          (SELECT * FROM fixes f
            WHERE q.kind = 1 AND f.subject_id = q.s AND f.ts > q.lo AND f.ts < q.hi AND f.geom IS NOT NULL
              AND NOT (f.device_id = ANY($6::text[]))
            ORDER BY f.ts DESC LIMIT 1)
        ) x ON true`,
    values: [keys.map((_, j) => j), kinds, subj, lo, hi, excluded],
    rowMode: 'array',
  });
  stats.fillFixes = fill.rows.length;
  const extra = new Map<string, { fix: TrailFix; kind: number; pair: number }[]>();
  for (const row of fill.rows) {
    const j = row[0] as number;
    const key = keys[j];
    const fix = toFix(row as unknown as Row, 2);
    if (isExcluded(fix.deviceId)) continue;
    let list = extra.get(key);
    if (list === undefined) extra.set(key, (list = []));
    list.push({ fix, kind: kinds[j], pair: j >> 1 });
  }
  for (const [key, list] of extra) {
    const g = groups.get(key)!;
    const have = new Set(g.fixes.map((f) => `${f.deviceId}\u0000${f.seq}\u0000${f.ms}`));
    // Pairs: the "first after a" (kind 0) and "last before b" (kind 1) of one ring pair; if they
    // are different fixes and not trail neighbours, what lies between them is unknown.
    const byPair = new Map<number, { after?: TrailFix; before?: TrailFix }>();
    for (const e of list) {
      const slot = byPair.get(e.pair) ?? {};
      if (e.kind === 0) slot.after = e.fix; else slot.before = e.fix;
      byPair.set(e.pair, slot);
    }
    const add: TrailFix[] = [];
    for (const { after, before } of byPair.values()) {
      for (const f of [after, before]) {
        if (f === undefined) continue;
        const id = `${f.deviceId}\u0000${f.seq}\u0000${f.ms}`;
        if (have.has(id)) continue;
        have.add(id);
        add.push(f);
      }
      if (after !== undefined && before !== undefined && before.ms > after.ms && !(before.deviceId === after.deviceId && before.seq === after.seq + 1)) {
        before.breakBefore = true;
      }
    }
    if (add.length > 0) {
      g.fixes.push(...add);
      g.fixes.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
    }
  }
  stats.fillMs = performance.now() - t;

  // 3. The judgement.
  t = performance.now();
  const results: CrimeMatches[] = crimes.map((crime) => ({ crime, candidates: [] }));
  for (const g of groups.values()) {
    const m = matchSubject(crimes[g.i], g.fixes, p);
    if (m !== null) results[g.i].candidates.push({ subjectId: g.subjectId, ...m });
  }
  for (const r of results) r.candidates.sort((a, b) => a.closest.distanceM - b.closest.distanceM || (a.subjectId < b.subjectId ? -1 : 1));
  stats.judgeMs = performance.now() - t;
  return { results, stats };
}
