/**
 * The harness's own Redis: `redis-server --port <free> --appendonly yes --appendfsync everysec
 * --dir <tmp>` on 127.0.0.1. The shared Redis on 6379 is never touched. It can be killed
 * (SIGTERM or SIGKILL) and started again on the same port with the same AOF directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DURABLE_REDIS_ARGS, redisServerArgs, redisServerInstalled, waitForRedis } from '../../../src/server/local-redis.js';
import { freePort } from '../../../bench/common/net.js';
import { start, type Child } from '../../../bench/common/procs.js';
import { log } from './util.js';

export class PrivateRedis {
  private child: Child | null = null;
  starts = 0;

  private constructor(readonly port: number, readonly dir: string) {}

  static async create(): Promise<PrivateRedis> {
    if (!redisServerInstalled()) {
      throw new Error('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); the chaos harness runs its own private one');
    }
    let port = await freePort();
    if (port === 6379) port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'iom-chaos-redis-'));
    const r = new PrivateRedis(port, dir);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== null && !this.child.exited;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const child = start(`redis-server:${this.port}`, 'redis-server', redisServerArgs(this.port, this.dir, [
      ...DURABLE_REDIS_ARGS, '--protected-mode', 'yes', '--loglevel', 'warning',
    ]), process.env);
    this.child = child;
    this.starts++;
    if (await waitForRedis(this.port, { attempts: 200, everyMs: 50, gone: () => child.exited })) return;
    throw new Error(`the private redis-server did not answer on port ${this.port}:\n${child.tail()}`);
  }

  /** Kills redis-server with `signal` (SIGTERM: it fsyncs the AOF and exits; SIGKILL: at once). */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (c === null || c.exited) return;
    log(`redis: ${signal} to redis-server pid ${c.pid}`);
    c.proc.kill(signal);
    const t = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
    await c.exit;
    clearTimeout(t);
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }

  removeDir(): void {
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}
