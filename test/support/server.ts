// Shared helpers for the live-service integration tests. Everything here talks to a REAL Redis
// (REDIS_URL, default redis://127.0.0.1:6379); nothing is mocked. Each test gets its own key
// prefix and removes its keys afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import type { FixInput } from '../../src/engine/fix.js';
import { API_ERRORS } from '../../src/server/errors.js';
import { startService, type Service, type ServiceOptions } from '../../src/server/service.js';
import { settingsFromEnv, type ServiceSettings } from '../../src/server/settings.js';
import { freePort } from '../../bench/common/net.js';
import { unlinkPrefix } from '../../bench/common/redis-keys.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN_JS = resolve(ROOT, 'dist/src/server/main.js');

// ---------------------------------------------------------------------------------------------
// Tokens and prefixes

const tok = (role: string): string => `${role.replace(/[^a-z]/g, '')}-${randomBytes(12).toString('hex')}`;
export const TOKENS = {
  operator: tok('operator'),
  ingest: tok('ingest'),
  admin: tok('admin'),
  north: tok('north'),
  south: tok('south'),
} as const;
export const TOKEN_SPEC = [
  `${TOKENS.operator}=operator`,
  `${TOKENS.ingest}=ingest`,
  `${TOKENS.admin}=admin`,
  `${TOKENS.north}=team:iom-north`,
  `${TOKENS.south}=team:iom-south`,
].join(',');

/** The tests' webhook receivers are on 127.0.0.1: allowed explicitly (WEBHOOK_ALLOW_HOSTS). */
// The loopback receivers of the delivery suites, and the documentation hosts the README's
// examples and the list suites name (they never resolve here; allowed by name, as an operator
// would list an on-premises receiver).
export const WEBHOOK_ALLOW_HOSTS = '127.0.0.1,cms.example,control.example,example.test';

