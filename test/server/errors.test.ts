// The API error registry (src/server/errors.ts): well-formed, the only source of codes the
// service sends, listed in docs/api-errors.md and in the OpenAPI description. Every other server
// test checks on the spot (helpers.api) that each error `code` it receives is a registry key and
// comes with the registry's HTTP status; this file adds the codes that need their own set-up.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERRORS } from '../../src/server/errors.js';
import { api, ROOT, seenErrorCodes, startTestService, TOKENS, zoneX, type TestService } from '../support/server.js';

const CODES = Object.keys(API_ERRORS);
const DOC = join(ROOT, 'docs/api-errors.md');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('API error registry', () => {
  it('is well formed: upper-case codes, one HTTP error status and a meaning each', () => {
    expect(CODES.length).toBeGreaterThan(5);
    expect(new Set(CODES).size).toBe(CODES.length);
    for (const [code, e] of Object.entries(API_ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(Number.isInteger(e.status) && e.status >= 400 && e.status <= 599, code).toBe(true);
      expect(e.meaning.length, code).toBeGreaterThan(5);
    }
    // The registry source declares each code once (a duplicate key would silently win).
    const src = readFileSync(join(ROOT, 'src/server/errors.ts'), 'utf8');
    const block = src.slice(src.indexOf('API_ERRORS'), src.indexOf('} as const'));
    const declared = [...block.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]);
    expect(declared.sort()).toEqual([...CODES].sort());
  });

  it('is the only source of codes in the server code', () => {
    const used = new Map<string, string>();
    for (const file of sources(join(ROOT, 'src/server'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new ApiError\(\s*'([A-Z_0-9]+)'|\bcode\s*[:=]\s*'([A-Z][A-Z_0-9]+)'/g)) used.set(m[1] ?? m[2], file);
    }
    expect(used.size).toBeGreaterThan(5);
    const unknown = [...used].filter(([code]) => !CODES.includes(code)).map(([code, file]) => `${code} (${file.slice(ROOT.length + 1)})`);
    expect(unknown).toEqual([]);
  });

  it.skipIf(!existsSync(DOC))('is listed in docs/api-errors.md with the same HTTP status', () => {
    const doc = readFileSync(DOC, 'utf8');
    const missing: string[] = [];
    for (const [code, e] of Object.entries(API_ERRORS)) {
      const row = doc.split('\n').find((l) => l.includes(`\`${code}\``) && l.trim().startsWith('|'));
      if (row === undefined) missing.push(code);
      else expect(row.split('|').map((c) => c.trim()), code).toContain(String(e.status));
    }
    expect(missing).toEqual([]);
    // …and the API table (up to the next heading) lists nothing the registry does not have.
    const start = doc.indexOf('| code');
    const end = doc.indexOf('\n## ', start);
    const table = doc.slice(start, end === -1 ? undefined : end);
    const listed = [...table.matchAll(/^\|\s*`([A-Z_0-9]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => m[1]);
    expect(listed.filter((c) => !CODES.includes(c))).toEqual([]);
  });
  if (!existsSync(DOC)) it.skip('docs/api-errors.md does not exist yet: listing check skipped', () => undefined);
});

describe('API error codes from a running service', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ rateLimitPerS: 5 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('names every code in the OpenAPI description', async () => {
    const r = await api(t.service.app, 'GET', '/docs/json', { token: TOKENS.admin });
    expect(r.status).toBe(200);
    for (const code of CODES) expect(r.body.info.description, code).toContain(code);
  });

  it('429 RATE_LIMITED past a token\'s allowance (burst = 2 s worth), per token', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => api(t.service.app, 'GET', '/readyz', { token: TOKENS.north })));
    const limited = results.filter((r) => r.status === 429);
    // The bucket refills while the requests are served (slowly on a loaded machine): at least
    // one of twenty concurrent requests must be refused, whatever the timing.
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const r of limited) expect(r.body.code).toBe('RATE_LIMITED');
    // Another token has its own allowance.
    expect((await api(t.service.app, 'GET', '/readyz', { token: TOKENS.south })).status).toBe(200);
    // The allowance covers every route of the token, changes included.
    let putStatus = 0;
    for (let i = 0; i < 60 && putStatus !== 429; i++) putStatus = (await api(t.service.app, 'PUT', '/v1/zones/Z-r', { token: TOKENS.north, body: zoneX('Z-r') })).status;
    expect(putStatus).toBe(429);
  });

  it('every code seen in this file is a registry key with its status', () => {
    // helpers.api asserts this for each response; here the set is checked as a whole.
    expect(seenErrorCodes.size).toBeGreaterThan(0);
    for (const [code, status] of seenErrorCodes) expect(API_ERRORS[code as keyof typeof API_ERRORS]?.status, code).toBe(status);
  });
});
