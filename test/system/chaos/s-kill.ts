/**
 * Process crashes under load: a delivery worker (`node dist/workers/main.js`) is SIGKILLed while
 * the receiver holds requests in flight and a new one is started; then the service itself is
 * SIGKILLed and started again (`node dist/src/server/main.js`, same KEY_PREFIX, REDIS_URL and
 * port). The ingest client reconnects and resends whatever was not acknowledged. Expected
 * (README "Durability", "How a team receives alerts"): restart resumes exactly (snapshot + log),
 * nothing acknowledged is lost, no episode is doubled, every event is delivered at least once.
 * BullMQ gives a killed worker's jobs to another worker once their lock expires (30 s), so the
 * delivery wait here is long.
 */
import { runScenario, type Ctx, type Result } from './scenario.js';
import { log, sleep, until } from './util.js';

export function processKill(ctx: Ctx): Promise<Result> {
  const serviceKills = ctx.ci ? 1 : 3;
  const gap = ctx.ci ? 3 : 8;
  return runScenario(ctx, {
    name: 'process-kill',
    groups: [{ name: 'm', count: 80, misbehaves: true }, { name: 'q', count: 220, misbehaves: false }],
    teams: 3,
    stack: { workers: 2 },
    main: { groups: ['m', 'q'], connections: 4, perMessage: 25, maxOutstanding: 4, ratePerS: 1500 },
    drainMs: 60_000,
    deliveryMs: 100_000,
    async chaos(env) {
      const { stack, main, notes, failures, receiver } = env;
      receiver.okDelayMs = 150; // deliveries are in flight when the worker dies
      // The worker goes first: its jobs come back only once their BullMQ lock expires.
      await until(() => receiver.requests >= 20, 20_000, 50);
      // Worker crash mid-delivery.
      const inFlightAt = receiver.requests;
      const victim = stack.workers[0]!;
      log(`process-kill: SIGKILL worker pid ${victim.pid} (${receiver.requests} webhook requests so far)`);
      await victim.kill();
      stack.startWorker();
      notes.push(`worker pid ${victim.pid} SIGKILLed after ${inFlightAt} webhook requests; a new worker started`);
      const restarts: number[] = [];
      for (let k = 0; k < serviceKills; k++) {
        await sleep(gap * 1000);
        const ackedAtKill = main.stats.acked;
        const unackedAtKill = main.unacked;
        await stack.killService();
        const t = Date.now();
        await stack.startService();
        const up = Date.now() - t;
        const acked = await until(() => (main.lastAckAt > t ? main.lastAckAt : null), 30_000, 50);
        restarts.push(up);
        notes.push(`service SIGKILL #${k + 1} at ${ackedAtKill} acks (${unackedAtKill} fixes unacknowledged, resent); listening again after ${up} ms; first ack ${acked === null ? 'NEVER' : `${acked - t} ms`} after the restart began`);
        if (acked === null) failures.push(`no ingest ack within 30 s of service restart #${k + 1}`);
      }
      // A worker crash again late, while the last fixes' events are delivered (full run only:
      // each worker crash costs up to a minute of waiting for BullMQ's stalled-job check).
      await sleep(gap * 1000);
      const w2 = ctx.ci ? undefined : stack.workers.find((w) => !w.exited);
      if (w2 !== undefined) {
        await w2.kill();
        stack.startWorker();
        notes.push(`worker pid ${w2.pid} SIGKILLed (second worker crash); a new worker started`);
      }
      receiver.okDelayMs = 0;
    },
  });
}