export function uniquePrefix(tag = 't'): string {
  return `${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Engine settings for the tests: health timers far away, so wall-clock ticks raise nothing; and
 * closing without the settle time (closeAfterS 0: an episode closes on the first clearly safe
 * fix), so the service and delivery suites see an episode open and close within a few fixes
 * seconds apart. The debounce itself is tested in test/engine (and test/server/inclusion.test.ts
 * sets it per condition).
 */
export const ENGINE_SETTINGS = { offlineAfterS: 86_400, noFixAfterS: 86_400, closeAfterS: 0 };

export function newRedis(url = REDIS_URL): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  r.on('error', () => undefined);
  return r;
}

/** Deletes every key of one test prefix (SCAN MATCH prefix:* + UNLINK). */
export async function cleanupPrefix(prefix: string, url = REDIS_URL): Promise<number> {
  const r = newRedis(url);
  try {
    return await unlinkPrefix(r, prefix);
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// In-process service

export interface TestService {
  service: Service;
  prefix: string;
  url: string;
  settings: ServiceSettings;
  close(): Promise<void>;
}

export function testSettings(prefix: string, over: Partial<ServiceSettings> = {}): ServiceSettings {
  return settingsFromEnv({
    host: '127.0.0.1',
    port: 0,
    redisUrl: REDIS_URL,
    keyPrefix: prefix,
    apiTokens: TOKEN_SPEC,
    logLevel: 'silent',
    engineSettingsJson: JSON.stringify(ENGINE_SETTINGS),
    // The tests' webhook receivers listen on loopback (refused unless listed: SSRF guard).
    webhookAllowHosts: WEBHOOK_ALLOW_HOSTS,
    // Suites that record many decisions quickly; the allowance itself is tested with its own setting.
    ackRateLimitPerS: 1_000_000,
    // The archive is off unless a suite turns it on (a DATABASE_URL in the environment must not).
    databaseUrl: undefined,
    ...over,
  });
}

export async function startTestService(over: Partial<ServiceSettings> = {}, options: ServiceOptions = {}): Promise<TestService> {
  const prefix = over.keyPrefix ?? uniquePrefix();
  const settings = testSettings(prefix, over);
  const service = await startService(settings, options);
  let closed = false;
  return {
    service, prefix, url: service.url, settings,
    async close() {
      if (closed) return;
      closed = true;
      await service.stop();
      await cleanupPrefix(prefix);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  headers: Headers;
}

/** Every error `code` any test sees, with its status (checked against the registry on the spot). */
export const seenErrorCodes = new Map<string, number>();

/** Where a request goes: a base URL (over a socket) or the fastify app itself (`inject`, no socket). */
export type ApiTarget = string | FastifyInstance;

/** One request without a socket, through fastify's `inject`; the answer in fetch's shapes. */
async function injectRequest(app: FastifyInstance, method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await app.inject({ method: method as 'GET', url: path, headers, ...(body === undefined ? {} : { payload: body }) });
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.append(k, String(one));
  }
  return { status: res.statusCode, text: res.payload, headers: out };
}

/**
 * One HTTP request, over a socket (target: base URL) or injected (target: the app). Every error
 * body's `code` is checked on the spot: it must be a key of API_ERRORS and the HTTP status must
 * be the one the registry gives it.
 */
export async function api(
  target: ApiTarget, method: string, path: string,
  opts: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token !== undefined && opts.token !== null) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  let res: { status: number; text: string; headers: Headers };
  if (typeof target === 'string') {
    const r = await fetch(`${target}${path}`, { method, headers, body });
    res = { status: r.status, text: await r.text(), headers: r.headers };
  } else {
    res = await injectRequest(target, method, path, headers, body);
  }
  const { text } = res;
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text !== '') parsed = JSON.parse(text);
  if (res.status >= 400) {
    const code = (parsed as { code?: unknown } | null)?.code;
    expect(typeof code, `${method} ${path} -> ${res.status} without an error code: ${text}`).toBe('string');
    expect(Object.keys(API_ERRORS), `${method} ${path}: code ${String(code)} is not in API_ERRORS`).toContain(code);
    expect(res.status, `${method} ${path}: code ${String(code)} came with status ${res.status}, registry says ${API_ERRORS[code as keyof typeof API_ERRORS].status}`)
      .toBe(API_ERRORS[code as keyof typeof API_ERRORS].status);
    seenErrorCodes.set(code as string, res.status);
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

// ---------------------------------------------------------------------------------------------
// WebSocket

export type IngestReply = {
  ack?: [string, number][];
  errors?: { index: number; deviceId?: string; seq?: number; error: string }[];
  error?: string;
  nack?: [string, number][];
};

/** What a WebSocket client keeps of what it received: every message, and who waits for one. */
export interface MessageFeed {
  readonly received: unknown[];
  listeners: ((m: unknown) => void)[];
}

/** Resolves with the first message of `feed` matching `pred` (including ones already received). */
export function waitForMessage(feed: MessageFeed, pred: (m: unknown) => boolean, timeoutMs = 5000): Promise<unknown> {
  const hit = feed.received.find(pred);
  if (hit !== undefined) return Promise.resolve(hit);
  return new Promise((done, fail) => {
    const t = setTimeout(() => fail(new Error('timed out waiting for a WebSocket message')), timeoutMs);
    const l = (m: unknown): void => {
      if (!pred(m)) return;
      clearTimeout(t);
      feed.listeners = feed.listeners.filter((x) => x !== l);
      done(m);
    };
    feed.listeners.push(l);
  });
}

/** A WebSocket client whose replies are matched to messages in order (the server keeps order). */
export class WsClient {
  private readonly pending: { resolve: (v: IngestReply) => void; reject: (e: Error) => void }[] = [];
  readonly received: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Called with every message received (see waitForMessage). */
  listeners: ((m: unknown) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const msg = JSON.parse(data.toString()) as unknown;
      this.received.push(msg);
      for (const l of this.listeners) l(msg);
      this.pending.shift()?.resolve(msg as IngestReply);
    });
    this.closed = new Promise((done) => {
      ws.on('close', (code, reason) => {
        const err = new Error(`socket closed (${code})`);
        for (const p of this.pending.splice(0)) p.reject(err);
        done({ code, reason: reason.toString() });
      });
    });
    ws.on('error', () => undefined);
  }

  static connect(baseUrl: string, path: string, token: string | null, via: 'header' | 'query' = 'header'): Promise<WsClient> {
    const wsUrl = baseUrl.replace(/^http/, 'ws') + path + (via === 'query' && token !== null ? `?access_token=${encodeURIComponent(token)}` : '');
    const headers: Record<string, string> = via === 'header' && token !== null ? { authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(wsUrl, { headers });
    return new Promise((done, fail) => {
      ws.once('open', () => done(new WsClient(ws)));
      ws.once('unexpected-response', (_req, res) => fail(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', (e) => fail(e));
    });
  }

  /** The HTTP status with which an upgrade is refused (or 101 if it is accepted). */
  static async upgradeStatus(baseUrl: string, path: string, token: string | null): Promise<number> {
    try {
      const c = await WsClient.connect(baseUrl, path, token);
      c.close();
      return 101;
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === undefined) throw e;
      return status;
    }
  }

  /** Sends a fix, an array of fixes, a raw string or a Buffer (binary frame); resolves with the server's reply to it. */
  send(msg: unknown): Promise<IngestReply> {
    const data = typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg);
    return new Promise((res, rej) => {
      this.pending.push({ resolve: res, reject: rej });
      this.ws.send(data, (err) => {
        if (err) {
          const i = this.pending.findIndex((p) => p.resolve === res);
          if (i >= 0) this.pending.splice(i, 1);
          rej(err);
        }
      });
    });
  }

  /** Resolves with the first received message matching `pred` (including ones already received). */
  waitFor(pred: (m: unknown) => boolean, timeoutMs = 5000): Promise<unknown> {
    return waitForMessage(this, pred, timeoutMs);
  }

  get inFlight(): number {
    return this.pending.length;
  }

  close(): void {
    this.ws.close();
  }

  /** Closes and waits for the server's side of the closing handshake. */
  async closeAndWait(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

// ---------------------------------------------------------------------------------------------
// Geometry and fixes (near London; the contract's example square)

export const M_PER_DEG_LAT = (6371008.8 * Math.PI) / 180;
export type LatLon = readonly [lat: number, lon: number];

/** GeoJSON rectangle [lon0,lat0]-[lon1,lat1]. */
export function rect(id: string, lon0: number, lat0: number, lon1: number, lat1: number, props: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'Feature', id,
    geometry: { type: 'Polygon', coordinates: [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]] },
    properties: { name: id, ...props },
  };
}

/** The standard exclusion square of these tests: lon -0.13..-0.12, lat 51.50..51.51. */
export const ZX = { lon0: -0.13, lat0: 51.5, lon1: -0.12, lat1: 51.51 } as const;
export function zoneX(id: string): Record<string, unknown> {
  return rect(id, ZX.lon0, ZX.lat0, ZX.lon1, ZX.lat1);
}
/** A point `m` metres south of the square's south edge (negative m: inside). */
export function southOfX(m: number): LatLon {
  return [ZX.lat0 - m / M_PER_DEG_LAT, -0.125];
}
export const INSIDE_X: LatLon = southOfX(-500);
export const BUFFER_X: LatLon = southOfX(50);
export const FAR_X: LatLon = southOfX(800);

/** The wire form of a fix (contract section 1). */
export type FixIn = FixInput;

export function fix(deviceId: string, seq: number, tsMs: number, pos: LatLon | null, extra: Partial<FixIn> = {}): FixIn {
  return {
    deviceId, seq, ts: new Date(tsMs).toISOString(),
    ...(pos === null ? {} : { lat: pos[0], lon: pos[1], accuracy: 5 }),
    ...extra,
  };
}

/** Exclusion subject on zone `zone` (bufferM 100). */
export function exclusionSubject(id: string, deviceId: string, team: string, zone: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id, deviceId, team, risk: 'high', cohort: 'fixed', timezone: 'Europe/London',
    conditions: [{ id: 'c1', type: 'exclusion', zone, bufferM: 100 }],
    ...extra,
  };
}

/** Epoch ms as the engine formats it (seconds precision unless there are milliseconds). */
export function fmt(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}

// ---------------------------------------------------------------------------------------------
// Misc

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitUntil<T>(
  what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 5000, everyMs = 25,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === null ? '' : ` (last error: ${(last as Error).message})`}`);
    await sleep(everyMs);
  }
}

export { freePort };

// ---------------------------------------------------------------------------------------------
// The real service as a child process (`node dist/src/server/main.js`)

export interface ChildService {
  child: ChildProcess;
  url: string;
  port: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function distBuilt(): boolean {
  return existsSync(MAIN_JS);
}

export async function spawnService(env: Record<string, string>): Promise<ChildService> {
  if (!distBuilt()) throw new Error(`${MAIN_JS} is missing: run "npm run build" first (npm test does)`);
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', REDIS_URL, PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  let dead = false;
  void exited.then(() => { dead = true; });
  const until = Date.now() + 15_000;
  for (;;) {
    if (dead) throw new Error(`service exited during start-up:\n${out}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`the service child did not answer /healthz within 15 s:\n${out}`);
    }
    await sleep(50);
  }
  return { child, url, port, output: () => out, exited };
}
