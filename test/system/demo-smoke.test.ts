// `npm run demo` with no --url: it starts the service and its worker itself (real Redis), prints
// the console's address with tokens made for the run, and the fleet raises alerts the console
// can read (positions, operations summary) with those tokens. One short round, then it stops the
// service and deletes the run's keys.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort, newRedis, ROOT, waitUntil } from '../support/server.js';

const DEMO_JS = resolve(ROOT, 'dist/src/demo/run.js');

describe('npm run demo without --url (real Redis, the compiled service)', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.IOM_URL;
  delete env.IOM_TOKEN;
  delete env.API_TOKENS;
  let out = '';
  let child: ReturnType<typeof spawn> | null = null;

  afterAll(() => {
    if (child !== null && child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the console address and per-run tokens, fills the service with alerts, and cleans up', async () => {
    const port = await freePort();
    child = spawn(process.execPath, [DEMO_JS, '--tags', '20', '--minutes', '10', '--speed', '60', '--rounds', '1', '--port', String(port)], {
      cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((done) => child?.once('exit', (code) => done(code)));

    const banner = await waitUntil('the console line', () => /Console: (http:\/\/127\.0\.0\.1:(\d+)\/console) {2}operator token: (\S+)/.exec(out), 30_000, 100);
    expect(Number(banner[2])).toBe(port);
    const url = `http://127.0.0.1:${port}`;
    const operator = banner[3] as string;
    const teams = [...out.matchAll(/team token \((iom-leeds-[a-z]+)\): (\S+)/g)].map((m) => [m[1], m[2]] as [string, string]);
    expect(teams.map(([t]) => t).sort()).toEqual(['iom-leeds-northeast', 'iom-leeds-northwest', 'iom-leeds-southeast', 'iom-leeds-southwest']);
    expect(out).toMatch(/generated for this run only/);
    const prefix = (/service log: \S*\/(iom-demo-[0-9a-f]+)\.log/.exec(out) ?? [])[1];
    expect(prefix).toBeDefined();

    // The console's reads work with the printed tokens while the fleet runs.
    const get = (path: string, token: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const positions = await waitUntil('positions on the map', async () => {
      const r = await get('/v1/positions', operator);
      const body = (await r.json()) as { positions: unknown[] };
      return body.positions.length > 0 ? body.positions : null;
    }, 30_000, 250);
    expect(positions.length).toBeGreaterThan(0);
    const [team, teamToken] = teams[0] as [string, string];
    const summary = await get('/v1/ops/summary', teamToken);
    expect(summary.status).toBe(200);
    // A browser's way in: the team token as a WebSocket subprotocol.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/alerts/stream`, ['bearer', teamToken]);
    await new Promise<void>((done, fail) => {
      ws.once('open', () => done());
      ws.once('error', fail);
    });
    expect(ws.protocol).toBe('bearer');
    ws.close();
    expect(team).toMatch(/^iom-leeds-/);

    // At least one alert printed as it arrived on the stream.
    await waitUntil('an alert line', () => /OPENED\s+\S+/.test(out), 40_000, 200);
    expect(await exited, out).toBe(0);
    expect(out).toMatch(/alert episodes opened: [1-9]/);
    // The run's keys are gone from the shared Redis.
    const redis = newRedis();
    try {
      let left = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
        cursor = next;
        left += keys.length;
      } while (cursor !== '0');
      expect(left).toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});
