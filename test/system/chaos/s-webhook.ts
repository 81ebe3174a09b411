/**
 * A team's webhook receiver misbehaves, then recovers: it hangs (never answers; the worker's
 * timeoutMs is 1 s), answers 500, cuts connections, and answers 200 only after the sender gave
 * up (the receiver processed it; the sender retries: at-least-once). Then it behaves. Expected
 * (README "How a team receives alerts"): every event delivered, signed, at least once; counted
 * per idempotency key the receiver processes each once; the live stream shows each key once.
 */
import { runScenario, type Ctx, type Result } from './scenario.js';
import type { Mode } from './receiver.js';
import { log, sleep } from './util.js';

export function webhookChaos(ctx: Ctx): Promise<Result> {
  const phaseS = ctx.ci ? 2.5 : 10;
  const phases: Mode[] = ['hang', 'error500', 'destroy', 'late200'];
  return runScenario(ctx, {
    name: 'webhook-chaos',
    groups: [{ name: 'm', count: 100, misbehaves: true }, { name: 'q', count: 100, misbehaves: false }],
    teams: 3,
    webhookTimeoutMs: 1000,
    stack: { workers: 2 },
    main: { groups: ['m', 'q'], connections: 2, perMessage: 25, maxOutstanding: 4, ratePerS: 800 },
    drainMs: 30_000,
    deliveryMs: 150_000,
    async chaos(env) {
      const { receiver, notes } = env;
      receiver.lateMs = 1500;
      await sleep(2000);
      for (const m of phases) {
        log(`webhook-chaos: receiver ${m} for ${phaseS} s`);
        receiver.mode = m;
        await sleep(phaseS * 1000);
      }
      receiver.mode = 'ok';
      log('webhook-chaos: receiver answers 200 again');
      await sleep(2000);
      notes.push(`receiver requests by behaviour: ${[...receiver.byMode].map(([m, n]) => `${m} ${n}`).join(', ')}`);
    },
  });
}
