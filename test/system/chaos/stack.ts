/**
 * One scenario's system under test: the service (`node dist/src/server/main.js`, WORKERS=0) and
 * delivery workers (`node dist/workers/main.js`) as child processes the harness controls, on the
 * private Redis, under a fresh KEY_PREFIX. The service can be SIGKILLed and started again with the
 * same KEY_PREFIX, REDIS_URL and port; so can each worker. Its RSS is sampled from /proc.
 */
import { randomBytes } from 'node:crypto';
import { ApiClient, mapLimit } from '../../../src/demo/api-client.js';
import { repoRoot } from '../../../bench/common/results.js';
import { freePort } from '../../../bench/common/net.js';
import { rssBytes, start, startServiceProcess, WORKER_JS, type Child } from '../../../bench/common/procs.js';
import type { PrivateRedis } from './redis.js';
import type { Receiver } from './receiver.js';
import { log } from './util.js';
import { ENGINE_SETTINGS, type World } from './world.js';

export const ROOT = repoRoot();

const token = (role: string): string => `${role}-${randomBytes(18).toString('base64url')}`;

export interface StackOptions {
  name: string;
  redis: PrivateRedis;
  /** Extra service environment (limits under test). */
  serviceEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  workers: number;
  /** Names of extra ingest tokens (each a separate rate-limit bucket). */
  ingestTokens?: string[];
}

export class Stack {
  readonly prefix: string;
  readonly tokens = new Map<string, string>();
  readonly operator = token('operator');
  service: Child | null = null;
  readonly workers: Child[] = [];
  port = 0;
  serviceStarts = 0;
  workerStarts = 0;
  /** [ms since epoch, RSS bytes] of the service process (whichever one is current). */
  readonly rss: [number, number][] = [];
  private sampler: NodeJS.Timeout | null = null;
  private readonly env: Record<string, string>;

  constructor(private readonly o: StackOptions) {
    this.prefix = `chaos-${o.name}-${randomBytes(3).toString('hex')}`;
    for (const n of ['main', ...(o.ingestTokens ?? [])]) this.tokens.set(n, token(`ingest-${n}`));
    this.env = {
      HOST: '127.0.0.1',
      REDIS_URL: o.redis.url,
      KEY_PREFIX: this.prefix,
      API_TOKENS: [`${this.operator}=operator`, ...[...this.tokens.values()].map((t) => `${t}=ingest`)].join(','),
      WORKERS: '0',
      LOG_LEVEL: 'warn',
      ENGINE_SETTINGS: JSON.stringify(ENGINE_SETTINGS),
      SNAPSHOT_INTERVAL_MS: '2000',
      TRAIL_MAX_PER_DEVICE: '1000000',
      // The harness's receiver listens on loopback: allowed explicitly (SSRF guard).
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      ...(o.serviceEnv ?? {}),
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  ingestToken(name = 'main'): string {
    const t = this.tokens.get(name);
    if (t === undefined) throw new Error(`no ingest token ${name}`);
    return t;
  }

  get servicePid(): number {
    return this.service?.pid ?? -1;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    await this.startService();
    for (let k = 0; k < this.o.workers; k++) this.startWorker();
    this.sampler = setInterval(() => {
      const pid = this.service !== null && !this.service.exited ? this.service.pid : -1;
      if (pid > 0) {
        const v = rssBytes(pid);
        if (Number.isFinite(v)) this.rss.push([Date.now(), v]);
      }
    }, 500);
  }

  /** Starts (or restarts) the service on the same port with the same prefix and Redis. */
  async startService(): Promise<void> {
    this.serviceStarts++;
    await startServiceProcess(`service:${this.o.name}`, { ...process.env, ...this.env, PORT: String(this.port) }, {
      onSpawn: (child) => (this.service = child),
    });
  }

  async killService(): Promise<void> {
    const s = this.service;
    if (s === null) return;
    log(`${this.o.name}: SIGKILL service pid ${s.pid}`);
    await s.kill();
  }

  startWorker(): Child {
    const w = start(`worker:${this.o.name}`, process.execPath, [WORKER_JS], {
      ...process.env,
      REDIS_URL: this.o.redis.url,
      KEY_PREFIX: this.prefix,
      DELIVERY_BACKOFF_MS: '200',
      DELIVERY_ATTEMPTS: '12',
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      ...(this.o.workerEnv ?? {}),
    });
    this.workers.push(w);
    this.workerStarts++;
    return w;
  }

  /** Samples of the service RSS between two times. */
  rssBetween(from: number, to: number): [number, number][] {
    return this.rss.filter(([t]) => t >= from && t <= to);
  }

  rssPeak(): number {
    return this.rss.reduce((m, [, v]) => Math.max(m, v), 0);
  }

  api(): ApiClient {
    return new ApiClient(this.url, this.operator, { retries: 20, timeoutMs: 30_000 });
  }

  /** Zones, subjects and team routing through the API, as an operator would. */
  async seed(world: World, receiver: Receiver, webhookTimeoutMs = 5000): Promise<void> {
    const api = this.api();
    await api.post('/v1/zones', { type: 'FeatureCollection', features: world.zones });
    await mapLimit(world.subjects, 8, async (s) => api.put(`/v1/subjects/${encodeURIComponent((s as { id: string }).id)}`, s));
    for (const t of world.teams) {
      await api.put(`/v1/teams/${t.id}`, { webhooks: [{ id: 'default', url: receiver.url(t.path), secret: t.secret, timeoutMs: webhookTimeoutMs }] });
    }
  }

  /**
   * The service's heap in use (/metrics iom_nodejs_heap_size_used_bytes) and how many major
   * (mark-compact) collections it has done (iom_nodejs_gc_duration_seconds_count{kind="major"});
   * NaN when /metrics does not answer.
   */
  async heapSample(): Promise<{ heapUsed: number; majorGcs: number }> {
    try {
      const res = await fetch(`${this.url}/metrics`, { headers: { authorization: `Bearer ${this.operator}` }, signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      const m = /^iom_nodejs_heap_size_used_bytes\s+(\S+)/m.exec(text);
      const g = /^iom_nodejs_gc_duration_seconds_count\{kind="major"\}\s+(\S+)/m.exec(text);
      return { heapUsed: m === null ? NaN : Number(m[1]), majorGcs: g === null ? 0 : Number(g[1]) };
    } catch {
      return { heapUsed: NaN, majorGcs: NaN };
    }
  }

  async stop(): Promise<void> {
    if (this.sampler !== null) clearInterval(this.sampler);
    await Promise.all([this.service?.stop('SIGTERM', 15_000), ...this.workers.map((w) => w.stop('SIGTERM', 10_000))]);
  }
}
