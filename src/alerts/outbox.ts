import type { Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import type { Keys } from '../server/keys.js';
import { OUTBOX_POP } from '../server/partitions.js';
import { writeAlertProjection } from './alert-record.js';
import { AlertRouter } from './router.js';

/**
 * Moves committed alert events from the partition outboxes this instance owns (written in the
 * same fenced commit as the fixes that raised them) straight into the `deliveries` queue, routed
 * (AlertRouter: live stream, one job per webhook, escalation check), up to 500 events per
 * round trip. Job ids derive from episodeId, event and channel, so moving the same event twice
 * (a crash between add and trim, a replayed log, two owners during a hand-over) queues nothing
 * twice (and the workers' delivered-markers stop a repeat after the job is gone); entries leave
 * the outbox only if still at its head. An event whose alert record is missing (the commit's
 * second step was cut off) gets it written first.
 */
export class AlertOutbox {
  readonly router: AlertRouter;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly redis: Redis, private readonly keys: Keys, connection: Redis, private readonly partitions: () => readonly number[] = () => [0]) {
    this.router = new AlertRouter(redis, keys, connection);
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
      for (const n of this.partitions()) await this.move(this.keys.partition(n).outbox);
    } while (this.again);
  }

  private async move(outbox: string): Promise<void> {
    for (;;) {
      const raw = await this.redis.lrange(outbox, 0, 499);
      if (raw.length === 0) break;
      const events = raw.map((json) => JSON.parse(json) as AlertEvent);
      // One round trip: are the alert records there, and the teams' routing.
      const teamIds = AlertRouter.teamIds(events);
      const check = this.redis.pipeline();
      for (const e of events) check.hexists(this.keys.alert(e.episodeId), e.event);
      check.hmget(this.keys.teams, ...teamIds);
      const present = (await check.exec()) ?? [];
      const [teamsErr, teamsRaw] = present[events.length] ?? [new Error('no answer'), null];
      if (teamsErr) throw teamsErr;
      const missing = events.filter((_, i) => present[i]?.[1] !== 1);
      if (missing.length > 0) {
        const m = this.redis.multi();
        writeAlertProjection(m, this.keys, missing);
        await m.exec();
      }
      await this.router.route(events, AlertRouter.parseTeams(teamIds, teamsRaw as (string | null)[]));
      const popped = Number(await this.redis.eval(OUTBOX_POP, 1, outbox, ...raw));
      if (popped < raw.length) break;
    }
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.router.close();
  }
}
