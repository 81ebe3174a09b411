// A dead-letter record that cannot be written is not swallowed: the worker logs it and counts it
// (iom_dead_letter_write_failures_total). Here the workers' record connection refuses every
// command while BullMQ's own connection works, so a delivery fails its only attempt and its
// dead-letter write fails too.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/server/keys.js';
import { AlertWorkers, type DeliveryJob } from '../../workers/alert-workers.js';
import { cleanupPrefix, newRedis, uniquePrefix, waitUntil } from '../support/delivery.js';

describe('dead-letter write failure', () => {
  const prefix = uniquePrefix('dlv-dlfail');
  const connection = newRedis();
  // Nothing listens on port 1 and there is no offline queue: every command on it fails at once.
  const broken = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  broken.on('error', () => undefined);
  const logged: { obj: object; msg: string }[] = [];
  const workers = new AlertWorkers(broken, new Keys(prefix), connection, { attempts: 1, backoffMs: 0, log: (obj, msg) => logged.push({ obj, msg }) });

  afterAll(async () => {
    await workers.close();
    connection.disconnect();
    broken.disconnect();
    await cleanupPrefix(prefix);
  });

  it('logs the failed write and counts it in the worker\'s metrics', async () => {
    const job: DeliveryJob = { key: 'S-1:c1:2026-01-01T00:00:00Z:opened', team: 'iom-north', channel: 'default', kind: 'alert', payload: {}, severity: 'high' };
    await workers.deliveries.add('alert', job, { jobId: 'dlfail-1' });
    const entry = await waitUntil('dead-letter write failure logged', () => logged.find((l) => l.msg === 'dead-letter write failed'), 10_000);
    expect(entry.obj).toMatchObject({ jobId: 'dlfail-1', key: job.key, channel: 'default' });
    const metric = await workers.metrics.getSingleMetricAsString('iom_dead_letter_write_failures_total');
    expect(metric).toMatch(/iom_dead_letter_write_failures_total 1$/m);
  });
});
