// Two service instances on one Redis with PARTITIONS=8, as behind a load balancer: whichever
// instance a console asks shows every tag's live state (position, last heard, open episodes),
// also for the partitions the other instance owns; a victim unit's position stays hidden. A
// subject created on one instance is known on the other before its first fix is refused there.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/server/keys.js';
import {
  api, cleanupPrefix, WsClient, ENGINE_SETTINGS, exclusionSubject, fix, FAR_X, INSIDE_X, newRedis, spawnService, TOKEN_SPEC, TOKENS, uniquePrefix, waitUntil, zoneX,
  type ChildService, type FixIn,
} from '../support/server.js';
import { streamUntilAcked } from '../support/cluster.js';

const P = 8;
const DEVICES = 12;

describe('several instances: live state read from any instance', () => {
  const prefix = uniquePrefix('live');
  const keys = new Keys(prefix, P);
  let redis: Redis;
  const children: ChildService[] = [];
  const instance = (id: string): Promise<ChildService> => spawnService({
    KEY_PREFIX: prefix, PARTITIONS: String(P), INSTANCE_ID: id, LEASE_TTL_MS: '1000', STATUS_PUBLISH_MS: '200',
    WORKERS: '0', LOG_LEVEL: 'warn', API_TOKENS: TOKEN_SPEC, ENGINE_SETTINGS: JSON.stringify(ENGINE_SETTINGS), SNAPSHOT_INTERVAL_MS: '1000',
  });

  beforeAll(async () => {
    redis = newRedis();
  });

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    redis?.disconnect();
    await cleanupPrefix(prefix);
  });

  it('shows positions, health and open episodes of devices owned by the other instance', async () => {
    const a = await instance('a');
    children.push(a);
    const op = (url: string, method: string, path: string, body?: unknown) => api(url, method, path, { token: TOKENS.operator, body });
    expect((await op(a.url, 'PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    for (let i = 0; i < DEVICES; i++) {
      expect((await op(a.url, 'PUT', `/v1/subjects/S-${i}`, exclusionSubject(`S-${i}`, `TAG-${i}`, 'iom-north', 'Z-X'))).status).toBe(200);
      expect((await op(a.url, 'PUT', `/v1/devices/TAG-${i}`, { kind: 'tag', status: 'fitted' })).status).toBe(200);
    }
    // A victim's unit watched by subject S-0's proximity condition: never on the map.
    expect((await op(a.url, 'PUT', '/v1/devices/VU-1', { kind: 'victim_unit', status: 'fitted' })).status).toBe(200);
    const b = await instance('b');
    children.push(b);
    const owners = async (): Promise<string[]> => (await Promise.all(Array.from({ length: P }, (_, n) => redis.get(keys.partition(n).lease)))).map((v) => v?.split('/')[0] ?? '-');
    await waitUntil('both instances own partitions', async () => {
      const o = await owners();
      return o.includes('a') && o.includes('b') && !o.includes('-');
    }, 15_000);

    // Even devices end inside the exclusion zone (an episode opens), odd ones stay outside.
    const t0 = Date.now() - 60_000;
    const fixes: FixIn[] = [];
    for (let i = 0; i < DEVICES; i++) {
      fixes.push(fix(`TAG-${i}`, 1, t0, FAR_X, { battery: 0.5 }));
      fixes.push(fix(`TAG-${i}`, 2, t0 + 10_000, i % 2 === 0 ? INSIDE_X : FAR_X, { battery: 0.4 }));
    }
    fixes.push(fix('VU-1', 1, t0 + 5_000, FAR_X));
    const acked = new Set<string>();
    await streamUntilAcked(() => [a.url], TOKENS.ingest, fixes, acked, { per: 5, deadlineMs: 20_000 });
    expect(acked.size).toBe(fixes.length);

    for (const url of [a.url, b.url]) {
      await waitUntil(`every tag's position from ${url === a.url ? 'a' : 'b'}`, async () => {
        const r = await api(url, 'GET', '/v1/positions', { token: TOKENS.operator });
        const got = (r.body as { positions: { deviceId: string }[] }).positions;
        return got.filter((p) => p.deviceId.startsWith('TAG-')).length === DEVICES;
      }, 20_000);
      const r = await api(url, 'GET', '/v1/positions', { token: TOKENS.operator });
      const got = (r.body as { positions: { deviceId: string; lat: number; lon: number; openAlerts: number; battery: number | null }[] }).positions;
      expect(got.map((p) => p.deviceId)).not.toContain('VU-1');
      for (let i = 0; i < DEVICES; i++) {
        const p = got.find((x) => x.deviceId === `TAG-${i}`);
        const where = i % 2 === 0 ? INSIDE_X : FAR_X;
        expect(p, `TAG-${i}`).toBeDefined();
        expect([p!.lat, p!.lon]).toEqual([where[0], where[1]]);
        expect(p!.battery).toBe(0.4);
        expect(p!.openAlerts, `TAG-${i} open episodes`).toBe(i % 2 === 0 ? 1 : 0);
      }
      // The device register's health answers the same for a device owned by either instance.
      for (let i = 0; i < DEVICES; i++) {
        const d = await api(url, 'GET', `/v1/devices/TAG-${i}`, { token: TOKENS.operator });
        const h = (d.body as { health: { lastSeen: string | null; lastFix: { lat: number } | null } }).health;
        expect(h.lastSeen, `TAG-${i} last seen`).not.toBeNull();
        expect(h.lastFix?.lat).toBe((i % 2 === 0 ? INSIDE_X : FAR_X)[0]);
      }
      const ops = await api(url, 'GET', '/v1/ops/summary', { token: TOKENS.operator });
      expect((ops.body as { connectedTags: number }).connectedTags).toBe(DEVICES);
    }
    // The owners publish what they own only; a partition's document names its devices only.
    const docs = (await Promise.all(Array.from({ length: P }, (_, n) => redis.get(keys.partition(n).status)))).filter((t) => t !== null);
    expect(docs.length).toBe(P);

    // A subject created on one instance: its tag's first fix, sent to the other a moment later,
    // is accepted there (not refused as an unknown device while the change is on its way).
    const ws = await WsClient.connect(b.url, '/v1/ingest', TOKENS.ingest);
    try {
      const refused: string[] = [];
      for (let i = 0; i < 20; i++) {
        // The fix goes to b the moment the change is in Redis (before a has even answered).
        const before = await redis.xlen(keys.configLog);
        const put = op(a.url, 'PUT', `/v1/subjects/N-${i}`, exclusionSubject(`N-${i}`, `NEW-${i}`, 'iom-north', 'Z-X'));
        const until = Date.now() + 10_000;
        while ((await redis.xlen(keys.configLog)) === before && Date.now() < until) { /* the change is not written yet */ }
        const reply = await ws.send([fix(`NEW-${i}`, 1, Date.now() - 1000, FAR_X)]);
        expect((await put).status).toBe(200);
        if ((reply.ack ?? []).length !== 1) refused.push(`NEW-${i}: ${JSON.stringify(reply)}`);
      }
      expect(refused).toEqual([]);
    } finally {
      ws.close();
    }
  }, 90_000);
});
