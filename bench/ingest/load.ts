import WebSocket from 'ws';
import { wsUrl } from '../../src/demo/api-client.js';
import { percentile } from '../common/stats.js';
import type { TagStream } from './tag-stream.js';

/**
 * The WebSocket side of the benchmark: N connections to /v1/ingest, each with its own TagStream.
 * The service answers each message once its fixes are durably recorded, in order per
 * connection, so a FIFO of send times per connection gives each message's send→ack time.
 *
 * Two ways to drive it:
 * - closed loop ("as fast as acks allow"): each connection keeps `window` messages in flight and
 *   sends the next one as each ack comes back;
 * - paced: messages go out on a schedule (rate / batch per second, spread over the connections),
 *   whether or not acks have come back (so a slow service shows as latency, not as a lower
 *   send rate); a connection with `maxInFlight` unanswered messages is skipped and the shortfall
 *   is reported.
 * Latency samples belong to the phase and window in which their message was sent.
 */

export interface SecondSample {
  /** Seconds since the phase's measured window began (negative: warm-up). */
  t: number;
  sent: number;
  acked: number;
  p99Ms: number;
}

export interface PhaseStats {
  name: string;
  mode: 'closed' | 'paced';
  targetFixesPerSec: number | null;
  durationS: number;
  warmupS: number;
  sentFixes: number;
  ackedFixes: number;
  /** Acks received inside the measured window. */
  ackedInWindow: number;
  fixesPerSec: number;
  messages: number;
  ackP50Ms: number;
  ackP90Ms: number;
  ackP99Ms: number;
  ackP999Ms: number;
  ackMaxMs: number;
  refusedFixes: number;
  failedMessages: number;
  /** Paced only: messages the schedule wanted but no connection could take. */
  behindScheduleMessages: number;
  /** Slowest and fastest whole second in the window, acked fixes. */
  minSecondFixes: number;
  maxSecondFixes: number;
  seconds: SecondSample[];
  clientCpuPct: number;
}

interface Conn {
  ws: WebSocket;
  stream: TagStream;
  sentAt: number[];
  head: number;
  inFlight: number;
}

interface PhaseRun {
  measuring: boolean;
  sending: boolean;
  windowStart: number;
  windowEnd: number;
  lat: number[];
  secLat: number[];
  sent: number;
  acked: number;
  ackedInWindow: number;
  refused: number;
  failed: number;
  messages: number;
}

export class IngestLoad {
  private readonly conns: Conn[] = [];
  private run: PhaseRun | null = null;
  private window = 1;
  private closedLoop = false;
  /** Every ack over the whole benchmark (for the recorded-fixes check). */
  totalAcked = 0;
  totalSent = 0;
  totalRefused = 0;
  totalFailed = 0;
  readonly firstErrors: string[] = [];
  /** Acks per device, for the devices sampled for the trail check. */
  readonly sampleAcks = new Map<string, number>();

  constructor(private readonly url: string, private readonly token: string, private readonly batch: number) {}

