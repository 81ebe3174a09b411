// No head-of-line blocking: team A's receiver hangs 3 s per request; team B's alerts, queued
// behind A's, are still delivered promptly. One in-process worker (default concurrency 64, 8 per team).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { Keys } from '../../src/server/keys.js';
import {
  cleanupPrefix, enqueueEvents, newRedis, Receiver, SECRET_N, SECRET_S, startWorkers, syntheticEvent, uniquePrefix, verifyReceipt,
  type InProcessWorkers,
} from '../support/delivery.js';

describe('a slow receiver for one team does not hold up another team', () => {
  const prefix = uniquePrefix('dlv-hol');
  const keys = new Keys(prefix);
  const redis = newRedis();
  let receiver: Receiver;
  let w: InProcessWorkers;
  const PER_TEAM = 8;
  const HANG_MS = 3000;
  let slow = true;

  beforeAll(async () => {
    receiver = await Receiver.start(0, (r) => (r.path === '/a' && slow ? { status: 200, delayMs: HANG_MS } : { status: 200 }));
    await redis.hset(keys.teams,
      'iom-a', JSON.stringify({ webhooks: [{ id: 'default', url: receiver.url('/a'), secret: SECRET_N, timeoutMs: 10_000 }] }),
      'iom-b', JSON.stringify({ webhooks: [{ id: 'default', url: receiver.url('/b'), secret: SECRET_S, timeoutMs: 10_000 }] }));
    w = startWorkers(prefix, { perTeamInFlight: PER_TEAM });
  });

  afterAll(async () => {
    await w?.close();
    await receiver?.close();
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('delivers team B within a second while team A\'s receiver takes 3 s per request', async () => {
    // Same severity for both teams: this is about teams, not priorities.
    const aEvents: AlertEvent[] = [];
    for (let i = 0; i < 40; i++) aEvents.push(syntheticEvent(i, 'iom-a', 'exclusion', 'critical'));
    await enqueueEvents(redis, keys, aEvents);
    // Wait until A's share of slots is taken (8 requests hanging at the receiver).
    await receiver.waitFor('A filling its slots', () => receiver.on('/a').filter((r) => !r.answered).length >= PER_TEAM, 10_000);

    const bEvents: AlertEvent[] = [];
    for (let i = 0; i < 10; i++) bEvents.push(syntheticEvent(1000 + i, 'iom-b', 'exclusion', 'critical'));
    const t = Date.now();
    await enqueueEvents(redis, keys, bEvents);
    await receiver.waitFor('all of B', () => receiver.okCounts('/b').size === 10, 10_000);
    const bLatency = Math.max(...receiver.on('/b').map((r) => r.at - t));
    console.log(`team B: 10 alerts delivered, slowest ${bLatency} ms after queueing (team A hanging ${HANG_MS} ms per request)`);
    expect(bLatency).toBeLessThan(1000);
    for (const r of receiver.on('/b')) expect(verifyReceipt(r, SECRET_S)).toBe(true);
    // A never had more than its share in flight at once.
    const maxOpen = Math.max(...receiver.on('/a').map((r) => r.openOnPath));
    expect(maxOpen).toBeLessThanOrEqual(PER_TEAM);

    // A recovers: everything of A's is delivered, each key acknowledged once.
    slow = false;
    await receiver.waitFor('all of A', () => receiver.okCounts('/a').size === 40, 20_000);
    expect([...receiver.okCounts('/a').values()].every((n) => n === 1)).toBe(true);
    expect(receiver.on('/a').length).toBe(40);
  });
});
