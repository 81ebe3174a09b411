/**
 * A Redis on this machine, for development: the probe ("does a Redis answer PING on host:port")
 * and the start of a private `redis-server` child. Used by `npm start` (main.ts), the test
 * setup, the Redis-configuration suite and the chaos harness, so all of them start it alike.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';

/** True when something on host:port answers a Redis PING with +PONG within timeoutMs. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host, port });
    const finish = (ok: boolean): void => {
      s.destroy();
      done(ok);
    };
    s.setTimeout(timeoutMs, () => finish(false));
    s.on('error', () => finish(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => finish(d.toString().startsWith('+PONG')));
  });
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version']).error === undefined;
}

/** What the service expects of its Redis: AOF on (fsync each second), no eviction. */
export const DURABLE_REDIS_ARGS: readonly string[] = [
  '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction',
];

/** `redis-server` arguments: 127.0.0.1:port, data in dir, no RDB snapshots, then `extra`. */
export function redisServerArgs(port: number, dir: string, extra: readonly string[]): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extra];
}

/**
 * Polls 127.0.0.1:port until Redis answers PING: true once it does; false after `attempts`
 * tries `everyMs` apart, or as soon as `gone()` says the server process has exited.
 */
export async function waitForRedis(port: number, o: { attempts?: number; everyMs?: number; gone?: () => boolean } = {}): Promise<boolean> {
  const attempts = o.attempts ?? 100;
  for (let i = 0; i < attempts; i++) {
    if (await redisAnswers('127.0.0.1', port)) return true;
    if (o.gone?.() === true) return false;
    await new Promise((r) => setTimeout(r, o.everyMs ?? 100));
  }
  return false;
}

export interface LocalRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly child: ChildProcess;
}

/**
 * Starts `redis-server` on 127.0.0.1:port with data in dir (arguments: redisServerArgs) and waits
 * until it answers; if it never does, kills it and throws.
 */
export async function startRedisServer(o: { port: number; dir: string; args: readonly string[]; stdio?: StdioOptions; detached?: boolean }): Promise<LocalRedis> {
  // detached: its own process group, so a Ctrl-C in the terminal does not stop it under a parent
  // that still needs it while it shuts down (the demo).
  const child = spawn('redis-server', redisServerArgs(o.port, o.dir, o.args), { stdio: o.stdio ?? 'ignore', detached: o.detached === true });
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  if (!(await waitForRedis(o.port, { gone }))) {
    child.kill();
    throw new Error(`the private redis-server did not answer on port ${o.port}`);
  }
  return { port: o.port, url: `redis://127.0.0.1:${o.port}`, dir: o.dir, child };
}

/**
 * `npm start`'s own Redis when none answers on 127.0.0.1:6379: a redis-server on
 * PRIVATE_REDIS_PORT (6390), AOF on, data under ./data/redis. Exits the process with advice when
 * redis-server is not installed.
 */
export async function privateRedis(port = Number(process.env.PRIVATE_REDIS_PORT ?? 6390), detached = false): Promise<{ url: string; child: ChildProcess }> {
  if (!redisServerInstalled()) {
    process.stderr.write(
      'No Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n' +
      'Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)\n' +
      'or point the service at one: REDIS_URL=redis://host:6379 npm start\n',
    );
    process.exit(1);
  }
  const dir = resolve('data/redis');
  mkdirSync(dir, { recursive: true });
  const r = await startRedisServer({ port, dir, args: DURABLE_REDIS_ARGS, stdio: ['ignore', 'ignore', 'inherit'], detached });
  return { url: r.url, child: r.child };
}
