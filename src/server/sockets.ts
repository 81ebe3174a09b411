import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { FixError, parseFix, type Fix } from '../engine/fix.js';
import { bearer, roleName, type Principal, type TokenTable } from './auth.js';
import { API_ERRORS, type ApiErrorCode } from './errors.js';
import type { EngineHost } from './engine-host.js';
import type { Metrics } from './metrics.js';
import type { ServiceSettings } from './settings.js';
import { TokenBuckets } from './token-bucket.js';

export interface IngestContext {
  settings: ServiceSettings;
  tokens: TokenTable;
  host: EngineHost;
  metrics: Metrics;
  /** A fresh Redis connection for a subscriber (alert stream). */
  subscriber: () => Redis;
  liveChannel: string;
  log: { warn(o: object, m: string): void };
  /** Appends to the audit log (stream connections). */
  audit?: (action: string, target: string, who: Principal) => void;
}

interface ItemError {
  index: number;
  deviceId?: string;
  seq?: number;
  error: string;
}

/**
 * The two WebSocket endpoints on the HTTP server's upgrade event: /v1/ingest (monitoring
 * centres send fixes, get acks once recorded) and /v1/alerts/stream (a team's live alerts).
 * Authentication happens before the upgrade, so an unauthorised client never gets a socket.
 */
interface IngestConn {
  ws: WebSocket;
  /** Messages read whose reply is not yet sent. */
  inFlight: number;
  tokenId: string;
  /** Answered the last heartbeat ping. */
  alive: boolean;
}

export class Sockets {
  private readonly ingestWss: WebSocketServer;
  private readonly streamWss: WebSocketServer;
  private readonly conns = new Set<IngestConn>();
  private readonly buckets: TokenBuckets;
  private readonly timers: NodeJS.Timeout[];
  private closing = false;

  constructor(private readonly ctx: IngestContext) {
    this.buckets = new TokenBuckets(ctx.settings.ingestRateLimitPerS);
    // A browser authenticates with the subprotocols ['bearer', token]; the answer selects
    // `bearer` only, so the token is never echoed back.
    const handleProtocols = (offered: Set<string>): string | false => (offered.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false);
    this.ingestWss = new WebSocketServer({ noServer: true, maxPayload: ctx.settings.ingestMaxMessageBytes, handleProtocols });
    this.streamWss = new WebSocketServer({ noServer: true, maxPayload: 4096, handleProtocols });
    this.timers = [setInterval(() => this.tick(), 50), setInterval(() => this.heartbeat(), ctx.settings.wsHeartbeatMs)];
    for (const t of this.timers) t.unref();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // A refused upgrade answers like any API error: the registry's status and {code, message}.
    const refuse = (code: ApiErrorCode, message: string): void => {
      const status = API_ERRORS[code].status;
      const body = JSON.stringify({ code, message });
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      socket.destroy();
    };
    if (this.closing) return refuse('NOT_READY', 'the service is shutting down; connect again shortly');
    const offered = protocolToken(req.headers['sec-websocket-protocol']);
    if (offered === 'malformed') return refuse('VALIDATION', 'Sec-WebSocket-Protocol must be "bearer, <token>" (a browser: new WebSocket(url, [\'bearer\', token])), the token made of HTTP token characters');
    const token = bearer(req.headers.authorization) ?? offered ?? url.searchParams.get('access_token');
    if (token === null) return refuse('AUTH_REQUIRED', 'send "Authorization: Bearer <token>", or the subprotocols "bearer, <token>" (browsers), or ?access_token=');
    const principal = this.ctx.tokens.lookup(token);
    if (principal === null) return refuse('AUTH_INVALID', 'the bearer token is not valid');
    const kind = principal.role.kind;
    if (url.pathname === '/v1/ingest') {
      if (kind !== 'ingest' && kind !== 'operator' && kind !== 'admin') return refuse('FORBIDDEN', `role ${roleName(principal.role)} may not send fixes`);
      this.ingestWss.handleUpgrade(req, socket, head, (ws) => this.ingest(ws, principal));
    } else if (url.pathname === '/v1/alerts/stream') {
      if (kind === 'ingest') return refuse('FORBIDDEN', 'role ingest may not read the alert stream');
      let open = 0;
      for (const c of this.streamClients.values()) if (c.tokenId === principal.tokenId) open++;
      if (open >= this.ctx.settings.streamMaxPerToken) return refuse('RATE_LIMITED', `this token already holds ${open} alert-stream connections (at most ${this.ctx.settings.streamMaxPerToken}, STREAM_MAX_PER_TOKEN)`);
      this.streamWss.handleUpgrade(req, socket, head, (ws) => this.stream(ws, principal));
    } else {
      refuse('NOT_FOUND', 'no such route');
    }
  }

