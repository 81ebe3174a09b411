/**
 * `npm run demo` without `--url`: everything the demo needs, started here and stopped on exit.
 * A Redis (REDIS_URL; else the one on 127.0.0.1:6379 if it answers, else a private redis-server, as `npm start`
 * does: ../server/local-redis.ts), then the compiled service with its delivery workers
 * (`node dist/src/server/main.js`, its own process group so Ctrl-C reaches only the demo, which
 * then stops it), under a key prefix of its own and with tokens made for this run only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { privateRedis, redisAnswers } from '../server/local-redis.js';
import { sleep } from './api-client.js';

export interface LocalService {
  url: string;
  /** The operator token (creates the demo's zones and subjects, sends its fixes). */
  operatorToken: string;
  /** One token per team, team id → token. */
  teamTokens: Map<string, string>;
  /** Where the service's own output goes. */
  logPath: string;
  /** Stops the service (and its workers), deletes the run's keys unless `keep`, stops a private Redis. */
  stop(keep: boolean): Promise<void>;
}

export interface LocalServiceOptions {
  /** Port to listen on; 0: 8080 when free, else any free port. */
  port: number;
  teams: readonly string[];
  /** ENGINE_SETTINGS for the service (JSON). */
  engineSettings: object;
  /** POSITION_STALE_S for the service. */
  positionStaleS: number;
}

const MAIN_JS = resolve(dirname(fileURLToPath(import.meta.url)), '../server/main.js');

/** A token a browser can also send as a WebSocket subprotocol: base64url, 32 characters. */
const newToken = (): string => randomBytes(24).toString('base64url');

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a !== null && typeof a === 'object' ? done(a.port) : fail(new Error('no free port'))));
    });
  });
}

export async function startLocalService(o: LocalServiceOptions): Promise<LocalService> {
  let redisChild: ChildProcess | null = null;
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (process.env.REDIS_URL === undefined && !(await redisAnswers('127.0.0.1', 6379))) {
    // Its own process group too (a Ctrl-C must not take Redis away before the service stops).
    const p = await privateRedis(undefined, true);
    redisChild = p.child;
    redisUrl = p.url;
  }
  const port = o.port !== 0 ? o.port : (await portFree(8080)) ? 8080 : await anyFreePort();
  const keyPrefix = `iom-demo-${randomBytes(3).toString('hex')}`;
  const operatorToken = newToken();
  const teamTokens = new Map(o.teams.map((t) => [t, newToken()]));
  const apiTokens = [`${operatorToken}=operator`, ...[...teamTokens].map(([team, token]) => `${token}=team:${team}`)].join(',');
  const logDir = join(tmpdir(), 'iom-demo');
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `${keyPrefix}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [MAIN_JS], {
    env: {
      ...process.env,
      HOST: '127.0.0.1', PORT: String(port), REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix, API_TOKENS: apiTokens,
      ENGINE_SETTINGS: JSON.stringify(o.engineSettings), POSITION_STALE_S: String(o.positionStaleS),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', WORKERS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches the demo only, which stops the
    // service after removing its world (the service must still be up for that).
    detached: true,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const killOnExit = (): void => {
    child.kill('SIGTERM');
    redisChild?.kill('SIGTERM');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let gone = false;
  void exited.then(() => { gone = true; });

  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${operatorToken}` } }).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (gone || Date.now() > until) {
      killOnExit();
      throw new Error(`the service did not start${gone ? ` (it exited; see ${logPath})` : ` within 30 s (see ${logPath})`}`);
    }
    await sleep(100);
  }

  return {
    url, operatorToken, teamTokens, logPath,
    async stop(keep: boolean): Promise<void> {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (!gone) child.kill('SIGKILL');
      process.off('exit', killOnExit);
      if (!keep) await deletePrefix(redisUrl, keyPrefix).catch(() => undefined);
      if (redisChild !== null) {
        const r = redisChild;
        const done = new Promise<void>((d) => r.once('exit', () => d()));
        r.kill('SIGTERM');
        await Promise.race([done, sleep(5000)]);
      }
      log.end();
    },
  };
}

/** Deletes the run's keys (SCAN MATCH prefix:* + UNLINK): the shared Redis keeps nothing of the demo. */
async function deletePrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
