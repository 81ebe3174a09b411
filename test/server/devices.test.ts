// The device register against a real Redis: PUT/GET/DELETE/list, strict bodies, roles, and what
// registration means for ingest: a registered device's fixes are recorded (no alerts) before a
// subject wears it and become the subject's trail when one does; unregistered ones stay refused.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/server/keys.js';
import {
  api, cleanupPrefix, exclusionSubject, fix, INSIDE_X, newRedis, startTestService, TOKENS, WsClient, zoneX,
  type TestService,
} from '../support/server.js';

type Row = Record<string, unknown>;

describe('device register (real Redis)', () => {
  let t: TestService;
  let redis: Redis;
  let keys: Keys;
  let ws: WsClient;
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = as(TOKENS.operator);
  const north = as(TOKENS.north);
  const south = as(TOKENS.south);
  const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

  beforeAll(async () => {
    t = await startTestService({ rateLimitPerS: 100_000 });
    redis = newRedis();
    keys = new Keys(t.prefix);
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
  });

  afterAll(async () => {
    await ws?.closeAndWait();
    redis?.disconnect();
    await t?.close();
  });

  it('registers, reads, lists and deletes devices (operator)', async () => {
    const put = await op('PUT', '/v1/devices/TAG-R1', { kind: 'tag', status: 'in_stock', serial: 'SN-0001' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({ id: 'TAG-R1', kind: 'tag', status: 'in_stock', serial: 'SN-0001', health: { lastSeen: null, battery: null, strap: null, lastFix: null } });
    expect((await op('PUT', '/v1/devices/VU-1', { kind: 'victim_unit', status: 'fitted' })).status).toBe(200);
    expect((await op('PUT', '/v1/devices/TAG-OLD', { kind: 'tag', status: 'retired', note: 'water damage' })).status).toBe(200);
    expect((await op('GET', '/v1/devices/TAG-R1')).body).toEqual(put.body);
    const all = await op('GET', '/v1/devices');
    expect(all.body.devices.map((d: Row) => d.id)).toEqual(['TAG-OLD', 'TAG-R1', 'VU-1']);
    expect(all.body.total).toBe(3);
    expect((await op('GET', '/v1/devices?kind=tag')).body.devices.map((d: Row) => d.id)).toEqual(['TAG-OLD', 'TAG-R1']);
    expect((await op('GET', '/v1/devices?status=retired')).body.devices.map((d: Row) => d.id)).toEqual(['TAG-OLD']);
    expect((await op('GET', '/v1/devices?kind=tag&status=fitted')).body.total).toBe(0);
    expect((await op('GET', '/v1/devices?q=sn-00')).body.devices.map((d: Row) => d.id)).toEqual(['TAG-R1']);
    const p1 = await op('GET', '/v1/devices?limit=2');
    expect(p1.body.devices).toHaveLength(2);
    expect((await op('GET', `/v1/devices?limit=2&cursor=${p1.body.nextCursor}`)).body.devices.map((d: Row) => d.id)).toEqual(['VU-1']);
    expect((await op('PUT', '/v1/devices/TMP-1', { kind: 'tag', status: 'in_stock' })).status).toBe(200);
    expect((await op('DELETE', '/v1/devices/TMP-1')).status).toBe(204);
    expect((await op('GET', '/v1/devices/TMP-1')).status).toBe(404);
    expect((await op('DELETE', '/v1/devices/TMP-1')).status).toBe(404);
    expect((await op('GET', '/v1/devices?kind=tag')).body.devices.map((d: Row) => d.id)).toEqual(['TAG-OLD', 'TAG-R1']);
  });

  it('refuses unknown fields, bad kinds and statuses, and ids a tag cannot send (400)', async () => {
    const bad: [string, unknown][] = [
      ['TAG-B', { kind: 'tag', status: 'in_stock', serail: 'x' }],
      ['TAG-B', { kind: 'anklet', status: 'in_stock' }],
      ['TAG-B', { kind: 'tag', status: 'lost' }],
      ['TAG-B', { kind: 'tag' }],
      ['TAG-B', { id: 'TAG-C', kind: 'tag', status: 'in_stock' }],
      ['TAG B', { kind: 'tag', status: 'in_stock' }],
    ];
    for (const [id, body] of bad) {
      const r = await op('PUT', `/v1/devices/${encodeURIComponent(id)}`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe('VALIDATION');
    }
    const r = await op('PUT', '/v1/devices/TAG-B', { kind: 'tag', status: 'in_stock', serail: 'x' });
    expect(r.body.message).toMatch(/serail/);
    expect((await op('GET', '/v1/devices/TAG-B')).status).toBe(404);
  });

  it('records a registered device\'s fixes before any subject wears it, without alerts; duplicates change nothing', async () => {
    expect((await op('PUT', '/v1/devices/TAG-F1', { kind: 'tag', status: 'fitted' })).status).toBe(200);
    const reply = await ws.send([fix('TAG-F1', 1, base + 1000, INSIDE_X), fix('TAG-F1', 2, base + 2000, INSIDE_X), fix('TAG-F1', 2, base + 2000, INSIDE_X)]);
    expect(reply).toEqual({ ack: [['TAG-F1', 1], ['TAG-F1', 2], ['TAG-F1', 2]] });
    expect(await redis.xlen(keys.trail('TAG-F1'))).toBe(2);
    expect((await op('GET', '/v1/alerts?state=all')).body.total).toBe(0);
  });

  it('makes those fixes the subject\'s history once a subject wears the device', async () => {
    const s = exclusionSubject('S-F1', 'TAG-F1', 'iom-north', 'Z-X');
    expect((await op('PUT', '/v1/subjects/S-F1', s)).status).toBe(200);
    const trail = await op('GET', '/v1/subjects/S-F1/trail');
    expect(trail.body.features.map((f: { properties: { seq: number } }) => f.properties.seq)).toEqual([1, 2]);
    expect((await op('GET', '/v1/devices/TAG-F1')).body).toMatchObject({ id: 'TAG-F1', subjectId: 'S-F1' });
    // A fix now, worn: the rules apply.
    expect(await ws.send(fix('TAG-F1', 3, base + 3000, INSIDE_X))).toEqual({ ack: [['TAG-F1', 3]] });
    const alerts = await op('GET', '/v1/alerts?subject=S-F1');
    expect(alerts.body.total).toBe(1);
  });

  it('refuses fixes of unregistered and retired devices that nobody wears', async () => {
    for (const id of ['TAG-NOBODY', 'TAG-OLD']) {
      const reply = await ws.send(fix(id, 1, base + 1000, INSIDE_X));
      expect(reply.ack).toEqual([]);
      expect(reply.errors?.[0].error).toMatch(/deviceId .*not known/);
    }
    // Retiring a registered device stops recording; registering again resumes.
    expect((await op('PUT', '/v1/devices/TAG-R1', { kind: 'tag', status: 'retired' })).status).toBe(200);
    expect((await ws.send(fix('TAG-R1', 1, base + 1000, null))).errors).toHaveLength(1);
    expect((await op('PUT', '/v1/devices/TAG-R1', { kind: 'tag', status: 'in_stock' })).status).toBe(200);
    expect(await ws.send(fix('TAG-R1', 1, base + 1000, null))).toEqual({ ack: [['TAG-R1', 1]] });
    expect((await op('DELETE', '/v1/devices/TAG-R1')).status).toBe(204);
    expect((await ws.send(fix('TAG-R1', 2, base + 2000, null))).errors).toHaveLength(1);
  });

  it('keeps a registered device known when the subject wearing it is deleted; an unregistered one is refused again', async () => {
    expect((await op('PUT', '/v1/devices/TAG-K', { kind: 'tag', status: 'fitted' })).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-K', exclusionSubject('S-K', 'TAG-K', 'iom-south', 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-U', exclusionSubject('S-U', 'TAG-U', 'iom-south', 'Z-X'))).status).toBe(200);
    expect((await op('DELETE', '/v1/subjects/S-K')).status).toBe(204);
    expect((await op('DELETE', '/v1/subjects/S-U')).status).toBe(204);
    expect(await ws.send(fix('TAG-K', 1, base + 1000, null))).toEqual({ ack: [['TAG-K', 1]] });
    expect((await ws.send(fix('TAG-U', 1, base + 1000, null))).errors).toHaveLength(1);
    expect((await op('GET', '/v1/devices/TAG-K')).body.subjectId).toBeUndefined();
  });

  it('roles: only operator and admin write; a team reads only the devices its subjects wear', async () => {
    for (const [method, path, body] of [['PUT', '/v1/devices/TAG-T', { kind: 'tag', status: 'in_stock' }], ['DELETE', '/v1/devices/TAG-F1', undefined]] as const) {
      expect((await north(method, path, body)).status, `${method} ${path}`).toBe(403);
      expect((await as(TOKENS.ingest)(method, path, body)).status).toBe(403);
    }
    expect((await as(TOKENS.admin)('PUT', '/v1/devices/TAG-A', { kind: 'tag', status: 'in_stock' })).status).toBe(200);
    // TAG-F1 is worn by S-F1 (iom-north).
    expect((await north('GET', '/v1/devices/TAG-F1')).status).toBe(200);
    const other = await south('GET', '/v1/devices/TAG-F1');
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('NOT_FOUND');
    expect((await north('GET', '/v1/devices/VU-1')).status).toBe(404);
    expect((await north('GET', '/v1/devices')).body).toMatchObject({ devices: [{ id: 'TAG-F1', subjectId: 'S-F1' }], total: 1 });
    expect((await south('GET', '/v1/devices')).body.total).toBe(0);
    expect((await as(TOKENS.ingest)('GET', '/v1/devices')).status).toBe(403);
  });
});

describe('device register across a restart', () => {
  it('a registered device is still recorded after the service restarts', async () => {
    const first = await startTestService();
    const prefix = first.prefix;
    try {
      expect((await api(first.service.app, 'PUT', '/v1/devices/TAG-RS', { token: TOKENS.operator, body: { kind: 'tag', status: 'in_stock' } })).status).toBe(200);
      const ws1 = await WsClient.connect(first.url, '/v1/ingest', TOKENS.ingest);
      expect(await ws1.send(fix('TAG-RS', 1, Date.now() - 60_000, null))).toEqual({ ack: [['TAG-RS', 1]] });
      await ws1.closeAndWait();
      await first.service.stop();
      const second = await startTestService({ keyPrefix: prefix });
      try {
        const ws2 = await WsClient.connect(second.url, '/v1/ingest', TOKENS.ingest);
        // The repeat is known as one (the device's history survived), the next one recorded.
        expect(await ws2.send([fix('TAG-RS', 1, Date.now() - 60_000, null), fix('TAG-RS', 2, Date.now() - 30_000, null)])).toEqual({ ack: [['TAG-RS', 1], ['TAG-RS', 2]] });
        await ws2.closeAndWait();
        const r = newRedis();
        expect(await r.xlen(new Keys(prefix).trail('TAG-RS'))).toBe(2);
        r.disconnect();
      } finally {
        await second.close();
      }
    } finally {
      await cleanupPrefix(prefix);
    }
  }, 30_000);
});