  private ingest(ws: WebSocket, principal: Principal): void {
    const conn: IngestConn = { ws, inFlight: 0, tokenId: principal.tokenId, alive: true };
    this.conns.add(conn);
    // Replies go out in message order even when a later message fails fast.
    let replyChain: Promise<void> = Promise.resolve();
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const arrived = this.ctx.host.now();
      conn.inFlight++;
      this.buckets.take(conn.tokenId);
      const reply = this.handleMessage(data, isBinary, arrived);
      this.reconsider(conn);
      replyChain = replyChain.then(async () => {
        const body = await reply;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(body));
        conn.inFlight--;
        this.reconsider(conn);
      });
    });
    ws.on('close', () => this.conns.delete(conn));
    ws.on('error', () => undefined);
  }

  /**
   * Reads from a connection only while every limit allows: its unacknowledged messages, the
   * replies it has not read, its token's message rate, and the service's unwritten fixes (or
   * Redis being down). Otherwise the socket is paused and TCP pushes back on the sender;
   * nothing is buffered without bound.
   */
  private reconsider(conn: IngestConn): void {
    const { ws } = conn;
    if (ws.readyState !== ws.OPEN) return;
    const s = this.ctx.settings;
    const { host } = this.ctx;
    const pressure = ws.isPaused ? s.ingestMaxPendingFixes / 2 : s.ingestMaxPendingFixes;
    const block = this.closing || conn.inFlight >= s.ingestMaxInFlight || host.isBroken ||
      host.pendingFixes > pressure || ws.bufferedAmount > s.ingestMaxBufferedBytes || this.buckets.available(conn.tokenId) < 1;
    if (block && !ws.isPaused) ws.pause();
    else if (!block && ws.isPaused) ws.resume();
  }

  /** Re-checks paused connections (limits that clear with time). */
  private tick(): void {
    for (const conn of this.conns) if (conn.ws.isPaused) this.reconsider(conn);
  }

  /**
   * Pings every ingest connection; one that did not answer the previous ping is dropped. A
   * connection this service has paused cannot be judged (its pong waits unread behind the
   * pause), so it is left alone until it is read again.
   */
  private heartbeat(): void {
    // Alert-stream sockets: the same rule (they are never paused).
    for (const [ws, client] of this.streamClients) {
      if (!client.alive) {
        ws.terminate();
        continue;
      }
      client.alive = false;
      if (ws.readyState === ws.OPEN) ws.ping();
    }
    for (const conn of this.conns) {
      if (conn.ws.isPaused) {
        conn.alive = true;
        continue;
      }
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /** Resumes connections paused for pressure once writes have caught up (or Redis is back). */
  resumeIfDrained(): void {
    for (const conn of this.conns) if (conn.ws.isPaused) this.reconsider(conn);
  }

  private async handleMessage(data: RawData, isBinary: boolean, arrived: number): Promise<object> {
    const { settings, metrics } = this.ctx;
    if (isBinary) return { error: 'send fixes as a text message: a JSON object, or a JSON array of objects' };
    let value: unknown;
    try {
      value = JSON.parse(data.toString());
    } catch (e) {
      return { error: `message is not valid JSON: ${(e as Error).message}` };
    }
    const items = Array.isArray(value) ? value : [value];
    if (items.length > settings.ingestMaxItems) {
      return { error: `message holds ${items.length} fixes; at most ${settings.ingestMaxItems} per message` };
    }
    metrics.fixesReceived.inc(items.length);
    const errors: ItemError[] = [];
    const good: Fix[] = [];
    const { host } = this.ctx;
    const maxTs = arrived + settings.ingestMaxFutureS * 1000;
    // A device configured a moment ago on another instance: apply the changes on the stream first.
    if (host.followsOthers && items.some((item) => {
      const d = identify(item).deviceId;
      return d !== undefined && !host.isKnownDevice(d);
    })) await host.catchUpConfig(2000);
    items.forEach((item, index) => {
      const ids = identify(item);
      try {
        const fix = parseFix(item);
        // A device clock this far ahead is faulty: refused for good (not retried). Within the
        // limit the fix is recorded with its own ts and evaluated at the service clock (committer).
        if (fix.ts > maxTs) {
          throw new FixError('ts', `is ${((fix.ts - arrived) / 1000).toFixed(1)} s ahead of the service clock; at most ${settings.ingestMaxFutureS} s is accepted (INGEST_MAX_FUTURE_S): the device clock is wrong`);
        }
        if (!host.isKnownDevice(fix.deviceId)) throw new FixError('deviceId', 'is not known: no subject wears it, no proximity condition watches it and it is not in the device register');
        good.push(fix);
      } catch (e) {
        if (!(e instanceof FixError)) throw e;
        errors.push({ index, ...ids, error: e.message });
        metrics.fixesRejected.inc({ reason: e.field });
      }
    });
    const ack: [string, number][] = [];
    if (good.length > 0) {
      let recorded: Promise<void>;
      const started = performance.now();
      try {
        recorded = host.submit(good).recorded;
      } catch (e) {
        return nack(e, good, errors);
      }
      metrics.evaluationSeconds.observe((performance.now() - started) / 1000 / good.length);
      try {
        await recorded;
      } catch (e) {
        return nack(e, good, errors);
      }
      const view = host.view;
      // Per team once per message (a message's fixes are mostly one team's).
      let team: string | null = null;
      let teamFixes = 0;
      for (const f of good) {
        ack.push([f.deviceId, f.seq]);
        metrics.ingestLagSeconds.observe(Math.max(0, arrived - f.ts) / 1000);
        const t = view.teamOfDevice(f.deviceId);
        if (t !== team) {
          if (team !== null) metrics.fixRate.recordTeam(team, teamFixes, arrived);
          team = t;
          teamFixes = 0;
        }
        teamFixes++;
      }
      if (team !== null) metrics.fixRate.recordTeam(team, teamFixes, arrived);
      metrics.fixesAccepted.inc(good.length);
      metrics.fixRate.recordTotal(good.length, arrived);
    }
    return errors.length > 0 ? { ack, errors } : { ack };
  }

  /** One Redis subscriber per process, fanned out to this process's stream clients. */
  private subscriber: Redis | null = null;
  private readonly streamClients = new Map<WebSocket, { team: string | null; recent: Set<string>; tokenId: string; alive: boolean }>();

  private stream(ws: WebSocket, principal: Principal): void {
    const team = principal.role.kind === 'team' ? principal.role.team : null;
    const client = { team, recent: new Set<string>(), tokenId: principal.tokenId, alive: true };
    this.streamClients.set(ws, client);
    ws.on('pong', () => {
      client.alive = true;
    });
    this.ctx.audit?.('stream.connect', team ?? '*', principal);
    ws.on('close', () => this.streamClients.delete(ws));
    ws.on('error', () => undefined);
    if (this.subscriber !== null) return;
    const sub = this.ctx.subscriber();
    this.subscriber = sub;
    sub.subscribe(this.ctx.liveChannel).catch(() => {
      for (const client of this.streamClients.keys()) client.close(1011, 'alert stream unavailable');
    });
    sub.on('message', (_channel: string, message: string) => this.fanOut(message));
  }

  private fanOut(message: string): void {
    let e: { team?: string; idempotencyKey?: string };
    try {
      e = JSON.parse(message) as { team?: string; idempotencyKey?: string };
    } catch {
      return;
    }
    for (const [ws, client] of this.streamClients) {
      if (client.team !== null && e.team !== client.team) continue;
      // Workers publish at least once; a repeat of a key this client already has is dropped.
      if (e.idempotencyKey !== undefined) {
        if (client.recent.has(e.idempotencyKey)) continue;
        client.recent.add(e.idempotencyKey);
        if (client.recent.size > 10_000) client.recent.delete(client.recent.values().next().value as string);
      }
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < 1 << 22) ws.send(message);
    }
  }

  /** Stops accepting connections and closes the open ones once their replies are out. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    for (const ws of this.ingestWss.clients) ws.pause();
    for (const ws of this.streamWss.clients) {
      ws.close(1001, 'server shutting down');
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    await this.subscriber?.quit().catch(() => undefined);
  }

  closeIngestClients(): void {
    for (const ws of this.ingestWss.clients) {
      // Read again so the client's close frame can arrive; do not wait long for it.
      ws.resume();
      ws.close(1001, 'server shutting down');
      setTimeout(() => ws.terminate(), 1000).unref();
    }
  }
}

/** The subprotocol a browser offers to carry its token: `Sec-WebSocket-Protocol: bearer, <token>`. */
export const BEARER_PROTOCOL = 'bearer';

/** RFC 7230 token characters: what a subprotocol (and so a token carried as one) may be made of. */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The token a client carries in its offered subprotocols (`bearer, <token>`, the form a browser
 * can send: it cannot set an Authorization header on a WebSocket); null when it offers none or no
 * `bearer`; 'malformed' when `bearer` is not followed by exactly one well-formed token.
 * The header is never logged (only method and route are).
 */
export function protocolToken(header: string | string[] | undefined): string | null | 'malformed' {
  if (header === undefined) return null;
  const list = (Array.isArray(header) ? header.join(',') : header).split(',').map((p) => p.trim());
  const at = list.indexOf(BEARER_PROTOCOL);
  if (at < 0) return null;
  const token = list[at + 1];
  if (list.length !== at + 2 || token === undefined || !HTTP_TOKEN.test(token)) return 'malformed';
  return token;
}

/** The reply to a message whose fixes were not recorded: the client sends them again. */
function nack(e: unknown, good: readonly Fix[], errors: readonly ItemError[]): object {
  return { error: e instanceof Error ? e.message : String(e), nack: good.map((f) => [f.deviceId, f.seq]), ...(errors.length > 0 ? { errors } : {}) };
}

/** deviceId and seq of a bad item, when it has them, so the error names the fix. */
function identify(item: unknown): { deviceId?: string; seq?: number } {
  if (typeof item !== 'object' || item === null) return {};
  const o = item as Record<string, unknown>;
  const out: { deviceId?: string; seq?: number } = {};
  if (typeof o.deviceId === 'string' && o.deviceId.length <= 64) out.deviceId = o.deviceId;
  if (typeof o.seq === 'number' && Number.isFinite(o.seq)) out.seq = o.seq;
  return out;
}
