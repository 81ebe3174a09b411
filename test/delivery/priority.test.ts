// Priority under backlog: "critical before high before the rest, so a backlog of battery warnings
// never delays a proximity alert". Events go through the real outbox path (alert records +
// AlertOutbox → `deliveries` queue with PRIORITY by severity), workers are AlertWorkers in-process,
// the receiver is a real HTTP server that records the order of arrival.
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/engine/alert.js';
import { Keys } from '../../src/server/keys.js';
import {
  cleanupPrefix, enqueueEvents, newRedis, Receiver, SECRET_N, startWorkers, syntheticEvent, uniquePrefix,
  type InProcessWorkers,
} from '../support/delivery.js';

const TEAM = 'iom-backlog';

describe('priority under a backlog of low-severity alerts (same team)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(behaviour?: Receiver['behaviour']): Promise<{ prefix: string; keys: Keys; receiver: Receiver; redis: ReturnType<typeof newRedis> }> {
    const prefix = uniquePrefix('dlv-prio');
    const keys = new Keys(prefix);
    const receiver = await Receiver.start();
    if (behaviour !== undefined) receiver.behaviour = behaviour;
    const redis = newRedis();
    await redis.hset(keys.teams, TEAM, JSON.stringify({ webhooks: [{ id: 'default', url: receiver.url('/hook'), secret: SECRET_N, timeoutMs: 5000 }] }));
    cleanups.push(async () => {
      await receiver.close();
      redis.disconnect();
      await cleanupPrefix(prefix);
    });
    return { prefix, keys, receiver, redis };
  }

  it('2,000 queued battery_low events, then 5 high, then 1 critical proximity: critical and high are among the first deliveries', async () => {
    const { prefix, keys, receiver, redis } = await setup();
    const lows: AlertEvent[] = [];
    for (let i = 0; i < 2000; i++) lows.push(syntheticEvent(i, TEAM, 'battery_low', 'low'));
    const highs: AlertEvent[] = [];
    for (let i = 0; i < 5; i++) highs.push(syntheticEvent(50_000 + i, TEAM, 'exclusion_buffer', 'high'));
    const critical = syntheticEvent(99_999, TEAM, 'proximity', 'critical');
    await enqueueEvents(redis, keys, lows);
    await enqueueEvents(redis, keys, highs);
    await enqueueEvents(redis, keys, [critical]);
    const started = Date.now();
    const w: InProcessWorkers = startWorkers(prefix);
    cleanups.push(() => w.close());
    const key = `${critical.episodeId}:opened`;
    const hit = await receiver.waitFor('the critical alert', () => receiver.receipts.find((r) => r.key === key), 10_000);
    const rank = hit.n + 1;
    console.log(`critical delivered as #${rank} of ${receiver.receipts.length} so far, ${hit.at - started} ms after the worker started`);
    // A team has 8 deliveries in flight per worker: a handful of lows may be ahead of it, never
    // the backlog.
    expect(rank).toBeLessThanOrEqual(25);
    // The five high ones follow closely, still ahead of the backlog.
    const highKeys = new Set(highs.map((e) => `${e.episodeId}:opened`));
    await receiver.waitFor('the high alerts', () => receiver.receipts.filter((r) => highKeys.has(r.key)).length === 5, 10_000);
    const highRanks = receiver.receipts.filter((r) => highKeys.has(r.key)).map((r) => r.n + 1);
    expect(Math.max(...highRanks), `high ranks ${highRanks.join(', ')}`).toBeLessThanOrEqual(30);
  });

  it('a slow team receiver with a low backlog: each new critical alert takes one of the next free slots', async () => {
    // 8 deliveries per team in flight; each takes DELAY. A critical alert queued behind the lows
    // should start as soon as a slot frees (within ~DELAY), not after the lows that free slots
    // go to next. Four criticals, one after another, to see the pattern rather than one draw.
    const DELAY = 250;
    const { prefix, keys, receiver, redis } = await setup(() => ({ status: 200, delayMs: DELAY }));
    const lows: AlertEvent[] = [];
    for (let i = 0; i < 600; i++) lows.push(syntheticEvent(i, TEAM, 'battery_low', 'low'));
    await enqueueEvents(redis, keys, lows);
    const w = startWorkers(prefix);
    cleanups.push(() => w.close());
    await receiver.waitFor('the backlog flowing', () => receiver.receipts.length >= 24, 10_000);
    const trials: { waited: number; lowsAhead: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const critical = syntheticEvent(90_000 + i, TEAM, 'proximity', 'critical');
      const t = Date.now();
      await enqueueEvents(redis, keys, [critical]);
      const key = `${critical.episodeId}:opened`;
      const hit = await receiver.waitFor('the critical alert', () => receiver.receipts.find((r) => r.key === key), 30_000);
      // Low deliveries that reached the receiver after the critical was queued but before it.
      const lowsAhead = receiver.receipts.filter((r) => r.at >= t && r.n < hit.n && r.json?.severity === 'low').length;
      trials.push({ waited: hit.at - t, lowsAhead });
    }
    const summary = trials.map((x) => `${x.waited} ms (${x.lowsAhead} lows first)`).join('; ');
    console.log(`slow receiver (${DELAY} ms/request, 8 in flight per team): critical queued → received: ${summary}`);
    const worst = Math.max(...trials.map((x) => x.waited));
    expect(worst, `priority inversion under the per-team cap: ${summary}`).toBeLessThanOrEqual(2 * DELAY + 250);
    expect(Math.max(...trials.map((x) => x.lowsAhead)), summary).toBeLessThanOrEqual(8);
  });
});
