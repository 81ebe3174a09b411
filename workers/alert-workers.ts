import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, Registry } from 'prom-client';
import type { AlertEvent } from '../src/engine/alert.js';
import { AlertRecords, escalationKey, episodeOf } from '../src/alerts/alert-record.js';
import {
  ALERT_QUEUE, DELIVERY_QUEUE, ESCALATION_QUEUE, escalationCheckJobId,
  escalationDeliveryJobId, JOB_ID_RETENTION_S, PRIORITY, WORKER_LOCKS,
} from '../src/alerts/queues.js';
import { AlertRouter, type DeliveryJob } from '../src/alerts/router.js';
import type { Keys } from '../src/server/keys.js';
import { TeamConfigSchema, type TeamConfig } from '../src/alerts/team-config.js';
import { checkWebhookUrl, WebhookAllowList, WebhookRefused, type Resolver } from '../src/alerts/webhook-guard.js';
import { WebhookSender } from '../src/alerts/webhook-post.js';

export type { DeliveryJob };

/**
 * Alert delivery, in BullMQ queues:
 *  - `deliveries` (filled from the service's outbox, routed there by AlertRouter: live stream,
 *    one job per webhook of the team, first escalation check): one signed webhook POST per job,
 *    over this process's keep-alive connections (WebhookSender); retried with exponential
 *    backoff and jitter; when attempts run out, the job is recorded in the dead-letter set.
 *  - `escalations`: delayed checks; an episode still unacknowledged is escalated to the team's
 *    escalation route, and checked again after repeatS, up to max times.
 *  - `alerts`: router jobs queued by an earlier version (one hop more), routed as the outbox does.
 *
 * Delivery is at least once: a job may run again after a crash. Every payload and request carries
 * the idempotency key `episodeId:event` (escalations: `episodeId:escalation:n`) so receivers drop
 * repeats, and a delivered-marker in Redis stops repeats this side in all but the narrowest window
 * (crash between the receiver's 2xx and the marker write); the markers are kept
 * JOB_ID_RETENTION_S, so completed jobs need not be (queues.ts). Priorities come from severity:
 * critical before high before the rest, in every queue.
 */

export interface WorkerOptions {
  /**
   * Jobs processed at once per delivery worker (slow receivers wait in parallel). Default 128:
   * twice the old 64 delivered 1.1-2.1x as many alerts/s with 2 workers at the same CPU per alert
   * (four alternating pairs, bench:alerts phase A, load 8-10): a worker waits on Redis and the
   * receiver, not on its own CPU. The per-team limit still bounds what one team holds.
   */
  concurrency?: number;
  /** Deliveries to one team in flight at once in this worker; more wait briefly (no head-of-line blocking). Default 8. */
  perTeamInFlight?: number;
  /** Delivery attempts before a job is dead-lettered. Default 8. */
  attempts?: number;
  /** First retry delay; doubles each attempt, with jitter. Default 1000 ms. */
  backoffMs?: number;
  log?: (obj: object, msg: string) => void;
  /** WEBHOOK_ALLOW_HOSTS: destinations allowed although private or loopback. Default: none. */
  webhookAllowHosts?: string;
  /** DNS lookup for the destination check (tests). Default: the system resolver. */
  resolve?: Resolver;
  /**
   * How long a destination that passed the SSRF check is trusted before it is checked (and its
   * name resolved) again. Default 10,000 ms; 0 checks before every delivery. A refusal is never
   * remembered: the next delivery checks again.
   */
  webhookCheckTtlMs?: number;
}

export class AlertWorkers {
  readonly deliveries: Queue;
  readonly escalations: Queue;
  private readonly workers: Worker[] = [];
  private readonly teamCache = new Map<string, { config: Promise<TeamConfig | null>; at: number }>();
  private readonly inFlight = new Map<string, number>();
  /** team → when one of its critical/high deliveries last had to wait for a slot */
  private readonly urgentWaitingAt = new Map<string, number>();
  private readonly opts: Required<Omit<WorkerOptions, 'resolve' | 'webhookAllowHosts'>>;
  /** webhook URL → when it last passed the destination check (WorkerOptions.webhookCheckTtlMs) */
  private readonly urlCheckedAt = new Map<string, number>();
  private readonly allow: WebhookAllowList;
  private readonly resolve: Resolver | undefined;
  private readonly records: AlertRecords;
  private readonly router: AlertRouter;
  private readonly sender: WebhookSender;
  /** This worker's own metrics (dead-letter writes that failed). */
  readonly metrics = new Registry();
  readonly deadLetterWriteFailures = new Counter({
    name: 'iom_dead_letter_write_failures_total', help: 'Dead-letter records that could not be written (the job stays failed in BullMQ)', registers: [this.metrics],
  });

