// The archive with PARTITIONS=4 on one plain Redis (issue 15's layout without a cluster), against
// a REAL PostgreSQL/PostGIS and a REAL Redis: every partition's fixes archived once (a victim
// unit's fix, fanned out to the logs of the partitions watching it, too), alert events
// from the partitions' feeds, decisions and configuration changes from the global feed; each
// partition's log kept for the archive across snapshots, trimmed once copied, and bounded per
// partition with the loss reported for that partition.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlinkPrefix } from '../../bench/common/redis-keys.js';
import { ArchiveCopier } from '../../src/archive/copier.js';
import { partitionOf } from '../../src/server/partitions.js';
import { enc } from '../support/delivery.js';
import {
  api, exclusionSubject, fix, fmt, INSIDE_X, newRedis, startTestService, TOKENS, WsClient, zoneX, type TestService,
} from '../support/server.js';
import { freshArchive, type TestArchive } from '../support/pg.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const OUTSIDE: [number, number] = [51.49, -0.125];
const P = 4;
/** Two tags per partition. */
const DEVICES = (() => {
  const out: string[] = [];
  const per = new Array<number>(P).fill(0);
  for (let i = 0; out.length < 2 * P; i++) {
    const d = `TAG-${i}`;
    const n = partitionOf(d, P);
    if (per[n] < 2) {
      per[n]++;
      out.push(d);
    }
  }
  return out;
})();
const SEQS = 40;
/** A victim unit every subject keeps away from (far: no proximity alert); its fixes reach every watching partition's log. */
const VICTIM = 'VIC-1';
const LEEDS: [number, number] = [53.79, -1.55];

