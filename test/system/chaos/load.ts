/**
 * A resilient ingest client, as a monitoring centre should write one (README "Ingest protocol"):
 * fixes go out as JSON arrays over WS /v1/ingest; a fix counts as recorded only when an `ack`
 * names it; a `nack` (or a whole-message `error`, or a dropped connection) means send it again.
 * Connections that drop are reopened with backoff, and every unacknowledged fix is resent.
 *
 * At most one fix per tag is in flight, so each tag's fixes reach the service in seq order even
 * across resends and reconnections (the expected alerts depend on that; see world.ts). Many tags
 * share each message and several messages are pipelined per connection.
 */
import { WebSocket, type RawData } from 'ws';
import type { World } from './world.js';
import { percentileOf as percentile } from '../../../bench/common/stats.js';
import { log } from './util.js';

export interface LoadOptions {
  name: string;
  /** The service URL (read at every (re)connection: a restarted service keeps its port). */
  url: () => string;
  token: string;
  world: World;
  devices: number[];
  connections: number;
  perMessage: number;
  /** Messages awaiting their reply per connection. */
  maxOutstanding: number;
  /** Fixes per second across the client (0: as fast as acks allow). */
  ratePerS: number;
}

interface Sent {
  devices: number[];
  seqs: number[];
  at: number;
}

interface Conn {
  id: number;
  ws: WebSocket | null;
  open: boolean;
  outstanding: Sent[];
  attempt: number;
  timer: NodeJS.Timeout | null;
}

export interface LoadStats {
  /** Distinct fixes sent at least once. */
  fixesSent: number;
  /** Fix transmissions, first sends and resends. */
  transmissions: number;
  resent: number;
  acked: number;
  replies: number;
  nackReplies: number;
  nackedFixes: number;
  /** Whole-message {"error"} replies without nack. */
  errorReplies: number;
  itemErrors: number;
  /** Connections lost while running (service killed, heartbeat, ...). */
  disconnects: number;
  connectFailures: number;
  /** Items the server named as bad (should be none): first few. */
  errorSamples: string[];
}

export class IngestLoad {
  private readonly conns: Conn[] = [];
  /** Per tag (world index): the seq in flight or waiting to go (0: none); and the last acknowledged seq. */
  private readonly pending = new Map<number, number>();
  private readonly sentOnce = new Set<number>();
  /** Per tag: the last seq settled (acknowledged, or refused with an item error: see `failed`). */
  readonly ackedSeq = new Map<number, number>();
  /** `${tag index}#${seq}` of fixes refused with an item error (not recorded, by design). */
  readonly failed = new Set<string>();
  private ready: number[] = [];
  private generating = false;
  private closed = false;
  private pumpTimer: NodeJS.Timeout | null = null;
  private budget = 0;
  private budgetAt = Date.now();
  readonly stats: LoadStats = {
    fixesSent: 0, transmissions: 0, resent: 0, acked: 0, replies: 0, nackReplies: 0, nackedFixes: 0,
    errorReplies: 0, itemErrors: 0, disconnects: 0, connectFailures: 0, errorSamples: [],
  };
  /** Acks per 100 ms bucket since start (to see stalls). */
  readonly ackBuckets = new Map<number, number>();
  readonly nackBuckets = new Map<number, number>();
  readonly startedAt = Date.now();
  /** Reply latency samples (ms) with the time they were taken. */
  readonly latencies: { at: number; ms: number }[] = [];
  lastAckAt = 0;
  /** Close codes of connections lost while open. */
  readonly closeCodes = new Map<number, number>();
  firstNackAt = 0;
  lastNackAt = 0;

  constructor(private readonly o: LoadOptions) {
    for (const i of o.devices) this.ackedSeq.set(i, 0);
  }

  /** Opens the connections and starts sending fixes. */
  start(): void {
    this.generating = true;
    for (const i of this.o.devices) this.next(i);
    for (let c = 0; c < this.o.connections; c++) {
      const conn: Conn = { id: c, ws: null, open: false, outstanding: [], attempt: 0, timer: null };
      this.conns.push(conn);
      this.connect(conn);
    }
    this.pumpTimer = setInterval(() => this.pump(), 10);
  }

