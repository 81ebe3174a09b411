// Helpers for the alert-delivery suites. Everything is real: Redis on 127.0.0.1:6379 (or
// TEST_REDIS_URL), the service (in-process or child), the workers (in-process AlertWorkers or
// `node dist/workers/main.js` children) and a node:http webhook receiver on 127.0.0.1.
// Each test uses its own key prefix and deletes its keys afterwards. Nothing is mocked.
// The token table, Redis key cleanup, settings, API client, geometry and fixes are the service
// suites' (test/support/server.ts), re-exported here.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../src/alerts/signature.js';
import type { AlertEvent, AlertType, Severity } from '../../src/engine/alert.js';
import { AlertOutbox } from '../../src/alerts/outbox.js';
import { writeAlertRecords } from '../../src/alerts/alert-record.js';
import { Keys } from '../../src/server/keys.js';
import { startService, type Service } from '../../src/server/service.js';
import type { ServiceSettings } from '../../src/server/settings.js';
import { AlertWorkers, type WorkerOptions } from '../../workers/alert-workers.js';
import {
  cleanupPrefix, fmt, newRedis, REDIS_URL, ROOT, sleep, testSettings, type FixIn, uniquePrefix as serverUniquePrefix, waitForMessage, WEBHOOK_ALLOW_HOSTS,
  waitUntil as serverWaitUntil,
} from './server.js';

export {
  api, BUFFER_X, cleanupPrefix, ENGINE_SETTINGS, FAR_X, fix, fmt, freePort, INSIDE_X, M_PER_DEG_LAT, newRedis, REDIS_URL, rect, ROOT,
  sleep, southOfX, testSettings, TOKEN_SPEC, TOKENS, ZX, zoneX,
  type ApiResponse, type FixIn, type LatLon,
} from './server.js';

export const WORKER_JS = resolve(ROOT, 'dist/workers/main.js');

export const enc = encodeURIComponent;

/** The service suites' waitUntil, polling every 20 ms. */
export function waitUntil<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 5000, everyMs = 20): Promise<T> {
  return serverWaitUntil(what, fn, timeoutMs, everyMs);
}

// ---------------------------------------------------------------------------------------------
// Tokens, prefixes, Redis

export const TEAM_N = 'iom-north';
export const TEAM_S = 'iom-south';

export function uniquePrefix(tag = 'dlv'): string {
  return serverUniquePrefix(tag);
}

// ---------------------------------------------------------------------------------------------
// The service in-process

export interface TestService {
  service: Service;
  prefix: string;
  url: string;
  keys: Keys;
  close(opts?: { keepKeys?: boolean }): Promise<void>;
}

export async function startTestService(prefix: string, over: Partial<ServiceSettings> = {}): Promise<TestService> {
  const service = await startService(testSettings(prefix, over));
  let closed = false;
  return {
    service, prefix, url: service.url, keys: service.keys,
    async close(opts = {}) {
      if (closed) return;
      closed = true;
      await service.stop();
      if (opts.keepKeys !== true) await cleanupPrefix(prefix);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// WebSocket clients (ingest and the live alert stream)

export class WsClient {
  private readonly pending: ((v: unknown) => void)[] = [];
  readonly received: unknown[] = [];
  /** Called with every message received (see waitForMessage). */
  listeners: ((m: unknown) => void)[] = [];

  private constructor(readonly ws: WebSocket, private readonly replies: boolean) {
    ws.on('message', (data: RawData) => {
      const msg = JSON.parse(data.toString()) as unknown;
      this.received.push(msg);
      for (const l of this.listeners) l(msg);
      if (this.replies) this.pending.shift()?.(msg);
    });
    ws.on('close', () => {
      for (const p of this.pending.splice(0)) p({ error: 'socket closed' });
    });
    ws.on('error', () => undefined);
  }

  /** `replies`: messages are answers to what we send (ingest); else a feed (alert stream). */
  static connect(baseUrl: string, path: string, token: string, replies = path === '/v1/ingest'): Promise<WsClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, { headers: { authorization: `Bearer ${token}` } });
    return new Promise((done, fail) => {
      ws.once('open', () => done(new WsClient(ws, replies)));
      ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', (e) => fail(e));
    });
  }

  /** Sends fixes; resolves with the server's reply to this message. */
  send(msg: unknown): Promise<{ ack?: [string, number][]; error?: string; errors?: unknown[] }> {
    return new Promise((res) => {
      this.pending.push(res as (v: unknown) => void);
      this.ws.send(JSON.stringify(msg));
    });
  }

  waitFor(pred: (m: unknown) => boolean, timeoutMs = 5000): Promise<unknown> {
    return waitForMessage(this, pred, timeoutMs);
  }

  /**
   * Closes and waits for the close handshake to finish. Tests do this before stopping the
   * service: Service.stop() pauses ingest sockets before closing them, so a peer's close frame
   * is never read and app.close() waits for ws's 30 s close timeout (reported as a bug).
   */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const done = new Promise<void>((r) => this.ws.once('close', () => r()));
    this.ws.close();
    await Promise.race([done, sleep(5000)]);
  }
}

