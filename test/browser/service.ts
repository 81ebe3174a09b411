// The real service for the browser suite: `node dist/src/server/main.js` (with its delivery
// worker) on a free port, a private Redis key prefix, tokens for every role.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from '../../bench/common/net.js';
import { unlinkPrefix } from '../../bench/common/redis-keys.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BrowserEnv {
  url: string;
  pid: number;
  prefix: string;
  tokens: { operator: string; admin: string; ingest: string; north: string; south: string };
}

const tok = (role: string): string => `${role}-${randomBytes(16).toString('hex')}`;

export async function startService(): Promise<BrowserEnv> {
  const port = await freePort();
  const prefix = `browser-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tokens = { operator: tok('operator'), admin: tok('admin'), ingest: tok('ingest'), north: tok('north'), south: tok('south') };
  const child = spawn(process.execPath, [resolve(ROOT, 'dist/src/server/main.js')], {
    cwd: ROOT,
    detached: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1', PORT: String(port), REDIS_URL, KEY_PREFIX: prefix, LOG_LEVEL: 'warn', WORKERS: '1',
      API_TOKENS: `${tokens.operator}=operator,${tokens.admin}=admin,${tokens.ingest}=ingest,${tokens.north}=team:iom-north,${tokens.south}=team:iom-south`,
      // Health timers far away (wall-clock ticks raise nothing); episodes close on the first safe fix.
      ENGINE_SETTINGS: JSON.stringify({ offlineAfterS: 86_400, noFixAfterS: 86_400, closeAfterS: 0 }),
      ACK_RATE_LIMIT_PER_S: '1000', WEBHOOK_ALLOW_HOSTS: '127.0.0.1', DELIVERY_ATTEMPTS: '1', DELIVERY_BACKOFF_MS: '10',
    },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited during start-up:\n${out}`);
    const ok = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${tokens.operator}` } }).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`the service did not become ready within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.unref();
  // The pipes must not keep the test runner alive either.
  (child.stdout as Socket | null)?.unref();
  (child.stderr as Socket | null)?.unref();
  return { url, pid: child.pid!, prefix, tokens };
}

export async function stopService(env: BrowserEnv): Promise<void> {
  try {
    process.kill(env.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(env.pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  try {
    await unlinkPrefix(redis, env.prefix);
  } finally {
    redis.disconnect();
  }
}
