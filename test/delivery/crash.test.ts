// Worker crash: `node dist/workers/main.js` is SIGKILLed while the receiver holds one of its
// requests open, then a new worker starts. Delivery is at least once, so the receiver may see a
// key again; a receiver that dedupes by the idempotency key processes every event exactly once,
// and the live stream shows each key once. Also: SIGTERM finishes the jobs in hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api, baseSecond, enc, exclusionSubject, FAR_X, fix, fmt, ingestOk, INSIDE_X, Receiver, SECRET_N, sleep, spawnWorker, startTestService,
  TEAM_N, teamBody, TOKENS, uniquePrefix, verifyReceipt, waitUntil, WsClient, zoneX, type TestService, type WorkerChild,
} from '../support/delivery.js';

const N_SUBJECTS = 21;

describe('worker process crash and restart (real child processes)', () => {
  const prefix = uniquePrefix('dlv-crash');
  let svc: TestService;
  let receiver: Receiver;
  let ingest: WsClient;
  let stream: WsClient;
  const children: WorkerChild[] = [];
  const t0 = baseSecond(300);
  const subj = (i: number): string => `S-C${String(i).padStart(2, '0')}`;
  const tag = (i: number): string => `TAG-C${String(i).padStart(2, '0')}`;
  const ep = (i: number): string => `${subj(i)}:c1:${fmt(t0 + 2000)}`;
  const op = (method: string, path: string, body?: unknown) => api(svc.url, method, path, { token: TOKENS.operator, body });
  /** Keys whose first receipt the receiver holds open instead of answering. */
  const holdFirst = new Set<string>();
  /** Keys the receiver answers after a delay (first receipt only). */
  const slowFirst = new Map<string, number>();

  beforeAll(async () => {
    receiver = await Receiver.start(0, (r) => {
      if (r.firstOfKey && holdFirst.has(r.key)) return { hold: true };
      if (r.firstOfKey && slowFirst.has(r.key)) return { status: 200, delayMs: slowFirst.get(r.key) };
      return { status: 200 }; // a repeat of a key already processed is acknowledged, not processed again
    });
    svc = await startTestService(prefix);
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    for (let i = 0; i < N_SUBJECTS; i++) expect((await op('PUT', `/v1/subjects/${subj(i)}`, exclusionSubject(subj(i), tag(i), TEAM_N, 'Z-X'))).status).toBe(200);
    expect((await op('PUT', '/v1/subjects/S-T1', exclusionSubject('S-T1', 'TAG-T1', TEAM_N, 'Z-X'))).status).toBe(200);
    expect((await op('PUT', `/v1/teams/${TEAM_N}`, teamBody(receiver.url('/hook'), SECRET_N))).status).toBe(200);
    stream = await WsClient.connect(svc.url, '/v1/alerts/stream', TOKENS.north);
    ingest = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    await sleep(300);
    const far: ReturnType<typeof fix>[] = [];
    for (let i = 0; i < N_SUBJECTS; i++) far.push(fix(tag(i), 1, t0 + 1000, FAR_X));
    far.push(fix('TAG-T1', 1, t0 + 1000, FAR_X));
    await ingestOk(ingest, far);
  });

  afterAll(async () => {
    await ingest?.close();
    await stream?.close();
    for (const c of children) await c.stop('SIGKILL');
    await svc?.close();
    await receiver?.close();
  });

  it('SIGTERM lets the worker finish the delivery in hand (no repeat, marked delivered)', async () => {
    const key = `S-T1:c1:${fmt(t0 + 2000)}:opened`;
    slowFirst.set(key, 1500);
    const w = spawnWorker(prefix);
    children.push(w);
    await ingestOk(ingest, [fix('TAG-T1', 2, t0 + 2000, INSIDE_X)]);
    await receiver.waitFor('the request in hand', () => receiver.receipts.find((r) => r.key === key), 10_000);
    const exit = await w.stop('SIGTERM');
    expect(exit.code, w.output()).toBe(0);
    const mine = receiver.receipts.filter((r) => r.key === key);
    expect(mine.length).toBe(1);
    expect(mine[0].answered && mine[0].status === 200).toBe(true);
    const alert = await op('GET', `/v1/alerts/${enc(`S-T1:c1:${fmt(t0 + 2000)}`)}`);
    expect(alert.body.delivery['delivered:default']).toBeDefined();
  });

  it('SIGKILL mid-request, restart: every event delivered, once per key at a deduping receiver and on the stream', async () => {
    const expected = new Set<string>();
    for (let i = 0; i < N_SUBJECTS; i++) expected.add(`${ep(i)}:opened`);
    expected.add(`${ep(0)}:closed`);
    const heldKey = `${ep(0)}:opened`;
    holdFirst.add(heldKey);

    const w1 = spawnWorker(prefix);
    children.push(w1);
    await ingestOk(ingest, [fix(tag(0), 2, t0 + 2000, INSIDE_X)]);
    const held = await receiver.waitFor('the held request', () => receiver.heldReceipts.find((r) => r.key === heldKey), 10_000);
    // The receiver has processed it (a real one would have written it down) but not answered yet.
    expect(held.firstOfKey).toBe(true);
    // More events while the worker is busy, then the crash.
    const more: ReturnType<typeof fix>[] = [fix(tag(0), 3, t0 + 3000, FAR_X)];
    for (let i = 1; i < N_SUBJECTS; i++) more.push(fix(tag(i), 2, t0 + 2000, INSIDE_X));
    await ingestOk(ingest, more);
    await sleep(30);
    w1.child.kill('SIGKILL');
    const exit = await w1.exited;
    expect(exit.signal).toBe('SIGKILL');
    const killedAt = Date.now();
    await waitUntil('the held request to be cut off', () => held.abandoned, 5000);

    const w2 = spawnWorker(prefix);
    children.push(w2);
    await receiver.waitFor('every event processed after the restart', () => [...expected].every((k) => receiver.okCounts().has(k)), 110_000);
    const recoveredAfter = Date.now() - killedAt;
    await sleep(500);

    // Team's view: each event processed exactly once; the receiver saw at least one repeat.
    const processed = receiver.processedKeys('/hook').filter((k) => k !== `S-T1:c1:${fmt(t0 + 2000)}:opened`);
    expect(new Set(processed)).toEqual(expected);
    expect(processed.length).toBe(expected.size);
    const heldReceipts = receiver.receipts.filter((r) => r.key === heldKey);
    expect(heldReceipts.length, 'the held job was redelivered after the crash').toBeGreaterThanOrEqual(2);
    expect(heldReceipts.filter((r) => r.answered && r.status === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of receiver.receipts) expect(verifyReceipt(r, SECRET_N)).toBe(true);
    const repeats = receiver.receipts.filter((r) => !r.firstOfKey).length;
    const okAt = (k: string): number => Math.min(...receiver.receipts.filter((r) => r.key === k && r.answered && r.status === 200).map((r) => r.at));
    const late = [...expected].filter((k) => okAt(k) - killedAt > 10_000);
    console.log(`SIGKILL: all ${expected.size} events delivered ${recoveredAfter} ms after the kill; ${repeats} repeat receipt(s) deduped by key; ` +
      `${receiver.receipts.length} receipts in all; ${late.length} event(s) waited > 10 s after the kill (jobs the dead worker held): ` +
      late.map((k) => `${k.slice(0, 5)}…:${k.split(':').pop()} +${okAt(k) - killedAt} ms`).join(', '));

    // Live stream: each key once.
    const streamKeys = (stream.received as { idempotencyKey?: string }[]).map((m) => m.idempotencyKey).filter((k) => k !== undefined && expected.has(k));
    expect(streamKeys.length).toBe(expected.size);
    expect(new Set(streamKeys)).toEqual(expected);

    // The alert records show delivery.
    for (let i = 0; i < N_SUBJECTS; i++) {
      const a = await op('GET', `/v1/alerts/${enc(ep(i))}`);
      expect(a.body.delivery['delivered:default'], ep(i)).toBeDefined();
    }
    await w2.stop('SIGTERM');
  }, 150_000);
});
