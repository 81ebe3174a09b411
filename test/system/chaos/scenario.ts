/**
 * What every scenario shares: a fresh KEY_PREFIX with its own service and workers on the private
 * Redis, a world seeded through the API, a webhook receiver, a live stream client and a main
 * ingest load; the chaos in between; then drain, verify and report.
 */
import { IngestLoad, type LoadOptions } from './load.js';
import type { PrivateRedis } from './redis.js';
import { Receiver } from './receiver.js';
import { Stack, type StackOptions } from './stack.js';
import { AlertStream } from './stream.js';
import { log } from './util.js';
import { checkAlerts, checkTrails, type AlertCheck, type TrailCheck } from './verify.js';
import { World, type Group } from './world.js';

export interface Ctx {
  redis: PrivateRedis;
  ci: boolean;
  soakS: number;
}

export interface Result {
  name: string;
  seconds: number;
  fixesSent: number;
  acked: number;
  trail: TrailCheck | null;
  alerts: AlertCheck | null;
  nacks: number;
  errors: number;
  rssPeak: number;
  failures: string[];
  notes: string[];
}

export interface Env {
  ctx: Ctx;
  stack: Stack;
  world: World;
  receiver: Receiver;
  stream: AlertStream;
  main: IngestLoad;
  /** Every load whose acks the trail check must find (main included). */
  loads: { ackedSeq: Map<number, number>; failed: Set<string>; stats?: IngestLoad['stats'] }[];
  notes: string[];
  failures: string[];
  /** Extra errors returned by the service (beyond the loads' own counts). */
  extraErrors: number;
  newLoad(o: Omit<LoadOptions, 'url' | 'world'>): IngestLoad;
}

export interface ScenarioDef {
  name: string;
  groups: Group[];
  teams: number;
  stack: Omit<StackOptions, 'name' | 'redis'>;
  webhookTimeoutMs?: number;
  main: Omit<LoadOptions, 'url' | 'world' | 'name' | 'token' | 'devices'> & { groups: string[] };
  /** Ack wait after the chaos (ms). */
  drainMs: number;
  /** Delivery wait after the drain (ms). */
  deliveryMs: number;
  chaos(env: Env): Promise<void>;
}

/** Runs a scenario; any thrown error becomes a failure (the scenario still cleans up). */
export async function runScenario(ctx: Ctx, def: ScenarioDef): Promise<Result> {
  const t0 = Date.now();
  log(`=== scenario ${def.name}`);
  const result: Result = { name: def.name, seconds: 0, fixesSent: 0, acked: 0, trail: null, alerts: null, nacks: 0, errors: 0, rssPeak: 0, failures: [], notes: [] };
  const world = new World(def.name.replace(/[^A-Za-z0-9]/g, '').slice(0, 6).toUpperCase(), def.groups, def.teams);
  const stack = new Stack({ name: def.name, redis: ctx.redis, ...def.stack });
  let receiver: Receiver | null = null;
  let stream: AlertStream | null = null;
  const loads: IngestLoad[] = [];
  try {
    if (!ctx.redis.running) await ctx.redis.start();
    receiver = await Receiver.start(world.teams);
    await stack.start();
    await stack.seed(world, receiver, def.webhookTimeoutMs ?? 5000);
    stream = new AlertStream(() => stack.url, stack.operator);
    await stream.waitOpen(5000);
    const newLoad = (o: Omit<LoadOptions, 'url' | 'world'>): IngestLoad => {
      const l = new IngestLoad({ ...o, url: () => stack.url, world });
      loads.push(l);
      return l;
    };
    const main = newLoad({ ...def.main, name: `${def.name}/main`, token: stack.ingestToken('main'), devices: def.main.groups.flatMap((g) => world.devicesOf(g)) });
    const env: Env = {
      ctx, stack, world, receiver, stream, main, loads: [], notes: result.notes, failures: result.failures, extraErrors: 0, newLoad,
    };
    main.start();
    try {
      await def.chaos(env);
    } catch (e) {
      result.failures.push(`scenario aborted: ${(e as Error).stack ?? (e as Error).message}`);
    }
    // Drain: no new fixes; everything sent must be acknowledged.
    const drained = await Promise.all(loads.map((l) => l.drain(def.drainMs)));
    if (drained.some((d) => !d)) result.failures.push(`${loads.reduce((n, l) => n + l.unacked, 0)} fix(es) still unacknowledged ${def.drainMs / 1000} s after sending stopped (the service did not recover)`);
    for (const l of loads) l.close();
    if (stack.service?.exited === true) result.failures.push(`the service process exited on its own:\n${stack.service?.tail()}`);
    const trackers = [...loads, ...env.loads];
    result.trail = await checkTrails(ctx.redis.url, stack.prefix, world, trackers);
    const t = result.trail;
    if (t.missing > 0) result.failures.push(`LOST: ${t.missing} acknowledged fix(es) not in the trail: ${t.samples.join('; ')}`);
    if (t.duplicated > 0) result.failures.push(`${t.duplicated} fix(es) recorded more than once in the trail: ${t.samples.join('; ')}`);
    const a = await checkAlerts(stack, ctx.redis.url, world, receiver, stream, def.deliveryMs);
    result.alerts = a.check;
    result.failures.push(...a.failures);
    for (const l of loads) {
      result.fixesSent += l.stats.fixesSent;
      result.acked += l.stats.acked;
      result.nacks += l.stats.nackedFixes;
      result.errors += l.stats.errorReplies + l.stats.itemErrors;
    }
    for (const l of env.loads) {
      if (l.stats !== undefined) {
        result.fixesSent += l.stats.fixesSent;
        result.acked += l.stats.acked;
        result.nacks += l.stats.nackedFixes;
        result.errors += l.stats.errorReplies + l.stats.itemErrors;
      }
    }
    result.errors += env.extraErrors;
    if (world.referenceFixes !== result.acked) result.notes.push(`reference engine fed ${world.referenceFixes} fixes, ${result.acked} acknowledged`);
    const disconnects = loads.reduce((n, l) => n + l.stats.disconnects, 0);
    if (disconnects > 0) {
      const codes = new Map<number, number>();
      for (const l of loads) for (const [c, n] of l.closeCodes) codes.set(c, (codes.get(c) ?? 0) + n);
      result.notes.push(`ingest connections lost and reopened by the client: ${disconnects} (close codes: ${[...codes].map(([c, n]) => `${c}×${n}`).join(', ')})`);
    }
  } catch (e) {
    result.failures.push(`scenario error: ${(e as Error).stack ?? (e as Error).message}`);
  } finally {
    for (const l of loads) l.close();
    stream?.close();
    result.rssPeak = stack.rssPeak();
    await stack.stop().catch(() => undefined);
    await receiver?.close().catch(() => undefined);
    result.seconds = (Date.now() - t0) / 1000;
    log(`=== scenario ${def.name} done in ${result.seconds.toFixed(0)} s: ${result.failures.length === 0 ? 'PASS' : `FAIL (${result.failures.length})`}`);
  }
  return result;
}
