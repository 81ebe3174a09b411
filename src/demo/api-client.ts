/**
 * A small client for the service's HTTP API (contract section 5), used by the demo and by the
 * ingest benchmark's seeding. Bearer token on every call; JSON in and out; the service's error
 * body ({code, message}) becomes an ApiRequestError. 429 (RATE_LIMITED) and 503 (NOT_READY,
 * STORAGE_UNAVAILABLE) are retried with backoff: both mean "not now", not "no".
 */

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The service's error code (e.g. VALIDATION), or NETWORK when no answer came. */
    readonly code: string,
    detail: string,
  ) {
    super(`${method} ${path}: ${status === 0 ? '' : `${status} `}${code}: ${detail}`);
  }
}

export interface ApiClientOptions {
  /** Attempts for 429 and 503 answers before giving up. Default 8. */
  retries?: number;
  /** Per-request time limit. Default 120 s (a bulk zone import is one request). */
  timeoutMs?: number;
}

export class ApiClient {
  readonly base: string;
  private readonly retries: number;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, private readonly token: string, options: ApiClientOptions = {}) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.retries = options.retries ?? 8;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  put<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  /** One request; `body` may be a ready-made JSON string (large bulk imports). */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: payload,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        const detail = cause?.code ?? cause?.message ?? (e as Error).message;
        throw new ApiRequestError(method, path, 0, 'NETWORK', `no answer from ${this.base} (${detail})`);
      }
      const text = await res.text();
      if (res.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
      let code = 'HTTP';
      let message = text.slice(0, 300);
      try {
        const j = JSON.parse(text) as { code?: string; message?: string };
        code = j.code ?? code;
        message = j.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      const retryable = res.status === 429 || res.status === 503;
      if (retryable && attempt < this.retries) {
        await sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      throw new ApiRequestError(method, path, res.status, code, message);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; resolves when all are done, or
 * rejects with the first failure (after the calls already started have settled).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (failed === null) {
      const i = next++;
      if (i >= items.length) return;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== null) throw failed;
  return out;
}

/** http://host:port → ws://host:port (and https → wss). */
export function wsUrl(httpUrl: string, path: string): string {
  const u = new URL(path, httpUrl.replace(/\/+$/, '') + '/');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