  /** Stops making new fixes; what was sent is still resent until acknowledged. */
  stopGenerating(): void {
    this.generating = false;
    this.ready = this.ready.filter((i) => {
      if (this.sentOnce.has(i)) return true;
      this.pending.delete(i);
      return false;
    });
  }

  /** Fixes sent and not (yet) acknowledged. */
  get unacked(): number {
    let n = 0;
    for (const i of this.pending.keys()) if (this.sentOnce.has(i)) n++;
    return n;
  }

  /** Stops generating and waits until every fix sent is acknowledged (or the time is up). */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopGenerating();
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.unacked === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.unacked === 0;
  }

  close(): void {
    this.closed = true;
    this.generating = false;
    if (this.pumpTimer !== null) clearInterval(this.pumpTimer);
    for (const c of this.conns) {
      if (c.timer !== null) clearTimeout(c.timer);
      c.ws?.terminate();
    }
  }

  /** Acks per second between two times (ms since epoch). */
  ackRate(from: number, to: number): number {
    let n = 0;
    for (const [b, k] of this.ackBuckets) {
      const t = this.startedAt + b * 100;
      if (t >= from && t < to) n += k;
    }
    return n / ((to - from) / 1000);
  }

  acksBetween(from: number, to: number): number {
    return this.ackRate(from, to) * ((to - from) / 1000);
  }

  latency(from: number, to: number): { p50: number; p99: number; max: number; n: number } {
    const v = this.latencies.filter((l) => l.at >= from && l.at < to).map((l) => l.ms);
    return { p50: percentile(v, 50), p99: percentile(v, 99), max: v.length === 0 ? NaN : Math.max(...v), n: v.length };
  }

  /** Longest stretch without any ack, in ms, between two times. */
  longestAckGap(from: number, to: number): number {
    const bs = [...this.ackBuckets.keys()].map((b) => this.startedAt + b * 100).filter((t) => t >= from && t < to).sort((a, b) => a - b);
    let prev = from, gap = 0;
    for (const t of bs) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    return Math.max(gap, to - prev);
  }

  private next(i: number): void {
    if (!this.generating) {
      this.pending.delete(i);
      return;
    }
    const seq = (this.ackedSeq.get(i) ?? 0) + 1;
    this.pending.set(i, seq);
    this.sentOnce.delete(i);
    this.ready.push(i);
  }

  private connect(conn: Conn): void {
    if (this.closed) return;
    const url = this.o.url().replace(/^http/, 'ws') + '/v1/ingest';
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.o.token}` }, handshakeTimeout: 5000, perMessageDeflate: false });
    conn.ws = ws;
    ws.on('open', () => {
      conn.open = true;
      conn.attempt = 0;
      this.pump();
    });
    ws.on('message', (data: RawData) => this.reply(conn, data));
    ws.on('error', () => undefined);
    ws.on('close', (code: number, reason: Buffer) => {
      const wasOpen = conn.open && !this.closed;
      if (wasOpen) this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
      if (wasOpen && process.env.CHAOS_DEBUG === '1') log(`${this.o.name}: connection ${conn.id} closed ${code} ${reason.toString()} (${conn.outstanding.length} outstanding)`);
      conn.open = false;
      conn.ws = null;
      if (wasOpen) this.stats.disconnects++;
      else if (!this.closed) this.stats.connectFailures++;
      // Everything unanswered on this connection goes out again.
      for (const s of conn.outstanding.splice(0)) for (const i of s.devices) if (this.pending.has(i)) this.ready.unshift(i);
      if (this.closed) return;
      const delay = Math.min(1000, 100 * 2 ** conn.attempt++);
      conn.timer = setTimeout(() => {
        conn.timer = null;
        this.connect(conn);
      }, delay);
    });
  }

  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.o.ratePerS > 0) {
      this.budget = Math.min(this.o.ratePerS * 0.2, this.budget + ((now - this.budgetAt) / 1000) * this.o.ratePerS);
    }
    this.budgetAt = now;
    for (const conn of this.conns) {
      const ws = conn.ws;
      if (!conn.open || ws === null) continue;
      while (conn.outstanding.length < this.o.maxOutstanding && this.ready.length > 0) {
        let n = Math.min(this.o.perMessage, this.ready.length);
        if (this.o.ratePerS > 0) {
          // Resends do not wait for the budget; new fixes do.
          n = Math.min(n, Math.max(0, Math.floor(this.budget)));
          const resends = this.ready.slice(0, this.o.perMessage).filter((i) => this.sentOnce.has(i)).length;
          if (n === 0 && resends === 0) return;
          n = Math.max(n, resends);
        }
        const devices = this.ready.splice(0, n);
        const seqs = devices.map((i) => this.pending.get(i) as number);
        let body = '[';
        for (let k = 0; k < devices.length; k++) {
          const i = devices[k]!;
          if (this.sentOnce.has(i)) this.stats.resent++;
          else {
            this.stats.fixesSent++;
            this.sentOnce.add(i);
            if (this.o.ratePerS > 0) this.budget--;
          }
          body += (k === 0 ? '' : ',') + this.o.world.fixJson(i, seqs[k]!);
        }
        body += ']';
        this.stats.transmissions += devices.length;
        conn.outstanding.push({ devices, seqs, at: Date.now() });
        ws.send(body);
      }
    }
  }

  private reply(conn: Conn, data: RawData): void {
    const now = Date.now();
    const sent = conn.outstanding.shift();
    this.stats.replies++;
    let r: { ack?: [string, number][]; nack?: [string, number][]; error?: string; errors?: { index: number; error: string }[] };
    try {
      r = JSON.parse(data.toString()) as typeof r;
    } catch {
      r = { error: 'reply is not JSON' };
    }
    if (sent === undefined) {
      this.stats.errorReplies++;
      this.sample(`reply with nothing outstanding: ${data.toString().slice(0, 200)}`);
      return;
    }
    this.latencies.push({ at: now, ms: now - sent.at });
    if (this.latencies.length > 200_000) this.latencies.splice(0, 100_000);
    const acked = new Set((r.ack ?? []).map(([d, s]) => `${d}#${s}`));
    const bad = new Map((r.errors ?? []).map((e) => [e.index, e.error]));
    if (r.nack !== undefined) {
      this.stats.nackReplies++;
      this.stats.nackedFixes += r.nack.length;
      if (this.firstNackAt === 0) this.firstNackAt = now;
      this.lastNackAt = now;
      const b = Math.floor((now - this.startedAt) / 100);
      this.nackBuckets.set(b, (this.nackBuckets.get(b) ?? 0) + r.nack.length);
    } else if (r.error !== undefined) {
      this.stats.errorReplies++;
      this.sample(`error reply: ${r.error.slice(0, 200)}`);
    }
    let nAcked = 0;
    sent.devices.forEach((i, k) => {
      const seq = sent.seqs[k]!;
      if (this.pending.get(i) !== seq) return; // already settled (cannot happen with one in flight)
      if (acked.has(`${this.o.world.deviceIds[i]}#${seq}`)) {
        nAcked++;
        this.ackedSeq.set(i, seq);
        this.pending.delete(i);
        this.sentOnce.delete(i);
        this.o.world.acknowledged(i, seq);
        this.next(i);
      } else if (bad.has(k)) {
        // Item errors are final: the fix is not recorded; count it and move on.
        this.stats.itemErrors++;
        this.sample(`item error for ${this.o.world.deviceIds[i]}#${seq}: ${bad.get(k)}`);
        this.failed.add(`${i}#${seq}`);
        this.pending.delete(i);
        this.sentOnce.delete(i);
        this.ackedSeq.set(i, seq);
        this.next(i);
      } else {
        this.ready.push(i); // nack, or the whole message failed: send again
      }
    });
    if (nAcked > 0) {
      this.stats.acked += nAcked;
      this.lastAckAt = now;
      const b = Math.floor((now - this.startedAt) / 100);
      this.ackBuckets.set(b, (this.ackBuckets.get(b) ?? 0) + nAcked);
    }
    this.pump();
  }

  private sample(s: string): void {
    if (this.stats.errorSamples.length < 10) {
      this.stats.errorSamples.push(s);
      log(`${this.o.name}: ${s}`);
    }
  }
}
