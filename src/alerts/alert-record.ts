import type { ChainableCommander, Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import { parseTime } from '../engine/time.js';
import type { Keys } from '../server/keys.js';
import type { ArchiveFeed } from '../archive/feed.js';
import { listPage, type Cursor } from '../server/list-index.js';
import { alertPage, stageAlertIndex, stageAlertStateIndex, type AlertFilter } from './alert-index.js';

/**
 * The alert record: one Redis hash per episode (`Keys.alert(episodeId)`) plus the indexes that
 * list it, and every field written to it, by whom:
 *  - the service's committer: `opened` / `updated` / `closed` (event JSON), `team`, `subjectId`,
 *    `type`, `severity`; the by-time and open-episode indexes; the outbox entry;
 *  - the API: `acked` (latest decision) and the append-only decision list (`…:acks`),
 *    `claim` / `claimedBy` (who works the alert), `resent:<channel>` (a dead letter re-sent);
 *  - the workers: `delivered:<channel>[:escalation]`, `dead:<channel>`, `escalations`,
 *    `escalated:<n>`.
 * Reading it back as the REST resource is here too.
 */

/**
 * Alert records for GET /v1/alerts, written idempotently (a replayed log writes the same
 * fields again), and the outbox for the queue (`outbox`: partition 0's unless given).
 */
export function writeAlertRecords(m: ChainableCommander, k: Keys, events: readonly AlertEvent[], outbox = k.outbox, feed?: ArchiveFeed): void {
  writeAlertProjection(m, k, events);
  for (const e of events) {
    m.rpush(outbox, JSON.stringify(e));
    feed?.stage(m, { k: 'event', e });
  }
}

/**
 * Adds an episode to the open sets unless its record already holds `closed`. KEYS: the alert
 * hash, the open set, the team's open set. ARGV: episode id.
 */
const OPEN_UNLESS_CLOSED = `
if redis.call('HEXISTS', KEYS[1], 'closed') == 1 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1`;

/**
 * The alert records and their indexes alone (the outbox entry is written by the partition's
 * fenced commit, the archive feed entry by the committer; docs/scaling.md). Idempotent, and in
 * any order: an `opened` written again (a replayed log, or the outbox repairing a record a
 * killed owner never wrote) after the episode's `closed` leaves it closed.
 */
export function writeAlertProjection(m: ChainableCommander, k: Keys, events: readonly AlertEvent[]): void {
  for (const e of events) {
    const key = k.alert(e.episodeId);
    m.hset(key, e.event, JSON.stringify(e), 'team', e.team, 'subjectId', e.subjectId, 'type', e.type, 'severity', e.severity);
    if (e.event === 'opened') {
      const score = parseTime(e.at);
      m.zadd(k.alertsAll, score, e.episodeId);
      m.zadd(k.alertsOfTeam(e.team), score, e.episodeId);
      m.eval(OPEN_UNLESS_CLOSED, 3, key, k.openAll, k.openOfTeam(e.team), e.episodeId);
    } else if (e.event === 'closed') {
      m.srem(k.openAll, e.episodeId);
      m.srem(k.openOfTeam(e.team), e.episodeId);
    }
    stageAlertIndex(m, k, e);
  }
}

/** The REST alert resource: the episode, from its stored events. */
export type AlertResource = Record<string, unknown> & { episodeId: string; team: string; state: 'open' | 'closed'; openedAt: string };

function event(h: Record<string, string>, k: string): AlertEvent | null {
  return h[k] === undefined ? null : (JSON.parse(h[k]) as AlertEvent);
}

export function alertResource(episodeId: string, h: Record<string, string>, decisions?: readonly string[]): AlertResource {
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
    ...(decisions === undefined ? {} : { decisions: decisions.map((d) => JSON.parse(d) as unknown) }),
    ...(h.claim === undefined ? {} : { claim: JSON.parse(h.claim) as unknown }),
    ...(h.escalations === undefined ? {} : { escalations: Number(h.escalations) }),
    delivery: Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('delivered:') || k.startsWith('dead:') || k.startsWith('resent:')).map(([k, v]) => [k, k.startsWith('dead:') ? (JSON.parse(v) as unknown) : v])),
  };
}

