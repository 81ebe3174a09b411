// A large engine's snapshot is taken off the hot path (committer.ts): the state after one group,
// stringified in slices while later groups are written, then stored under that group's log id.
// State = snapshot + the log after it must still hold exactly, in both commit modes (one MULTI
// on plain Redis; two steps, as with several partitions or a cluster), and the trail must hold
// every fix once.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSubject, parseSettings, parseStoredSubject } from '../../src/engine/config.js';
import { Fix } from '../../src/engine/fix.js';
import { compileZone } from '../../geo/index.js';
import { Committer } from '../../src/server/committer.js';
import { Keys } from '../../src/server/keys.js';
import { LEASE_ACQUIRE } from '../../src/server/partitions.js';
import { buildLayerIndexes } from '../../src/engine/layer-index.js';
import { partitionEngine, restorePartition } from '../../src/server/state-store.js';
import { cleanupPrefix, exclusionSubject, FAR_X, INSIDE_X, newRedis, sleep, uniquePrefix, zoneX } from '../support/server.js';

const SUBJECTS = 1500;
const DEVICES = 1500; // registered, worn by no one: 3000 devices + 1500 subjects, more than one slice

describe('sliced snapshot + log restores the live state exactly', () => {
  let redis: Redis;
  let oneSlot: Redis;
  const prefixes: string[] = [];

  beforeAll(() => {
    redis = newRedis();
    oneSlot = newRedis();
  });

  afterAll(async () => {
    for (const p of prefixes) await cleanupPrefix(p);
    redis.disconnect();
    oneSlot.disconnect();
  });

  for (const mode of ['one MULTI', 'two steps'] as const) {
    it(`(${mode})`, async () => {
      const prefix = uniquePrefix('sliced');
      prefixes.push(prefix);
      const keys = new Keys(prefix);
      const pk = keys.partition(0);
      const settings = parseSettings('{}', 'ENGINE_SETTINGS');
      const zones = new Map([['Z-X', compileZone(zoneX('Z-X'))]]);
      const layers = buildLayerIndexes(zones.values());
      const subjects = Array.from({ length: SUBJECTS }, (_, i) => compileSubject(parseStoredSubject(exclusionSubject(`S-${i}`, `TAG-${i}`, 'iom-north', 'Z-X')).subject, zones, settings, `S-${i}`));
      const devices = Array.from({ length: DEVICES }, (_, i) => `REG-${i}`);
      const config = { settings, zones, layers };
      const engine = partitionEngine(config, subjects, devices);
      const holder = `t/1/x|${String(await redis.eval(LEASE_ACQUIRE, 2, pk.lease, pk.fence, 't/1/x', 60_000, ''))}`;
      const c = new Committer(redis, engine, keys, {
        trailMaxPerDevice: 1000, snapshotIntervalMs: 50, now: Date.now, partition: pk, holder, waitReplicas: 0, writesTrail: () => true,
        oneSlot: mode === 'one MULTI' ? oneSlot : null,
      }, { observeRedisSeconds: () => undefined, eventsCommitted: () => undefined }, (e) => { throw e; }, null);
      const t0 = Date.now() - 3_600_000;
      let acked = 0;
      const recorded: Promise<void>[] = [];
      // Groups keep being written while snapshots are sliced (a turn of the event loop between submits).
      for (let round = 1; round <= 60; round++) {
        const batch: Fix[] = [];
        for (let i = 0; i < SUBJECTS; i += 7) batch.push(new Fix(`TAG-${i}`, round, t0 + round * 1000, ...(round % 4 === 2 ? INSIDE_X : FAR_X), 5, NaN, 0));
        for (let i = 0; i < DEVICES; i += 50) batch.push(new Fix(`REG-${i}`, round, t0 + round * 1000, ...FAR_X, 5, 0.5, 0));
        recorded.push(c.submit(batch).recorded);
        acked += batch.length;
        await new Promise((r) => setImmediate(r));
        if (round % 10 === 0) await sleep(60);
      }
      await Promise.all(recorded);
      await c.drain();
      await sleep(300);
      await c.drain();
      const snap = JSON.parse((await redis.get(pk.snapshot)) as string) as { logId: string };
      const log = await redis.xrange(pk.log, '-', '+');
      // A sliced snapshot was written, and names an entry older than the newest (the log after it is replayed).
      expect(snap.logId).toMatch(/^\d+-\d+$/);
      const after = (id: string): boolean => {
        const [a, b] = id.split('-').map(Number);
        const [x, y] = snap.logId.split('-').map(Number);
        return a > x || (a === x && b > y);
      };
      expect(log.filter(([id]) => after(id)).length).toBeGreaterThan(0);
      const restored = partitionEngine(config, subjects, devices);
      await restorePartition(redis, keys, 0, restored, mode === 'two steps' ? { writesTrail: () => true, trailMaxPerDevice: 1000 } : null);
      expect(JSON.stringify(restored.snapshot())).toBe(JSON.stringify(engine.snapshot()));
      let trailed = 0;
      for (let i = 0; i < SUBJECTS; i += 7) trailed += await redis.xlen(keys.trail(`TAG-${i}`));
      for (let i = 0; i < DEVICES; i += 50) trailed += await redis.xlen(keys.trail(`REG-${i}`));
      expect(trailed).toBe(acked);
      expect(await redis.scard(keys.trailDevices)).toBe(Math.ceil(SUBJECTS / 7) + DEVICES / 50);
    }, 60_000);
  }
});
