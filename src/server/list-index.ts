import type { ChainableCommander, Redis } from 'ioredis';
import { ApiError } from './errors.js';

/**
 * List indexes: plain Redis sorted sets, one per filter value, kept in the same MULTI as the
 * record they index, so a list never disagrees with the records (the Redis here has no search
 * module). A collection's indexes live under one base key (`Keys.listIndex`):
 *
 *  - `<base>:all`               every item
 *  - `<base>:<field>:<value>`   items whose `field` is `value` (team, risk, layer, kind…)
 *  - `<base>:search`            score 0, members `<lower-cased text>\0<id>`: prefix search by lex range
 *  - `<base>:facets`            hash id → the facets it is indexed under (to remove them on change)
 *
 * Two orders: `lex` (subjects, zones, devices: score 0, members sorted by id) and `score`
 * (alerts: score = -openedAt ms, so ascending is newest first, ties by id).
 *
 * A filtered list walks the smallest of the sets it needs, in order, from the cursor, and checks
 * each item's membership of the others server-side (WALK_SCRIPT: one round trip per batch, only
 * matches come back); batches are sized from the filter's selectivity, so a page usually takes
 * one. Counts: ZCARD / ZCOUNT for one set, ZINTERCARD for several (in the same round trip as the
 * set sizes); a full walk of the smallest set only when a time range or a search is combined
 * with other filters. Measured by bench/api (`npm run bench:api`).
 */

/** The facets of one record: filter values (field → value) and search texts (any case). */
export interface Facets {
  f: Record<string, string>;
  s: string[];
  /** Stored beside the facets, not indexed (e.g. a subject's device, for a team's device list). */
  x?: Record<string, string>;
}

/**
 * KEYS[1] facets hash, KEYS[2] all set, KEYS[3] search set; ARGV[1] base, ARGV[2] id,
 * ARGV[3] the new facets as JSON ({"f":{…},"s":[…]}) or '' to remove the item.
 * Reads the facets the item was indexed under, removes them, adds the new ones: correct whatever
 * order concurrent writers' MULTIs run in.
 */
const FACET_SCRIPT = `
local base, id = ARGV[1], ARGV[2]
local old = redis.call('HGET', KEYS[1], id)
if old then
  local o = cjson.decode(old)
  for f, v in pairs(o.f) do redis.call('ZREM', base .. ':' .. f .. ':' .. v, id) end
  for _, t in ipairs(o.s) do redis.call('ZREM', KEYS[3], t .. '\\0' .. id) end
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  return 0
end
local n = cjson.decode(ARGV[3])
for f, v in pairs(n.f) do redis.call('ZADD', base .. ':' .. f .. ':' .. v, 0, id) end
for _, t in ipairs(n.s) do redis.call('ZADD', KEYS[3], 0, t .. '\\0' .. id) end
redis.call('ZADD', KEYS[2], 0, id)
redis.call('HSET', KEYS[1], id, ARGV[3])
return 1
`;

/** Search texts are matched lower-cased, by prefix. */
export const searchText = (s: string): string => s.toLowerCase();

/** Stages the index update of one record (facets null: the record is deleted) into a MULTI. */
export function stageFacets(m: ChainableCommander, base: string, id: string, facets: Facets | null): void {
  const json = facets === null ? '' : JSON.stringify({ f: facets.f, s: [...new Set(facets.s.map(searchText))], ...(facets.x === undefined ? {} : { x: facets.x }) });
  m.eval(FACET_SCRIPT, 3, `${base}:facets`, `${base}:all`, `${base}:search`, base, id, json);
}

/** The sorted set of one filter value. */
export const facetKey = (base: string, field: string, value: string): string => `${base}:${field}:${value}`;

// ---------------------------------------------------------------------------------------------
// Cursors: base64url of the last item's sort key; opaque to clients.

export type Cursor = { id: string; score: number };

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.score, c.id])).toString('base64url');
}