/** Sends fixes and checks they were all acknowledged (durably recorded). */
export async function ingestOk(client: WsClient, fixes: FixIn[]): Promise<void> {
  const reply = await client.send(fixes);
  expect(reply.error, JSON.stringify(reply)).toBeUndefined();
  expect(reply.errors, JSON.stringify(reply)).toBeUndefined();
  expect(reply.ack).toEqual(fixes.map((f) => [f.deviceId, f.seq]));
}

// ---------------------------------------------------------------------------------------------
// Geometry, subjects, fixes (the exclusion square of the contract, near Westminster)

/** Exclusion subject (bufferM 100) on zone `zone`; risk high: exclusion = critical, buffer = high. */
export function exclusionSubject(id: string, deviceId: string, team: string, zone: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, deviceId, team, risk: 'high', cohort: 'fixed', conditions: [{ id: 'c1', type: 'exclusion', zone, bufferM: 100 }], ...extra };
}

/** A whole second a little in the past (fix times must not be in the future). */
export const baseSecond = (agoS = 120): number => Math.floor(Date.now() / 1000) * 1000 - agoS * 1000;

// ---------------------------------------------------------------------------------------------
// Synthetic alert events through the real outbox path (writeAlertRecords + AlertOutbox)

export function syntheticEvent(i: number, team: string, type: AlertType, severity: Severity, atMs = Date.now() - 60_000): AlertEvent {
  const at = fmt(Math.floor(atMs / 1000) * 1000);
  const health = type === 'battery_low' || type === 'tamper' || type === 'no_fix' || type === 'device_offline';
  const subjectId = `S-${String(i).padStart(6, '0')}`;
  return {
    episodeId: health ? `${subjectId}:${type}:${at}` : `${subjectId}:c1:${at}`,
    event: 'opened', type, severity, confidence: 'confirmed', subjectId, deviceId: `TAG-${String(i).padStart(6, '0')}`,
    ...(health ? {} : { conditionId: 'c1' }),
    team, at,
    ...(type === 'proximity' ? { distanceM: 120 } : {}),
    late: false,
  };
}

/** Writes alert records + outbox entries (as a commit does) and moves them, routed, into the `deliveries` queue. */
export async function enqueueEvents(redis: Redis, keys: Keys, events: readonly AlertEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1000) {
    const m = redis.multi();
    writeAlertRecords(m, keys, events.slice(i, i + 1000));
    await m.exec();
  }
  await moveOutbox(redis, keys);
}

