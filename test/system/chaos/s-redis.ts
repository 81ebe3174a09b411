/**
 * Redis stopped mid-stream (SIGKILL: no chance to finish anything), kept down, then started again
 * on the same port with the same AOF directory. The service is not restarted. Expected
 * (README "Durability"): ingest stops acking, replies carry "nack" (send again), reading pauses
 * so TCP pushes back, and the service recovers by itself; nothing acknowledged is lost.
 */
import { WebSocket } from 'ws';
import { runScenario, type Ctx, type Result } from './scenario.js';
import { log, mb, sleep, until } from './util.js';

const HEARTBEAT_MS = Number(process.env.CHAOS_REDIS_HEARTBEAT_MS ?? 2000);

export function redisOutage(ctx: Ctx): Promise<Result> {
  const outageS = ctx.ci ? 6 : 30;
  const before = ctx.ci ? 3 : 6;
  const after = ctx.ci ? 3 : 10;
  const signal: NodeJS.Signals = (process.env.CHAOS_REDIS_SIGNAL as NodeJS.Signals | undefined) ?? 'SIGKILL';
  return runScenario(ctx, {
    name: 'redis-outage',
    groups: [{ name: 'm', count: 60, misbehaves: true }, { name: 'q', count: 240, misbehaves: false }],
    teams: 3,
    // Heartbeats every 2 s, so several fall inside the outage: a client that answers pings must
    // not be dropped just because the service itself has stopped reading from it.
    stack: { workers: 1, ingestTokens: ['push'], serviceEnv: { WS_HEARTBEAT_MS: String(HEARTBEAT_MS) } },
    main: { groups: ['m', 'q'], connections: 4, perMessage: 25, maxOutstanding: 4, ratePerS: 1000 },
    drainMs: 60_000,
    deliveryMs: 90_000,
    async chaos(env) {
      const { stack, main, notes, failures } = env;
      await sleep(before * 1000);
      const pid = stack.servicePid;
      // A second client that keeps sending (acknowledged duplicates: they change nothing) without
      // waiting for replies, to see TCP push back: its unsent bytes pile up on its side.
      const dup = `[${Array.from({ length: 50 }, () => env.world.fixJson(0, 1)).join(',')}]`;
      const push = new WebSocket(stack.url.replace(/^http/, 'ws') + '/v1/ingest', { headers: { authorization: `Bearer ${stack.ingestToken('push')}` } });
      push.on('error', () => undefined);
      let pushReplies = 0, pushNacks = 0, pushRepliesInOutage = 0, maxQueued = 0, pushClosed = 0;
      let down = false;
      push.on('message', (d) => {
        pushReplies++;
        if (down) pushRepliesInOutage++;
        if (d.toString().includes('"nack"')) pushNacks++;
      });
      push.on('close', () => pushClosed++);
      await new Promise<void>((r) => {
        push.once('open', () => r());
        push.once('close', () => r());
      });
      const pushTimer = setInterval(() => {
        if (push.readyState !== push.OPEN) return;
        maxQueued = Math.max(maxQueued, push.bufferedAmount);
        if (push.bufferedAmount < 16 * 2 ** 20) push.send(dup);
      }, 5);

      const ackedBefore = main.stats.acked;
      const discBefore = main.stats.disconnects;
      const killAt = Date.now();
      await ctx.redis.kill(signal);
      down = true;
      // While Redis is down: /readyz must say so, the process must stay up.
      await sleep(1500);
      const ready = await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${stack.operator}` }, signal: AbortSignal.timeout(3000) }).then((r) => r.status, (e: Error) => `error ${e.message}`);
      notes.push(`/readyz while Redis is down: ${ready}`);
      if (ready !== 503) failures.push(`/readyz answered ${ready} while Redis was down (expected 503)`);
      await sleep(outageS * 1000 - 1500);
      const restartAt = Date.now();
      const ackedInOutage = main.acksBetween(killAt + 1000, restartAt);
      const nacksInOutage = main.stats.nackedFixes;
      const discInOutage = main.stats.disconnects - discBefore;
      const pushClosedInOutage = pushClosed;
      down = false;
      await ctx.redis.start();
      log(`redis-outage: redis-server restarted after ${((restartAt - killAt) / 1000).toFixed(1)} s`);
      const firstAck = await until(() => (main.lastAckAt > restartAt ? main.lastAckAt : null), 60_000, 50);
      clearInterval(pushTimer);
      const recoveredS = firstAck === null ? NaN : (firstAck - restartAt) / 1000;
      notes.push(`Redis ${signal}ed after ${main.stats.acked > 0 ? ackedBefore : 0} acks; down ${((restartAt - killAt) / 1000).toFixed(1)} s; acks while down: ${ackedInOutage}; nacked fixes: ${nacksInOutage} in ${main.stats.nackReplies} replies (first ${main.firstNackAt > 0 ? `${main.firstNackAt - killAt} ms` : 'never'} after the kill)`);
      notes.push(`first ack ${Number.isFinite(recoveredS) ? `${recoveredS.toFixed(2)} s` : 'NEVER'} after Redis came back; service pid ${pid} → ${stack.servicePid} (${stack.servicePid === pid && stack.service?.exited !== true ? 'not restarted' : 'RESTARTED/EXITED'})`);
      notes.push(`push-back probe: ${pushReplies} replies (${pushNacks} nack) of which ${pushRepliesInOutage} while down; up to ${mb(maxQueued, 1)} MB queued unsent on the client; connection closed ${pushClosed}×`);
      notes.push(`connections the service dropped while Redis was down (WS_HEARTBEAT_MS=${HEARTBEAT_MS}): main load ${discInOutage}× (4 connections, each reopened at once and dropped again), push-back probe ${pushClosedInOutage}× (not reopened)`);
      if (discInOutage + pushClosedInOutage > 0) {
        failures.push(`the service dropped ${discInOutage + pushClosedInOutage} healthy ingest connection(s) during the ${outageS} s Redis outage: it pauses reading from every socket while Redis is down, so the clients' pongs stay unread and the heartbeat (every ${HEARTBEAT_MS} ms) terminates them as dead (close 1006, no close frame); clients must reconnect and resend`);
      }
      if (ackedInOutage > 0) failures.push(`${ackedInOutage} fix(es) acknowledged while Redis was down`);
      if (firstAck === null) failures.push('ingest did not resume within 60 s of Redis coming back (no restart of the service)');
      if (stack.servicePid !== pid || stack.service?.exited === true) failures.push('the service process did not survive the Redis outage');
      if (main.stats.nackReplies === 0) notes.push('no "nack" reply seen (the outage only paused reading)');
      await sleep(after * 1000);
      push.terminate();
    },
  });
}
