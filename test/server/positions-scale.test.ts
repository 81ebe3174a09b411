// The console's overview map at national scale: GET /v1/positions with 20,000 tags answers from
// the engine's memory, fast, over a real socket (real Redis behind the service). The figure is
// printed; the bound is loose because the test machine is shared.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api, FAR_X, fix, INSIDE_X, startTestService, TOKENS, WsClient, zoneX, type FixIn, type TestService,
} from '../support/server.js';

const N = 20_000;
const INSIDE_EVERY = 10; // one tag in ten is inside the exclusion zone (an open episode)

describe(`GET /v1/positions with ${N.toLocaleString('en-GB')} tags (real Redis)`, () => {
  let t: TestService;
  const op = (method: string, path: string, body?: unknown) => api(t.url, method, path, { token: TOKENS.operator, body });

  beforeAll(async () => {
    t = await startTestService({ rateLimitPerS: 100_000, ingestMaxItems: 1000 });
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    for (let start = 0; start < N; start += 10_000) {
      const subjects = Array.from({ length: 10_000 }, (_, k) => {
        const i = start + k;
        return {
          id: `S-${i}`, deviceId: `TAG-${i}`, team: `iom-${i % 40}`, risk: 'high', cohort: 'fixed',
          conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-X' }],
        };
      });
      const r = await op('POST', '/v1/subjects', { subjects });
      expect(r.status, r.text.slice(0, 500)).toBe(200);
    }
    const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
    const ts = Date.now() - 60_000;
    for (let start = 0; start < N; start += 1000) {
      const batch: FixIn[] = [];
      for (let i = start; i < start + 1000; i++) batch.push(fix(`TAG-${i}`, 1, ts, i % INSIDE_EVERY === 0 ? INSIDE_X : FAR_X));
      const reply = await ws.send(batch);
      expect(reply.ack, JSON.stringify(reply).slice(0, 300)).toHaveLength(1000);
    }
    await ws.closeAndWait();
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('answers every tag, with open alerts marked, fast (about 0.2 s on a quiet machine)', async () => {
    const times: number[] = [];
    let body: { positions: { openAlerts: number; team: string }[] } = { positions: [] };
    let bytes = 0;
    for (let k = 0; k < 7; k++) {
      const started = performance.now();
      const r = await op('GET', '/v1/positions');
      times.push(performance.now() - started);
      expect(r.status).toBe(200);
      body = r.body;
      bytes = r.text.length;
    }
    expect(body.positions).toHaveLength(N);
    expect(body.positions.filter((p) => p.openAlerts > 0)).toHaveLength(N / INSIDE_EVERY);
    const sorted = [...times.slice(2)].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const team = performance.now();
    const one = await api(t.url, 'GET', '/v1/positions?team=iom-7', { token: TOKENS.operator });
    const teamMs = performance.now() - team;
    expect(one.body.positions).toHaveLength(N / 40);
    process.stdout.write(`GET /v1/positions, ${N} tags: median ${median.toFixed(1)} ms over a socket (${(bytes / 1024 / 1024).toFixed(1)} MiB); ?team= (${N / 40} tags) ${teamMs.toFixed(1)} ms\n`);
    // Loose: the machine is shared with other suites (1.1 s seen at load 13 on 2 cores); a quiet
    // run is about 0.2 s, client parsing of the 4 MiB included. The engine-side work alone is
    // measured by `npm run bench:positions`.
    expect(median).toBeLessThan(3000);
  });
});
