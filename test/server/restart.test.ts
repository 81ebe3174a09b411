// Restart without loss: the real service (`node dist/src/server/main.js`) is SIGKILLed twice in
// the middle of a multi-device ingest stream and started again each time (snapshot + log
// replay). Every acknowledged fix must survive, exactly once; the episodes must be exactly those
// the deterministic replay of the same fixes gives (none lost, none doubled, an episode open at a
// kill is continued under the same id, not reopened), and the queue must hold one job per event.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { replay } from '../../src/cli/replay.js';
import { decodeFix } from '../../src/engine/fix-codec.js';
import { eventKey } from '../../src/alerts/alert-record.js';
import { DELIVERY_QUEUE, deliveryJobId } from '../../src/alerts/queues.js';
import { Keys } from '../../src/server/keys.js';
import {
  api, BUFFER_X, cleanupPrefix, distBuilt, ENGINE_SETTINGS, exclusionSubject, FAR_X, fix, INSIDE_X, newRedis,
  sleep, spawnService, TOKEN_SPEC, TOKENS, uniquePrefix, waitUntil, WsClient, zoneX,
  type ChildService, type FixIn, type LatLon,
} from '../support/server.js';

const DEVICES = 4;
const PER_DEVICE = 300;
const PER_MESSAGE = 10;
const TOTAL = DEVICES * PER_DEVICE;

const key = (deviceId: string, seq: number): string => `${deviceId}#${seq}`;

