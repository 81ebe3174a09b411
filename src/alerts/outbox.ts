import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import type { Keys } from '../server/keys.js';
import { ALERT_JOB_OPTIONS, ALERT_QUEUE, alertJobId, PRIORITY } from './queues.js';

/**
 * Moves committed alert events from the Redis outbox (written in the same MULTI as the fixes
 * that raised them) into the BullMQ queue. Job ids derive from episodeId and event, so moving
 * the same event twice (a crash between add and trim, a replayed log) adds one job.
 */
export class AlertOutbox {
  readonly queue: Queue;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly redis: Redis, private readonly keys: Keys, connection: Redis) {
    this.queue = new Queue(ALERT_QUEUE, { connection, prefix: keys.bull, defaultJobOptions: ALERT_JOB_OPTIONS });
  }

  /** Starts a pass, or asks the running one to go round again. */
  kick(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      for (;;) {
        const raw = await this.redis.lrange(this.keys.outbox, 0, 499);
        if (raw.length === 0) break;
        const jobs = raw.map((json) => {
          const e = JSON.parse(json) as AlertEvent;
          return { name: e.type, data: e, opts: { jobId: alertJobId(e.episodeId, e.event), priority: PRIORITY[e.severity] } };
        });
        await this.queue.addBulk(jobs);
        await this.redis.ltrim(this.keys.outbox, raw.length, -1);
      }
    } while (this.again);
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.queue.close();
  }
}
