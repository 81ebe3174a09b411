/**
 * Abusive and numerous clients, while a well-behaved main load runs (its latency and connection
 * losses say whether "others are unaffected"):
 *  - 10,000 idle WebSocket connections (fewer if the fd limit is lower; said so), kept through
 *    heartbeats (WS_HEARTBEAT_MS=5000): none may be dropped; RSS per connection reported;
 *  - slow readers that never read a byte: the service must pause them
 *    (INGEST_MAX_BUFFERED_BYTES=64 KiB) and its RSS stay bounded;
 *  - slowloris on the HTTP upgrade and mid-frame (one byte a second), all through the scenario:
 *    mid-frame clients cannot answer pings and must be dropped within two heartbeats;
 *  - an oversize message (> INGEST_MAX_MESSAGE_BYTES): closed with 1009, others unaffected;
 *  - one token sending 1,000 messages a second against INGEST_RATE_LIMIT_PER_S=200: its acked
 *    rate must come out near 200/s while another token keeps its own rate.
 */
import { WebSocket } from 'ws';
import { frame, rawUpgrade, SlowReader, slowFrame, slowUpgrade } from './rawws.js';
import { runScenario, type Ctx, type Env, type Result } from './scenario.js';
import type { LoadStats } from './load.js';
import { rssBytes } from '../../../bench/common/procs.js';
import { percentileOf as percentile } from '../../../bench/common/stats.js';
import { linearFit, log, mb, MB, nofileLimits, sleep, until } from './util.js';

const RATE_LIMIT = 200;
const HEARTBEAT_MS = 5000;

export function connections(ctx: Ctx): Promise<Result> {
  const slowTokens = Array.from({ length: 10 }, (_, k) => `slow-${k}`);
  return runScenario(ctx, {
    name: 'connections',
    groups: [
      { name: 'm', count: 40, misbehaves: true }, { name: 'q', count: 160, misbehaves: false },
      { name: 'flood', count: 10, misbehaves: false }, { name: 'other', count: 40, misbehaves: false },
    ],
    teams: 2,
    stack: {
      workers: 1,
      ingestTokens: ['idle', 'big', 'flood', 'other', 'loris', 'probe', ...slowTokens],
      serviceEnv: {
        INGEST_RATE_LIMIT_PER_S: String(RATE_LIMIT),
        INGEST_MAX_BUFFERED_BYTES: '65536',
        WS_HEARTBEAT_MS: String(HEARTBEAT_MS),
      },
    },
    main: { groups: ['m', 'q'], connections: 2, perMessage: 20, maxOutstanding: 4, ratePerS: 600 },
    drainMs: 30_000,
    deliveryMs: 60_000,
    chaos: (env) => chaos(env, slowTokens),
  });
}

