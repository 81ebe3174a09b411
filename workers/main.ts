#!/usr/bin/env node
/**
 * A delivery worker process: `node dist/workers/main.js` (npm start runs WORKERS of them).
 * Any number may run; they share the queues in Redis. SIGTERM finishes the jobs in hand.
 */
import { Keys } from '../src/server/keys.js';
import { redisClient } from '../src/server/redis-client.js';
import { workerSettingsFromEnv } from '../src/server/settings.js';
import { onShutdownSignal } from '../src/server/shutdown.js';
import { AlertWorkers } from './alert-workers.js';

const settings = workerSettingsFromEnv();
const keys = new Keys(settings.keyPrefix);
// Our own commands (delivered-markers, team routing, dead letters) from the concurrent jobs go
// out together, one write per event-loop turn (bench/alerts/README.md, "Where the worker time goes").
const redis = redisClient(settings, { maxRetriesPerRequest: null, enableAutoPipelining: true });
const connection = redisClient(settings, { maxRetriesPerRequest: null, enableAutoPipelining: true });
redis.on('error', () => undefined);
connection.on('error', () => undefined);

const log = (obj: object, msg: string): void => {
  process.stdout.write(`${JSON.stringify({ level: 'warn', time: Date.now(), pid: process.pid, name: 'worker', msg, ...obj })}\n`);
};
const workers = new AlertWorkers(redis, keys, connection, {
  concurrency: settings.concurrency,
  perTeamInFlight: settings.perTeamInFlight,
  attempts: settings.attempts,
  backoffMs: settings.backoffMs,
  webhookAllowHosts: settings.webhookAllowHosts,
  log,
});

// Finish the jobs in hand; if Redis is gone and closing cannot complete, the watchdog ends the
// process anyway (the jobs' locks expire and another worker takes them).
onShutdownSignal('delivery worker', async () => {
  await workers.close();
  await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  await Promise.race([connection.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
});
