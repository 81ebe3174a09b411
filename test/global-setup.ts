import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DURABLE_REDIS_ARGS, redisAnswers, redisServerInstalled, startRedisServer } from '../src/server/local-redis.js';

/**
 * `npm test` needs a Redis for the integration suites. Use REDIS_URL, or the one on
 * 127.0.0.1:6379 if it answers; otherwise start a private redis-server for the run (as
 * `npm start` does) and point REDIS_URL at it. Forked test workers inherit the variable.
 */
let child: ChildProcess | null = null;

export async function setup(): Promise<void> {
  await chooseRedis();
  // The suites read TEST_REDIS_URL (so a developer's REDIS_URL for `npm start` can differ).
  process.env.TEST_REDIS_URL ??= process.env.REDIS_URL;
}

async function chooseRedis(): Promise<void> {
  if (process.env.TEST_REDIS_URL !== undefined) return;
  if (process.env.REDIS_URL !== undefined) return;
  if (await redisAnswers('127.0.0.1', 6379)) {
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    return;
  }
  if (!redisServerInstalled()) {
    throw new Error('the tests need Redis: install redis-server (apt-get install redis-server) or set REDIS_URL');
  }
  const r = await startRedisServer({ port: 6392, dir: mkdtempSync(join(tmpdir(), 'iom-test-redis-')), args: DURABLE_REDIS_ARGS });
  child = r.child;
  process.env.REDIS_URL = r.url;
}

export async function teardown(): Promise<void> {
  child?.kill('SIGTERM');
}
