// The archive on a real Redis Cluster (3 primaries + 3 replicas on loopback, started and stopped
// here) with PARTITIONS=8, two service instances each running an archive worker (one copies, the
// other waits on the archive's lock), against a REAL PostgreSQL/PostGIS. Fixes stream in while
// the copying archive worker is SIGKILLed and then its instance too (the other instance takes
// its partitions over and repairs their commits' second step): every acked fix is archived once,
// every alert event once, decisions and configuration changes from the global slot.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/server/keys.js';
import { redisServerInstalled } from '../../src/server/local-redis.js';
import { enc } from '../support/delivery.js';
import { api, exclusionSubject, fix, FAR_X, INSIDE_X, sleep, TOKENS, uniquePrefix, waitUntil, zoneX, type ChildService, type FixIn } from '../support/server.js';
import { spawnInstance, startTestCluster, streamUntilAcked, type TestCluster } from '../support/cluster.js';
import { freshArchive, type TestArchive } from '../support/pg.js';

const d = redisServerInstalled() ? describe : describe.skip;
const P = 8;
const DEVICES = 16;
const SEQS = 60;

d('archive on Redis Cluster, PARTITIONS=8, two instances (real PostgreSQL)', () => {
  let cluster: TestCluster;
  let redis: Redis;
  let arch: TestArchive;
  const children: ChildService[] = [];
  const workerPids = (c: ChildService): number[] => [...c.output().matchAll(/archive worker pid (\d+)/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    cluster = await startTestCluster();
    redis = cluster.client();
    arch = await freshArchive();
  }, 60_000);

  afterAll(async () => {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill('SIGTERM');
        await Promise.race([c.exited, sleep(15_000)]);
      }
      // A SIGKILLed instance leaves its archive worker running (it waits on the archive's lock).
      for (const pid of workerPids(c)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }
    await cluster?.stop();
    await arch?.drop();
  }, 60_000);

  it('archives every acked fix and every alert event once across an archive-worker SIGKILL and an instance SIGKILL (takeover)', async () => {
    const prefix = `{${uniquePrefix('arch-ha')}}`;
    const keys = new Keys(prefix, P);
    const env = { DATABASE_URL: arch.url, ARCHIVE_SCHEMA: arch.schema, PARTITIONS: String(P) };
    const a = await spawnInstance(cluster, prefix, 'a', env);
    children.push(a);
    expect(a.output()).toContain(`archive on: PostgreSQL schema ${arch.schema}`);
    const op = (url: string, method: string, path: string, body?: unknown) => api(url, method, path, { token: TOKENS.operator, body });
    expect((await op(a.url, 'PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    for (let i = 0; i < DEVICES; i++) expect((await op(a.url, 'PUT', `/v1/subjects/S-${i}`, exclusionSubject(`S-${i}`, `TAG-${i}`, 'iom-north', 'Z-X'))).status).toBe(200);
    const b = await spawnInstance(cluster, prefix, 'b', env);
    children.push(b);
    await waitUntil('b to own partitions', async () => (await Promise.all(Array.from({ length: P }, (_, n) => redis.get(keys.partition(n).lease)))).some((v) => v?.startsWith('b/') === true), 15_000);
    // a's archive worker copies (it started first and holds the lock); b's waits.
    await waitUntil('a\'s archive worker copying', async () => a.output().includes('archive worker copying'), 15_000);

    // Each device: outside, inside (an episode), outside (closed), inside, outside.
    const t0 = Date.now() - 3_600_000;
    const fixes: FixIn[] = [];
    for (let s = 1; s <= SEQS; s++) {
      const inside = (s > 20 && s <= 30) || (s > 40 && s <= 50);
      for (let i = 0; i < DEVICES; i++) fixes.push(fix(`TAG-${i}`, s, t0 + s * 1000, inside ? INSIDE_X : FAR_X));
    }
    const acked = new Set<string>();
    let workerKilled = 0;
    let instanceKilled = 0;
    const urls = (): string[] => (instanceKilled === 0 ? [a.url, b.url] : [b.url]);
    await streamUntilAcked(urls, TOKENS.ingest, fixes, acked, {
      per: 8,
      pauseMs: 5,
      deadlineMs: 90_000,
      onAck: () => {
        if (workerKilled === 0 && acked.size >= fixes.length * 0.3) {
          workerKilled = workerPids(a)[0];
          process.kill(workerKilled, 'SIGKILL');
        } else if (instanceKilled === 0 && acked.size >= fixes.length * 0.6) {
          instanceKilled = Date.now();
          a.child.kill('SIGKILL');
        }
      },
    });
    expect(workerKilled).toBeGreaterThan(0);
    expect(instanceKilled).toBeGreaterThan(0);
    expect(acked.size).toBe(fixes.length);

    // b's archive worker took the lock over and catches up.
    const count = async (sql: string): Promise<number> => Number((await arch.db.query(sql)).rows[0].n);
    await waitUntil('every acked fix archived', async () => (await count('SELECT count(DISTINCT (device_id, seq)) AS n FROM fixes')) >= fixes.length, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- b:\n${b.output().slice(-3000)}`);
    });
    // Quiet: nothing further arrives (anything copied twice would show now).
    await waitUntil('every feed copied', async () => {
      for (const k of keys.archiveFeeds()) if ((await redis.xlen(k)) > 0) return false;
      return true;
    }, 20_000);
    await sleep(1000);
    const rows = (await arch.db.query<{ device_id: string; seq: string; n: string }>('SELECT device_id, seq, count(*) OVER (PARTITION BY device_id, seq) AS n FROM fixes')).rows;
    expect(rows.filter((r) => Number(r.n) > 1), 'a fix archived twice').toEqual([]);
    expect(new Set(rows.map((r) => `${r.device_id}#${r.seq}`))).toEqual(acked);

    // Every alert event the alert records hold is archived, and nothing else: each once (its key).
    await waitUntil('two episodes per subject', async () => (await redis.zcard(keys.alertsAll)) >= 2 * DEVICES, 10_000);
    const inRedis: string[] = [];
    for (const id of await redis.zrange(keys.alertsAll, 0, -1)) {
      const h = await redis.hgetall(keys.alert(id));
      for (const ev of ['opened', 'updated', 'closed']) if (h[ev] !== undefined) inRedis.push(`${id}:${ev}`);
    }
    const events = (await arch.db.query<{ event_id: string }>('SELECT event_id FROM alert_events')).rows.map((r) => r.event_id);
    expect(events.sort()).toEqual(inRedis.sort());
    expect(inRedis.filter((e) => e.endsWith(':opened'))).toHaveLength(2 * DEVICES);

    // A decision made on b (global slot: the alert record, its decision list and the feed in one script).
    const ep = inRedis[0].slice(0, inRedis[0].lastIndexOf(':'));
    expect((await op(b.url, 'POST', `/v1/alerts/${enc(ep)}/ack`, { by: 'PC Jones', outcome: 'warning' })).status).toBe(200);
    await waitUntil('the decision archived', async () => (await count('SELECT count(*) AS n FROM decisions')) === 1, 10_000);
    expect(await count('SELECT count(*) AS n FROM config_changes WHERE kind = \'subject\'')).toBe(DEVICES);

    // A checkpoint per partition and lane and per feed; every partition told where the archive is.
    const cps = new Set((await arch.db.query<{ stream: string }>('SELECT stream FROM archive_checkpoints')).rows.map((r) => r.stream));
    for (let n = 0; n < P; n++) {
      expect(cps.has(`log.p${n}.0/2`) && cps.has(`log.p${n}.1/2`), `partition ${n}`).toBe(true);
      expect(await redis.get(keys.partition(n).archiveCursor)).not.toBeNull();
    }
    expect(a.output()).toContain('archive worker exited (SIGKILL); restarting');
    expect(b.output()).toContain('archive worker copying');
  }, 240_000);
});