export function decodeCursor(s: string | undefined): Cursor | null {
  if (s === undefined) return null;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && Number.isFinite(v[0]) && typeof v[1] === 'string') return { score: v[0], id: v[1] };
  } catch {
    // falls through
  }
  throw new ApiError('VALIDATION', 'cursor is not one this list returned (pass nextCursor back unchanged)', { path: 'query.cursor' });
}

// ---------------------------------------------------------------------------------------------
// Walking

export interface ListQuery {
  order: 'lex' | 'score';
  /** Sets every item must be in (at least one; the collection's all-set when unfiltered). */
  sets: string[];
  /** Score order only: highest score first (ties: highest id first). */
  desc?: boolean;
  /** Score order only: inclusive score bounds. */
  minScore?: number;
  maxScore?: number;
  /** Extra per-item check (e.g. a text search), batched; true keeps the item. */
  predicate?: (ids: string[]) => Promise<boolean[]>;
  /**
   * Lex order only: the candidates already known, sorted by id (e.g. a search's matches when
   * fewer than any set's members); walked instead of the smallest set.
   */
  candidates?: string[];
  after: Cursor | null;
  limit: number;
}

export interface ListPage {
  items: Cursor[];
  total: number;
  nextCursor: string | null;
}

interface Batch {
  ids: string[];
  scores: number[];
  done: boolean;
  /** Already checked against the other sets (server-side). */
  checked: boolean;
}

/** Items read per round trip while filling a page, and while counting (a walk of the whole smallest set). */
const MAX_BATCH = 2000;
const MAX_WALK_BATCH = 5000;

/** One page of a filtered list, its total for the filter and the cursor of the next page. */
export async function listPage(redis: Redis, query: ListQuery): Promise<ListPage> {
  let q = query;
  const min = q.minScore ?? -Infinity;
  const max = q.maxScore ?? Infinity;
  if (min > max) return { items: [], total: 0, nextCursor: null };
  const ranged = q.order === 'score' && (q.minScore !== undefined || q.maxScore !== undefined);
  // Counts of every set, and where Redis can count the intersection itself, that too: one round trip.
  const interCard = q.sets.length > 1 && !ranged && q.predicate === undefined && q.candidates === undefined;
  const counts = await setCounts(redis, q, min, max, interCard);
  const inter = interCard ? counts.pop() as number : null;
  if (counts.some((c) => c === 0) || (q.candidates !== undefined && q.candidates.length === 0)) return { items: [], total: 0, nextCursor: null };
  let driverAt = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i] < counts[driverAt]) driverAt = i;
  // Several sets, the smallest small: Redis intersects them in one command (C speed, already in order).
  if (q.sets.length > 1 && q.candidates === undefined && counts[driverAt] <= READ_ALL) return intersectPage(redis, q, min, max);
  // Candidates more numerous than the smallest set: walk the set and check the candidates in memory.
  if (q.candidates !== undefined && q.candidates.length > counts[driverAt]) {
    const allowed = new Set(q.candidates);
    const inner = q.predicate;
    const predicate = async (ids: string[]): Promise<boolean[]> => {
      const ok = ids.map((id) => allowed.has(id));
      if (inner === undefined) return ok;
      const idx = ids.flatMap((id, i) => (ok[i] ? [i] : []));
      const more = idx.length === 0 ? [] : await inner(idx.map((i) => ids[i]));
      idx.forEach((i, k) => (ok[i] = more[k]));
      return ok;
    };
    q = { ...q, candidates: undefined, predicate };
  }
  const driver = q.sets[driverAt];
  const useCandidates = q.candidates !== undefined;
  const checks = useCandidates ? q.sets : q.sets.filter((_, i) => i !== driverAt);

  // Exact totals from Redis where it can count without a walk.
  let total: number | null = null;
  if (q.predicate === undefined && !useCandidates) total = q.sets.length === 1 ? counts[0] : inter;
  // Otherwise one walk from the start counts every match and collects the page on the way.
  const walkAll = total === null;
  const start = walkAll ? null : q.after;
  let matched = 0;
  const items: Cursor[] = [];
  let more = false;
  const next = walker(redis, q, driver, useCandidates ? [] : checks, min, max, start);
  // Batch size: everything when counting; else enough for a page at the filter's selectivity.
  const driverCount = useCandidates ? (q.candidates as string[]).length : counts[driverAt];
  let size = walkAll
    ? Math.min(MAX_WALK_BATCH, driverCount)
    : Math.min(MAX_BATCH, Math.max(q.limit + 1, Math.ceil(((q.limit + 1) * driverCount * 1.3) / Math.max(1, total as number))));
  for (;;) {
    const b = await next(size);
    if (b.ids.length > 0) {
      const keep = await check(redis, b.checked ? [] : checks, b.ids, q.predicate);
      for (let i = 0; i < b.ids.length; i++) {
        if (!keep[i]) continue;
        matched++;
        const c = { id: b.ids[i], score: b.scores[i] };
        if (walkAll && q.after !== null && !isAfter(q, c, q.after)) continue;
        if (items.length < q.limit) items.push(c);
        else more = true;
      }
    }
    if (b.done || (!walkAll && more)) break;
    size = Math.min(walkAll ? MAX_WALK_BATCH : MAX_BATCH, size * 2);
  }
  const last = items[items.length - 1];
  return { items, total: total ?? matched, nextCursor: more && last !== undefined ? encodeCursor(last) : null };
}