  constructor(private readonly redis: Redis, private readonly keys: Keys, connection: Redis, options: WorkerOptions = {}) {
    this.opts = {
      concurrency: options.concurrency ?? 128,
      perTeamInFlight: options.perTeamInFlight ?? 8,
      attempts: options.attempts ?? 8,
      backoffMs: options.backoffMs ?? 1000,
      webhookCheckTtlMs: options.webhookCheckTtlMs ?? 10_000,
      log: options.log ?? (() => undefined),
    };
    this.records = new AlertRecords(redis, keys);
    this.allow = WebhookAllowList.parse(options.webhookAllowHosts ?? '');
    this.resolve = options.resolve;
    const common = { connection, prefix: keys.bull };
    this.router = new AlertRouter(redis, keys, connection);
    this.deliveries = this.router.deliveries;
    this.escalations = this.router.escalations;
    this.sender = new WebhookSender(this.opts.concurrency);

    const backoffMs = this.opts.backoffMs;
    this.workers.push(
      new Worker(ALERT_QUEUE, (job: Job<AlertEvent>) => this.router.route([job.data]), { ...common, ...WORKER_LOCKS, concurrency: 4 }),
      new Worker(DELIVERY_QUEUE, (job, token) => this.deliver(job, token), {
        ...common,
        ...WORKER_LOCKS,
        concurrency: this.opts.concurrency,
        settings: {
          // Exponential backoff with full jitter, so a receiver coming back is not hit by a herd.
          backoffStrategy: (attemptsMade: number) => Math.round(backoffMs * 2 ** (attemptsMade - 1) * (0.5 + Math.random())),
        },
      }),
      new Worker(ESCALATION_QUEUE, (job) => this.escalate(job), { ...common, ...WORKER_LOCKS, concurrency: 8 }),
    );
    const deliveryWorker = this.workers[1];
    deliveryWorker.on('failed', (job, err) => {
      if (job === undefined) return;
      // 'failed' fires for every failed attempt; only a job that ended in the failed state (retries
      // used up, or failed by BullMQ itself) is dead-lettered.
      void job.getState().then((state) => (state === 'failed' ? this.deadLetter(job as Job<DeliveryJob>, err) : undefined)).catch((e: unknown) => {
        // Not swallowed: the job stays in BullMQ's failed set, but the dead-letter list misses it.
        this.deadLetterWriteFailures.inc();
        this.opts.log({ err: e instanceof Error ? e.message : String(e), jobId: job.id, key: job.data.key, channel: job.data.channel }, 'dead-letter write failed');
      });
    });
    for (const w of this.workers) w.on('error', (err) => this.opts.log({ err: err.message }, 'worker error'));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.router.close();
    this.sender.close();
  }

  private team(team: string): Promise<TeamConfig | null> {
    const hit = this.teamCache.get(team);
    if (hit !== undefined && Date.now() - hit.at < 2000) return hit.config;
    // The read in flight is shared: the 64 jobs a worker starts with do not each HGET their team.
    const config = this.redis.hget(this.keys.teams, team).then((raw) => (raw === null ? null : TeamConfigSchema.parse(JSON.parse(raw))));
    const entry = { config, at: Date.now() };
    this.teamCache.set(team, entry);
    config.catch(() => {
      if (this.teamCache.get(team) === entry) this.teamCache.delete(team);
    });
    return config;
  }

