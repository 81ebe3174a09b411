/**
 * What the cluster chaos run needs of a client, without vitest: the service instances as child
 * processes on a Redis Cluster, the API over fetch, and an ingest client that streams fixes until
 * every one is acked (resending what was nacked, reconnecting to any live instance).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { freePort } from '../../../bench/common/net.js';
import type { LocalCluster } from '../../../src/server/local-cluster.js';
import { ROOT } from './stack.js';

const tok = (role: string): string => `${role}-${randomBytes(12).toString('hex')}`;
export const TOKENS = { operator: tok('operator'), ingest: tok('ingest') } as const;
const TOKEN_SPEC = `${TOKENS.operator}=operator,${TOKENS.ingest}=ingest`;
export const ENGINE_SETTINGS = { offlineAfterS: 864_000, noFixAfterS: 864_000, closeAfterS: 0 };

export interface Instance {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<unknown>;
  output(): string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const live = new Set<ChildProcess>();

/** Sends a signal to an instance and its delivery worker (its process group). */
export function signalInstance(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGKILLs every instance still running (the harness is stopping). */
export function killAllInstances(): void {
  for (const c of live) signalInstance(c, 'SIGKILL');
}

export async function spawnInstance(c: LocalCluster, prefix: string, id: string, extra: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [`${ROOT}/dist/src/server/main.js`], {
    cwd: ROOT,
    env: {
      ...process.env, HOST: '127.0.0.1', PORT: String(port), REDIS_CLUSTER_NODES: c.seeds, KEY_PREFIX: prefix, INSTANCE_ID: id,
      REDIS_WAIT_REPLICAS: '1', LOG_LEVEL: 'warn', API_TOKENS: TOKEN_SPEC, ENGINE_SETTINGS: JSON.stringify(ENGINE_SETTINGS), ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a signal to -pid reaches the instance and its delivery worker.
    detached: true,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  child.stderr?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  const exited = new Promise((done) => child.once('exit', done));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`instance ${id} exited during start-up:\n${out}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > until) throw new Error(`instance ${id} did not answer within 30 s:\n${out}`);
    await sleep(100);
  }
  return { child, url, exited, output: () => out };
}

export async function api(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${TOKENS.operator}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text === '' ? null : JSON.parse(text) as unknown };
}

export interface FixIn { deviceId: string; seq: number; ts: string; lat: number; lon: number; accuracy: number }

export function fix(deviceId: string, seq: number, tsMs: number, pos: readonly [number, number]): FixIn {
  return { deviceId, seq, ts: new Date(tsMs).toISOString(), lat: pos[0], lon: pos[1], accuracy: 5 };
}

const M_PER_DEG_LAT = (6371008.8 * Math.PI) / 180;
/** The zone Z-X (a 0.01° square in London) and positions south of its edge (negative: inside). */
export function zoneX(id: string): object {
  return { type: 'Feature', id, geometry: { type: 'Polygon', coordinates: [[[-0.13, 51.5], [-0.12, 51.5], [-0.12, 51.51], [-0.13, 51.51], [-0.13, 51.5]]] }, properties: {} };
}
const southOfX = (m: number): [number, number] => [51.5 - m / M_PER_DEG_LAT, -0.125];
export const INSIDE_X = southOfX(-500);
export const FAR_X = southOfX(800);

export function exclusionSubject(id: string, deviceId: string, team: string, zone: string): object {
  return { id, deviceId, team, risk: 'high', cohort: 'fixed', timezone: 'Europe/London', conditions: [{ id: 'c1', type: 'exclusion', zone }] };
}

/**
 * Streams `fixes` in messages of `per` (up to 4 in flight per connection), resending whatever
 * was not acked, to one of `urls()` at a time, until all are acked or `deadlineMs` passes.
 */
export async function streamUntilAcked(urls: () => string[], fixes: FixIn[], acked: Set<string>, o: { per?: number; deadlineMs?: number; pauseMs?: number; onAck?: () => void } = {}): Promise<void> {
  const per = o.per ?? 10;
  const until = Date.now() + (o.deadlineMs ?? 60_000);
  let turn = 0;
  while (Date.now() < until) {
    const todo = fixes.filter((f) => !acked.has(`${f.deviceId}#${f.seq}`));
    if (todo.length === 0) return;
    const list = urls();
    const ws = new WebSocket(`${list[turn++ % list.length].replace(/^http/, 'ws')}/v1/ingest`, { headers: { authorization: `Bearer ${TOKENS.ingest}` } });
    const opened = await new Promise<boolean>((done) => {
      ws.once('open', () => done(true));
      ws.once('error', () => done(false));
    });
    if (!opened) {
      await sleep(200);
      continue;
    }
    const pending: ((v: unknown) => void)[] = [];
    ws.on('message', (data) => {
      const reply = JSON.parse(data.toString()) as { ack?: [string, number][] };
      for (const [d, s] of reply.ack ?? []) acked.add(`${d}#${s}`);
      o.onAck?.();
      pending.shift()?.(null);
    });
    const closed = new Promise<void>((done) => ws.once('close', () => {
      for (const p of pending.splice(0)) p(null);
      done();
    }));
    ws.on('error', () => undefined);
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < todo.length && Date.now() < until && ws.readyState === ws.OPEN; i += per) {
      inFlight.push(new Promise((res) => {
        pending.push(res);
        ws.send(JSON.stringify(todo.slice(i, i + per)));
      }));
      if (inFlight.length >= 4) await inFlight.shift();
      if (o.pauseMs !== undefined) await sleep(o.pauseMs);
    }
    await Promise.race([Promise.all(inFlight), closed, sleep(5000)]);
    ws.close();
  }
}

/** The figures of one fault scenario of the cluster chaos run (bench/results/chaos-cluster.json). */
export interface Scenario {
  name: string;
  fixesSent: number;
  acked: number;
  ackedLost: number;
  trailDoubles: number;
  /** Subjects with two episodes open at once (one breach opened twice). */
  doubleEpisodes: number;
  /**
   * Extra, closed-or-late episodes: fixes of one device evaluated out of order after a fault
   * (a nacked message resent after a later one was acked) raise a late episode, as the engine's
   * late-fix rule says (README "Engine semantics"). Reported, not a failure.
   */
  lateEpisodes: number;
  duplicateDeliveries: number;
  undelivered: number;
  takeoverSeconds: number;
  /** Of which: until every partition was leased by a live instance (the rest: catching up on the inboxes). */
  leasesMovedSeconds: number;
  seconds: number;
}
