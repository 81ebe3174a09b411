import type { ChainableCommander, Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import { parseTime } from '../engine/time.js';
import type { Keys } from '../server/keys.js';

/**
 * The alert record: one Redis hash per episode (`Keys.alert(episodeId)`) plus the indexes that
 * list it, and every field written to it, by whom:
 *  - the service's committer: `opened` / `updated` / `closed` (event JSON), `team`, `subjectId`,
 *    `type`, `severity`; the by-time and open-episode indexes; the outbox entry;
 *  - the API: `acked` (latest decision) and the append-only `…:acks` list;
 *  - the workers: `delivered:<channel>[:escalation]`, `dead:<channel>`, `escalations`,
 *    `escalated:<n>`.
 * Reading it back as the REST resource is here too.
 */

/**
 * Alert records for GET /v1/alerts, written idempotently (a replayed log writes the same
 * fields again), and the outbox for the queue.
 */
export function writeAlertRecords(m: ChainableCommander, k: Keys, events: readonly AlertEvent[]): void {
  for (const e of events) {
    const key = k.alert(e.episodeId);
    m.hset(key, e.event, JSON.stringify(e), 'team', e.team, 'subjectId', e.subjectId, 'type', e.type, 'severity', e.severity);
    if (e.event === 'opened') {
      const score = parseTime(e.at);
      m.zadd(k.alertsAll, score, e.episodeId);
      m.zadd(k.alertsOfTeam(e.team), score, e.episodeId);
      m.sadd(k.openAll, e.episodeId);
      m.sadd(k.openOfTeam(e.team), e.episodeId);
    } else if (e.event === 'closed') {
      m.srem(k.openAll, e.episodeId);
      m.srem(k.openOfTeam(e.team), e.episodeId);
    }
    m.rpush(k.outbox, JSON.stringify(e));
  }
}

/** The REST alert resource: the episode, from its stored events. */
export type AlertResource = Record<string, unknown> & { episodeId: string; team: string; state: 'open' | 'closed'; openedAt: string };

function event(h: Record<string, string>, k: string): AlertEvent | null {
  return h[k] === undefined ? null : (JSON.parse(h[k]) as AlertEvent);
}

export function alertResource(episodeId: string, h: Record<string, string>): AlertResource {
  const opened = event(h, 'opened');
  const updated = event(h, 'updated');
  const closed = event(h, 'closed');
  const first = (opened ?? updated ?? closed) as AlertEvent;
  const latest = closed ?? updated ?? opened ?? first;
  return {
    episodeId,
    type: first.type,
    severity: first.severity,
    confidence: latest.confidence,
    state: closed === null ? 'open' : 'closed',
    subjectId: first.subjectId,
    deviceId: first.deviceId,
    ...(first.conditionId === undefined ? {} : { conditionId: first.conditionId }),
    ...(first.zoneId === undefined ? {} : { zoneId: first.zoneId }),
    team: first.team,
    openedAt: opened?.at ?? first.at,
    ...(closed === null ? {} : { closedAt: closed.at }),
    late: first.late,
    events: [opened, updated, closed].filter((e) => e !== null),
    ...(h.acked === undefined ? {} : { acknowledged: JSON.parse(h.acked) as unknown }),
    ...(h.escalations === undefined ? {} : { escalations: Number(h.escalations) }),
    delivery: Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('delivered:') || k.startsWith('dead:')).map(([k, v]) => [k, k.startsWith('dead:') ? (JSON.parse(v) as unknown) : v])),
  };
}

/** Reads and writes alert records (everything but the committer's MULTI, which uses writeAlertRecords). */
export class AlertRecords {
  constructor(private readonly redis: Redis, private readonly keys: Keys) {}

  async read(episodeId: string): Promise<AlertResource | null> {
    let h: Record<string, string>;
    try {
      h = await this.redis.hgetall(this.keys.alert(episodeId));
    } catch (e) {
      // A key of another type (never an alert record) is no alert.
      if (e instanceof Error && e.message.startsWith('WRONGTYPE')) return null;
      throw e;
    }
    return Object.keys(h).length === 0 ? null : alertResource(episodeId, h);
  }