  async open(streams: TagStream[]): Promise<void> {
    await Promise.all(streams.map((stream) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(this.url, '/v1/ingest'), { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
      const c: Conn = { ws, stream, sentAt: [], head: 0, inFlight: 0 };
      ws.once('open', () => {
        this.conns.push(c);
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WS /v1/ingest refused: HTTP ${res.statusCode ?? '?'}`)));
      ws.once('error', reject);
      ws.on('message', (data) => this.reply(c, data.toString()));
      ws.on('close', () => {
        if (this.run?.sending === true) this.note(`a connection closed during the run`);
      });
    })));
  }

  close(): void {
    for (const c of this.conns) c.ws.close(1000, 'benchmark done');
  }

  get inFlight(): number {
    let n = 0;
    for (const c of this.conns) n += c.inFlight;
    return n;
  }

  /**
   * One phase: warm-up (sent, not measured), then `durationS` measured, then a drain of what is
   * still in flight. `onSecond` is called once a second with the second's figures.
   */
  async phase(o: {
    name: string; durationS: number; warmupS: number; window: number; rate: number | null; maxInFlight?: number;
    onSecond: (s: SecondSample, phase: string) => void;
  }): Promise<PhaseStats> {
    const run: PhaseRun = { measuring: false, sending: true, windowStart: 0, windowEnd: 0, lat: [], secLat: [], sent: 0, acked: 0, ackedInWindow: 0, refused: 0, failed: 0, messages: 0 };
    this.run = run;
    this.window = o.window;
    this.closedLoop = o.rate === null;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const start = performance.now();
    run.windowStart = start + o.warmupS * 1000;
    run.windowEnd = run.windowStart + o.durationS * 1000;
    const seconds: SecondSample[] = [];
    let behind = 0;
    let pacer: NodeJS.Timeout | null = null;

    if (this.closedLoop) {
      for (const c of this.conns) for (let k = 0; k < o.window; k++) this.send(c);
    } else {
      const msgsPerMs = (o.rate as number) / this.batch / 1000;
      const maxInFlight = o.maxInFlight ?? 256;
      let scheduled = 0;
      let rr = 0;
      pacer = setInterval(() => {
        const due = Math.floor((performance.now() - start) * msgsPerMs);
        while (scheduled < due) {
          let sentOne = false;
          for (let tries = 0; tries < this.conns.length; tries++) {
            const c = this.conns[rr] as Conn;
            rr = rr + 1 === this.conns.length ? 0 : rr + 1;
            if (c.inFlight < maxInFlight) {
              this.send(c);
              sentOne = true;
              break;
            }
          }
          scheduled++;
          if (!sentOne) behind++;
        }
      }, 1);
    }

    // Once a second: the second's sends, acks and p99; the measured window opens after warm-up.
    let lastSent = 0, lastAcked = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        if (!run.measuring && now >= run.windowStart) run.measuring = true;
        const lat = run.secLat;
        run.secLat = [];
        lat.sort((a, b) => a - b);
        const s: SecondSample = {
          t: Math.round((now - run.windowStart) / 1000),
          sent: run.sent - lastSent,
          acked: run.acked - lastAcked,
          p99Ms: lat.length === 0 ? NaN : percentile(lat, 99),
        };
        lastSent = run.sent;
        lastAcked = run.acked;
        seconds.push(s);
        o.onSecond(s, o.name);
        if (now >= run.windowEnd) {
          clearInterval(tick);
          resolve();
        }
      }, 1000);
    });
    run.sending = false;
    run.measuring = false;
    if (pacer !== null) clearInterval(pacer);
    // Drain: the last messages' acks still count as recorded (not towards the rate).
    const drainUntil = performance.now() + 60_000;
    while (this.inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    this.run = null;

    const lat = run.lat.sort((a, b) => a - b);
    const inWindow = seconds.filter((s) => s.t > 0 && s.t <= o.durationS).map((s) => s.acked);
    return {
      name: o.name,
      mode: this.closedLoop ? 'closed' : 'paced',
      targetFixesPerSec: o.rate,
      durationS: o.durationS,
      warmupS: o.warmupS,
      sentFixes: run.sent,
      ackedFixes: run.acked,
      ackedInWindow: run.ackedInWindow,
      fixesPerSec: run.ackedInWindow / o.durationS,
      messages: lat.length,
      ackP50Ms: percentile(lat, 50),
      ackP90Ms: percentile(lat, 90),
      ackP99Ms: percentile(lat, 99),
      ackP999Ms: percentile(lat, 99.9),
      ackMaxMs: lat.length === 0 ? NaN : (lat[lat.length - 1] as number),
      refusedFixes: run.refused,
      failedMessages: run.failed,
      behindScheduleMessages: behind,
      minSecondFixes: inWindow.length === 0 ? NaN : Math.min(...inWindow),
      maxSecondFixes: inWindow.length === 0 ? NaN : Math.max(...inWindow),
      seconds,
      clientCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    };
  }

  private send(c: Conn): void {
    const run = this.run;
    if (run === null || !run.sending || c.ws.readyState !== WebSocket.OPEN) return;
    const text = c.stream.next(this.batch);
    c.sentAt.push(performance.now());
    c.inFlight++;
    run.sent += this.batch;
    this.totalSent += this.batch;
    c.ws.send(text);
  }

  private reply(c: Conn, text: string): void {
    const now = performance.now();
    const sentAt = c.sentAt[c.head] as number;
    c.head++;
    if (c.head > 1024) {
      c.sentAt.splice(0, c.head);
      c.head = 0;
    }
    c.inFlight--;
    const run = this.run;
    let acked = 0;
    let body: { ack?: [string, number][]; errors?: { error: string }[]; error?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      this.note(`unreadable reply: ${text.slice(0, 200)}`);
      body = {};
    }
    if (Array.isArray(body.ack)) {
      acked = body.ack.length;
      if (this.sampleAcks.size > 0) {
        for (const [d] of body.ack) {
          const n = this.sampleAcks.get(d);
          if (n !== undefined) this.sampleAcks.set(d, n + 1);
        }
      }
    }
    if (body.errors !== undefined && body.errors.length > 0) {
      this.totalRefused += body.errors.length;
      if (run !== null) run.refused += body.errors.length;
      this.note(`refused: ${body.errors[0]?.error ?? '?'}`);
    }
    if (body.error !== undefined) {
      this.totalFailed++;
      if (run !== null) run.failed++;
      this.note(`not recorded: ${body.error}`);
    }
    this.totalAcked += acked;
    if (run !== null) {
      run.acked += acked;
      const ms = now - sentAt;
      if (sentAt >= run.windowStart && sentAt < run.windowEnd) run.lat.push(ms);
      run.secLat.push(ms);
      if (now >= run.windowStart && now < run.windowEnd) run.ackedInWindow += acked;
      if (this.closedLoop && run.sending && c.inFlight < this.window) this.send(c);
    }
  }

  private note(text: string): void {
    if (this.firstErrors.length < 20) this.firstErrors.push(text);
  }
}
