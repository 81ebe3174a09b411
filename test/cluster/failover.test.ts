// Several instances on a real Redis Cluster (3 primaries + 3 replicas on loopback, started and
// stopped here): a stale owner's commit is refused (fencing), and an instance SIGKILLed under
// load hands its partitions to the other with no acknowledged fix lost and no episode doubled.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSubject, parseSettings, parseStoredSubject } from '../../src/engine/config.js';
import { Fix } from '../../src/engine/fix.js';
import { decodeFix } from '../../src/engine/fix-codec.js';
import { compileZone } from '../../geo/index.js';
import { Committer } from '../../src/server/committer.js';
import { Keys } from '../../src/server/keys.js';
import { LEASE_ACQUIRE, partitionOf } from '../../src/server/partitions.js';
import { buildLayerIndexes } from '../../src/engine/layer-index.js';
import { partitionEngine } from '../../src/server/state-store.js';
import { redisServerInstalled } from '../../src/server/local-redis.js';
import { api, exclusionSubject, fix, FAR_X, INSIDE_X, sleep, TOKENS, uniquePrefix, waitUntil, zoneX, type ChildService, type FixIn } from '../support/server.js';
import { spawnInstance, startTestCluster, streamUntilAcked, type TestCluster } from '../support/cluster.js';

const d = redisServerInstalled() ? describe : describe.skip;

