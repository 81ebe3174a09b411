import type { JobsOptions } from 'bullmq';
import type { Severity } from '../engine/alert.js';

/**
 * The BullMQ queues of alert delivery, in one place: names, priorities, job-id encoding and
 * job options. Every producer (the service's outbox, the workers) builds ids and options here,
 * so one event can never be queued under two different ids.
 *
 *  - `deliveries` (filled from the service's outbox by AlertRouter): one signed webhook POST per
 *    job, one job per episode event and webhook.
 *  - `alerts`: no longer filled; workers still drain the router jobs an earlier version queued.
 *  - `escalations`: delayed "still unacknowledged?" checks.
 */
export const ALERT_QUEUE = 'alerts';
export const DELIVERY_QUEUE = 'deliveries';
export const ESCALATION_QUEUE = 'escalations';

/** BullMQ priority: lower runs first, so a backlog of battery warnings never delays a proximity alert. */
export const PRIORITY: Record<Severity, number> = { critical: 1, high: 2, medium: 3, low: 4 };

/**
 * How long delivered-markers (what stops a repeated delivery), failed delivery jobs (what a
 * dead letter's re-send retries) and escalation jobs are kept.
 */
export const JOB_ID_RETENTION_S = 14 * 86400;

/** Finished jobs are kept (and their ids refused again) for JOB_ID_RETENTION_S. */
export const KEEP_FINISHED: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: JOB_ID_RETENTION_S },
  removeOnFail: { age: JOB_ID_RETENTION_S },
};

/** Completed delivery jobs kept for inspection (the newest); older ones are removed as jobs complete. */
export const COMPLETED_DELIVERIES_KEPT = 1000;

/**
 * Delivery attempts recorded on a queued job. The delivering worker's own DELIVERY_ATTEMPTS is
 * what counts (it applies it to each job it runs), so the service that queues need not know it.
 */
export const DELIVERY_ATTEMPTS_DEFAULT = 8;

/**
 * Default options of the `deliveries` queue. A completed delivery needs no job kept to stay
 * unrepeated: its delivered-marker (JOB_ID_RETENTION_S) stops a repeat before any POST, and a job
 * queued again while the first is still held is refused by id. Only the newest
 * COMPLETED_DELIVERIES_KEPT completed jobs are kept (fourteen days of them cost ~2 KB per alert
 * and a larger sorted set for every completion to trim); failed jobs (dead letters) are kept
 * JOB_ID_RETENTION_S, for their re-send. Backoff: the worker's jittered strategy.
 */
export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: { count: COMPLETED_DELIVERIES_KEPT },
  removeOnFail: { age: JOB_ID_RETENTION_S },
  attempts: DELIVERY_ATTEMPTS_DEFAULT,
  backoff: { type: 'jittered' },
};

/** Default options of the `escalations` queue. */
export const ESCALATION_JOB_OPTIONS: JobsOptions = { ...KEEP_FINISHED, attempts: 5, backoff: { type: 'exponential', delay: 1000 } };

/**
 * Worker locks: a killed worker's jobs are taken over within ~15 s (the lock lapses after
 * lockDuration, 10 s, and the next stalled-job check runs within stalledInterval, 5 s; BullMQ's
 * default is ~60 s); a running delivery keeps its lock renewed however long its request takes.
 * Deliveries are idempotent, so a job that stalls repeatedly is simply run again.
 */
export const WORKER_LOCKS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 10 } as const;

/** BullMQ refuses custom job ids containing ':'; percent-encode so ids stay reversible. */
export function encodeIdPart(s: string): string {
  return s.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** `alerts` job id of one episode event. */
export function alertJobId(episodeId: string, event: string): string {
  return encodeIdPart(`${episodeId}|${event}`);
}

/** `deliveries` job id of one idempotency key on one channel. */
export function deliveryJobId(key: string, channel: string): string {
  return `${encodeIdPart(key)}|${channel}`;
}

/** `deliveries` job id of an escalation's POST to the escalation route. */
export function escalationDeliveryJobId(key: string, channel: string): string {
  return `${deliveryJobId(key, channel)}|esc`;
}

/** `escalations` job id of the n-th check of an episode. */
export function escalationCheckJobId(episodeId: string, n: number): string {
  return `${encodeIdPart(episodeId)}|esc|${n}`;
}
