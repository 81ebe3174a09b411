#!/usr/bin/env node
/**
 * `npm start`: the service with sensible local defaults.
 * - Redis: REDIS_URL if set; else the one on 127.0.0.1:6379 if it answers; else a private
 *   redis-server (AOF on, data under ./data/redis) started here and stopped on exit.
 * - Tokens: API_TOKENS if set; else fresh random tokens for this run, printed once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateRedis, redisAnswers } from './local-redis.js';
import { readEnv, settingsFromEnv } from './settings.js';
import { startService } from './service.js';
import { onShutdownSignal } from './shutdown.js';
import { workerEnv } from './worker-env.js';

async function main(): Promise<void> {
  const env = readEnv();
  let child: ChildProcess | null = null;
  let redisUrl = env.REDIS_URL;
  if (redisUrl === undefined && env.REDIS_CLUSTER_NODES !== undefined && env.REDIS_CLUSTER_NODES !== '') {
    redisUrl = `redis-cluster://${env.REDIS_CLUSTER_NODES}`;
  } else if (redisUrl === undefined) {
    if (await redisAnswers('127.0.0.1', 6379)) redisUrl = 'redis://127.0.0.1:6379';
    else {
      const p = await privateRedis(env.PRIVATE_REDIS_PORT);
      child = p.child;
      redisUrl = p.url;
      process.stdout.write(`started a private redis-server at ${redisUrl} (AOF on, data in ./data/redis)\n`);
    }
  }
  let apiTokens = env.API_TOKENS;
  const generated: [string, string][] = [];
  if (apiTokens === undefined || apiTokens === '') {
    for (const role of ['operator', 'ingest', 'admin', 'team:iom-demo']) generated.push([randomBytes(24).toString('base64url'), role]);
    apiTokens = generated.map(([t, r]) => `${t}=${r}`).join(',');
  }
  // Read once; the environment forgets it, so no child process inherits it.
  delete process.env.API_TOKENS;
  const settings = settingsFromEnv({ redisUrl, apiTokens });
  const service = await startService(settings);
  const childEnv = workerEnv({ ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: settings.keyPrefix });
  // Delivery workers need no database: its URL (maybe with a password) stays out of their environment.
  const { DATABASE_URL: _db, ...deliveryEnv } = childEnv;
  const workers = startWorkers(env.WORKERS, deliveryEnv);
  // The archive worker (issue 14): one, when DATABASE_URL is set (the service has migrated it).
  const archive = env.DATABASE_URL === undefined ? null : startWorkers(1, childEnv, 'archive');
  process.stdout.write(env.DATABASE_URL === undefined
    ? 'archive off (DATABASE_URL unset): trails live in Redis only (TRAIL_RETENTION_S)\n'
    : `archive on: PostgreSQL schema ${settings.archiveSchema}; archive worker started\n`);
  process.stdout.write(`iom-geofence listening on ${service.url} (Redis ${redisUrl.replace(/\/\/[^@]*@/, '//***@')})\n`);
  if (generated.length > 0) {
    process.stdout.write('No API_TOKENS configured: tokens for this run only:\n');
    for (const [t, r] of generated) process.stdout.write(`  ${r.padEnd(14)} ${t}\n`);
    process.stdout.write(`Try: curl -H "Authorization: Bearer ${generated[0][0]}" ${service.url}/readyz\n`);
  }
  onShutdownSignal('iom-geofence', async (signal) => {
    process.stdout.write(`${signal}: stopping (finishing writes and acks)\n`);
    try {
      await service.stop();
      await workers.stop();
      await archive?.stop();
    } finally {
      child?.kill('SIGTERM');
    }
  });
}

/**
 * Worker processes as children, restarted if one dies (a crash must not stop delivery, nor the
 * archive): `delivery` runs workers/main.js, `archive` workers/archive.js.
 */
function startWorkers(n: number, env: NodeJS.ProcessEnv, kind: 'delivery' | 'archive' = 'delivery'): { stop(): Promise<void> } {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), kind === 'delivery' ? '../../workers/main.js' : '../../workers/archive.js');
  const children = new Set<ChildProcess>();
  let stopping = false;
  const launch = (): void => {
    const c = spawn(process.execPath, [script], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    children.add(c);
    if (kind === 'archive') process.stdout.write(`archive worker pid ${c.pid}\n`);
    c.on('exit', (code, signal) => {
      children.delete(c);
      if (stopping) return;
      process.stderr.write(`${kind} worker exited (${signal ?? code}); restarting\n`);
      setTimeout(launch, 1000);
    });
  };
  for (let i = 0; i < n; i++) launch();
  return {
    stop: async () => {
      stopping = true;
      await Promise.all([...children].map((c) => new Promise<void>((done) => {
        c.once('exit', () => done());
        c.kill('SIGTERM');
        setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
      })));
    },
  };
}

main().catch((e: Error) => {
  process.stderr.write(`iom-geofence failed to start: ${e.message}\n`);
  process.exit(1);
});
