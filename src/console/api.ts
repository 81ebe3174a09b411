import { session } from './session.js';

/** An API error as the service answers it: {code, message, details?} with the HTTP status. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

let onUnauthorised: () => void = () => undefined;
export function whenUnauthorised(fn: () => void): void {
  onUnauthorised = fn;
}

/** One API call with the session's bearer token; JSON in and out; errors as ApiFailure. */
export async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const t = token ?? session()?.token;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t !== undefined) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiFailure(0, 'NETWORK', `the service did not answer (${(e as Error).message})`);
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    const e = (parsed ?? {}) as { code?: string; message?: string; details?: unknown };
    if (res.status === 401 && token === undefined) onUnauthorised();
    throw new ApiFailure(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? (text.slice(0, 200) || res.statusText), e.details);
  }
  return (parsed ?? text) as T;
}

/** The text of a GET (e.g. /metrics), or the failure. */
export const get = <T>(path: string): Promise<T> => api<T>('GET', path);

/** A GET that answers null on 404 (an endpoint this service version does not have, or a missing item). */
export async function getOrNull<T>(path: string): Promise<T | null> {
  try {
    return await api<T>('GET', path);
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 404) return null;
    throw e;
  }
}

export function q(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s === '' ? '' : `?${s}`;
}

export const enc = encodeURIComponent;

export function errorText(e: unknown): string {
  if (e instanceof ApiFailure) return e.status === 0 ? e.message : `${e.message} (${e.code})`;
  return e instanceof Error ? e.message : String(e);
}
