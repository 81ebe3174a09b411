import { z } from 'zod';
import { parseTime } from '../../engine/time.js';
import { ApiError } from '../errors.js';
import { decodeCursor, encodeCursor, type Cursor } from '../list-index.js';

/**
 * Query parameters every list takes: `cursor` (the `nextCursor` of the previous page, opaque)
 * and `limit` (default 100, at most 1,000). Lists answer `{<items>, total, nextCursor}`: total
 * counts every item the filter matches, nextCursor is null on the last page.
 */
export const ListParams = {
  cursor: z.string().min(1).max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
};

/** `true` / `false` in a query string. */
export const QueryBool = z.enum(['true', 'false']).transform((s) => s === 'true');

/** A filter value that is a stored id (team, subject, cohort…). */
export const QueryId = z.string().min(1).max(128);

export function cursorOf(q: { cursor?: string }): Cursor | null {
  return decodeCursor(q.cursor);
}

/** A query time: RFC 3339, or epoch milliseconds as digits; a bad one is a 400 naming it. */
export function queryTimeMs(s: string | undefined, name: string): number | undefined {
  if (s === undefined) return undefined;
  const t = parseTime(/^\d+$/.test(s) ? Number(s) : s);
  if (Number.isNaN(t)) throw new ApiError('VALIDATION', `${name} must be an RFC 3339 date-time or epoch milliseconds`, { path: `query.${name}` });
  return t;
}

/** `from` after `to` is a mistake, not an empty list. */
export function timeRange(q: { from?: string; to?: string }): { fromMs?: number; toMs?: number } {
  const fromMs = queryTimeMs(q.from, 'from');
  const toMs = queryTimeMs(q.to, 'to');
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) throw new ApiError('VALIDATION', 'from is after to', { path: 'query.from' });
  return { ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) };
}

/** One page over a sorted in-memory list of ids (small collections: teams). */
export function pageOfSorted(ids: readonly string[], after: Cursor | null, limit: number): { ids: string[]; total: number; nextCursor: string | null } {
  let i = 0;
  if (after !== null) {
    let lo = 0, hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ids[mid] <= after.id) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  const page = ids.slice(i, i + limit);
  const more = i + limit < ids.length;
  return { ids: page, total: ids.length, nextCursor: more ? encodeCursor({ id: page[page.length - 1], score: 0 }) : null };
}