  /** deliveries queue: one signed POST. Throws to retry. */
  private async deliver(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const d = job.data;
    // This worker's DELIVERY_ATTEMPTS counts, whatever the queueing side recorded on the job.
    job.opts.attempts = this.opts.attempts;
    if (await this.records.wasDelivered(d.key, d.channel)) return 'already delivered';
    const config = await this.team(d.team);
    const hook = d.kind === 'escalation' ? config?.escalation?.webhook : config?.webhooks.find((w) => w.id === d.channel);
    if (hook === undefined) return 'channel no longer configured';
    // An episode's updates and close go out after its opening on the same channel, so a case
    // system never sees "closed" first (bounded: after a minute, or if the opening was
    // dead-lettered, it goes anyway).
    const ev = d.kind === 'alert' ? (d.payload as AlertEvent).event : 'opened';
    if (ev !== 'opened' && Date.now() - job.timestamp < 60_000) {
      if (!(await this.records.openingSettled(episodeOf(d.key), d.channel))) {
        await job.moveToDelayed(Date.now() + 200, token);
        throw new DelayedError();
      }
    }
    // A slow team must not hold every slot: past its share, this job steps aside briefly. How
    // briefly depends on severity: a critical alert is back in the queue within ~10 ms and, by
    // priority, takes the team's next free slot; low ones wait longer, so they do not crowd it.
    // While an urgent job of the team waits for a slot, the team's routine jobs leave the freed
    // slots to it.
    const n = this.inFlight.get(d.team) ?? 0;
    const urgent = d.severity === 'critical' || d.severity === 'high';
    const urgentWaiting = Date.now() - (this.urgentWaitingAt.get(d.team) ?? 0) < 100;
    if (n >= this.opts.perTeamInFlight || (!urgent && urgentWaiting)) {
      if (urgent) this.urgentWaitingAt.set(d.team, Date.now());
      const pause = d.severity === 'critical' ? 10 : d.severity === 'high' ? 25 : 100 + Math.floor(Math.random() * 200);
      await job.moveToDelayed(Date.now() + pause, token);
      throw new DelayedError();
    }
    if (urgent) this.urgentWaitingAt.delete(d.team);
    this.inFlight.set(d.team, n + 1);
    try {
      // SSRF: checked at delivery time too (DNS answers change after routing was set); a refused
      // destination is not retried.
      await this.checkDestination(hook.url);
      await this.sender.post(hook, d.payload, d.key);
    } finally {
      const left = (this.inFlight.get(d.team) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(d.team);
      else this.inFlight.set(d.team, left);
    }
    await this.records.markDelivered(d.key, d.channel, d.kind === 'escalation', JOB_ID_RETENTION_S);
    return 'delivered';
  }

  /**
   * The SSRF check of a destination, remembered for webhookCheckTtlMs once passed: a name's DNS
   * answers are looked at again within that time, not before every one of thousands of POSTs.
   */
  private async checkDestination(url: string): Promise<void> {
    const now = Date.now();
    const at = this.urlCheckedAt.get(url);
    if (at !== undefined && now - at < this.opts.webhookCheckTtlMs) return;
    try {
      await checkWebhookUrl(url, this.allow, this.resolve);
    } catch (e) {
      this.urlCheckedAt.delete(url);
      if (e instanceof WebhookRefused) throw new UnrecoverableError('destination refused: not a public address (WEBHOOK_ALLOW_HOSTS)');
      throw e;
    }
    if (this.urlCheckedAt.size >= 10_000) this.urlCheckedAt.clear();
    this.urlCheckedAt.set(url, now);
  }

  /** escalations queue: escalate if still unacknowledged; schedule the next check. */
  private async escalate(job: Job<{ episodeId: string; team: string; n: number }>): Promise<string> {
    const { episodeId, team: teamId, n } = job.data;
    const { acked, opened, closed } = await this.records.forEscalation(episodeId);
    if (acked) return 'acknowledged';
    const team = await this.team(teamId);
    if (team?.escalation === undefined) return 'no escalation route';
    if (opened === null) return 'no such episode';
    const key = escalationKey(episodeId, n);
    const payload = {
      kind: 'escalation', escalation: n, reason: `not acknowledged within ${team.escalation.afterS[opened.severity as 'critical' | 'high'] ?? '?'} s`,
      idempotencyKey: key, alert: { ...opened, state: closed === null ? 'open' : 'closed', ...(closed === null ? {} : { closedAt: closed.at }) },
    };
    await this.records.markEscalated(episodeId, n, new Date().toISOString());
    await this.deliveries.add('escalation', { key, team: teamId, channel: team.escalation.webhook.id, kind: 'escalation', payload, severity: opened.severity } satisfies DeliveryJob, {
      jobId: escalationDeliveryJobId(key, team.escalation.webhook.id), priority: PRIORITY[opened.severity],
    });
    if (n < team.escalation.max) {
      await this.escalations.add('check', { episodeId, team: teamId, n: n + 1 }, {
        jobId: escalationCheckJobId(episodeId, n + 1), delay: team.escalation.repeatS * 1000, priority: PRIORITY[opened.severity],
      });
    }
    return `escalated ${n}`;
  }

  private async deadLetter(job: Job<DeliveryJob>, err: Error): Promise<void> {
    const entry = { jobId: job.id, key: job.data.key, team: job.data.team, channel: job.data.channel, kind: job.data.kind, attempts: job.attemptsMade, error: deliveryErrorText(err), at: new Date().toISOString() };
    await this.records.markDead(entry);
    this.opts.log(entry, 'delivery dead-lettered');
  }
}

/**
 * What a dead letter (and the log) says about a failed delivery: the class of the fault only,
 * never the URL (its user-info or query) nor an internal service's status details.
 */
export function deliveryErrorText(err: Error): string {
  const m = err.message;
  if (/^receiver answered [1-5]xx$/.test(m) || m.startsWith('destination refused')) return m;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout|aborted/i.test(m)) return 'timed out';
  if (/redirect/i.test(m) || /redirect/i.test(String((err as { cause?: unknown }).cause))) return 'receiver answered with a redirect (not followed)';
  return 'connection failed';
}
