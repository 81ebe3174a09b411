// Lists against a real Redis: every filter of GET /v1/subjects, /v1/zones, /v1/teams, /v1/alerts
// and /v1/deliveries/dead, their totals, team isolation, cursor pagination (also while new items
// arrive), and the one-time index build for records stored before the indexes existed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { AlertRecords, writeAlertRecords } from '../../src/alerts/alert-record.js';
import type { AlertEvent, AlertType, Severity } from '../../src/engine/alert.js';
import { formatTime } from '../../src/engine/time.js';
import { Keys } from '../../src/server/keys.js';
import {
  api, cleanupPrefix, exclusionSubject, newRedis, rect, startTestService, TOKENS, uniquePrefix, zoneX,
  type TestService,
} from '../support/server.js';

const TEAMS = ['iom-north', 'iom-south', 'iom-east'] as const;
const RISKS = ['low', 'medium', 'high', 'very_high'] as const;
const COHORTS = ['fixed', 'flex', 'free'] as const;
const TYPES: AlertType[] = ['exclusion', 'curfew', 'tamper', 'no_fix'];
const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];

type Row = Record<string, unknown>;

/** Every page of a list, following nextCursor; checks each page's total and size. */
async function allPages(get: (q: string) => Promise<{ status: number; body: Row }>, query: string, key: string, limit: number): Promise<{ items: Row[]; total: number; pages: number }> {
  const items: Row[] = [];
  let cursor: string | null = null;
  let total = -1;
  let pages = 0;
  for (;;) {
    const sep = query === '' ? '' : '&';
    const r = await get(`${query}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const page = r.body[key] as Row[];
    if (total < 0) total = r.body.total as number;
    expect(r.body.total).toBe(total);
    expect(page.length).toBeLessThanOrEqual(limit);
    items.push(...page);
    pages++;
    cursor = r.body.nextCursor as string | null;
    if (cursor === null) break;
    expect(page.length).toBe(limit);
  }
  return { items, total, pages };
}

function event(i: number, over: Partial<AlertEvent> = {}): AlertEvent {
  return {
    episodeId: `S-${String(i % 40).padStart(3, '0')}:c1:${formatTime(Date.UTC(2026, 9, 1) + i * 1000)}`, event: 'opened',
    type: TYPES[i % TYPES.length], severity: SEVERITIES[(i >> 2) % SEVERITIES.length], confidence: 'possible',
    subjectId: `S-${String(i % 40).padStart(3, '0')}`, deviceId: `TAG-${i % 40}`, team: TEAMS[i % TEAMS.length],
    // Some share an opening time (ties are ordered by episode id).
    at: formatTime(Date.UTC(2026, 10, 1) + Math.floor(i / 3) * 60_000), late: false, ...over,
  };
}

describe('lists, filters and cursors (real Redis)', () => {
  let t: TestService;
  let redis: Redis;
  let keys: Keys;
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = as(TOKENS.operator);
  const north = as(TOKENS.north);

  const subjects: { id: string; team: string; risk: string; cohort: string; status: string; name: string }[] = [];
  const NAMES = ['Smith', 'Smythe', 'Jones', 'Brown', 'Évans'];

  beforeAll(async () => {
    t = await startTestService({ rateLimitPerS: 100_000 });
    redis = newRedis();
    keys = new Keys(t.prefix);
    expect((await op('PUT', '/v1/zones/Z-A', zoneX('Z-A'))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-B', rect('Z-B', -1.56, 53.79, -1.54, 53.8, { layer: 'schools' }))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-C', rect('Z-C', -1.5, 53.7, -1.4, 53.75, { layer: 'schools', name: 'Hillside school' }))).status).toBe(200);
    expect((await op('PUT', '/v1/zones/Z-D', rect('Z-D', -2.5, 53.7, -2.4, 53.75, { layer: 'parks' }))).status).toBe(200);
    for (let i = 0; i < 45; i++) {
      const s = {
        id: `S-${String(i).padStart(3, '0')}`, team: TEAMS[i % 3], risk: RISKS[i % 4], cohort: COHORTS[i % 3],
        status: i % 5 === 0 ? 'suspended' : 'active', name: `${NAMES[i % NAMES.length]} ${i}`,
      };
      subjects.push(s);
      const zone = i % 2 === 0 ? 'Z-A' : 'Z-B';
      const r = await op('PUT', `/v1/subjects/${s.id}`, exclusionSubject(s.id, `TAG-${i}`, s.team, zone, { risk: s.risk, cohort: s.cohort, status: s.status, name: s.name }));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
  });

  describe('subjects', () => {
    const ids = (rows: Row[]): string[] => rows.map((r) => r.id as string);

    it('pages through every subject by id, never repeating one, with the total', async () => {
      const { items, total, pages } = await allPages((q) => op('GET', `/v1/subjects?${q}`), '', 'subjects', 7);
      expect(total).toBe(45);
      expect(pages).toBe(7);
      expect(ids(items)).toEqual(subjects.map((s) => s.id));
      expect(items[0]).toMatchObject({ id: 'S-000', deviceId: 'TAG-0', team: 'iom-north' });
    });

    it('filters by team, cohort, risk and status, alone and together', async () => {
      const cases: [string, (s: (typeof subjects)[number]) => boolean][] = [
        ['team=iom-south', (s) => s.team === 'iom-south'],
        ['cohort=flex', (s) => s.cohort === 'flex'],
        ['risk=very_high', (s) => s.risk === 'very_high'],
        ['status=suspended', (s) => s.status === 'suspended'],
        ['team=iom-north&risk=low', (s) => s.team === 'iom-north' && s.risk === 'low'],
        ['team=iom-east&cohort=free&status=active', (s) => s.team === 'iom-east' && s.cohort === 'free' && s.status === 'active'],
        ['team=iom-north&cohort=flex', () => false],
      ];
      for (const [q, pred] of cases) {
        const want = subjects.filter(pred).map((s) => s.id);
        const { items, total } = await allPages((x) => op('GET', `/v1/subjects?${x}`), q, 'subjects', 4);
        expect(ids(items), q).toEqual(want);
        expect(total, q).toBe(want.length);
      }
    });

    it('searches id and name by prefix, case-insensitively, with the other filters', async () => {
      const cases: [string, (s: (typeof subjects)[number]) => boolean][] = [
        ['q=smi', (s) => s.name.toLowerCase().startsWith('smi')],
        ['q=SM', (s) => s.name.toLowerCase().startsWith('sm')],
        ['q=s-01', (s) => s.id.toLowerCase().startsWith('s-01')],
        ['q=%C3%A9v', (s) => s.name.startsWith('Évans')],
        ['q=sm&team=iom-north&risk=low', (s) => s.name.toLowerCase().startsWith('sm') && s.team === 'iom-north' && s.risk === 'low'],
        ['q=zzz', () => false],
      ];
      for (const [q, pred] of cases) {
        const want = subjects.filter(pred).map((s) => s.id);
        const { items, total } = await allPages((x) => op('GET', `/v1/subjects?${x}`), q, 'subjects', 3);
        expect(ids(items), q).toEqual(want);
        expect(total, q).toBe(want.length);
      }
    });

    it('follows changes: a replaced subject moves between filters, a deleted one leaves every list', async () => {
      const s = subjects[1];
      const before = await op('GET', '/v1/subjects?risk=very_high&limit=1000');
      expect(ids(before.body.subjects)).not.toContain(s.id);
      expect((await op('PUT', `/v1/subjects/${s.id}`, exclusionSubject(s.id, 'TAG-1', s.team, 'Z-B', { risk: 'very_high', name: 'Renamed' }))).status).toBe(200);
      expect(ids((await op('GET', '/v1/subjects?risk=very_high&limit=1000')).body.subjects)).toContain(s.id);
      expect(ids((await op('GET', `/v1/subjects?risk=${s.risk}&limit=1000`)).body.subjects)).not.toContain(s.id);
      expect(ids((await op('GET', '/v1/subjects?q=renamed')).body.subjects)).toEqual([s.id]);
      expect(ids((await op('GET', `/v1/subjects?q=${NAMES[1]}`)).body.subjects)).not.toContain(s.id);
      expect((await op('PUT', '/v1/subjects/S-TMP', exclusionSubject('S-TMP', 'TAG-TMP', 'iom-north', 'Z-A', { name: 'Temporary' }))).status).toBe(200);
      expect((await op('GET', '/v1/subjects?q=temp')).body.total).toBe(1);
      expect((await op('DELETE', '/v1/subjects/S-TMP')).status).toBe(204);
      for (const q of ['q=temp', 'team=iom-north&limit=1000', 'limit=1000']) {
        expect(ids((await op('GET', `/v1/subjects?${q}`)).body.subjects), q).not.toContain('S-TMP');
      }
      // Put it back as it was.
      expect((await op('PUT', `/v1/subjects/${s.id}`, exclusionSubject(s.id, 'TAG-1', s.team, 'Z-B', { risk: s.risk, cohort: s.cohort, status: s.status, name: s.name }))).status).toBe(200);
    });

    it('a team token lists only its own team\'s subjects, whatever it asks', async () => {
      const mine = subjects.filter((s) => s.team === 'iom-north').map((s) => s.id);
      const { items, total } = await allPages((q) => north('GET', `/v1/subjects?${q}`), '', 'subjects', 5);
      expect(ids(items)).toEqual(mine);
      expect(total).toBe(mine.length);
      for (const q of ['q=s', 'risk=low', 'status=suspended', 'team=iom-north&q=smi']) {
        const r = await north('GET', `/v1/subjects?${q}&limit=1000`);
        expect(r.status).toBe(200);
        expect((r.body.subjects as Row[]).every((s) => s.team === 'iom-north'), q).toBe(true);
      }
      const other = await north('GET', '/v1/subjects?team=iom-south');
      expect(other.status).toBe(403);
    });

    it('refuses a cursor it did not give, a limit above 1,000 and unknown enum values (400)', async () => {
      for (const q of ['cursor=not-a-cursor', `cursor=${Buffer.from('[1]').toString('base64url')}`, 'limit=1001', 'limit=0', 'risk=extreme', 'cohort=x']) {
        const r = await op('GET', `/v1/subjects?${q}`);
        expect(r.status, q).toBe(400);
        expect(r.body.code).toBe('VALIDATION');
      }
    });

    it('never skips or repeats a subject while others are added during paging', async () => {
      const at = subjects.map((s) => s.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let n = 0;
      do {
        const r = await op('GET', `/v1/subjects?limit=4${cursor === null ? '' : `&cursor=${cursor}`}`);
        seen.push(...ids(r.body.subjects));
        cursor = r.body.nextCursor;
        // New subjects before, between and after the ones already listed.
        const id = [`S-${String(n).padStart(3, '0')}a`, `A-${n}`, `Z-${n}`][n % 3];
        expect((await op('PUT', `/v1/subjects/${id}`, exclusionSubject(id, `TAG-new-${n}`, 'iom-east', 'Z-A'))).status).toBe(200);
        n++;
      } while (cursor !== null);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of at) expect(seen).toContain(id);
      expect(seen).toEqual([...seen].sort());
      for (let i = 0; i < n; i++) {
        const id = [`S-${String(i).padStart(3, '0')}a`, `A-${i}`, `Z-${i}`][i % 3];
        expect((await op('DELETE', `/v1/subjects/${id}`)).status).toBe(204);
      }
    }, 30_000);
  });

  describe('zones and teams', () => {
    it('lists zones by id with layer and subject filters; a team sees the zones its subjects use', async () => {
      const all = await op('GET', '/v1/zones');
      expect(all.body.zones.map((z: Row) => z.id)).toEqual(['Z-A', 'Z-B', 'Z-C', 'Z-D']);
      expect(all.body.total).toBe(4);
      expect(all.body.zones[2]).toMatchObject({ id: 'Z-C', layer: 'schools', name: 'Hillside school', kind: 'polygon' });
      expect((await op('GET', '/v1/zones?layer=schools')).body.zones.map((z: Row) => z.id)).toEqual(['Z-B', 'Z-C']);
      expect((await op('GET', '/v1/zones?subject=S-001')).body.zones.map((z: Row) => z.id)).toEqual(['Z-B']);
      expect((await op('GET', '/v1/zones?subject=S-001&layer=parks')).body.total).toBe(0);
      expect((await op('GET', '/v1/zones?q=hill')).body.zones.map((z: Row) => z.id)).toEqual(['Z-C']);
      const page1 = await op('GET', '/v1/zones?limit=3');
      const page2 = await op('GET', `/v1/zones?limit=3&cursor=${page1.body.nextCursor}`);
      expect(page2.body.zones.map((z: Row) => z.id)).toEqual(['Z-D']);
      expect(page2.body.nextCursor).toBeNull();
      // iom-north: subjects 0, 3, 6…: both even (Z-A) and odd (Z-B) ones.
      expect((await north('GET', '/v1/zones')).body.zones.map((z: Row) => z.id)).toEqual(['Z-A', 'Z-B']);
      expect((await north('GET', '/v1/zones?layer=parks')).body.total).toBe(0);
      expect((await north('GET', '/v1/zones?subject=S-001')).status).toBe(404);
      expect((await op('PUT', '/v1/zones/Z-D', rect('Z-D', -2.5, 53.7, -2.4, 53.75, { layer: 'lakes' }))).status).toBe(200);
      expect((await op('GET', '/v1/zones?layer=parks')).body.total).toBe(0);
      expect((await op('GET', '/v1/zones?layer=lakes')).body.total).toBe(1);
      expect((await op('DELETE', '/v1/zones/Z-D')).status).toBe(204);
      expect((await op('GET', '/v1/zones?layer=lakes')).body.total).toBe(0);
      expect((await op('POST', '/v1/zones', { type: 'FeatureCollection', features: [rect('Z-E', 0, 50, 0.1, 50.1, { layer: 'parks' })] })).status).toBe(200);
      expect((await op('GET', '/v1/zones?layer=parks')).body.zones.map((z: Row) => z.id)).toEqual(['Z-E']);
    });

    it('lists teams with routing, secrets hidden; a team sees only itself', async () => {
      for (const id of ['iom-north', 'iom-south']) {
        expect((await op('PUT', `/v1/teams/${id}`, { webhooks: [{ url: `https://example.test/${id}`, secret: 'a-very-long-signing-secret-000' }] })).status).toBe(200);
      }
      const all = await op('GET', '/v1/teams?limit=1');
      expect(all.body.teams.map((x: Row) => x.id)).toEqual(['iom-north']);
      expect(all.body.total).toBe(2);
      expect(JSON.stringify(all.body)).not.toContain('a-very-long-signing-secret');
      const next = await op('GET', `/v1/teams?limit=1&cursor=${all.body.nextCursor}`);
      expect(next.body.teams.map((x: Row) => x.id)).toEqual(['iom-south']);
      expect(next.body.nextCursor).toBeNull();
      const mine = await north('GET', '/v1/teams');
      expect(mine.body.teams.map((x: Row) => x.id)).toEqual(['iom-north']);
      expect(mine.body.total).toBe(1);
    });
  });

  describe('alerts', () => {
    const N = 240;
    const events: AlertEvent[] = [];
    let records: AlertRecords;
    const closed = new Set<string>();
    const acked = new Set<string>();

    beforeAll(async () => {
      records = new AlertRecords(redis, keys);
      for (let i = 0; i < N; i++) events.push(event(i));
      const m = redis.multi();
      writeAlertRecords(m, keys, events);
      for (let i = 0; i < N; i += 3) {
        writeAlertRecords(m, keys, [{ ...events[i], event: 'closed', at: formatTime(Date.parse(events[i].at) + 5000) }]);
        closed.add(events[i].episodeId);
      }
      await m.exec();
      for (let i = 0; i < N; i += 4) {
        await records.decide(events[i].episodeId, { by: 'PC Jones', note: '', outcome: 'no_action', at: new Date().toISOString() }, 100);
        acked.add(events[i].episodeId);
      }
    });

    /** Newest first by openedAt, ties by episode id. */
    const order = (a: AlertEvent, b: AlertEvent): number => Date.parse(b.at) - Date.parse(a.at) || (a.episodeId < b.episodeId ? -1 : 1);
    const ep = (rows: Row[]): string[] => rows.map((r) => r.episodeId as string);

    it('every filter, alone and together, gives the matching episodes newest first and their total', async () => {
      const from = Date.parse(events[60].at);
      const to = Date.parse(events[150].at);
      const cases: [string, (e: AlertEvent) => boolean][] = [
        ['state=all', () => true],
        ['', (e) => !closed.has(e.episodeId)],
        ['state=open', (e) => !closed.has(e.episodeId)],
        ['state=closed', (e) => closed.has(e.episodeId)],
        ['state=all&team=iom-south', (e) => e.team === 'iom-south'],
        ['state=all&subject=S-007', (e) => e.subjectId === 'S-007'],
        ['state=all&type=tamper', (e) => e.type === 'tamper'],
        ['state=all&severity=critical', (e) => e.severity === 'critical'],
        ['state=all&acknowledged=true', (e) => acked.has(e.episodeId)],
        ['state=all&acknowledged=false', (e) => !acked.has(e.episodeId)],
        [`state=all&from=${new Date(from).toISOString()}&to=${to}`, (e) => Date.parse(e.at) >= from && Date.parse(e.at) <= to],
        ['team=iom-north&state=open&severity=high', (e) => e.team === 'iom-north' && !closed.has(e.episodeId) && e.severity === 'high'],
        ['team=iom-east&state=closed&acknowledged=false&type=exclusion', (e) => e.team === 'iom-east' && closed.has(e.episodeId) && !acked.has(e.episodeId) && e.type === 'exclusion'],
        [`team=iom-north&state=all&severity=low&from=${from}`, (e) => e.team === 'iom-north' && e.severity === 'low' && Date.parse(e.at) >= from],
        ['state=all&subject=S-001&type=curfew', (e) => e.subjectId === 'S-001' && e.type === 'curfew'],
        ['state=all&subject=S-001&type=tamper', () => false],
      ];
      for (const [q, pred] of cases) {
        const want = events.filter(pred).sort(order).map((e) => e.episodeId);
        const { items, total } = await allPages((x) => op('GET', `/v1/alerts?${x}`), q, 'alerts', 17);
        expect(ep(items), q).toEqual(want);
        expect(total, q).toBe(want.length);
      }
    });

    it('shows each episode as the single-alert resource does', async () => {
      const r = await op('GET', '/v1/alerts?state=all&limit=1000');
      const one = (r.body.alerts as Row[]).find((a) => a.episodeId === events[0].episodeId) as Row;
      // The list shows the latest decision (`acknowledged`); the whole history is on the alert itself.
      const { decisions, ...single } = (await op('GET', `/v1/alerts/${encodeURIComponent(events[0].episodeId)}`)).body as Row;
      expect(one).toEqual(single);
      expect(decisions).toHaveLength(1);
      expect(one).toMatchObject({ state: 'closed', acknowledged: { by: 'PC Jones' } });
    });

    it('a team token sees only its own team\'s episodes, in every combination', async () => {
      for (const q of ['', 'state=all', 'state=closed&acknowledged=false', 'severity=critical&state=all', 'subject=S-001&state=all', 'type=tamper&state=all']) {
        const { items } = await allPages((x) => north('GET', `/v1/alerts?${x}`), q, 'alerts', 50);
        expect(items.every((a) => a.team === 'iom-north'), q).toBe(true);
      }
      const { total } = await allPages((x) => north('GET', `/v1/alerts?${x}`), 'state=all', 'alerts', 50);
      expect(total).toBe(events.filter((e) => e.team === 'iom-north').length);
      expect((await north('GET', '/v1/alerts?team=iom-south')).status).toBe(403);
    });

    it('refuses from after to, bad times and bad flags (400)', async () => {
      for (const q of ['from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', 'from=yesterday', 'acknowledged=yes', 'severity=urgent', 'limit=5000']) {
        const r = await op('GET', `/v1/alerts?${q}`);
        expect(r.status, q).toBe(400);
        expect(r.body.code).toBe('VALIDATION');
      }
    });

    it('never skips or repeats an episode while new ones arrive (newer and older) and others close', async () => {
      const at = events.map((e) => e.episodeId);
      const seen: string[] = [];
      let cursor: string | null = null;
      let n = 0;
      do {
        const r = await op('GET', `/v1/alerts?state=all&limit=11${cursor === null ? '' : `&cursor=${cursor}`}`);
        expect(r.status).toBe(200);
        seen.push(...ep(r.body.alerts));
        cursor = r.body.nextCursor;
        // A new episode now, a late one back in time (between those listed), and one at a tie.
        const m = redis.multi();
        writeAlertRecords(m, keys, [
          event(10_000 + n, { episodeId: `NEW-${n}`, at: formatTime(Date.UTC(2026, 11, 1) + n) }),
          event(20_000 + n, { episodeId: `LATE-${n}`, at: events[(n * 37) % N].at }),
          { ...events[(n * 11) % N], event: 'closed', at: formatTime(Date.UTC(2026, 11, 2)) },
        ]);
        await m.exec();
        n++;
      } while (cursor !== null);
      const old = seen.filter((id) => at.includes(id));
      expect(new Set(seen).size).toBe(seen.length);
      expect(old.sort()).toEqual([...at].sort());
      // Pages are stable: the episodes that existed at the start come in the order they had then.
      expect(seen.filter((id) => at.includes(id))).toEqual(events.slice().sort(order).map((e) => e.episodeId).filter((id) => seen.includes(id)));
    }, 30_000);
  });

  describe('dead letters', () => {
    it('pages newest first with the total, filtered by channel', async () => {
      for (let i = 0; i < 25; i++) {
        await redis.zadd(keys.deadLetters, 1_000 + Math.floor(i / 2), JSON.stringify({ key: `E-${i}:opened`, channel: i % 2 === 0 ? 'webhook:a' : 'webhook:b' }));
      }
      const { items, total } = await allPages((q) => op('GET', `/v1/deliveries/dead?${q}`), '', 'deadLetters', 4);
      expect(total).toBe(25);
      expect(new Set(items.map((d) => d.key)).size).toBe(25);
      expect(items[0]).toEqual({ key: 'E-24:opened', channel: 'webhook:a' });
      const a = await allPages((q) => op('GET', `/v1/deliveries/dead?${q}`), 'channel=webhook:b', 'deadLetters', 5);
      expect(a.total).toBe(12);
      expect(a.items.every((d) => d.channel === 'webhook:b')).toBe(true);
      expect((await north('GET', '/v1/deliveries/dead')).status).toBe(403);
    });
  });
});