/** Past this, an intersection is walked a batch at a time rather than read whole. */
const READ_ALL = 5000;

/** A page from the whole intersection of the sets (ZINTER keeps each member's score with MIN). */
async function intersectPage(redis: Redis, q: ListQuery, min: number, max: number): Promise<ListPage> {
  const raw = await redis.zinter(q.sets.length, ...q.sets, 'AGGREGATE', 'MIN', 'WITHSCORES');
  let all: Cursor[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const c = { id: raw[i], score: Number(raw[i + 1]) };
    if (c.score >= min && c.score <= max) all.push(c);
  }
  if (q.order === 'score' && q.desc === true) all.reverse();
  if (q.predicate !== undefined) {
    const kept: Cursor[] = [];
    for (let i = 0; i < all.length; i += MAX_WALK_BATCH) {
      const part = all.slice(i, i + MAX_WALK_BATCH);
      const ok = await q.predicate(part.map((c) => c.id));
      part.forEach((c, k) => ok[k] && kept.push(c));
    }
    all = kept;
  }
  let from = 0;
  if (q.after !== null) {
    const after = q.after;
    while (from < all.length && !isAfter(q, all[from], after)) from++;
  }
  const items = all.slice(from, from + q.limit);
  const more = from + q.limit < all.length;
  return { items, total: all.length, nextCursor: more ? encodeCursor(items[items.length - 1]) : null };
}

function isAfter(q: ListQuery, c: Cursor, after: Cursor): boolean {
  if (q.order === 'score' && q.desc === true) return c.score !== after.score ? c.score < after.score : c.id < after.id;
  if (q.order === 'score' && c.score !== after.score) return c.score > after.score;
  return c.id > after.id;
}

async function setCounts(redis: Redis, q: ListQuery, min: number, max: number, interCard: boolean): Promise<number[]> {
  const p = redis.pipeline();
  for (const s of q.sets) {
    if (q.order === 'score' && (q.minScore !== undefined || q.maxScore !== undefined)) p.zcount(s, bound(min), bound(max));
    else p.zcard(s);
  }
  if (interCard) p.zintercard(q.sets.length, ...q.sets);
  const rows = (await p.exec()) ?? [];
  return rows.map(([err, n]) => {
    if (err) throw err;
    return Number(n);
  });
}

const bound = (x: number): string => (x === -Infinity ? '-inf' : x === Infinity ? '+inf' : String(x));