d('several instances on Redis Cluster', () => {
  let cluster: TestCluster;
  let redis: Redis;
  const children: ChildService[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster();
    redis = cluster.client();
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await cluster?.stop();
  });

  it('refuses a stale owner\'s commit once another instance holds the partition (fencing token)', async () => {
    const keys = new Keys(`{${uniquePrefix('fence')}}`, 4);
    const settings = parseSettings('{}', 'ENGINE_SETTINGS');
    const zones = new Map([['Z-X', compileZone(zoneX('Z-X'))]]);
    const subject = compileSubject(parseStoredSubject(exclusionSubject('S-1', 'TAG-1', 'iom-north', 'Z-X')).subject, zones, settings, 'S-1');
    const n = partitionOf('TAG-1', 4);
    const pk = keys.partition(n);
    const engine = partitionEngine({ settings, zones, layers: buildLayerIndexes(zones.values()) }, [subject], []);
    const take = async (name: string): Promise<string> => `${name}|${String(await redis.eval(LEASE_ACQUIRE, 2, pk.lease, pk.fence, name, 60_000, ''))}`;
    const holderA = await take('a/1/x');
    const committer = (holder: string): Committer => new Committer(redis, engine, keys, {
      trailMaxPerDevice: 100, snapshotIntervalMs: 3_600_000, now: Date.now, partition: pk, holder, waitReplicas: 1, writesTrail: () => true, oneSlot: null,
    }, { observeRedisSeconds: () => undefined, eventsCommitted: () => undefined }, () => undefined, null);
    const a = committer(holderA);
    const t0 = Date.now() - 60_000;
    await a.submit([new Fix('TAG-1', 1, t0, ...FAR_X, 5, NaN, 0)]).recorded;
    expect(await redis.xlen(pk.log)).toBe(1);

    // A's lease lapses (a stall); B takes the partition with the next token.
    await redis.del(pk.lease);
    const holderB = await take('b/2/y');
    expect(Number(holderB.split('|')[1])).toBe(Number(holderA.split('|')[1]) + 1);

    // A wakes up and commits what it evaluated meanwhile: refused whole, nothing written.
    await expect(a.submit([new Fix('TAG-1', 2, t0 + 1000, ...INSIDE_X, 5, NaN, 0)]).recorded).rejects.toThrow(/FENCED/);
    expect(await redis.xlen(pk.log)).toBe(1);
    expect(await redis.llen(pk.outbox)).toBe(0);
    expect(await redis.xlen(keys.trail('TAG-1'))).toBe(1);
  });

  // Found by the cluster chaos run (curfew wave set-up): the partition commit of a bulk import
  // was refused (FENCED) on its node while the configuration write was still running on the
  // global slot's node, and the instance died of the unhandled rejection.
  it('answers a configuration change whose partition lease moved meanwhile (503, send again) and keeps running', async () => {
    const prefix = `{${uniquePrefix('fenced-change')}}`;
    const keys = new Keys(prefix, 8);
    // A long lease: its renewal does not notice the theft before the change is committed.
    const a = await spawnInstance(cluster, prefix, 'a', { LEASE_TTL_MS: '60000' });
    children.push(a);
    const op = (method: string, path: string, body?: unknown) => api(a.url, method, path, { token: TOKENS.operator, body });
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    // Another instance holds partition 3 now (this one stalled past its lease, say).
    await waitUntil('a to own partition 3', async () => (await redis.get(keys.partition(3).lease))?.startsWith('a/') === true, 10_000);
    await redis.set(keys.partition(3).lease, 'other/1/x|999', 'PX', 60_000);
    // A big import: its configuration write takes a while; partition 3's commit is refused at once.
    const subjects = Array.from({ length: 3000 }, (_, i) => exclusionSubject(`S-${i}`, `TAG-${i}`, 'iom-north', 'Z-X'));
    const r = await op('POST', '/v1/subjects', { subjects });
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    await sleep(1000);
    expect(a.child.exitCode, a.output().slice(-3000)).toBeNull();
    expect(a.child.signalCode).toBeNull();
    expect((await op('GET', '/healthz')).status).toBe(200);
    // The configuration itself was stored: the partition's next owner applies it.
    expect(await redis.hlen(keys.subjects)).toBe(3000);
  });

  it('takes over a SIGKILLed instance\'s partitions: every acked fix evaluated and trailed once, no episode opened twice', async () => {
    const prefix = `{${uniquePrefix('ha')}}`;
    const keys = new Keys(prefix, 8);
    const a = await spawnInstance(cluster, prefix, 'a');
    children.push(a);
    const op = (url: string, method: string, path: string, body?: unknown) => api(url, method, path, { token: TOKENS.operator, body });
    expect((await op(a.url, 'PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    const DEVICES = 16;
    for (let i = 0; i < DEVICES; i++) expect((await op(a.url, 'PUT', `/v1/subjects/S-${i}`, exclusionSubject(`S-${i}`, `TAG-${i}`, 'iom-north', 'Z-X'))).status).toBe(200);
    const b = await spawnInstance(cluster, prefix, 'b');
    children.push(b);
    // Both own some partitions once the hand-over settles.
    await waitUntil('b to own partitions', async () => (await Promise.all(Array.from({ length: 8 }, (_, n) => redis.get(keys.partition(n).lease)))).some((v) => v?.startsWith('b/') === true), 15_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- a:\n${a.output().slice(-3000)}\n--- b:\n${b.output().slice(-3000)}`);
    });

    // Each device: 20 fixes outside the zone, then 20 inside (one exclusion episode each).
    const t0 = Date.now() - 3_600_000;
    const fixes: FixIn[] = [];
    for (let s = 1; s <= 40; s++) for (let i = 0; i < DEVICES; i++) fixes.push(fix(`TAG-${i}`, s, t0 + s * 1000, s <= 20 ? FAR_X : INSIDE_X));
    const acked = new Set<string>();
    let killedAt = 0;
    const urls = (): string[] => (killedAt === 0 ? [a.url, b.url] : [b.url]);
    await streamUntilAcked(urls, TOKENS.ingest, fixes, acked, {
      per: 8,
      pauseMs: 5,
      deadlineMs: 60_000,
      onAck: () => {
        if (killedAt === 0 && acked.size >= fixes.length * 0.4) {
          killedAt = Date.now();
          a.child.kill('SIGKILL');
        }
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(acked.size).toBe(fixes.length);

    // Every acked fix reaches its device's trail once (the new owner evaluates a's partitions).
    const trailSeqs = async (dev: string): Promise<number[]> => (await redis.xrange(keys.trail(dev), '-', '+')).map(([, f]) => decodeFix(dev, f).seq);
    await waitUntil('every acked fix in the trail', async () => {
      for (let i = 0; i < DEVICES; i++) if ((await trailSeqs(`TAG-${i}`)).length < 40) return false;
      return true;
    }, 20_000).catch(async (e: Error) => {
      const counts = await Promise.all(Array.from({ length: DEVICES }, async (_, i) => `TAG-${i}(p${partitionOf(`TAG-${i}`, 8)}):${(await trailSeqs(`TAG-${i}`)).length}`));
      const inbox = await Promise.all(Array.from({ length: 8 }, async (_, n) => `p${n}:${await redis.xlen(keys.partition(n).inbox)}:${await redis.get(keys.partition(n).lease)}`));
      throw new Error(`${e.message}\n${counts.join(' ')}\n${inbox.join(' ')}\n--- b:\n${b.output().slice(-4000)}`);
    });
    for (let i = 0; i < DEVICES; i++) {
      const seqs = await trailSeqs(`TAG-${i}`);
      expect(new Set(seqs).size, `TAG-${i}: a fix in the trail twice`).toBe(seqs.length);
      expect(seqs.length).toBe(40);
    }
    // One exclusion episode per subject, opened once.
    await waitUntil('an episode per subject', async () => (await redis.zcard(keys.alertsAll)) >= DEVICES, 10_000);
    await sleep(500);
    const episodes = await redis.zrange(keys.alertsAll, 0, -1);
    const bySubject = new Map<string, number>();
    for (const e of episodes) bySubject.set(e.split(':')[0], (bySubject.get(e.split(':')[0]) ?? 0) + 1);
    expect([...bySubject.values()].filter((n) => n > 1), JSON.stringify(episodes)).toEqual([]);
    expect(bySubject.size).toBe(DEVICES);
    // b owns every partition now.
    const leases = await Promise.all(Array.from({ length: 8 }, (_, n) => redis.get(keys.partition(n).lease)));
    expect(leases.every((v) => v?.startsWith('b/') === true), JSON.stringify(leases)).toBe(true);
  });
});