describe('list indexes for records stored before they existed', () => {
  it('are built at start, so old subjects, zones and alerts appear in the lists', async () => {
    const prefix = uniquePrefix('mig');
    const keys = new Keys(prefix);
    const redis = newRedis();
    try {
      // Written as the service did before the indexes: records and the old by-time sets only.
      await redis.hset(keys.zones, 'Z-old', JSON.stringify(zoneX('Z-old')));
      await redis.hset(keys.subjects, 'S-old', JSON.stringify(exclusionSubject('S-old', 'TAG-old', 'iom-north', 'Z-old', { name: 'Oldham' })));
      const e = event(1, { episodeId: 'S-old:c1:2026-11-01T00:00:00Z', subjectId: 'S-old', team: 'iom-north' });
      await redis.hset(keys.alert(e.episodeId), 'opened', JSON.stringify(e), 'team', e.team, 'subjectId', e.subjectId, 'type', e.type, 'severity', e.severity);
      await redis.zadd(keys.alertsAll, Date.parse(e.at), e.episodeId);
      const t = await startTestService({ keyPrefix: prefix });
      try {
        const op = (path: string) => api(t.service.app, 'GET', path, { token: TOKENS.operator });
        expect((await op('/v1/subjects?q=oldh')).body.subjects.map((s: Row) => s.id)).toEqual(['S-old']);
        expect((await op('/v1/subjects?team=iom-north&risk=high')).body.total).toBe(1);
        expect((await op('/v1/zones')).body.zones.map((z: Row) => z.id)).toEqual(['Z-old']);
        const alerts = await op(`/v1/alerts?team=iom-north&state=open&acknowledged=false&type=${e.type}`);
        expect(alerts.body.alerts.map((a: Row) => a.episodeId)).toEqual([e.episodeId]);
        expect(await redis.get(keys.listIndexVersion)).toBe('1');
      } finally {
        await t.close();
      }
    } finally {
      redis.disconnect();
      await cleanupPrefix(prefix);
    }
  });
});
