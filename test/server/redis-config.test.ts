// The service's checks on the Redis it is given, and its behaviour when Redis goes away. These
// use a private `redis-server` child on a free port (never the shared Redis's configuration).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisServerInstalled, startRedisServer as startLocalRedis } from '../../src/server/local-redis.js';
import { checkRedis, startService, type Service } from '../../src/server/service.js';
import {
  api, exclusionSubject, fix, FAR_X, freePort, INSIDE_X, newRedis, sleep, testSettings, TOKENS, uniquePrefix, WsClient, zoneX,
  type IngestReply,
} from '../support/server.js';

const HAVE_REDIS_SERVER = redisServerInstalled();

interface PrivateRedis {
  port: number;
  url: string;
  proc: ChildProcess;
  dir: string;
  args: string[];
}

async function startRedisServer(args: string[], port?: number, dir?: string): Promise<PrivateRedis> {
  const r = await startLocalRedis({ port: port ?? await freePort(), dir: dir ?? mkdtempSync(join(tmpdir(), 'iom-redis-')), args });
  return { port: r.port, url: r.url, proc: r.child, dir: r.dir, args };
}

function killRedis(r: PrivateRedis): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    r.proc.once('exit', () => done());
    r.proc.kill('SIGKILL');
  });
}

const log = () => {
  const warnings: { o: object; m: string }[] = [];
  return { warnings, warn: (o: object, m: string) => void warnings.push({ o, m }) };
};

describe.skipIf(!HAVE_REDIS_SERVER)('Redis configuration checks (private redis-server)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const track = (r: PrivateRedis): PrivateRedis => {
    cleanup.push(async () => {
      await killRedis(r);
      rmSync(r.dir, { recursive: true, force: true });
    });
    return r;
  };
  const client = (url: string): Redis => {
    const c = newRedis(url);
    cleanup.push(() => c.disconnect());
    return c;
  };

  it('checkRedis refuses a Redis whose maxmemory-policy is not noeviction', async () => {
    const r = track(await startRedisServer(['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no']));
    const c = client(r.url);
    const l = log();
    await expect(checkRedis(c, l)).rejects.toThrow(/maxmemory-policy is allkeys-lru.*noeviction/);
    for (const policy of ['volatile-lru', 'allkeys-random', 'volatile-ttl']) {
      await c.config('SET', 'maxmemory-policy', policy);
      await expect(checkRedis(c, l), policy).rejects.toThrow(/noeviction/);
    }
    await c.config('SET', 'maxmemory-policy', 'noeviction');
    await expect(checkRedis(c, l)).resolves.toBeUndefined();
    // AOF off is allowed, with a warning naming appendonly.
    expect(l.warnings.some((w) => /AOF/.test(w.m) && (w.o as { appendonly?: string }).appendonly === 'no')).toBe(true);
    await c.config('SET', 'appendonly', 'yes');
    const l2 = log();
    await checkRedis(c, l2);
    expect(l2.warnings).toEqual([]);
  });

  it('startService refuses to start on an evicting Redis (and does not hang)', async () => {
    const r = track(await startRedisServer(['--maxmemory-policy', 'allkeys-lru']));
    const started = Date.now();
    await expect(startService(testSettings(uniquePrefix(), { redisUrl: r.url }))).rejects.toThrow(/noeviction/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('warns but starts when CONFIG is disabled (managed Redis)', async () => {
    const r = track(await startRedisServer(['--rename-command', 'CONFIG', '""']));
    const l = log();
    await expect(checkRedis(client(r.url), l)).resolves.toBeUndefined();
    expect(l.warnings.map((w) => w.m).join('\n')).toMatch(/noeviction/);
  });
});

describe.skipIf(!HAVE_REDIS_SERVER)('Redis outage (private redis-server, AOF always)', () => {
  let redis: PrivateRedis | null = null;
  let service: Service | null = null;
  let ws: WsClient | null = null;
  afterEach(async () => {
    await ws?.closeAndWait().catch(() => undefined);
    if (service !== null) await Promise.race([service.stop(), sleep(5000)]);
    if (redis !== null) {
      await killRedis(redis);
      rmSync(redis.dir, { recursive: true, force: true });
    }
  });

  it('acks nothing while Redis is down (nack: send again), answers /readyz 503 promptly, and resumes without loss', async () => {
    const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'];
    redis = await startRedisServer(args);
    service = await startService(testSettings(uniquePrefix(), { redisUrl: redis.url }));
    const url = service.url;
    const op = (method: string, path: string, body?: unknown) => api(url, method, path, { token: TOKENS.operator, body });
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-O', exclusionSubject('S-O', 'TAG-O', 'iom-north', 'Z-X'))).status).toBe(200);
    ws = await WsClient.connect(url, '/v1/ingest', TOKENS.ingest);
    const base = Date.now() - 60_000;
    expect(await ws.send(fix('TAG-O', 1, base, FAR_X))).toEqual({ ack: [['TAG-O', 1]] });

    await killRedis(redis);
    // A fix sent while Redis is down is not acknowledged: the reply says "not recorded, send again".
    const reply = await Promise.race([ws.send(fix('TAG-O', 2, base + 1000, INSIDE_X)), sleep(5000).then(() => null)]);
    expect(reply).toMatchObject({ error: expect.stringMatching(/not recorded/), nack: [['TAG-O', 2]] });
    expect(reply).not.toHaveProperty('ack');

    // Readiness must say so, promptly (a probe has a short timeout).
    const readyz = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${TOKENS.operator}` }, signal: AbortSignal.timeout(2000) })
      .then(async (r) => ({ status: r.status, body: await r.json() as unknown }), (e: Error) => ({ status: -1, body: e.name }));
    expect(readyz, '/readyz while Redis is down (status -1 = no answer within 2 s)').toEqual({ status: 503, body: { ready: false, redis: false, state: expect.any(String) } });

    // Redis comes back (same port, same AOF): the service recovers by itself; the resent fix is recorded.
    redis = await startRedisServer(args, redis.port, redis.dir);
    for (let i = 0; i < 100 && (await op('GET', '/readyz').catch(() => ({ status: 0 }))).status !== 200; i++) await sleep(100);
    expect(await ws.send(fix('TAG-O', 2, base + 1000, INSIDE_X))).toEqual({ ack: [['TAG-O', 2]] });
    const ready = await op('GET', '/readyz');
    expect(ready.status).toBe(200);
    const trail = await op('GET', '/v1/subjects/S-O/trail');
    expect(trail.body.features.map((f: { properties: { seq: number } }) => f.properties.seq)).toEqual([1, 2]);
    const alerts = await op('GET', '/v1/alerts');
    expect(alerts.body.alerts.map((a: { type: string; state: string }) => [a.type, a.state])).toEqual([['exclusion', 'open']]);
  });
});
