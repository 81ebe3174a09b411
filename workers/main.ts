#!/usr/bin/env node
/**
 * A delivery worker process: `node dist/workers/main.js` (npm start runs WORKERS of them).
 * Any number may run; they share the queues in Redis. SIGTERM finishes the jobs in hand.
 */
import { Redis } from 'ioredis';
import { Keys } from '../src/server/keys.js';
import { AlertWorkers } from './alert-workers.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keys = new Keys(process.env.KEY_PREFIX ?? 'iom');
const redis = new Redis(url, { maxRetriesPerRequest: null });
const connection = new Redis(url, { maxRetriesPerRequest: null });
redis.on('error', () => undefined);
connection.on('error', () => undefined);

const log = (obj: object, msg: string): void => {
  process.stdout.write(`${JSON.stringify({ level: 'warn', time: Date.now(), pid: process.pid, name: 'worker', msg, ...obj })}\n`);
};
const workers = new AlertWorkers(redis, keys, connection, {
  concurrency: Number(process.env.WORKER_CONCURRENCY ?? 64),
  perTeamInFlight: Number(process.env.WORKER_PER_TEAM_IN_FLIGHT ?? 8),
  attempts: Number(process.env.DELIVERY_ATTEMPTS ?? 8),
  backoffMs: Number(process.env.DELIVERY_BACKOFF_MS ?? 1000),
  log,
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // Finish the jobs in hand; if Redis is gone and closing cannot complete, leave anyway (the
  // jobs' locks expire and another worker takes them).
  setTimeout(() => process.exit(1), 15_000).unref();
  workers.close().then(
    async () => {
      await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      await Promise.race([connection.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