describe('archive with PARTITIONS=4 on plain Redis (real PostgreSQL + Redis)', () => {
  let arch: TestArchive;
  let t: TestService;
  let redis: Redis;
  let copier: ArchiveCopier;
  let ws: WsClient;
  const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const tsOf = (d: number, seq: number): number => base + seq * 10_000 + d;
  const acked = new Set<string>();
  const op = (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token: TOKENS.operator, body });
  const count = async (sql: string): Promise<number> => Number((await arch.db.query(sql)).rows[0].n);

  beforeAll(async () => {
    arch = await freshArchive();
    t = await startTestService({ databaseUrl: arch.url, archiveSchema: arch.schema, snapshotIntervalMs: 100, partitions: P, archiveLogMaxEntries: 100 });
    redis = newRedis();
    expect((await op('PUT', '/v1/zones/Z-1', zoneX('Z-1'))).status).toBe(200);
    expect((await op('PUT', `/v1/devices/${VICTIM}`, { kind: 'victim_unit', status: 'fitted' })).status).toBe(200);
    for (const [i, d] of DEVICES.entries()) {
      const subject = exclusionSubject(`S-${i}`, d, 'iom-north', 'Z-1', {
        conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-1' }, { id: 'c2', type: 'proximity', victimDeviceId: VICTIM, distanceM: 200, warnM: 400 }],
      });
      expect((await op('PUT', `/v1/subjects/S-${i}`, subject)).status).toBe(200);
    }
    ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    // Every device in each message (so each message is a group commit in every partition); an
    // episode opened at seq 5, 15, 25, 35 and closed at the next seq; snapshots in between.
    for (let seq = 1; seq <= SEQS; seq++) {
      const reply = await ws.send([...DEVICES.map((d, i) => fix(d, seq, tsOf(i, seq), seq % 10 === 5 ? INSIDE_X : OUTSIDE)), fix(VICTIM, seq, tsOf(9, seq), LEEDS)]);
      for (const [dev, s] of reply.ack ?? []) acked.add(`${dev}#${s}`);
      if (seq % 10 === 0) await sleep(150);
    }
  }, 60_000);

  afterAll(async () => {
    await ws?.closeAndWait();
    await copier?.close();
    await t?.close();
    // Partition keys live under `{<prefix>:p<n>}` (a hash tag), outside `<prefix>:`.
    if (t !== undefined) await unlinkPrefix(redis, `{${t.prefix}`);
    redis?.disconnect();
    await arch?.drop();
  });

  it('keeps every partition\'s log for the archive across snapshots (nothing copied yet)', async () => {
    expect(acked.size).toBe((DEVICES.length + 1) * SEQS);
    const keys = t.service.keys;
    // The victim's fixes are in several partitions' logs (fanned out to its watchers).
    let victimLogs = 0;
    for (let n = 0; n < P; n++) {
      const entries = await redis.xrange(keys.partition(n).log, '-', '+');
      if (entries.some(([, f]) => (JSON.parse(f[1]) as unknown[]).some((it) => Array.isArray(it) && it[0] === VICTIM))) victimLogs++;
    }
    expect(victimLogs).toBeGreaterThan(1);
    for (let n = 0; n < P; n++) {
      expect(await redis.get(keys.partition(n).snapshot), `partition ${n} snapshot`).not.toBeNull();
      expect(await redis.xlen(keys.partition(n).log), `partition ${n} log`).toBeGreaterThanOrEqual(SEQS);
      // Its alert events wait on its own feed (written by the fenced commit).
      expect(await redis.xlen(keys.partition(n).archiveFeed), `partition ${n} feed`).toBe(2 * 2 * (SEQS / 10));
    }
  });

  it('copies every partition\'s fixes once, alert events from the partition feeds, decisions and configuration from the global feed', async () => {
    const ep = `S-0:c1:${fmt(tsOf(0, 5))}`;
    expect((await op('POST', `/v1/alerts/${enc(ep)}/ack`, { by: 'PC Jones', outcome: 'warning' })).status).toBe(200);
    copier = new ArchiveCopier(redis, t.service.keys, arch.db);
    await copier.start();
    await copier.drain();
    const rows = (await arch.db.query<{ device_id: string; seq: string; n: string; subject_id: string }>(
      'SELECT device_id, seq, subject_id, count(*) OVER (PARTITION BY device_id, seq) AS n FROM fixes')).rows;
    expect(rows.filter((r) => Number(r.n) > 1), 'a fix archived twice').toEqual([]);
    expect(new Set(rows.map((r) => `${r.device_id}#${r.seq}`))).toEqual(acked);
    expect(rows.find((r) => r.device_id === DEVICES[3])?.subject_id).toBe('S-3');
    expect(rows.filter((r) => r.device_id === VICTIM).map((r) => r.subject_id)).toEqual(new Array(SEQS).fill(null));

    // The events as the alert records in Redis have them, each once.
    const keys = t.service.keys;
    const inRedis: string[] = [];
    for (const id of await redis.zrange(keys.alertsAll, 0, -1)) {
      const h = await redis.hgetall(keys.alert(id));
      for (const ev of ['opened', 'updated', 'closed']) if (h[ev] !== undefined) inRedis.push(`${id}:${ev}`);
    }
    expect(inRedis).toHaveLength(DEVICES.length * (SEQS / 10) * 2);
    const events = (await arch.db.query<{ event_id: string }>('SELECT event_id FROM alert_events')).rows.map((r) => r.event_id);
    expect(events.sort()).toEqual(inRedis.sort());
    expect((await arch.db.query('SELECT episode_id, idx FROM decisions')).rows).toEqual([{ episode_id: ep, idx: 0 }]);
    expect(await count('SELECT count(*) AS n FROM config_changes WHERE kind = \'subject\'')).toBe(DEVICES.length);

    // A checkpoint per partition and lane, one per feed; each partition told where the archive is.
    const cps = new Map((await arch.db.query<{ stream: string; position: string }>('SELECT stream, position FROM archive_checkpoints')).rows.map((r) => [r.stream, r.position]));
    for (let n = 0; n < P; n++) {
      for (const lane of [0, 1]) expect(cps.has(`log.p${n}.${lane}/2`), `log.p${n}.${lane}/2`).toBe(true);
      expect(cps.has(`feed.p${n}`)).toBe(true);
      expect(await redis.get(keys.partition(n).archiveCursor)).toBe(copier.logPositions[n]);
      expect(await redis.xlen(keys.partition(n).archiveFeed)).toBe(0);
    }
    expect(cps.has('feed')).toBe(true);
    expect(await redis.xlen(keys.archiveFeed)).toBe(0);
  });

  it('copies nothing twice when started over from no checkpoint', async () => {
    const before = await count('SELECT count(*) AS n FROM fixes');
    await copier.close();
    await arch.db.query('DELETE FROM archive_checkpoints');
    copier = new ArchiveCopier(redis, t.service.keys, arch.db);
    await copier.start();
    await copier.drain();
    expect(copier.copied.fixes).toBeGreaterThanOrEqual(DEVICES.length * SEQS); // read again: the logs still held them
    expect(await count('SELECT count(*) AS n FROM fixes')).toBe(before);
  });

  it('trims each partition\'s log once copied, and past ARCHIVE_LOG_MAX_ENTRIES drops only that partition\'s oldest, reported for it', async () => {
    const keys = t.service.keys;
    for (let seq = SEQS + 1; seq <= SEQS + 2; seq++) {
      await sleep(150);
      expect((await ws.send(DEVICES.map((d, i) => fix(d, seq, tsOf(i, seq), OUTSIDE)))).ack).toHaveLength(DEVICES.length);
    }
    for (let n = 0; n < P; n++) expect(await redis.xlen(keys.partition(n).log), `partition ${n} log after copy`).toBeLessThan(10);

    // The copier stops; one device (one partition) keeps sending: that partition's log is bounded.
    await copier.close();
    const d = DEVICES[0];
    const hot = partitionOf(d, P);
    for (let seq = SEQS + 3; seq <= SEQS + 160; seq++) {
      expect((await ws.send([fix(d, seq, tsOf(0, seq), OUTSIDE)])).ack).toHaveLength(1);
      if (seq % 40 === 0) await sleep(150);
    }
    await sleep(150);
    expect((await ws.send([fix(d, SEQS + 161, tsOf(0, SEQS + 161), OUTSIDE)])).ack).toHaveLength(1);
    expect(await redis.xlen(keys.partition(hot).log)).toBeLessThanOrEqual(100);
    expect(await redis.get(keys.partition(hot).archiveLost)).not.toBeNull();
    for (let n = 0; n < P; n++) if (n !== hot) expect(await redis.get(keys.partition(n).archiveLost)).toBeNull();
    const metrics = (await t.service.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKENS.operator}` } })).payload;
    const dropped = Number(/iom_archive_log_dropped_total (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(dropped).toBeGreaterThan(0);

    const said: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    copier = new ArchiveCopier(redis, keys, arch.db, { log: (level, obj, msg) => said.push({ level, obj: obj as Record<string, unknown>, msg }) });
    await copier.start();
    await copier.drain();
    const loss = said.filter((s) => s.level === 'error' && s.msg.startsWith('archive: ingest-log entries after the archive'));
    expect(loss.map((s) => s.obj.partition)).toEqual([hot]);
    // Each dropped entry held one fix of that device; everything else is archived.
    expect(await count(`SELECT count(*) AS n FROM fixes WHERE device_id = '${d}'`)).toBe(SEQS + 161 - dropped);
    // The other partitions lost nothing (their last two entries were kept for the archive); the
    // other device of the bounded partition lost its last two (uncopied, among the oldest dropped).
    for (const other of DEVICES.slice(1)) {
      expect(await count(`SELECT count(*) AS n FROM fixes WHERE device_id = '${other}'`), other).toBe(partitionOf(other, P) === hot ? SEQS : SEQS + 2);
    }
  }, 60_000);
});
