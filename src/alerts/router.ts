import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import type { Keys } from '../server/keys.js';
import { eventKey } from './alert-record.js';
import {
  DELIVERY_JOB_OPTIONS, DELIVERY_QUEUE, deliveryJobId, ESCALATION_JOB_OPTIONS, ESCALATION_QUEUE, escalationCheckJobId, PRIORITY,
} from './queues.js';
import { TeamConfigSchema, type TeamConfig } from './team-config.js';

/** What the router queues for one episode event on one channel (the `deliveries` job's data). */
export interface DeliveryJob {
  key: string;
  team: string;
  channel: string;
  /** 'alert' or 'escalation' */
  kind: string;
  payload: unknown;
  severity: AlertEvent['severity'];
}

/**
 * Routes committed alert events, a batch at a time, straight into the `deliveries` queue: one
 * queue hop from the outbox to the webhook (there used to be an `alerts` queue in between, run
 * by a router job per event; bench/alerts/README.md). Per event it
 *  - publishes the event to the live stream (at least once: a repeat is dropped by key);
 *  - adds one `deliveries` job per webhook of the team (job id from key + channel, so a repeat
 *    while the job is kept is refused, and the worker's delivered-marker stops a later one);
 *  - for a critical or high `opened`, schedules the first escalation check.
 * Every step is idempotent, so routing the same events again (a crash between routing and the
 * outbox trim, a replayed log, two owners during a hand-over) shows nothing twice.
 * Team routing is read once per batch (HMGET), so a changed team applies to the next batch.
 */
export class AlertRouter {
  readonly deliveries: Queue<DeliveryJob>;
  readonly escalations: Queue;

  constructor(private readonly redis: Redis, private readonly keys: Keys, connection: Redis) {
    const common = { connection, prefix: keys.bull };
    this.deliveries = new Queue<DeliveryJob>(DELIVERY_QUEUE, { ...common, defaultJobOptions: DELIVERY_JOB_OPTIONS });
    this.escalations = new Queue(ESCALATION_QUEUE, { ...common, defaultJobOptions: ESCALATION_JOB_OPTIONS });
  }

  /** The distinct teams of a batch (what to HMGET from Keys.teams). */
  static teamIds(events: readonly AlertEvent[]): string[] {
    return [...new Set(events.map((e) => e.team))];
  }

  /** The teams' routing from HMGET's answer (null: no such team, or a record that no longer parses). */
  static parseTeams(ids: readonly string[], raw: readonly (string | null | undefined)[]): Map<string, TeamConfig | null> {
    const out = new Map<string, TeamConfig | null>();
    ids.forEach((id, i) => {
      const r = raw[i];
      const parsed = r === null || r === undefined ? null : TeamConfigSchema.safeParse(JSON.parse(r));
      out.set(id, parsed === null || !parsed.success ? null : parsed.data);
    });
    return out;
  }

  /** Routes events; `teams`: their teams' routing when the caller has already read it (parseTeams). */
  async route(events: readonly AlertEvent[], teams?: Map<string, TeamConfig | null>): Promise<void> {
    if (events.length === 0) return;
    if (teams === undefined) {
      const ids = AlertRouter.teamIds(events);
      teams = AlertRouter.parseTeams(ids, await this.redis.hmget(this.keys.teams, ...ids));
    }
    const live = this.redis.pipeline();
    const jobs: { name: string; data: DeliveryJob; opts: { jobId: string; priority: number } }[] = [];
    const checks: { name: string; data: { episodeId: string; team: string; n: number }; opts: { jobId: string; delay: number; priority: number } }[] = [];
    for (const e of events) {
      const key = eventKey(e.episodeId, e.event);
      const payload = { ...e, idempotencyKey: key };
      live.publish(this.keys.live, JSON.stringify(payload));
      const team = teams.get(e.team) ?? null;
      if (team === null) continue;
      const priority = PRIORITY[e.severity];
      for (const w of team.webhooks) {
        jobs.push({ name: 'alert', data: { key, team: e.team, channel: w.id, kind: 'alert', payload, severity: e.severity }, opts: { jobId: deliveryJobId(key, w.id), priority } });
      }
      if (e.event === 'opened' && (e.severity === 'critical' || e.severity === 'high') && team.escalation !== undefined) {
        const afterS = team.escalation.afterS[e.severity];
        checks.push({ name: 'check', data: { episodeId: e.episodeId, team: e.team, n: 1 }, opts: { jobId: escalationCheckJobId(e.episodeId, 1), delay: afterS * 1000, priority } });
      }
    }
    // The live stream first (the operators' screens), then the queue writes, in parallel.
    const published = live.exec().then((res) => {
      for (const [err] of res ?? []) if (err !== null) throw err;
    });
    await Promise.all([
      published,
      jobs.length === 0 ? null : this.deliveries.addBulk(jobs),
      checks.length === 0 ? null : this.escalations.addBulk(checks),
    ]);
  }

  async close(): Promise<void> {
    await this.deliveries.close();
    await this.escalations.close();
  }
}
