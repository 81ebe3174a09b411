// Helpers for the live-service fuzz suite: a REAL Redis (127.0.0.1:6379 unless TEST_REDIS_URL),
// the service in-process (port 0) or as a child process, an HTTP client with a hard timeout
// (a hang is a failure, not a stuck suite) and a WebSocket client that matches replies to
// messages in order. Redis, key cleanup and the service child are the service suites'
// (test/support/server.ts); tokens, settings and clients are the fuzzer's own.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { API_ERRORS } from '../../src/server/errors.js';
import { startService, type Service } from '../../src/server/service.js';
import { settingsFromEnv, type ServiceSettings } from '../../src/server/settings.js';
import { REDIS_URL, spawnService as spawnServiceWithEnv } from './server.js';

export { cleanupPrefix, distBuilt, MAIN_JS, newRedis, REDIS_URL, ROOT } from './server.js';

const tok = (role: string): string => `fuzz-${role}-${randomBytes(12).toString('hex')}`;
export const TOKENS = {
  operator: tok('operator'),
  ingest: tok('ingest'),
  admin: tok('admin'),
  team: tok('team'),
} as const;
export const TEAM = 'x';
export const TOKEN_SPEC = `${TOKENS.operator}=operator,${TOKENS.ingest}=ingest,${TOKENS.admin}=admin,${TOKENS.team}=team:${TEAM}`;
export type TokenName = keyof typeof TOKENS | 'none' | 'bogus';
export const tokenOf = (t: TokenName): string | null => (t === 'none' ? null : t === 'bogus' ? 'not-a-known-token-0000000000' : TOKENS[t]);

export function uniquePrefix(): string {
  return `fuzz-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Engine settings: health timers far away, so wall-clock ticks raise nothing during the run. */
export const ENGINE_SETTINGS = JSON.stringify({ offlineAfterS: 86_400, noFixAfterS: 86_400 });

export function fuzzSettings(prefix: string, over: Partial<ServiceSettings> = {}): ServiceSettings {
  return settingsFromEnv({
    host: '127.0.0.1', port: 0, redisUrl: REDIS_URL, keyPrefix: prefix, apiTokens: TOKEN_SPEC,
    logLevel: 'silent', engineSettingsJson: ENGINE_SETTINGS, rateLimitPerS: 1_000_000, ackRateLimitPerS: 1_000_000, ...over,
  });
}

export async function startFuzzService(prefix: string, over: Partial<ServiceSettings> = {}): Promise<Service> {
  return startService(fuzzSettings(prefix, over));
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Res {
  status: number;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
  contentType: string;
}

export interface CallOptions {
  token?: TokenName;
  /** Raw body (string or bytes). */
  body?: string | Buffer;
  /** Content-Type to send; null sends none. Default application/json when there is a body. */
  contentType?: string | null;
  timeoutMs?: number;
}

/** One HTTP request with a hard timeout: a hang fails the test with the request named. */
export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  const token = tokenOf(o.token ?? 'operator');
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (o.body !== undefined && o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers, body: o.body, signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
  } catch (e) {
    throw new Error(`${method} ${path.slice(0, 120)}: no answer (${(e as Error).name}: ${(e as Error).message}) — hang or crash?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, contentType: res.headers.get('content-type') ?? '' };
}

export const API_CODES = Object.keys(API_ERRORS);

/**
 * The documented error answer: a 4xx, a JSON body {code, message} whose code is a key of
 * API_ERRORS and whose message is a non-empty string. Returns the code.
 */
export function checkApiError(r: Res, what: string): string {
  const body = r.json as { code?: unknown; message?: unknown } | undefined;
  const show = `${what} -> ${r.status} ${r.text.slice(0, 300)}`;
  if (r.status < 400 || r.status >= 500) throw new Error(`expected a 4xx: ${show}`);
  if (body === undefined || body === null || typeof body !== 'object') throw new Error(`error body is not a JSON object: ${show}`);
  if (typeof body.code !== 'string' || !API_CODES.includes(body.code)) throw new Error(`error code is not in API_ERRORS: ${show}`);
  if (typeof body.message !== 'string' || body.message === '') throw new Error(`error message is empty: ${show}`);
  return body.code;
}

// ---------------------------------------------------------------------------------------------
// WebSocket ingest client

export type IngestReply = {
  ack?: unknown;
  errors?: unknown;
  error?: unknown;
  nack?: unknown;
};

export class Ingest {
  private readonly pending: { resolve: (v: IngestReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  /** Replies that were not JSON (a failure of the protocol, collected for the assertions). */
  readonly malformed: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const text = data.toString();
      let msg: IngestReply;
      try {
        msg = JSON.parse(text) as IngestReply;
      } catch {
        this.malformed.push(text.slice(0, 300));
        msg = { error: `MALFORMED REPLY: ${text.slice(0, 300)}` };
      }
      const p = this.pending.shift();
      if (p !== undefined) {
        clearTimeout(p.timer);
        p.resolve(msg);
      }
    });
    this.closed = new Promise((done) => {
      ws.on('close', (code, reason) => {
        for (const p of this.pending.splice(0)) {
          clearTimeout(p.timer);
          p.reject(Object.assign(new Error(`socket closed (${code})`), { closeCode: code }));
        }
        done({ code, reason: reason.toString() });
      });
    });
    ws.on('error', () => undefined);
  }

  static connect(base: string, token: TokenName = 'ingest'): Promise<Ingest> {
    const t = tokenOf(token);
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ingest`, { headers: t === null ? {} : { authorization: `Bearer ${t}` } });
    return new Promise((done, fail) => {
      ws.once('open', () => done(new Ingest(ws)));
      ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', (e) => fail(e));
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one message; resolves with its reply, rejects (with closeCode) if the socket closes first. */
  send(data: string | Buffer, opts: { binary?: boolean; timeoutMs?: number } = {}): Promise<IngestReply> {
    return new Promise((resolveReply, rejectReply) => {
      const timer = setTimeout(() => {
        const i = this.pending.findIndex((p) => p.timer === timer);
        if (i >= 0) this.pending.splice(i, 1);
        rejectReply(new Error(`no reply within ${opts.timeoutMs ?? 10_000} ms (hang?) to: ${String(data).slice(0, 200)}`));
      }, opts.timeoutMs ?? 10_000);
      this.pending.push({ resolve: resolveReply, reject: rejectReply, timer });
      this.ws.send(data, { binary: opts.binary ?? Buffer.isBuffer(data) }, (err) => {
        if (err) {
          const i = this.pending.findIndex((p) => p.timer === timer);
          if (i >= 0) {
            clearTimeout(timer);
            this.pending.splice(i, 1);
            rejectReply(err);
          }
        }
      });
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

// ---------------------------------------------------------------------------------------------
// The real service as a child process (for faults that would take the test process down)

export interface Child {
  child: ChildProcess;
  url: string;
  output(): string;
  alive(): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

export async function spawnService(prefix: string): Promise<Child> {
  const s = await spawnServiceWithEnv({
    KEY_PREFIX: prefix, API_TOKENS: TOKEN_SPEC, WORKERS: '0', LOG_LEVEL: 'error', ENGINE_SETTINGS, RATE_LIMIT_PER_S: '1000000', ACK_RATE_LIMIT_PER_S: '1000000',
  });
  let dead = false;
  void s.exited.then(() => {
    dead = true;
  });
  return {
    child: s.child, url: s.url, exited: s.exited, output: s.output, alive: () => !dead,
    async kill() {
      if (!dead) {
        s.child.kill('SIGKILL');
        await s.exited;
      }
    },
  };
}
