// Archive exactly-once across SIGKILL (issue 14 part 1): the real service (`node
// dist/src/server/main.js`, which runs the archive worker as its child when DATABASE_URL is set),
// a REAL Redis and a REAL PostgreSQL/PostGIS. Fixes stream in while the archive worker is
// SIGKILLed mid-copy, twice; the service restarts it. In the end the archive holds every
// acknowledged fix exactly once, the same fixes as the Redis trail. Run with PARTITIONS=1 and with
// PARTITIONS=4 (the four devices land in four partitions: four logs, a cursor per partition).
import { afterAll, describe, expect, it } from 'vitest';
import {
  api, cleanupPrefix, ENGINE_SETTINGS, fix, newRedis, sleep, spawnService, TOKEN_SPEC, TOKENS, uniquePrefix, WsClient, type ChildService,
} from '../support/server.js';
import { decodeFix } from '../../src/engine/fix-codec.js';
import { unlinkPrefix } from '../../bench/common/redis-keys.js';
import { Keys } from '../../src/server/keys.js';
import { partitionOf } from '../../src/server/partitions.js';
import { freshArchive, type TestArchive } from '../support/pg.js';

const DEVICES = 4;
const PER_DEVICE = 1500;
const BATCH = 25;

describe.each([1, 4])('archive exactly once across archive-worker SIGKILLs (real service, PostgreSQL, Redis, PARTITIONS=%i)', (partitions) => {
  const prefix = uniquePrefix('arch-kill');
  const keys = new Keys(prefix, partitions);
  let arch: TestArchive | undefined;
  let svc: ChildService | undefined;
  const redis = newRedis();

  afterAll(async () => {
    if (svc !== undefined && svc.child.exitCode === null) {
      svc.child.kill('SIGTERM');
      const t = setTimeout(() => svc?.child.kill('SIGKILL'), 15_000);
      await svc.exited;
      clearTimeout(t);
    }
    await cleanupPrefix(prefix);
    if (partitions > 1) await unlinkPrefix(redis, `{${prefix}`);
    redis.disconnect();
    await arch?.drop();
  });

  const archived = async (): Promise<number> => Number((await arch!.db.query('SELECT count(*) AS n FROM fixes')).rows[0].n);
  /** The archive worker pids the service has started, in order (it prints each). */
  const workerPids = (): number[] => [...(svc?.output() ?? '').matchAll(/archive worker pid (\d+)/g)].map((m) => Number(m[1]));

  it('holds every acknowledged fix exactly once, the same as the Redis trail', async () => {
    arch = await freshArchive();
    svc = await spawnService({
      KEY_PREFIX: prefix, PARTITIONS: String(partitions), API_TOKENS: TOKEN_SPEC, SNAPSHOT_INTERVAL_MS: '200', WORKERS: '0',
      ENGINE_SETTINGS: JSON.stringify(ENGINE_SETTINGS), DATABASE_URL: arch.url, ARCHIVE_SCHEMA: arch.schema, LOG_LEVEL: 'warn',
    });
    expect(svc.output()).toContain(`archive on: PostgreSQL schema ${arch.schema}`);
    if (partitions > 1) expect(new Set(Array.from({ length: DEVICES }, (_, d) => partitionOf(`TAG-K${d}`, partitions))).size).toBe(partitions);
    for (let d = 0; d < DEVICES; d++) {
      expect((await api(svc.url, 'PUT', `/v1/devices/TAG-K${d}`, { token: TOKENS.operator, body: { kind: 'tag', status: 'in_stock' } })).status).toBe(200);
    }
    const ws = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    const base = Date.now() - 6 * 3_600_000;
    const acked = new Set<string>();
    const kills: { pid: number; archivedAtKill: number }[] = [];
    const total = DEVICES * PER_DEVICE;
    let sent = 0;
    for (let seq = 1; seq <= PER_DEVICE; seq += BATCH) {
      const batch = [];
      for (let d = 0; d < DEVICES; d++) {
        for (let s = seq; s < seq + BATCH; s++) batch.push(fix(`TAG-K${d}`, s, base + s * 10_000 + d, [51.4 + d * 0.01, -0.1 + s * 1e-6], { accuracy: 6 }));
      }
      const reply = await ws.send(batch);
      for (const [dev, s] of reply.ack ?? []) acked.add(`${dev}#${s}`);
      sent += batch.length;
      // Two SIGKILLs of the archive worker while it copies (something archived, not yet all).
      if (kills.length < 2 && sent >= total * (kills.length === 0 ? 0.3 : 0.65)) {
        // Each kill waits for the (restarted) worker to be copying.
        const wait = Date.now() + 20_000;
        const floor = kills.length === 0 ? 0 : kills[0].archivedAtKill;
        while ((workerPids().length < kills.length + 1 || (await archived()) <= floor) && Date.now() < wait) await sleep(50);
        const pids = workerPids();
        const pid = pids[pids.length - 1];
        const n = await archived();
        try {
          process.kill(pid, 'SIGKILL');
        } catch (e) {
          throw new Error(`${(e as Error).message} (pid ${pid}):\n${svc.output()}`);
        }
        kills.push({ pid, archivedAtKill: n });
      }
    }
    await ws.closeAndWait();
    expect(acked.size).toBe(total);
    expect(kills).toHaveLength(2);
    expect(kills[0].archivedAtKill, 'the first kill came after some copying').toBeGreaterThan(0);
    expect(kills[1].archivedAtKill).toBeLessThan(total);

    // The service restarts the worker; it resumes from its checkpoint and catches up.
    const until = Date.now() + 60_000;
    while ((await archived()) < total && Date.now() < until) await sleep(200);
    await sleep(500); // anything copied twice would show now
    expect(workerPids().length, svc.output()).toBeGreaterThanOrEqual(3);
    expect(svc.output()).toContain('archive worker exited (SIGKILL); restarting');

    const rows = (await arch.db.query<{ device_id: string; seq: string; ts: Date; n: string }>(
      'SELECT device_id, seq, ts, count(*) OVER (PARTITION BY device_id, seq) AS n FROM fixes ORDER BY device_id, seq')).rows;
    expect(rows.filter((r) => Number(r.n) > 1), 'a fix archived twice').toEqual([]);
    const inArchive = rows.map((r) => `${r.device_id}#${r.seq}#${r.ts.getTime()}`);
    expect(inArchive, svc.output().slice(-3000)).toHaveLength(total);
    const inRedis: string[] = [];
    for (let d = 0; d < DEVICES; d++) {
      for (const [, fields] of await redis.xrange(keys.trail(`TAG-K${d}`), '-', '+')) {
        const f = decodeFix(`TAG-K${d}`, fields);
        inRedis.push(`${f.deviceId}#${f.seq}#${f.ts}`);
      }
    }
    expect(new Set(inArchive)).toEqual(new Set(inRedis));
    expect(new Set(inArchive.map((k) => k.split('#').slice(0, 2).join('#')))).toEqual(acked);
    // Each partition's cursor reached its log's end (the copier told every partition).
    for (let n = 0; n < partitions; n++) {
      const pk = keys.partition(n);
      const atEnd = async (): Promise<boolean> => (await redis.get(pk.archiveCursor)) === (await redis.xrevrange(pk.log, '+', '-', 'COUNT', 1))[0]?.[0];
      const by = Date.now() + 5000;
      while (!(await atEnd()) && Date.now() < by) await sleep(100);
      expect(await atEnd(), `partition ${n}'s archive cursor at its log's end`).toBe(true);
    }
  }, 180_000);
});
