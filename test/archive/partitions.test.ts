// The archive with PARTITIONS=4 on one plain Redis (issue 15's layout without a cluster), against
// a REAL PostgreSQL/PostGIS and a REAL Redis: every partition's fixes archived once (a victim
// unit's fix, fanned out to the logs of the partitions watching it, too), alert events
// from the partitions' feeds, decisions and configuration changes from the global feed; each
// partition's log kept for the archive across snapshots, trimmed once copied, and bounded per
// partition with the loss reported for that partition.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlinkPrefix } from '../../bench/common/redis-keys.js';
import { compileZone } from '../../geo/index.js';
import { ArchiveCopier } from '../../src/archive/copier.js';
import { ArchiveFeed } from '../../src/archive/feed.js';
import { compileSubject, parseSettings, parseStoredSubject } from '../../src/engine/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { Fix } from '../../src/engine/fix.js';
import { buildLayerIndexes } from '../../src/engine/layer-index.js';
import { Committer } from '../../src/server/committer.js';
import { Keys } from '../../src/server/keys.js';
import { LEASE_ACQUIRE, partitionOf } from '../../src/server/partitions.js';
import { partitionEngine, restorePartition } from '../../src/server/state-store.js';
import { enc } from '../support/delivery.js';
import {
  api, ENGINE_SETTINGS, exclusionSubject, FAR_X, fix, fmt, INSIDE_X, newRedis, REDIS_URL, startTestService, TOKENS, uniquePrefix, WsClient, zoneX, type TestService,
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

// A commit's second step (trail and alert records, the global slot) lost, as when the owner dies
// between the two writes: the owner's connection here may write only the partition's keys (a
// Redis ACL user), so step 1 (the fenced script: log entry, outbox, archive feed) goes through and
// every step-2 transaction is refused whole. The takeover's repair (restorePartition) writes the
// alert records again; the archive feed already holds each event once, and the archive gets it once.
describe('archive feed across a lost second step and the takeover that repairs it (PARTITIONS=4, real Redis ACL + PostgreSQL)', () => {
  const prefix = uniquePrefix('arch-step2');
  const user = `iom-test-${randomBytes(4).toString('hex')}`;
  const keys = new Keys(prefix, P);
  const n = partitionOf('TAG-1', P);
  const pk = keys.partition(n);
  let arch: TestArchive;
  let admin: Redis;
  let owner: Redis;
  let copier: ArchiveCopier | undefined;

  afterAll(async () => {
    await copier?.close();
    owner?.disconnect();
    await admin?.call('ACL', 'DELUSER', user);
    if (admin !== undefined) {
      await unlinkPrefix(admin, `${prefix}:`);
      await unlinkPrefix(admin, `{${prefix}`);
    }
    admin?.disconnect();
    await arch?.drop();
  });

  it('keeps each alert event on the feed once, and archives it once, whatever happens to step 2', async () => {
    arch = await freshArchive();
    admin = newRedis();
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', 'nopass', '+@all', '%R~*', `~{${prefix}:p*`);
    owner = new Redis(REDIS_URL, { username: user, password: 'unused', maxRetriesPerRequest: 1 });
    owner.on('error', () => undefined);
    const settings = parseSettings(JSON.stringify(ENGINE_SETTINGS), 'ENGINE_SETTINGS');
    const zones = new Map([['Z-X', compileZone(zoneX('Z-X'))]]);
    const subject = compileSubject(parseStoredSubject(exclusionSubject('S-1', 'TAG-1', 'iom-north', 'Z-X')).subject, zones, settings, 'S-1');
    const newEngine = () => partitionEngine({ settings, zones, layers: buildLayerIndexes(zones.values()) }, [subject], []);
    const holder = `a/1/x|${String(await admin.eval(LEASE_ACQUIRE, 2, pk.lease, pk.fence, 'a/1/x', 60_000, ''))}`;
    const archive = { feed: new ArchiveFeed(keys.archiveFeed), maxLogEntries: 1000 };
    const committer = (r: Redis, engine: Engine, lastLogId: string | null, broken: (e: Error) => void = () => undefined): Committer => new Committer(r, engine, keys, {
      trailMaxPerDevice: 100, snapshotIntervalMs: 3_600_000, now: Date.now, partition: pk, holder, waitReplicas: 0, writesTrail: () => true, oneSlot: null, archive,
    }, { observeRedisSeconds: () => undefined, eventsCommitted: () => undefined }, broken, lastLogId);

    // The owner evaluates an entry into the zone: step 1 is written, step 2 refused every time.
    const t0 = Date.now() - 60_000;
    let brokenBy: Error | null = null;
    const a = committer(owner, newEngine(), null, (e) => { brokenBy = e; });
    await expect(a.submit([new Fix('TAG-1', 1, t0, ...FAR_X, 5, NaN, 0), new Fix('TAG-1', 2, t0 + 1000, ...INSIDE_X, 5, NaN, 0)]).recorded).rejects.toThrow(/not recorded/);
    expect(String(brokenBy)).toMatch(/NOPERM|EXECABORT/);
    const ep = `S-1:c1:${fmt(t0 + 1000)}`;
    const feedEvents = async (): Promise<string[]> => (await admin.xrange(pk.archiveFeed, '-', '+')).map(([, f]) => {
      const item = JSON.parse(f[1]) as { k: string; e: { episodeId: string; event: string } };
      return `${item.k}:${item.e.episodeId}:${item.e.event}`;
    });
    expect(await admin.xlen(pk.log)).toBe(1);
    expect(await admin.llen(pk.outbox)).toBe(1);
    expect(await feedEvents()).toEqual([`event:${ep}:opened`]);
    expect(await admin.exists(keys.alert(ep), keys.trail('TAG-1'))).toBe(0);

    // The takeover: the partition rebuilt from its log, step 2 repaired (trail and alert record).
    const restored = newEngine();
    const r = await restorePartition(admin, keys, n, restored, { writesTrail: () => true, trailMaxPerDevice: 100 });
    expect(await admin.hget(keys.alert(ep), 'opened')).not.toBeNull();
    expect(await admin.xlen(keys.trail('TAG-1'))).toBe(2);
    expect(await feedEvents()).toEqual([`event:${ep}:opened`]);

    // The new owner carries on (the episode closes); the archive gets each event once.
    const b = committer(admin, restored, r.lastLogId);
    await b.submit([new Fix('TAG-1', 3, t0 + 2000, ...FAR_X, 5, NaN, 0)]).recorded;
    expect(await feedEvents()).toEqual([`event:${ep}:opened`, `event:${ep}:closed`]);
    copier = new ArchiveCopier(admin, keys, arch.db);
    await copier.start();
    await copier.drain();
    expect((await arch.db.query('SELECT event_id FROM alert_events ORDER BY at, event')).rows.map((x) => x.event_id)).toEqual([`${ep}:opened`, `${ep}:closed`]);
    expect(Number((await arch.db.query('SELECT count(*) AS n FROM fixes WHERE device_id = \'TAG-1\'')).rows[0].n)).toBe(3);
    expect(await admin.xlen(pk.archiveFeed)).toBe(0);
  }, 30_000);
});
