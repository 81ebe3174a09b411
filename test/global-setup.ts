import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm test` needs a Redis for the integration suites. Use REDIS_URL, or the one on
 * 127.0.0.1:6379 if it answers; otherwise start a private redis-server for the run (as
 * `npm start` does) and point REDIS_URL at it. Forked test workers inherit the variable.
 */
function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      s.destroy();
      done(ok);
    };
    s.setTimeout(500, () => finish(false));
    s.on('error', () => finish(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => finish(d.toString().startsWith('+PONG')));
  });
}

let child: ChildProcess | null = null;

export async function setup(): Promise<void> {
  await chooseRedis();
  // The suites read TEST_REDIS_URL (so a developer's REDIS_URL for `npm start` can differ).
  process.env.TEST_REDIS_URL ??= process.env.REDIS_URL;
}

async function chooseRedis(): Promise<void> {
  if (process.env.TEST_REDIS_URL !== undefined) return;
  if (process.env.REDIS_URL !== undefined) return;
  if (await answers(6379)) {
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    return;
  }
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    throw new Error('the tests need Redis: install redis-server (apt-get install redis-server) or set REDIS_URL');
  }
  const port = 6392;
  child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', mkdtempSync(join(tmpdir(), 'iom-test-redis-')),
    '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await answers(port)); i++) await new Promise((r) => setTimeout(r, 100));
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
}

export async function teardown(): Promise<void> {
  child?.kill('SIGTERM');
}
