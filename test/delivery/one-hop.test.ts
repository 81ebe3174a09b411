// One queue hop: the outbox routes committed events straight into `deliveries` (one job per
// webhook, no router job); completed jobs are not kept for long, so the delivered-marker is what
// stops an event queued again from reaching the team twice; webhooks go out over kept-alive
// connections. Real Redis, in-process workers, a real HTTP receiver.
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { ALERT_QUEUE, DELIVERY_QUEUE, deliveryJobId } from '../../src/alerts/queues.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import { Keys } from '../../src/server/keys.js';
import {
  cleanupPrefix, enqueueEvents, newRedis, Receiver, SECRET_N, sleep, startWorkers, syntheticEvent, uniquePrefix,
} from '../support/delivery.js';

const TEAM = 'iom-hop';

describe('one queue hop from the outbox to the webhook', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(webhooks: string[]): Promise<{ prefix: string; keys: Keys; receiver: Receiver; redis: ReturnType<typeof newRedis>; deliveries: Queue }> {
    const prefix = uniquePrefix('dlv-hop');
    const keys = new Keys(prefix);
    const receiver = await Receiver.start();
    const redis = newRedis();
    await redis.hset(keys.teams, TEAM, JSON.stringify({ webhooks: webhooks.map((id) => ({ id, url: receiver.url(`/${id}`), secret: SECRET_N, timeoutMs: 5000 })) }));
    const deliveries = new Queue(DELIVERY_QUEUE, { connection: redis, prefix: keys.bull });
    cleanups.push(async () => {
      await deliveries.close();
      await receiver.close();
      redis.disconnect();
      await cleanupPrefix(prefix);
    });
    return { prefix, keys, receiver, redis, deliveries };
  }

  it('queues one delivery job per event and webhook, none in the old router queue; each goes out once per webhook', async () => {
    const { prefix, keys, receiver, redis, deliveries } = await setup(['cms', 'police']);
    const events: AlertEvent[] = [0, 1, 2].map((i) => syntheticEvent(i, TEAM, 'exclusion', 'critical'));
    await enqueueEvents(redis, keys, events);
    for (const e of events) {
      for (const channel of ['cms', 'police']) {
        const job = await deliveries.getJob(deliveryJobId(`${e.episodeId}:opened`, channel));
        expect(job?.data).toMatchObject({ key: `${e.episodeId}:opened`, team: TEAM, channel, kind: 'alert' });
        expect(job?.opts.priority).toBe(1);
      }
    }
    const router = new Queue(ALERT_QUEUE, { connection: redis, prefix: keys.bull });
    expect(Object.values(await router.getJobCounts()).reduce((a, b) => a + b, 0)).toBe(0);
    await router.close();
    const w = startWorkers(prefix);
    cleanups.push(() => w.close());
    await receiver.waitFor('6 deliveries', () => receiver.receipts.filter((r) => r.answered).length >= 6, 10_000);
    await sleep(300);
    for (const path of ['/cms', '/police']) {
      expect([...receiver.on(path)].map((r) => r.key).sort()).toEqual(events.map((e) => `${e.episodeId}:opened`).sort());
    }
  });

  it('an event queued again after its completed job was removed is not posted again (the delivered-marker)', async () => {
    const { prefix, keys, receiver, redis, deliveries } = await setup(['cms']);
    const e = syntheticEvent(7, TEAM, 'proximity', 'critical');
    const id = deliveryJobId(`${e.episodeId}:opened`, 'cms');
    const w = startWorkers(prefix);
    cleanups.push(() => w.close());
    await enqueueEvents(redis, keys, [e]);
    await receiver.waitFor('the delivery', () => receiver.receipts.find((r) => r.answered), 10_000);
    await waitForState(deliveries, id, 'completed');
    await deliveries.clean(0, 1000, 'completed');
    expect(await deliveries.getJob(id)).toBeUndefined();
    // A replayed log, or a crash between queueing and the outbox trim: the same event again.
    await enqueueEvents(redis, keys, [e]);
    const again = await waitForState(deliveries, id, 'completed');
    expect(again.returnvalue).toBe('already delivered');
    expect(receiver.receipts).toHaveLength(1);
  });

  it('posts 300 alerts over a few kept-alive connections, not one connection per alert', async () => {
    const { prefix, keys, receiver, redis } = await setup(['cms']);
    let connections = 0;
    receiver.server.on('connection', () => connections++);
    const w = startWorkers(prefix);
    cleanups.push(() => w.close());
    await enqueueEvents(redis, keys, Array.from({ length: 300 }, (_, i) => syntheticEvent(100 + i, TEAM, 'battery_low', 'low')));
    await receiver.waitFor('300 deliveries', () => receiver.receipts.filter((r) => r.answered).length >= 300, 30_000);
    // At most WORKER_PER_TEAM_IN_FLIGHT (8) requests to one team at once, each connection reused.
    expect(connections).toBeLessThanOrEqual(16);
  });
});

async function waitForState(q: Queue, id: string, state: string): Promise<{ returnvalue: unknown }> {
  const until = Date.now() + 10_000;
  for (;;) {
    const job = await q.getJob(id);
    // The job is read before its state: read it again once the state matches, or a job that
    // finished between the two reads comes back without its return value.
    if (job !== undefined && (await job.getState()) === state) return (await q.getJob(id)) ?? job;
    if (Date.now() > until) throw new Error(`job ${id} not ${state} within 10 s`);
    await sleep(50);
  }
}
