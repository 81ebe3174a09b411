// The README's "API examples" are sent, in order, to a real service (real Redis): each must be
// accepted, so the examples cannot drift from the schemas. The alert examples need an episode:
// S-002's tag is walked into Z-victim-home at the time in the examples' episode id.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, fix, ROOT, startTestService, TOKENS, WsClient, type TestService } from '../support/server.js';

interface Example { method: string; path: string; body: unknown }

function readmeExamples(): Example[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## API examples');
  expect(start, 'README has an "API examples" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const out: Example[] = [];
  for (const m of section.matchAll(/\*\*`(GET|PUT|POST|PATCH|DELETE) ([^`]+)`\*\*[\s\S]*?```json\n([\s\S]*?)\n```/g)) {
    out.push({ method: m[1], path: m[2], body: JSON.parse(m[3]) as unknown });
  }
  // Every bolded request in the section has its body parsed (none is skipped by the pattern).
  expect(out.length).toBe([...section.matchAll(/\*\*`(GET|PUT|POST|PATCH|DELETE) /g)].length);
  return out;
}

describe('README API examples (real Redis)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('has one example per resource, and every one is accepted as written', async () => {
    const examples = readmeExamples();
    const paths = examples.map((e) => `${e.method} ${e.path.replace(/\/[^/]*:[^/]*(?=\/)/, '/:episodeId')}`);
    for (const want of ['PUT /v1/zones/', 'POST /v1/zones', 'PUT /v1/subjects/', 'PATCH /v1/subjects/', 'POST /v1/subjects', 'PUT /v1/teams/', '/claim', '/assign', '/ack']) {
      expect(paths.some((p) => p.includes(want)), want).toBe(true);
    }
    const subject = examples.find((e) => e.method === 'PUT' && e.path.startsWith('/v1/subjects/'))?.body as { conditions: { type: string }[] };
    expect(new Set(subject.conditions.map((c) => c.type))).toEqual(new Set(['exclusion', 'curfew', 'proximity']));
    let walked = false;
    for (const e of examples) {
      if (e.path.startsWith('/v1/alerts/') && !walked) {
        walked = true;
        const ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
        const reply = await ws.send([fix('TAG-00018', 1, Date.parse('2026-11-23T18:54:00Z'), [51.49, -0.125]), fix('TAG-00018', 2, Date.parse('2026-11-23T18:55:00Z'), [51.505, -0.125])]);
        expect(reply.ack).toHaveLength(2);
        await ws.closeAndWait();
      }
      const r = await api(t.service.app, e.method, e.path, { token: TOKENS.operator, body: e.body });
      expect(r.status, `${e.method} ${e.path}: ${r.text}`).toBe(200);
      if (e.path === '/v1/zones' || e.path === '/v1/subjects') expect(r.body.rejected, `${e.method} ${e.path}`).toEqual([]);
    }
    const alert = (await api(t.service.app, 'GET', '/v1/alerts/S-002:c1:2026-11-23T18:55:00Z', { token: TOKENS.operator })).body;
    expect(alert.decisions.map((d: { outcome: string }) => d.outcome)).toEqual(['warning', 'arrest']);
    expect(alert.claim).toMatchObject({ by: 'DS 77 Smith', assignedBy: 'Control room supervisor Ali' });
  });
});