/** Membership of each id in every set (ZMSCORE), and the predicate. */
async function check(redis: Redis, sets: string[], ids: string[], predicate?: (ids: string[]) => Promise<boolean[]>): Promise<boolean[]> {
  const keep = new Array<boolean>(ids.length).fill(true);
  if (sets.length > 0) {
    const p = redis.pipeline();
    for (const s of sets) p.zmscore(s, ...ids);
    const rows = (await p.exec()) ?? [];
    for (const [err, scores] of rows) {
      if (err) throw err;
      (scores as (string | null)[]).forEach((sc, i) => {
        if (sc === null) keep[i] = false;
      });
    }
  }
  if (predicate !== undefined) {
    const idx: number[] = [];
    for (let i = 0; i < ids.length; i++) if (keep[i]) idx.push(i);
    if (idx.length > 0) {
      const ok = await predicate(idx.map((i) => ids[i]));
      idx.forEach((i, k) => (keep[i] = ok[k]));
    }
  }
  return keep;
}

/**
 * One batch of a walk, in one round trip: KEYS[1] the set walked, KEYS[2..] the sets each item
 * must also be in; ARGV[1] 'lex' | 'score' | 'rscore' (highest first), ARGV[2] start, ARGV[3]
 * stop, ARGV[4] offset, ARGV[5] count. Returns {items read, last member read, last score read,
 * how many read items at the end share that score, {member, score, …} in every set}.
 */
const WALK_SCRIPT = `
local mode = ARGV[1]
local raw
if mode == 'lex' then raw = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYLEX', 'LIMIT', ARGV[4], ARGV[5])
elseif mode == 'score' then raw = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYSCORE', 'LIMIT', ARGV[4], ARGV[5], 'WITHSCORES')
else raw = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYSCORE', 'REV', 'LIMIT', ARGV[4], ARGV[5], 'WITHSCORES') end
local step = 2
if mode == 'lex' then step = 1 end
local out = {}
for i = 1, #raw, step do
  local id = raw[i]
  local ok = true
  for k = 2, #KEYS do
    if not redis.call('ZSCORE', KEYS[k], id) then ok = false; break end
  end
  if ok then
    out[#out + 1] = id
    if step == 2 then out[#out + 1] = raw[i + 1] else out[#out + 1] = '0' end
  end
end
local lastId, lastScore, run = '', '0', 0
if #raw > 0 then
  lastId = raw[#raw - step + 1]
  if step == 2 then
    lastScore = raw[#raw]
    for i = #raw, 2, -2 do
      if raw[i] == lastScore then run = run + 1 else break end
    end
  end
end
return {#raw / step, lastId, lastScore, run, out}
`;

/**
 * Reads the driver in order from just after `after`, a batch at a time; items come back
 * already checked against `checks` (server-side) unless walking in-memory candidates.
 */
function walker(redis: Redis, q: ListQuery, driver: string, checks: string[], min: number, max: number, after: Cursor | null): (n: number) => Promise<Batch> {
  if (q.candidates !== undefined) {
    const all = q.candidates;
    let i = 0;
    if (after !== null) while (i < all.length && all[i] <= after.id) i++;
    return async (n) => {
      const ids = all.slice(i, i + n);
      i += ids.length;
      return { ids, scores: ids.map(() => 0), done: i >= all.length, checked: false };
    };
  }
  const walk = async (mode: string, start: string, stop: string, offset: number, n: number) => {
    const [got, lastId, lastScore, run, flat] = (await redis.eval(WALK_SCRIPT, 1 + checks.length, driver, ...checks, mode, start, stop, offset, n)) as [number, string, string, number, string[]];
    const ids: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const c = { id: flat[i], score: Number(flat[i + 1]) };
      if (after !== null && !isAfter(q, c, after)) continue;
      ids.push(c.id);
      scores.push(c.score);
    }
    return { got, lastId, lastScore: Number(lastScore), run, ids, scores };
  };
  if (q.order === 'lex') {
    let from = after === null ? '-' : `(${after.id}`;
    return async (n) => {
      const r = await walk('lex', from, '+', 0, n);
      if (r.got > 0) from = `(${r.lastId}`;
      return { ids: r.ids, scores: r.scores, done: r.got < n, checked: true };
    };
  }
  // Score order: continue from the cursor's score, skipping what came before it at that score;
  // after that, from the last score read, past the members already read at that score.
  const desc = q.desc === true;
  let edge = after === null ? (desc ? max : min) : desc ? Math.min(max, after.score) : Math.max(min, after.score);
  let offset = 0;
  return async (n) => {
    const r = desc ? await walk('rscore', bound(edge), bound(min), offset, n) : await walk('score', bound(edge), bound(max), offset, n);
    if (r.got > 0) {
      if (r.lastScore === edge) offset += r.got;
      else {
        edge = r.lastScore;
        offset = r.run;
      }
    }
    return { ids: r.ids, scores: r.scores, done: r.got < n, checked: true };
  };
}