describe.runIf(distBuilt())('restart without loss (child process, SIGKILL mid-stream)', () => {
  const prefix = uniquePrefix('t-restart');
  const keys = new Keys(prefix);
  const env = {
    KEY_PREFIX: prefix,
    API_TOKENS: TOKEN_SPEC,
    SNAPSHOT_INTERVAL_MS: '200',
    ENGINE_SETTINGS: JSON.stringify(ENGINE_SETTINGS),
    WORKERS: '0', // no delivery workers: nothing else touches the deliveries queue, and nothing is orphaned by SIGKILL
    LOG_LEVEL: 'info', // every request is logged: the tokens must still never appear
  };
  const children: ChildService[] = [];
  let redis: Redis;
  let queue: Queue;

  const base = Math.floor((Date.now() - 1800_000) / 1000) * 1000;
  const zone = zoneX('Z-X');
  const subjects = Array.from({ length: DEVICES }, (_, d) => exclusionSubject(`S-R${d}`, `TAG-R${d}`, d % 2 === 0 ? 'iom-north' : 'iom-south', 'Z-X'));
  const position = (d: number, seq: number): LatLon => {
    if (seq > PER_DEVICE - 20) return FAR_X; // everything closes by the end
    return [FAR_X, BUFFER_X, INSIDE_X, BUFFER_X][Math.floor((seq - 1 + d * 13) / 20) % 4];
  };
  // All fixes in the order they are sent: event time, devices interleaved.
  const fixes: FixIn[] = [];
  for (let seq = 1; seq <= PER_DEVICE; seq++) {
    for (let d = 0; d < DEVICES; d++) fixes.push(fix(`TAG-R${d}`, seq, base + seq * 1000 + d * 10, position(d, seq)));
  }
  const acked = new Set<string>();
  const ackedInOrder: FixIn[] = [];
  const byKey = new Map(fixes.map((f) => [key(f.deviceId, f.seq), f]));
  const kills: { ackedAtKill: number; snapshot: boolean; logEntries: number; open: string[] }[] = [];
  const unexpectedReplies: unknown[] = [];

  /**
   * Sends `resend` then every fix not yet acked, PER_MESSAGE per message, up to 4 messages in
   * flight; SIGKILLs the child once `killAt` fixes are acked (null: run to the end).
   */
  async function stream(svc: ChildService, resend: FixIn[], killAt: number | null): Promise<boolean> {
    const client = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    const todo = [...resend, ...fixes.filter((f) => !acked.has(key(f.deviceId, f.seq)))];
    let killed = false;
    let closed = false;
    void client.closed.then(() => { closed = true; });
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < todo.length && !closed && !killed; i += PER_MESSAGE) {
      const msg = todo.slice(i, i + PER_MESSAGE);
      inFlight.push(client.send(msg).then((reply) => {
        if (reply.error !== undefined || reply.errors !== undefined || reply.ack === undefined) {
          unexpectedReplies.push(reply);
          return;
        }
        for (const [dev, seq] of reply.ack) {
          const k = key(dev, seq);
          const f = byKey.get(k);
          if (f === undefined) unexpectedReplies.push({ ackOfUnsent: k });
          else if (!acked.has(k)) {
            acked.add(k);
            ackedInOrder.push(f);
          }
        }
        if (killAt !== null && !killed && acked.size >= killAt) {
          killed = true;
          svc.child.kill('SIGKILL');
        }
      }, () => undefined));
      if (inFlight.length >= 4) await inFlight.shift();
      await sleep(3);
    }
    await Promise.allSettled(inFlight);
    if (killed) {
      await svc.exited;
    } else {
      await client.closeAndWait();
    }
    return killed;
  }

  /** What Redis holds right after a kill (nothing runs against it until the next start). */
  async function recordKill(): Promise<void> {
    kills.push({
      ackedAtKill: acked.size,
      snapshot: (await redis.exists(keys.snapshot)) === 1,
      logEntries: await redis.xlen(keys.log),
      open: (await redis.smembers(keys.openAll)).sort(),
    });
  }

  /** Seqs in the raw trail stream of each device. */
  async function trailSeqs(deviceId: string): Promise<number[]> {
    const entries = await redis.xrange(keys.trail(deviceId), '-', '+');
    return entries.map(([, fields]) => decodeFix(deviceId, fields).seq);
  }

  async function assertAckedAreInTrail(): Promise<void> {
    for (let d = 0; d < DEVICES; d++) {
      const seqs = await trailSeqs(`TAG-R${d}`);
      expect(new Set(seqs).size, `TAG-R${d}: a fix is in the trail twice`).toBe(seqs.length);
      const have = new Set(seqs);
      const missing = [...acked].filter((k) => k.startsWith(`TAG-R${d}#`)).filter((k) => !have.has(Number(k.split('#')[1])));
      expect(missing, `acked fixes missing from the trail of TAG-R${d}`).toEqual([]);
    }
  }

  beforeAll(async () => {
    redis = newRedis();
    queue = new Queue(DELIVERY_QUEUE, { connection: redis, prefix: keys.bull });
    // One webhook per team (never called: no workers run), so each event is queued as one delivery.
    for (const team of ['iom-north', 'iom-south']) {
      await redis.hset(keys.teams, team, JSON.stringify({ webhooks: [{ id: 'default', url: 'http://127.0.0.1:9/hook', secret: 'restart-test-secret-0001' }] }));
    }
  });

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await queue?.close();
    redis?.disconnect();
    await cleanupPrefix(prefix);
  });

  it('loses no acknowledged fix and doubles no episode across two SIGKILLs', async () => {
    // --- first life: configure, stream, kill at ~35 % -----------------------------------------
    const svc1 = await spawnService(env);
    children.push(svc1);
    const op = (svc: ChildService, method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
    expect((await op(svc1, 'PUT', '/v1/zones/Z-X', zone)).status).toBe(200);
    for (const s of subjects) expect((await op(svc1, 'PUT', `/v1/subjects/${String(s.id)}`, s)).status).toBe(200);
    expect(await stream(svc1, [], Math.floor(TOTAL * 0.35))).toBe(true);
    await recordKill();

    // --- second life: nothing acked is lost; open episodes are still open ----------------------
    const svc2 = await spawnService(env);
    children.push(svc2);
    await assertAckedAreInTrail();
    const open2 = (await op(svc2, 'GET', '/v1/alerts?state=open&limit=1000')).body.alerts.map((a: { episodeId: string }) => a.episodeId).sort();
    expect(open2).toEqual(kills[0].open);
    expect(kills[0].open.length, 'some episode should be open at the first kill').toBeGreaterThan(0);
    expect(await stream(svc2, ackedInOrder.slice(-15), Math.floor(TOTAL * 0.7))).toBe(true);
    await recordKill();

    // --- third life: finish the stream (with some repeats of acked fixes) ---------------------
    const svc3 = await spawnService(env);
    children.push(svc3);
    await assertAckedAreInTrail();
    const open3 = (await op(svc3, 'GET', '/v1/alerts?state=open&limit=1000')).body.alerts.map((a: { episodeId: string }) => a.episodeId).sort();
    expect(open3).toEqual(kills[1].open);
    expect(await stream(svc3, ackedInOrder.slice(-15), null)).toBe(false);
    expect(unexpectedReplies).toEqual([]);
    expect(acked.size).toBe(TOTAL);
    await assertAckedAreInTrail();

    // Both recovery paths were exercised: a snapshot, and log entries after it, at a kill.
    expect(kills.every((k) => k.snapshot), JSON.stringify(kills)).toBe(true);
    expect(kills.some((k) => k.logEntries > 0), `no kill left log entries after the snapshot: ${JSON.stringify(kills)}`).toBe(true);

    // --- the trail through the API: every fix once ----------------------------------------------
    for (let d = 0; d < DEVICES; d++) {
      const r = await op(svc3, 'GET', `/v1/subjects/S-R${d}/trail?limit=50000`);
      expect(r.status).toBe(200);
      const seqs = r.body.features.map((f: { properties: { seq: number } }) => f.properties.seq);
      expect(seqs).toEqual(Array.from({ length: PER_DEVICE }, (_, i) => i + 1));
    }

    // --- episodes: exactly the replay's -------------------------------------------------------
    const ref = replay({ settings: ENGINE_SETTINGS, zones: [zone], subjects }, fixes.map((f) => JSON.stringify(f)).join('\n'));
    expect(ref.errors).toEqual([]);
    const expected = (ref.output ?? '').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AlertEvent);
    expect(expected.length).toBeGreaterThan(20);
    const expectedByEpisode = new Map<string, AlertEvent[]>();
    for (const e of expected) expectedByEpisode.set(e.episodeId, [...(expectedByEpisode.get(e.episodeId) ?? []), e]);

    const all = (await op(svc3, 'GET', '/v1/alerts?state=all&limit=1000')).body.alerts as { episodeId: string; state: string; openedAt: string; events: AlertEvent[] }[];
    const ids = all.map((a) => a.episodeId);
    expect(new Set(ids).size, 'an episode is listed twice').toBe(ids.length);
    expect([...ids].sort()).toEqual([...expectedByEpisode.keys()].sort());
    for (const a of all) expect(a.events, a.episodeId).toEqual(expectedByEpisode.get(a.episodeId));
    expect(all.every((a) => a.state === 'closed')).toBe(true);
    expect((await op(svc3, 'GET', '/v1/alerts?state=open')).body.alerts).toEqual([]);

    // Episodes open at a kill were continued (same id, same start) and closed normally later.
    for (const k of kills) {
      for (const id of k.open) {
        const a = all.find((x) => x.episodeId === id);
        expect(a, `episode ${id} open at a kill is gone`).toBeDefined();
        expect(a?.state).toBe('closed');
        expect(a?.events.map((e) => e.event)).toEqual(['opened', 'closed']);
      }
    }

    // --- the queue: one delivery job per event (one webhook per team), nothing else ------------
    await waitUntil('the outbox to drain', async () => (await redis.llen(keys.outbox)) === 0, 10_000);
    for (const e of expected) {
      const job = await queue.getJob(deliveryJobId(eventKey(e.episodeId, e.event), 'default'));
      expect(job, `no job for ${e.episodeId} ${e.event}`).toBeDefined();
      expect(job?.data.payload).toEqual({ ...e, idempotencyKey: eventKey(e.episodeId, e.event) });
    }
    const counts = await queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(expected.length);

    // --- a graceful stop after all that ---------------------------------------------------------
    svc3.child.kill('SIGTERM');
    const exit = await Promise.race([svc3.exited, sleep(10_000).then(() => null)]);
    expect(exit, `SIGTERM did not stop the service within 10 s:\n${svc3.output()}`).toEqual({ code: 0, signal: null });

    // Tokens never reach the log (each child logged every request at info level).
    for (const svc of [svc1, svc2, svc3]) {
      expect(svc.output()).toMatch(/"level":30/);
      for (const token of Object.values(TOKENS)) expect(svc.output().includes(token), 'a bearer token is in the service log').toBe(false);
    }
  });

  it('says at start-up when stored configuration no longer compiles (a subject left unmonitored)', async () => {
    const p = `${prefix}-cfg`;
    const r = newRedis();
    try {
      // A subject naming a zone that is not stored (e.g. restored from an older backup).
      await r.hset(new Keys(p).subjects, 'S-orphan', JSON.stringify(exclusionSubject('S-orphan', 'TAG-orphan', 'iom-north', 'Z-gone')));
      const svc = await spawnService({ ...env, KEY_PREFIX: p });
      children.push(svc);
      expect((await api(svc.url, 'GET', '/readyz', { token: TOKENS.operator })).status).toBe(200);
      await sleep(200);
      svc.child.kill('SIGKILL');
      await svc.exited;
      const out = svc.output();
      expect(out, `start-up log:\n${out}`).toMatch(/S-orphan/);
      expect(out).toMatch(/did not compile/);
    } finally {
      r.disconnect();
      await cleanupPrefix(p);
    }
  });

  it('SIGTERM with an ingest client still connected: acks what it read and exits promptly', async () => {
    const svc = await spawnService({ ...env, KEY_PREFIX: `${prefix}-term` });
    children.push(svc);
    try {
      const op = (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
      expect((await op('PUT', '/v1/zones/Z-X', zone)).status).toBe(200);
      expect((await op('PUT', '/v1/subjects/S-T', exclusionSubject('S-T', 'TAG-T', 'iom-north', 'Z-X'))).status).toBe(200);
      const client = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
      expect(await client.send(fix('TAG-T', 1, base, FAR_X))).toEqual({ ack: [['TAG-T', 1]] });
      const started = Date.now();
      svc.child.kill('SIGTERM');
      const exit = await Promise.race([svc.exited, sleep(5000).then(() => null)]);
      const took = Date.now() - started;
      if (exit === null) svc.child.kill('SIGKILL');
      expect(exit, `SIGTERM with an idle ingest client connected: not exited after ${took} ms (the ws close handshake on a paused socket waits for ws's 30 s close timeout)`)
        .toEqual({ code: 0, signal: null });
      const closed = await Promise.race([client.closed, sleep(1000).then(() => null)]);
      expect(closed?.code, 'the server should close the ingest socket with 1001').toBe(1001);
    } finally {
      await cleanupPrefix(`${prefix}-term`);
    }
  });
});

if (!distBuilt()) {
  describe('restart without loss', () => {
    it.skip('needs dist/src/server/main.js: run "npm run build" first (npm test does)', () => undefined);
  });
}