/** One pass of the outbox mover: what the outbox holds goes, routed, into the `deliveries` queue. */
export async function moveOutbox(redis: Redis, keys: Keys): Promise<void> {
  const conn = newRedis();
  const outbox = new AlertOutbox(redis, keys, conn);
  try {
    await outbox.kick();
  } finally {
    await outbox.close();
    conn.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Workers: in-process or as `node dist/workers/main.js` children

export interface InProcessWorkers {
  workers: AlertWorkers;
  close(): Promise<void>;
}

export function startWorkers(prefix: string, opts: WorkerOptions = {}): InProcessWorkers {
  const redis = newRedis();
  const conn = newRedis();
  const workers = new AlertWorkers(redis, new Keys(prefix), conn, { backoffMs: 50, webhookAllowHosts: WEBHOOK_ALLOW_HOSTS, ...opts });
  let closed = false;
  return {
    workers,
    async close() {
      if (closed) return;
      closed = true;
      await workers.close();
      redis.disconnect();
      conn.disconnect();
    },
  };
}

export interface WorkerChild {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful) or SIGKILL, then wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWorker(prefix: string, env: Record<string, string> = {}): WorkerChild {
  if (!existsSync(WORKER_JS)) throw new Error(`${WORKER_JS} is missing: run "npm run build" first`);
  const child = spawn(process.execPath, [WORKER_JS], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL, KEY_PREFIX: prefix, DELIVERY_BACKOFF_MS: '50', WEBHOOK_ALLOW_HOSTS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return {
    child, exited,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The webhook receiver: a real node:http server on 127.0.0.1

export interface Receipt {
  /** Order of arrival at this receiver (0-based). */
  n: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  /** idempotency-key header */
  key: string;
  /** Date.now() when the body was read. */
  at: number;
  /** Status sent (undefined while held or when the client went away first). */
  status?: number;
  /** The response was fully written (the sender could have seen it). */
  answered: boolean;
  /** The sender's connection closed before we answered. */
  abandoned: boolean;
  /** First receipt of this key on this path (a deduping receiver processes only these). */
  firstOfKey: boolean;
  /** Requests on this path open (unanswered, connected) when this one arrived, itself included. */
  openOnPath: number;
}

/** What to do with a request: answer (after a delay), hold it until released, or cut the socket. */
export type Action = { status: number; delayMs?: number } | { hold: true } | { destroy: true };
export type Behaviour = (r: Receipt, receiver: Receiver) => Action;

export class Receiver {
  readonly receipts: Receipt[] = [];
  /** key → first receipt, per path: what a deduping receiver processed. */
  readonly processed = new Map<string, Receipt>();
  behaviour: Behaviour = () => ({ status: 200 });
  private readonly held = new Set<{ r: Receipt; release: (status: number) => void }>();
  private listeners: (() => void)[] = [];

  private constructor(readonly server: Server, readonly port: number) {}

  static async start(port = 0, behaviour?: Behaviour): Promise<Receiver> {
    let self: Receiver | null = null;
    const server = createHttpServer((req, res) => self?.handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => done());
    });
    self = new Receiver(server, (server.address() as { port: number }).port);
    if (behaviour !== undefined) self.behaviour = behaviour;
    return self;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const path = (req.url ?? '/').split('?')[0];
      const key = String(req.headers[IDEMPOTENCY_HEADER] ?? '');
      const dedupeKey = `${path} ${key}`;
      const r: Receipt = {
        n: this.receipts.length, path, headers: req.headers, body, json, key, at: Date.now(),
        answered: false, abandoned: false, firstOfKey: !this.processed.has(dedupeKey),
        openOnPath: 1 + this.receipts.filter((x) => x.path === path && !x.answered && !x.abandoned).length,
      };
      if (r.firstOfKey) this.processed.set(dedupeKey, r);
      this.receipts.push(r);
      res.on('finish', () => { r.answered = true; this.notify(); });
      res.on('close', () => {
        if (!r.answered) r.abandoned = true;
        this.notify();
      });
      const answer = (status: number): void => {
        if (res.destroyed || res.writableEnded) return;
        r.status = status;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
      };
      const action = this.behaviour(r, this);
      if ('destroy' in action) {
        req.socket.destroy();
      } else if ('hold' in action) {
        const h = { r, release: answer };
        this.held.add(h);
        res.on('close', () => this.held.delete(h));
      } else if (action.delayMs !== undefined && action.delayMs > 0) {
        const t = setTimeout(() => answer(action.status), action.delayMs);
        res.on('close', () => clearTimeout(t));
      } else {
        answer(action.status);
      }
      this.notify();
    });
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** Requests currently held open. */
  get heldReceipts(): Receipt[] {
    return [...this.held].map((h) => h.r);
  }

  releaseAll(status = 200): void {
    for (const h of [...this.held]) h.release(status);
  }

  on(path: string): Receipt[] {
    return this.receipts.filter((r) => r.path === path);
  }

  /** Keys acknowledged with a 2xx that was fully written, with how many times. */
  okCounts(path = '/hook'): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.receipts) if (r.path === path && r.answered && r.status !== undefined && r.status < 300) m.set(r.key, (m.get(r.key) ?? 0) + 1);
    return m;
  }

  /** Distinct keys a deduping receiver processed on `path`. */
  processedKeys(path = '/hook'): string[] {
    return [...this.processed.values()].filter((r) => r.path === path).map((r) => r.key);
  }

  async waitFor<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v !== null && v !== undefined && v !== false) return v;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`receiver: timed out after ${timeoutMs} ms waiting for ${what} (${this.receipts.length} receipts so far)`);
      await new Promise<void>((done) => {
        const t = setTimeout(done, Math.min(left, 100));
        this.listeners.push(() => { clearTimeout(t); done(); });
      });
    }
  }

  async close(): Promise<void> {
    this.releaseAll(503);
    await new Promise<void>((done) => {
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }
}

/** Checks a receipt the way a team's receiver would: signature + freshness with the team's secret. */
export function verifyReceipt(r: Receipt, secret: string, nowS?: number): boolean {
  const signature = r.headers[SIGNATURE_HEADER];
  const timestamp = r.headers[TIMESTAMP_HEADER];
  return verify(secret, { signature: typeof signature === 'string' ? signature : undefined, timestamp: typeof timestamp === 'string' ? timestamp : undefined }, r.body, nowS);
}

export const SECRET_N = `north-secret-${randomBytes(12).toString('hex')}`;
export const SECRET_S = `south-secret-${randomBytes(12).toString('hex')}`;

/** PUT /v1/teams/:id body with one webhook. */
export function teamBody(url: string, secret: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { webhooks: [{ id: 'default', url, secret, timeoutMs: 5000 }], ...extra };
}
