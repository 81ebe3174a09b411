import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import type { Keys } from '../server/keys.js';
import { episodeOf } from './alert-record.js';
import { DELIVERY_JOB_OPTIONS, DELIVERY_QUEUE, PRIORITY } from './queues.js';

/** A dead-lettered delivery as the worker records it (workers/alert-workers.ts, deadLetter). */
export interface DeadLetter {
  jobId: string;
  key: string;
  team: string;
  channel: string;
  kind: string;
  attempts?: number;
  error?: string;
  at?: string;
}

/** What became of one re-send. */
export type ResendOutcome = 'requeued' | 'already queued' | 'already delivered' | 'gone';

/**
 * Re-sends dead-lettered deliveries: the failed BullMQ job itself goes back to the queue with
 * its attempts reset (same job id, same payload, same idempotency key, so a receiver that did
 * get an earlier attempt drops the repeat). A failed job is kept JOB_ID_RETENTION_S; after that
 * an alert delivery is rebuilt from the alert record under the same job id and key. The dead
 * letter leaves the list (it is recorded again if the re-send fails too).
 */
export class DeadLetterResender {
  private queue: Queue | null = null;

  constructor(private readonly redis: Redis, private readonly keys: Keys) {}

  private deliveries(): Queue {
    // The API's own connection, shared (BullMQ does not close it); no blocking commands here.
    this.queue ??= new Queue(DELIVERY_QUEUE, { connection: this.redis, prefix: this.keys.bull });
    return this.queue;
  }

  /** Dead letters matching `pred`, oldest first, with their set members (read in pages of 1,000). */
  async find(pred: (d: DeadLetter) => boolean, max = Infinity): Promise<{ member: string; entry: DeadLetter }[]> {
    const out: { member: string; entry: DeadLetter }[] = [];
    for (let start = 0; out.length < max; start += 1000) {
      const page = await this.redis.zrange(this.keys.deadLetters, start, start + 999);
      for (const member of page) {
        const entry = JSON.parse(member) as DeadLetter;
        if (pred(entry)) out.push({ member, entry });
        if (out.length >= max) break;
      }
      if (page.length < 1000) break;
    }
    return out;
  }

  async resend(member: string, d: DeadLetter): Promise<ResendOutcome> {
    const queue = this.deliveries();
    const job = await Job.fromId(queue, d.jobId);
    let outcome: ResendOutcome;
    if (job !== undefined) {
      const state = await job.getState();
      if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        outcome = 'requeued';
      } else if (state === 'completed') {
        outcome = 'already delivered';
      } else {
        outcome = 'already queued';
      }
    } else {
      outcome = await this.rebuild(d) ? 'requeued' : 'gone';
    }
    if (outcome !== 'gone') {
      await this.redis.multi()
        .zrem(this.keys.deadLetters, member)
        .hdel(this.keys.alert(episodeOf(d.key)), `dead:${d.channel}`)
        .hset(this.keys.alert(episodeOf(d.key)), `resent:${d.channel}`, new Date().toISOString())
        .exec();
    }
    return outcome;
  }

  /** An alert delivery whose failed job has expired, rebuilt from the stored event. */
  private async rebuild(d: DeadLetter): Promise<boolean> {
    if (d.kind !== 'alert') return false;
    const event = d.key.slice(d.key.lastIndexOf(':') + 1);
    const json = await this.redis.hget(this.keys.alert(episodeOf(d.key)), event);
    if (json === null) return false;
    const e = JSON.parse(json) as AlertEvent;
    await this.deliveries().add('alert', { key: d.key, team: d.team, channel: d.channel, kind: 'alert', payload: { ...e, idempotencyKey: d.key }, severity: e.severity }, {
      // As the router queues a delivery (the worker applies its own DELIVERY_ATTEMPTS).
      ...DELIVERY_JOB_OPTIONS, jobId: d.jobId, priority: PRIORITY[e.severity],
    });
    return true;
  }

  async close(): Promise<void> {
    await this.queue?.close();
  }
}