  /** Episodes of one team (or all), newest first. `state` open reads the open set, else the by-time index. */
  async list(team: string | null, state: 'open' | 'closed' | 'all', limit: number): Promise<AlertResource[]> {
    const k = this.keys;
    const ids = state === 'open'
      ? await this.redis.smembers(team === null ? k.openAll : k.openOfTeam(team))
      : await this.redis.zrevrange(team === null ? k.alertsAll : k.alertsOfTeam(team), 0, limit * 4 - 1);
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(k.alert(id));
    const rows = (await pipe.exec()) ?? [];
    const alerts: AlertResource[] = [];
    for (let i = 0; i < ids.length; i++) {
      const h = rows[i][1] as Record<string, string>;
      if (Object.keys(h).length === 0) continue;
      const a = alertResource(ids[i], h);
      if (state === 'closed' && a.state !== 'closed') continue;
      alerts.push(a);
    }
    alerts.sort((a, b) => String(b.openedAt).localeCompare(String(a.openedAt)) || String(a.episodeId).localeCompare(String(b.episodeId)));
    return alerts.slice(0, limit);
  }

  /** Appends a decision (kept in order) and makes it the episode's latest acknowledgement. */
  async ack(episodeId: string, decision: object): Promise<void> {
    const json = JSON.stringify(decision);
    await this.redis.rpush(`${this.keys.alert(episodeId)}:acks`, json);
    await this.redis.hset(this.keys.alert(episodeId), 'acked', json);
  }

  /** The raw fields a worker needs to decide on an escalation. */
  async forEscalation(episodeId: string): Promise<{ acked: boolean; opened: AlertEvent | null; closed: AlertEvent | null }> {
    const h = await this.redis.hgetall(this.keys.alert(episodeId));
    return { acked: h.acked !== undefined, opened: event(h, 'opened'), closed: event(h, 'closed') };
  }

  /** Escalation n went out at `at`. */
  async markEscalated(episodeId: string, n: number, at: string): Promise<void> {
    await this.redis.hset(this.keys.alert(episodeId), 'escalations', String(n), `escalated:${n}`, at);
  }

  /** Whether the episode's opening was delivered (marker) or dead-lettered on a channel. */
  async openingSettled(episodeId: string, channel: string): Promise<boolean> {
    const [[, opened], [, dead]] = (await this.redis.multi()
      .exists(this.keys.delivered(`${episodeId}:opened`, channel))
      .hexists(this.keys.alert(episodeId), `dead:${channel}`)
      .exec()) as [[null, number], [null, number]];
    return opened !== 0 || dead !== 0;
  }

  /** A delivery went out: the marker that stops repeats, and the record's field. */
  async markDelivered(key: string, channel: string, escalation: boolean, retentionS: number): Promise<void> {
    await this.redis.multi()
      .set(this.keys.delivered(key, channel), String(Date.now()), 'EX', retentionS)
      .hset(this.keys.alert(episodeOf(key)), `delivered:${channel}${escalation ? ':escalation' : ''}`, new Date().toISOString())
      .exec();
  }

  /** Whether the delivered-marker of this key on this channel exists. */
  async wasDelivered(key: string, channel: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.delivered(key, channel))) === 1;
  }

  /** A delivery ran out of attempts: the dead-letter set, and the record's field. */
  async markDead(entry: { key: string; channel: string }): Promise<void> {
    await this.redis.zadd(this.keys.deadLetters, Date.now(), JSON.stringify(entry));
    await this.redis.hset(this.keys.alert(episodeOf(entry.key)), `dead:${entry.channel}`, JSON.stringify(entry));
  }

  /** Dead letters, newest first, and how many there are. */
  async deadLetters(limit: number): Promise<{ total: number; deadLetters: unknown[] }> {
    const rows = await this.redis.zrevrange(this.keys.deadLetters, 0, limit - 1);
    return { total: await this.redis.zcard(this.keys.deadLetters), deadLetters: rows.map((r) => JSON.parse(r) as unknown) };
  }
}

/** The idempotency key of an episode event (what receivers de-duplicate on). */
export function eventKey(episodeId: string, event: string): string {
  return `${episodeId}:${event}`;
}

/** The idempotency key of an episode's n-th escalation. */
export function escalationKey(episodeId: string, n: number): string {
  return `${episodeId}:escalation:${n}`;
}

/** The episode id in an idempotency key (`episodeId:event` or `episodeId:escalation:n`). */
export function episodeOf(key: string): string {
  const esc = key.lastIndexOf(':escalation:');
  return esc >= 0 ? key.slice(0, esc) : key.slice(0, key.lastIndexOf(':'));
}