/** Reads and writes alert records (everything but the committer's MULTI, which uses writeAlertRecords). */
export class AlertRecords {
  /** `feed`: where decisions go for the archive (null or off: nowhere). */
  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly feed: ArchiveFeed | null = null) {}

  /** One episode with its whole decision history. */
  async read(episodeId: string): Promise<AlertResource | null> {
    let h: Record<string, string>;
    let decisions: string[];
    try {
      [[, h], [, decisions]] = (await this.redis.multi()
        .hgetall(this.keys.alert(episodeId))
        .lrange(this.keys.alertDecisions(episodeId), 0, -1)
        .exec()) as [[null, Record<string, string>], [null, string[]]];
    } catch (e) {
      // A key of another type (never an alert record) is no alert.
      if (e instanceof Error && e.message.includes('WRONGTYPE')) return null;
      throw e;
    }
    return Object.keys(h).length === 0 ? null : alertResource(episodeId, h, decisions);
  }

  /**
   * One page of episodes matching the filter, newest first (openedAt, then episode id), read
   * through the list indexes (alert-index.ts), with the filter's total and the next cursor.
   */
  async page(filter: AlertFilter, after: Cursor | null, limit: number): Promise<{ alerts: AlertResource[]; total: number; nextCursor: string | null }> {
    const page = await alertPage(this.redis, this.keys, filter, after, limit);
    const pipe = this.redis.pipeline();
    for (const c of page.items) pipe.hgetall(this.keys.alert(c.id));
    const rows = page.items.length === 0 ? [] : ((await pipe.exec()) ?? []);
    const alerts: AlertResource[] = [];
    page.items.forEach((c, i) => {
      const h = rows[i][1] as Record<string, string>;
      if (Object.keys(h).length > 0) alerts.push(alertResource(c.id, h));
    });
    return { alerts, total: page.total, nextCursor: page.nextCursor };
  }

  /**
   * Appends a decision to the episode's history (never overwritten) and makes it the latest
   * acknowledgement, in one step, unless the episode already has `max` decisions.
   */
  async decide(episodeId: string, decision: object, max: number): Promise<'ok' | 'missing' | 'full'> {
    // The list indexes (acknowledged or not) change in the same transaction as the record.
    const m = this.redis.multi();
    // The archive feed entry is appended by the script itself: only a decision that was kept.
    const feedKey = this.feed?.key ?? null;
    m.eval(DECIDE_LUA, 3, this.keys.alert(episodeId), this.keys.alertDecisions(episodeId), feedKey ?? this.keys.alertDecisions(episodeId), JSON.stringify(decision), String(max), feedKey === null ? '' : JSON.stringify(episodeId));
    stageAlertStateIndex(m, this.keys, episodeId);
    const res = (await m.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    const r = res[0][1] as number;
    return r === -1 ? 'missing' : r === -2 ? 'full' : 'ok';
  }

  /**
   * Makes `claimant` the one working the episode. Refused (the current claim is returned) when
   * someone else holds it, unless `force`.
   */
  async claim(episodeId: string, claimant: string, claim: object, force: boolean): Promise<{ result: 'ok' | 'missing' } | { result: 'held'; current: unknown }> {
    const r = await this.redis.eval(CLAIM_LUA, 1, this.keys.alert(episodeId), claimant, JSON.stringify(claim), force ? '1' : '0') as [number, string?];
    if (r[0] === -1) return { result: 'missing' };
    if (r[0] === 0) return { result: 'held', current: JSON.parse(r[1] ?? 'null') as unknown };
    return { result: 'ok' };
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
    // Two plain reads sent together (not a MULTI, which ioredis writes on its own, outside the
    // auto-pipeline): an opening settled between the two reads is still seen by one of them.
    const [opened, dead] = await Promise.all([
      this.redis.exists(this.keys.delivered(`${episodeId}:opened`, channel)),
      this.redis.hexists(this.keys.alert(episodeId), `dead:${channel}`),
    ]);
    return opened !== 0 || dead !== 0;
  }

  /** A delivery went out: the marker that stops repeats, and the record's field. */
  async markDelivered(key: string, channel: string, escalation: boolean, retentionS: number): Promise<void> {
    // Two commands written together, not a MULTI: ioredis writes a MULTI to the socket by itself,
    // outside the auto-pipeline, which cost a write syscall and ~16 % of a delivery worker's busy
    // time per alert (BENCH_PROFILE=1 npm run bench:alerts). The marker goes first; the record's
    // field only reports it (a crash between the two leaves the marker, which is what stops repeats).
    const now = Date.now();
    await Promise.all([
      this.redis.set(this.keys.delivered(key, channel), String(now), 'EX', retentionS),
      this.redis.hset(this.keys.alert(episodeOf(key)), `delivered:${channel}${escalation ? ':escalation' : ''}`, new Date(now).toISOString()),
    ]);
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

  /** Dead letters, newest first (ties: by entry), a page at a time; total for the filter. */
  async deadLetters(limit: number, after: Cursor | null = null, channel?: string): Promise<{ total: number; deadLetters: unknown[]; nextCursor: string | null }> {
    const predicate = channel === undefined ? undefined : async (rows: string[]) => rows.map((r) => (JSON.parse(r) as { channel?: string }).channel === channel);
    const page = await listPage(this.redis, { order: 'score', desc: true, sets: [this.keys.deadLetters], after, limit, ...(predicate === undefined ? {} : { predicate }) });
    return { total: page.total, deadLetters: page.items.map((c) => JSON.parse(c.id) as unknown), nextCursor: page.nextCursor };
  }
}

/**
 * KEYS: alert hash, decision list, archive feed (unused when ARGV[3] is empty).
 * ARGV: decision JSON, most decisions kept, the episode id as a JSON string ('' : archive off).
 * Returns the new count, -1 when the episode does not exist, -2 when the history is full.
 */
const DECIDE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('LLEN', KEYS[2])
if n >= tonumber(ARGV[2]) then return -2 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'acked', ARGV[1])
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000000, '*', 'j', '{"k":"decision","episodeId":' .. ARGV[3] .. ',"idx":' .. n .. ',"d":' .. ARGV[1] .. '}')
end
return n + 1`;

/**
 * KEYS: alert hash. ARGV: claimant, claim JSON, '1' to take over another's claim.
 * Returns {1} when claimed, {0, current claim JSON} when someone else holds it, {-1} when the
 * episode does not exist.
 */
const CLAIM_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local cur = redis.call('HGET', KEYS[1], 'claimedBy')
if cur and cur ~= ARGV[1] and ARGV[3] ~= '1' then return {0, redis.call('HGET', KEYS[1], 'claim')} end
redis.call('HSET', KEYS[1], 'claimedBy', ARGV[1], 'claim', ARGV[2])
return {1}`;

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
