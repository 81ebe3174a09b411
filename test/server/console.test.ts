// The console's static files: served without a token, with their own Content-Security-Policy
// (the configured basemap's origin added), hashed assets cached, the API untouched.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCsp } from '../../src/server/http/console.js';
import { readEnv } from '../../src/server/settings.js';
import { api, ROOT, startTestService, type TestService } from '../support/server.js';

const built = existsSync(resolve(ROOT, 'dist/console/index.html'));

describe.skipIf(!built)('console at /console', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ mapStyleUrl: 'https://tiles.example.org/styles/os.json' });
  });
  afterAll(async () => svc?.close());

  it('serves the page without a token, with a CSP that allows only this origin and the basemap\'s', async () => {
    const r = await fetch(`${svc.url}/console/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' https://tiles.example.org");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(r.headers.get('cache-control')).toBe('no-cache');
  });

  it('caches hashed assets for a year and answers an unknown file 404 in the API\'s error shape', async () => {
    const asset = readdirSync(resolve(ROOT, 'dist/console/assets')).find((f) => f.endsWith('.js'))!;
    const a = await fetch(`${svc.url}/console/assets/${asset}`);
    expect(a.status).toBe(200);
    expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await api(svc.url, 'GET', '/console/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
    const traversal = await api(svc.url, 'GET', '/console/assets/..%2F..%2Fpackage.json');
    expect(traversal.status).toBe(404);
  });

  it('tells the console the configured basemap, and the API still needs a token', async () => {
    const c = await fetch(`${svc.url}/console/config.json`);
    expect(await c.json()).toEqual({ mapStyleUrl: 'https://tiles.example.org/styles/os.json' });
    expect((await api(svc.url, 'GET', '/v1/zones')).status).toBe(401);
    const redirect = await fetch(`${svc.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
  });
});

describe('MAP_STYLE_URL', () => {
  it('is optional, and must be an http(s) URL without user-info', () => {
    expect(readEnv({}).MAP_STYLE_URL).toBe('');
    expect(readEnv({ MAP_STYLE_URL: 'https://maps.example/style.json' }).MAP_STYLE_URL).toBe('https://maps.example/style.json');
    expect(() => readEnv({ MAP_STYLE_URL: 'ftp://maps.example/style.json' })).toThrow(/MAP_STYLE_URL must be an http\(s\) URL/);
    expect(() => readEnv({ MAP_STYLE_URL: 'https://user:pw@maps.example/s.json' })).toThrow(/MAP_STYLE_URL/);
    expect(() => readEnv({ MAP_STYLE_URL: 'not a url' })).toThrow(/MAP_STYLE_URL/);
  });

  it('without a basemap, the console may connect to nothing but its own origin', () => {
    expect(consoleCsp('')).toContain("connect-src 'self';");
    expect(consoleCsp('')).toContain("img-src 'self' data: blob:;");
  });
});