// ---------------------------------------------------------------------------------------------
// Id-ordered collections with filters and a prefix search

/** Fewer search matches than this are read whole and walked as candidates; more are checked item by item. */
const SEARCH_READ_ALL = 20_000;

export interface LexFilter {
  /** field → value: the item must be listed under each. */
  facets: [field: string, value: string][];
  /** Prefix of the id or of a search text (case-insensitive). */
  search?: string;
  /** The only ids that may appear, sorted (e.g. what a team may see); checked against the rest. */
  within?: string[];
}

/** One page of an id-ordered collection (`base` from Keys.listIndex), filtered and searched. */
export async function lexPage(redis: Redis, base: string, filter: LexFilter, after: Cursor | null, limit: number): Promise<ListPage> {
  const sets = filter.facets.map(([f, v]) => facetKey(base, f, v));
  if (sets.length === 0) sets.push(`${base}:all`);
  let candidates = filter.within;
  let predicate: ((ids: string[]) => Promise<boolean[]>) | undefined;
  if (filter.search !== undefined && filter.search !== '') {
    const prefix = Buffer.from(searchText(filter.search));
    const lo = Buffer.concat([Buffer.from('['), prefix]);
    const hi = Buffer.concat([Buffer.from('('), prefix, Buffer.from([0xff])]);
    const p = redis.pipeline();
    p.zlexcount(`${base}:search`, lo, hi);
    for (const s of sets) p.zcard(s);
    const counts = ((await p.exec()) ?? []).map(([err, x]) => {
      if (err) throw err;
      return Number(x);
    });
    const n = counts[0];
    // Read the matches whole when they are few and fewer than any set's members; otherwise walk
    // the sets and check each item's search texts.
    if (n <= SEARCH_READ_ALL && n <= Math.min(...counts.slice(1), candidates?.length ?? Infinity)) {
      const rows = n === 0 ? [] : await redis.zrangeBuffer(`${base}:search`, lo, hi, 'BYLEX');
      const ids = new Set<string>();
      for (const r of rows) ids.add(r.subarray(r.lastIndexOf(0) + 1).toString('utf8'));
      let found = [...ids];
      if (candidates !== undefined) {
        const allowed = new Set(candidates);
        found = found.filter((id) => allowed.has(id));
      }
      candidates = found.sort(byCodeUnit);
    } else {
      const wanted = searchText(filter.search);
      predicate = async (ids) => {
        const rows = await redis.hmget(`${base}:facets`, ...ids);
        return rows.map((r) => r !== null && (JSON.parse(r) as Facets).s.some((t) => t.startsWith(wanted)));
      };
    }
  }
  return listPage(redis, { order: 'lex', sets, after, limit, ...(candidates === undefined ? {} : { candidates }), ...(predicate === undefined ? {} : { predicate }) });
}

/**
 * Ids sort as Redis sorts members (bytewise UTF-8); for the ids the API takes (well-formed,
 * mostly ASCII) UTF-16 code-unit order is the same except above the BMP, which ids do not use.
 */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