async function chaos(env: Env, slowTokens: string[]): Promise<void> {
  const { ctx, stack, main, notes, failures, world } = env;
  const port = stack.port;
  const pid = (): number => stack.servicePid;
  const rssNow = (): number => rssBytes(pid());
  const t0 = Date.now();
  await sleep(2000);
  const baseRss = rssNow();
  const baseLat = main.latency(t0 + 500, Date.now());
  notes.push(`baseline: RSS ${mb(baseRss)} MB; main load reply latency p50 ${baseLat.p50} ms, p99 ${baseLat.p99} ms`);

  // Slowloris, in the background for the whole scenario.
  const lorisN = 100;
  const lorisStart = Date.now();
  const upgradeDrips = Array.from({ length: lorisN }, () => slowUpgrade(port, '/v1/ingest', stack.ingestToken('loris'), 1000));
  const frameDrips: Awaited<ReturnType<typeof slowFrame>>[] = [];
  for (let k = 0; k < lorisN; k++) {
    try {
      frameDrips.push(await slowFrame(port, '/v1/ingest', stack.ingestToken('loris'), 1000, 1000));
    } catch (e) {
      failures.push(`slowloris mid-frame client could not upgrade: ${(e as Error).message}`);
      break;
    }
  }
  const frameStart = Date.now();
  const closedAt = new Map<object, number>();
  for (const d of [...upgradeDrips, ...frameDrips]) void d.conn.closed.then((t) => closedAt.set(d, t));

  // ---- 10,000 idle connections ----------------------------------------------------------------
  const lim = nofileLimits();
  let idleN = 10_000;
  if (Number.isFinite(lim.soft) && lim.soft < idleN + 1000) {
    idleN = Math.max(0, lim.soft - 1000);
    notes.push(`IDLE CONNECTIONS SCALED DOWN to ${idleN}: open-file limit ${lim.soft} (raise with ulimit -n)`);
  }
  const idle: WebSocket[] = [];
  let idleFailed = 0;
  let idleClosed = 0;
  const idleStart = Date.now();
  const wsUrl = stack.url.replace(/^http/, 'ws') + '/v1/ingest';
  for (let k = 0; k < idleN; k += 250) {
    await Promise.all(Array.from({ length: Math.min(250, idleN - k) }, () => new Promise<void>((done) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${stack.ingestToken('idle')}` }, perMessageDeflate: false, handshakeTimeout: 15_000 });
      ws.on('error', () => undefined);
      ws.once('open', () => {
        idle.push(ws);
        ws.once('close', () => idleClosed++);
        done();
      });
      ws.once('close', () => {
        if (ws.readyState !== ws.OPEN && !idle.includes(ws)) idleFailed++;
        done();
      });
    })));
  }
  const idleUp = Date.now();
  const idleRss = rssNow();
  log(`connections: ${idle.length} idle connections open in ${((idleUp - idleStart) / 1000).toFixed(1)} s (${idleFailed} failed)`);
  const holdMs = ctx.ci ? 2 * HEARTBEAT_MS + 1000 : 3 * HEARTBEAT_MS + 1000;
  await sleep(holdMs);
  const idleEnd = Date.now();
  const stillOpen = idle.filter((ws) => ws.readyState === ws.OPEN).length;
  const idleRssEnd = rssNow();
  const idleLat = main.latency(idleUp, idleEnd);
  notes.push(`idle: ${idle.length}/${idleN} connections opened in ${((idleUp - idleStart) / 1000).toFixed(1)} s (${idleFailed} failed); after ${holdMs / 1000} s of heartbeats ${stillOpen} still open; service RSS ${mb(baseRss)} → ${mb(idleRss)} → ${mb(idleRssEnd)} MB (${idle.length > 0 ? ((idleRssEnd - baseRss) / idle.length / 1024).toFixed(1) : 'n/a'} KB per connection); main latency p50 ${idleLat.p50} ms, p99 ${idleLat.p99} ms`);
  if (idleFailed > 0) failures.push(`${idleFailed} of ${idleN} idle connections could not be opened`);
  if (stillOpen < idle.length) failures.push(`${idle.length - stillOpen} healthy idle connection(s) (answering pings) were dropped during ${holdMs / 1000} s`);
  for (const ws of idle) ws.terminate();
  await sleep(2000);

  // ---- slow readers ---------------------------------------------------------------------------
  const slowS = ctx.ci ? 8 : 30;
  const dupMsg = frame(Buffer.from(`[${Array.from({ length: 200 }, (_, k) => world.fixJson(world.devicesOf('q')[k % 160]!, 1)).join(',')}]`));
  const readers: SlowReader[] = [];
  let slowDrops = 0, slowReconnectFailures = 0;
  let slowing = true;
  const slowStart = Date.now();
  const rssSlowStart = rssNow();
  const runReader = async (tok: string): Promise<void> => {
    while (slowing) {
      let r: SlowReader;
      try {
        r = new SlowReader(await rawUpgrade(port, '/v1/ingest', stack.ingestToken(tok)), dupMsg);
      } catch {
        slowReconnectFailures++;
        await sleep(200);
        continue;
      }
      readers.push(r);
      await Promise.race([r.conn.closed, until(() => !slowing, slowS * 1000 + 5000, 100)]);
      if (r.conn.isClosed && slowing) slowDrops++;
      r.stop();
    }
  };
  const slowRuns = slowTokens.map((t) => runReader(t));
  await sleep(slowS * 1000);
  slowing = false;
  await Promise.all(slowRuns);
  const slowEnd = Date.now();
  const samples = stack.rssBetween(slowStart, slowEnd);
  const peak = samples.reduce((m, [, v]) => Math.max(m, v), 0);
  const half = samples.filter(([t]) => t >= slowStart + (slowEnd - slowStart) / 2);
  const fit = linearFit(half.map(([t]) => (t - slowStart) / 60_000), half.map(([, v]) => v));
  const written = readers.reduce((n, r) => n + r.bytesWritten, 0);
  const slowLat = main.latency(slowStart, slowEnd);
  notes.push(`slow readers: ${slowTokens.length} clients that never read wrote ${mb(written)} MB in ${slowS} s; the service dropped them ${slowDrops}× (unanswered pings); service RSS ${mb(rssSlowStart)} → peak ${mb(peak)} MB, second-half slope ${mb(fit.slope, 1)} MB/min; main latency p50 ${slowLat.p50} ms, p99 ${slowLat.p99} ms`);
  if (peak - rssSlowStart > 256 * MB) failures.push(`service RSS grew by ${mb(peak - rssSlowStart)} MB under ${slowTokens.length} slow readers (bound: 256 MB)`);
  if (slowS >= 20 && fit.slope > 60 * MB && fit.r2 > 0.5) failures.push(`service RSS still rising at ${mb(fit.slope)} MB/min in the second half of the slow-reader phase`);
  await sleep(1000);

  // ---- oversize message -----------------------------------------------------------------------
  const big = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${stack.ingestToken('big')}` }, perMessageDeflate: false });
  big.on('error', () => undefined);
  await new Promise<void>((r) => {
    big.once('open', () => r());
    big.once('close', () => r());
  });
  const bigClose = new Promise<number>((r) => big.once('close', (code) => r(code)));
  const ovStart = Date.now();
  const discBefore = main.stats.disconnects;
  big.send(`[${'{"pad":"' + 'x'.repeat(1_600_000) + '"}'}]`);
  const code = await Promise.race([bigClose, sleep(10_000).then(() => -1)]);
  // Another client right after: must connect and get an ack.
  const probe = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${stack.ingestToken('probe')}` }, perMessageDeflate: false });
  probe.on('error', () => undefined);
  const probeReply = await new Promise<string>((r) => {
    const t = setTimeout(() => r('timeout'), 10_000);
    probe.once('open', () => probe.send(world.fixJson(world.devicesOf('q')[0]!, 1)));
    probe.once('message', (d) => {
      clearTimeout(t);
      r(d.toString());
    });
    probe.once('close', () => r('closed'));
  });
  probe.terminate();
  const ovLat = main.latency(ovStart, Date.now());
  notes.push(`oversize: 1.6 MB message closed with ${code} after ${Date.now() - ovStart} ms; a new client then got ${probeReply.slice(0, 60)}; main load lost ${main.stats.disconnects - discBefore} connection(s), p99 ${ovLat.p99} ms`);
  if (code !== 1009) failures.push(`an oversize message got close code ${code}, expected 1009`);
  if (!probeReply.includes('"ack"')) failures.push(`a client connecting after the oversize message got ${probeReply.slice(0, 80)} instead of an ack`);
  if (main.stats.disconnects > discBefore) failures.push('the main load lost its connection when another client sent an oversize message');

  // ---- one token beyond its rate limit --------------------------------------------------------
  const rateS = ctx.ci ? 5 : 10;
  const other = env.newLoad({ name: 'connections/other', token: stack.ingestToken('other'), devices: world.devicesOf('other'), connections: 1, perMessage: 1, maxOutstanding: 40, ratePerS: 100 });
  other.start();
  const flood = new Flood(env, stack.ingestToken('flood'), world.devicesOf('flood'));
  await flood.open();
  const rateStart = Date.now();
  flood.start(1000);
  await sleep(rateS * 1000);
  const rateEnd = Date.now();
  flood.stop();
  other.stopGenerating();
  // The bucket allows a burst of 2 s worth, then the rate. Reading pauses when the bucket is
  // empty, but one socket read (64 KiB) already taken is still handed over whole, so the bucket
  // can go into debt by that much (repaid before reading resumes): over the window the acks must
  // stay within limit × (seconds + 2) + one read's worth of messages.
  const secs = (rateEnd - rateStart) / 1000;
  const perRead = Math.ceil(65_536 / Buffer.byteLength(world.fixJson(world.devicesOf('flood')[0]!, 1)));
  const allowance = RATE_LIMIT * (secs + 2) + perRead;
  const floodInWindow = flood.ackRate(rateStart, rateEnd + 1) * ((rateEnd + 1 - rateStart) / 1000);
  const floodRate = Math.max(0, floodInWindow - 2 * RATE_LIMIT) / secs;
  const floodTail = flood.ackRate(rateStart + 2500, rateEnd);
  const otherRate = other.ackRate(rateStart + 2500, rateEnd);
  const otherLat = other.latency(rateStart + 2500, rateEnd);
  notes.push(`rate limit ${RATE_LIMIT}/s: flood token sent ${flood.sent} messages in ${secs.toFixed(1)} s (${(flood.sent / secs).toFixed(0)}/s), ${floodInWindow.toFixed(0)} acked in that time (allowance ${allowance.toFixed(0)} = ${RATE_LIMIT}/s × (${secs.toFixed(1)} s + 2 s burst) + ${perRead} for one socket read): ${floodRate.toFixed(0)}/s beyond the burst, ${floodTail.toFixed(0)}/s from 2.5 s on; its connection ${flood.closedAt > 0 ? `was closed by the server after ${((flood.closedAt - rateStart) / 1000).toFixed(1)} s (code ${flood.closeCode}: the heartbeat, its pongs queued unread behind its own throttled messages; see redis-outage)` : 'stayed open'}; other token acked ${otherRate.toFixed(0)}/s of 100/s sent, p99 ${otherLat.p99} ms`);
  if (floodInWindow > allowance) failures.push(`the flooding token got ${floodInWindow.toFixed(0)} messages acked in ${secs.toFixed(1)} s, more than its limit allows (${allowance.toFixed(0)})`);
  if (floodRate < RATE_LIMIT * 0.6) failures.push(`the flooding token was acked at only ${floodRate.toFixed(0)}/s, well below its limit of ${RATE_LIMIT}/s${flood.closedAt > 0 ? ` (the server closed its connection, code ${flood.closeCode}, while it was paused for the rate limit)` : ''}`);
  if (otherRate < 85) failures.push(`another token sending 100 messages/s was acked at only ${otherRate.toFixed(0)}/s while one token flooded`);

  // ---- slowloris results ----------------------------------------------------------------------
  if (!ctx.ci) await until(() => upgradeDrips.every((d) => d.conn.isClosed), Math.max(0, lorisStart + 100_000 - Date.now()), 500);
  const lorisEnd = Date.now();
  const upClosed = upgradeDrips.filter((d) => closedAt.has(d)).map((d) => (closedAt.get(d)! - lorisStart) / 1000);
  const frClosed = frameDrips.filter((d) => closedAt.has(d)).map((d) => (closedAt.get(d)! - frameStart) / 1000);
  notes.push(`slowloris (1 byte/s, ${((lorisEnd - lorisStart) / 1000).toFixed(0)} s): upgrade requests closed by the server ${upClosed.length}/${lorisN}${upClosed.length > 0 ? ` (after ${percentile(upClosed, 50).toFixed(0)}–${Math.max(...upClosed).toFixed(0)} s)` : ''}; mid-frame ${frClosed.length}/${frameDrips.length}${frClosed.length > 0 ? ` (after ${percentile(frClosed, 50).toFixed(1)}–${Math.max(...frClosed).toFixed(1)} s)` : ''}`);
  const frameBound = (3 * HEARTBEAT_MS) / 1000 + 2;
  const lateFrames = frameDrips.filter((d) => !closedAt.has(d) || (closedAt.get(d)! - frameStart) / 1000 > frameBound).length;
  if (lateFrames > 0) failures.push(`${lateFrames} mid-frame slowloris connection(s) not dropped within ${frameBound} s (WS_HEARTBEAT_MS=${HEARTBEAT_MS})`);
  if (main.stats.disconnects > 0) failures.push(`the well-behaved main load lost its connection ${main.stats.disconnects}× during the scenario`);
  const gap = main.longestAckGap(t0 + 1000, Date.now());
  notes.push(`main load: longest stretch without an ack ${(gap / 1000).toFixed(1)} s over the scenario`);
  if (gap > 5000) failures.push(`the well-behaved main load went ${(gap / 1000).toFixed(1)} s without an ack`);
  for (const d of [...upgradeDrips, ...frameDrips]) d.stop();
}

/** One token sending fixes (one per message) at a fixed rate without waiting for replies. */
class Flood {
  readonly ackedSeq = new Map<number, number>();
  readonly failed = new Set<string>();
  readonly stats: LoadStats = {
    fixesSent: 0, transmissions: 0, resent: 0, acked: 0, replies: 0, nackReplies: 0, nackedFixes: 0,
    errorReplies: 0, itemErrors: 0, disconnects: 0, connectFailures: 0, errorSamples: [],
  };
  private ws: WebSocket | null = null;
  private readonly outstanding: [number, number][] = [];
  private readonly seq = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly ackTimes: number[] = [];
  private k = 0;
  sent = 0;
  acked = 0;
  closedAt = 0;
  closeCode = 0;

  constructor(private readonly env: Env, private readonly token: string, private readonly devices: number[]) {}

  open(): Promise<void> {
    const ws = new WebSocket(this.env.stack.url.replace(/^http/, 'ws') + '/v1/ingest', { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
    this.ws = ws;
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      if (this.timer !== null) {
        this.closedAt = Date.now();
        this.closeCode = code;
      }
    });
    ws.on('message', (d) => {
      const s = this.outstanding.shift();
      this.stats.replies++;
      if (s === undefined) return;
      const [i, seq] = s;
      const r = JSON.parse(d.toString()) as { ack?: [string, number][]; nack?: unknown[]; error?: string };
      if ((r.ack ?? []).some(([dev, q]) => q === seq && dev === this.env.world.deviceIds[i])) {
        this.ackedSeq.set(i, seq);
        this.env.world.acknowledged(i, seq);
        this.acked++;
        this.stats.acked++;
        this.ackTimes.push(Date.now());
      } else {
        this.failed.add(`${i}#${seq}`);
        if (r.nack !== undefined) this.stats.nackedFixes++;
        else this.stats.errorReplies++;
      }
    });
    return new Promise((r) => {
      ws.once('open', () => r());
      ws.once('close', () => r());
    });
  }

  start(perS: number): void {
    this.timer = setInterval(() => {
      const ws = this.ws;
      if (ws === null || ws.readyState !== ws.OPEN) return;
      for (let n = 0; n < perS / 100; n++) {
        const i = this.devices[this.k++ % this.devices.length]!;
        const seq = (this.seq.get(i) ?? 0) + 1;
        this.seq.set(i, seq);
        this.outstanding.push([i, seq]);
        ws.send(this.env.world.fixJson(i, seq));
        this.sent++;
        this.stats.fixesSent++;
      }
    }, 10);
  }

  ackRate(from: number, to: number): number {
    return this.ackTimes.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.ws?.terminate();
    for (const [i, seq] of this.outstanding.splice(0)) this.failed.add(`${i}#${seq}`);
    this.env.loads.push(this);
  }
}
