import type { ChainableCommander, Redis } from 'ioredis';
import type { AlertEvent } from '../engine/alert.js';
import { parseTime } from '../engine/time.js';
import type { Keys } from '../server/keys.js';
import { facetKey, listPage, type Cursor, type ListPage } from '../server/list-index.js';

/**
 * The alert list indexes (list-index.ts, score order): every episode is in `<base>:all` and in
 * one set per filter value, scored -openedAt ms so that ascending order is newest first and
 * ties fall to the episode id. The fixed facets (team, subject, type, severity) are those of
 * the opening; state (open/closed) and acknowledged (true/false) follow the record's fields.
 * One script keeps them, from the committer's MULTI and from the acknowledgement's.
 */

/**
 * KEYS[1] the alert hash; ARGV[1] base, ARGV[2] episode id, ARGV[3] score ('' for a later event:
 * the score is read from the all-set), ARGV[4..7] team, subject, type, severity (opening only).
 * State and acknowledgement come from the hash as it is now, so replaying an old opening after
 * the episode was closed or acknowledged does not put it back among the open or unacknowledged.
 */
const ALERT_INDEX_SCRIPT = `
local base, id, s = ARGV[1], ARGV[2], ARGV[3]
if s == '' then
  s = redis.call('ZSCORE', base .. ':all', id)
  if not s then return 0 end
else
  redis.call('ZADD', base .. ':all', s, id)
  redis.call('ZADD', base .. ':team:' .. ARGV[4], s, id)
  redis.call('ZADD', base .. ':subject:' .. ARGV[5], s, id)
  redis.call('ZADD', base .. ':type:' .. ARGV[6], s, id)
  redis.call('ZADD', base .. ':severity:' .. ARGV[7], s, id)
end
local function put(field, yes)
  local on, off = 'true', 'false'
  if field == 'state' then on, off = 'closed', 'open' end
  if yes then
    redis.call('ZREM', base .. ':' .. field .. ':' .. off, id)
    redis.call('ZADD', base .. ':' .. field .. ':' .. on, s, id)
  else
    redis.call('ZREM', base .. ':' .. field .. ':' .. on, id)
    redis.call('ZADD', base .. ':' .. field .. ':' .. off, s, id)
  end
end
put('state', redis.call('HEXISTS', KEYS[1], 'closed') == 1)
put('acknowledged', redis.call('HEXISTS', KEYS[1], 'acked') == 1)
return 1
`;

/** The sort score of an episode opened at `openedAt`: ascending is newest first. */
export const alertScore = (openedAtMs: number): number => -openedAtMs;

/** Stages the index update for one committed event (after the hash write in the same MULTI). */
export function stageAlertIndex(m: ChainableCommander, k: Keys, e: AlertEvent): void {
  const base = k.listIndex('alerts');
  if (e.event === 'opened') m.eval(ALERT_INDEX_SCRIPT, 1, k.alert(e.episodeId), base, e.episodeId, String(alertScore(parseTime(e.at))), e.team, e.subjectId, e.type, e.severity);
  else m.eval(ALERT_INDEX_SCRIPT, 1, k.alert(e.episodeId), base, e.episodeId, '');
}

/** Stages the index update after an acknowledgement (or any change of state fields). */
export function stageAlertStateIndex(m: ChainableCommander, k: Keys, episodeId: string): void {
  m.eval(ALERT_INDEX_SCRIPT, 1, k.alert(episodeId), k.listIndex('alerts'), episodeId, '');
}

/** Indexes an episode stored before the indexes existed (index-migration.ts), from its hash. */
export function stageAlertMigration(m: ChainableCommander, k: Keys, episodeId: string, h: Record<string, string>): boolean {
  const first = (h.opened ?? h.updated ?? h.closed) as string | undefined;
  if (first === undefined) return false;
  const e = JSON.parse(first) as AlertEvent;
  const openedAt = h.opened === undefined ? e.at : (JSON.parse(h.opened) as AlertEvent).at;
  m.eval(ALERT_INDEX_SCRIPT, 1, k.alert(episodeId), k.listIndex('alerts'), episodeId, String(alertScore(parseTime(openedAt))), e.team, e.subjectId, e.type, e.severity);
  return true;
}

export interface AlertFilter {
  team?: string;
  subject?: string;
  type?: string;
  severity?: string;
  state: 'open' | 'closed' | 'all';
  acknowledged?: boolean;
  /** openedAt bounds, epoch ms, inclusive. */
  fromMs?: number;
  toMs?: number;
}

/** One page of episode ids matching the filter, newest first, with the filter's total. */
export function alertPage(redis: Redis, k: Keys, f: AlertFilter, after: Cursor | null, limit: number): Promise<ListPage> {
  const base = k.listIndex('alerts');
  const sets: string[] = [];
  if (f.team !== undefined) sets.push(facetKey(base, 'team', f.team));
  if (f.subject !== undefined) sets.push(facetKey(base, 'subject', f.subject));
  if (f.type !== undefined) sets.push(facetKey(base, 'type', f.type));
  if (f.severity !== undefined) sets.push(facetKey(base, 'severity', f.severity));
  if (f.state !== 'all') sets.push(facetKey(base, 'state', f.state));
  if (f.acknowledged !== undefined) sets.push(facetKey(base, 'acknowledged', String(f.acknowledged)));
  if (sets.length === 0) sets.push(`${base}:all`);
  return listPage(redis, {
    order: 'score', sets, after, limit,
    ...(f.toMs === undefined ? {} : { minScore: alertScore(f.toMs) }),
    ...(f.fromMs === undefined ? {} : { maxScore: alertScore(f.fromMs) }),
  });
}
