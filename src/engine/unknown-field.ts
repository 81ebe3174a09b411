import type { z } from 'zod';

/**
 * Strict input: an unknown field is refused, never silently dropped (a typo such as `bufferm`
 * would otherwise leave the operator believing a buffer applies). zod's `unrecognized_keys`
 * issue is reworded here as "unknown field; did you mean …?", naming the closest known field.
 */

/** Edit distance (insert, delete, substitute, swap two neighbours), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known field closest to `key`, if one is close enough to be a likely typo. */
export function closestField(key: string, known: readonly string[]): string | null {
  if (key.length > 64) return null;
  let best: string | null = null;
  let bestD = Infinity;
  const lower = key.toLowerCase();
  for (const k of known) {
    // A known field the key starts with, or that starts with the key (`exceptions`, `except`).
    const kl = k.toLowerCase();
    if (kl.length >= 3 && lower.length >= 3 && (lower.startsWith(kl) || kl.startsWith(lower))) return k;
  }
  for (const k of known) {
    const dist = editDistance(key, k);
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  const allowed = Math.max(2, Math.floor(Math.max(key.length, 1) / 3));
  return bestD <= allowed ? best : null;
}

/** "unknown field; did you mean bufferM?" (or without the suggestion when nothing is close). */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const near = closestField(key, known);
  return near === null ? `unknown field; known fields: ${known.join(', ')}` : `unknown field; did you mean ${near}?`;
}

/**
 * A zod error map for parses whose failures go through `fromZod`: an `unrecognized_keys` issue
 * gets the message above, computed from the shape of the object that raised it.
 */
export const strictErrorMap = (iss: z.core.$ZodRawIssue): string | undefined => {
  if (iss.code !== 'unrecognized_keys') return undefined;
  const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape ?? {};
  const keys = (iss as unknown as { keys: string[] }).keys;
  const more = keys.length > 1 ? ` (also unknown: ${keys.slice(1, 6).join(', ')}${keys.length > 6 ? ', …' : ''})` : '';
  return `${unknownFieldMessage(keys[0], Object.keys(shape))}${more}`;
};

/**
 * A copy of `value` without the fields a failed strict parse named as unknown. For records
 * stored before input was strict (they may hold a misspelt field that was then ignored): they
 * load as they behaved, and the caller reports what was dropped.
 */
export function withoutUnknownFields(value: unknown, error: z.ZodError): { value: unknown; dropped: string[] } | null {
  if (error.issues.some((i) => i.code !== 'unrecognized_keys')) return null;
  const copy = structuredClone(value);
  const dropped: string[] = [];
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let at: unknown = copy;
    for (const p of issue.path) at = (at as Record<PropertyKey, unknown> | undefined)?.[p as string];
    if (typeof at !== 'object' || at === null) return null;
    for (const k of issue.keys) {
      delete (at as Record<string, unknown>)[k];
      dropped.push([...issue.path, k].join('.'));
    }
  }
  return { value: copy, dropped };
}
