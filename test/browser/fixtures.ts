// Shared pieces of the browser suite: the service's address and tokens, API and ingest helpers,
// the seeded world, log-in, screenshots, and the check that no request leaves for another host.
import { mkdirSync, copyFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { WebSocket } from 'ws';
import { ROOT, type BrowserEnv } from './service.js';

export const SHOTS = resolve(ROOT, 'dist/browser-screenshots');
export const DOCS_SHOTS = resolve(ROOT, 'docs/console');

export function browserEnv(): BrowserEnv {
  const raw = process.env.IOM_BROWSER_ENV;
  if (raw === undefined) throw new Error('IOM_BROWSER_ENV is not set: run through playwright test -c test/browser');
  return JSON.parse(raw) as BrowserEnv;
}

export async function apiCall<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const env = browserEnv();
  const res = await fetch(`${env.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

export async function mustApi<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await apiCall<T>(token, method, path, body);
  if (r.status >= 400) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A fix over /v1/ingest, resolved when the service acknowledges it (durably recorded). */
export class Ingest {
  private pending: ((m: unknown) => void)[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (d) => this.pending.shift()?.(JSON.parse(d.toString())));
  }

  static async open(): Promise<Ingest> {
    const env = browserEnv();
    const ws = new WebSocket(`${env.url.replace('http', 'ws')}/v1/ingest`, { headers: { authorization: `Bearer ${env.tokens.ingest}` } });
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    return new Ingest(ws);
  }

  send(fixes: object | object[]): Promise<{ ack?: unknown[]; errors?: unknown[]; error?: string }> {
    return new Promise((ok) => {
      this.pending.push(ok as (m: unknown) => void);
      this.ws.send(JSON.stringify(fixes));
    });
  }

  close(): void {
    this.ws.close();
  }
}

export interface Fix { deviceId: string; seq: number; ts: string; lat?: number; lon?: number; accuracy?: number; battery?: number; strap?: string }

export const M_PER_DEG = 111_195;

/** A rectangle zone. */
export function rect(id: string, name: string, lon0: number, lat0: number, lon1: number, lat1: number): object {
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]] }, properties: { name } };
}

// The seeded world: Leeds (team iom-north) and Bristol (team iom-south).
export const NORTH_ZONE = { id: 'Z-north-victim', name: 'Victim address area, Leeds', lon0: -1.556, lat0: 53.800, lon1: -1.548, lat1: 53.804 };
export const SOUTH_ZONE = { id: 'Z-south-victim', name: 'Victim address area, Bristol', lon0: -2.600, lat0: 51.450, lon1: -2.592, lat1: 51.454 };
export const CURFEW_ZONE = { id: 'Z-acacia', name: '12 Acacia Road', lon: -1.570, lat: 53.795, radiusM: 60 };

export const exclusion = (id: string, deviceId: string, team: string, zone: string, risk = 'high', name?: string): object => ({
  deviceId, team, risk, cohort: 'fixed', timezone: 'Europe/London', ...(name === undefined ? {} : { name }),
  conditions: [{ id: 'c1', type: 'exclusion', zone, bufferM: 50 }],
});

let seeded: Promise<void> | null = null;

/**
 * Zones, subjects, team routing and a trail for N-001 that approaches the Leeds victim zone
 * (with a gap of twelve minutes in reporting) and enters it: one critical alert for iom-north,
 * one for iom-south. Once per worker.
 */
export function seedWorld(): Promise<void> {
  seeded ??= (async () => {
    const { tokens } = browserEnv();
    const op = tokens.operator;
    for (const z of [NORTH_ZONE, SOUTH_ZONE]) await mustApi(op, 'PUT', `/v1/zones/${z.id}`, rect(z.id, z.name, z.lon0, z.lat0, z.lon1, z.lat1));
    await mustApi(op, 'PUT', `/v1/zones/${CURFEW_ZONE.id}`, { type: 'Feature', geometry: { type: 'Point', coordinates: [CURFEW_ZONE.lon, CURFEW_ZONE.lat] }, properties: { name: CURFEW_ZONE.name, radiusM: CURFEW_ZONE.radiusM } });
    await mustApi(op, 'PUT', '/v1/subjects/N-001', {
      ...exclusion('N-001', 'TAG-N001', 'iom-north', NORTH_ZONE.id, 'high', 'Example Person A'),
      conditions: [
        { id: 'c1', type: 'exclusion', zone: NORTH_ZONE.id, bufferM: 50 },
        { id: 'c2', type: 'curfew', zone: CURFEW_ZONE.id, graceS: 300, schedule: { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '19:00', end: '07:00' }] } },
      ],
    });
    await mustApi(op, 'PUT', '/v1/subjects/S-001', exclusion('S-001', 'TAG-S001', 'iom-south', SOUTH_ZONE.id, 'high', 'Example Person B'));
    await mustApi(op, 'PUT', '/v1/subjects/S-002', exclusion('S-002', 'TAG-S002', 'iom-south', SOUTH_ZONE.id, 'medium'));
    // A receiver that is not listening: deliveries to iom-north fail and are dead-lettered (DELIVERY_ATTEMPTS=1).
    await mustApi(op, 'PUT', '/v1/teams/iom-north', { webhooks: [{ id: 'case-system', url: 'http://127.0.0.1:9/hook', secret: 'north-secret-0123456789' }] });
    await mustApi(op, 'PUT', '/v1/teams/iom-south', { webhooks: [] });
    const ingest = await Ingest.open();
    try {
      // N-001 walks north-east towards the zone, one fix a minute, a 12-minute gap, then inside.
      const start = Date.now() - 40 * 60_000;
      const fixes: Fix[] = [];
      const target = { lon: (NORTH_ZONE.lon0 + NORTH_ZONE.lon1) / 2, lat: (NORTH_ZONE.lat0 + NORTH_ZONE.lat1) / 2 };
      for (let i = 0; i < 14; i++) {
        const f = i / 14;
        const t = start + i * 60_000 + (i >= 8 ? 12 * 60_000 : 0);
        fixes.push({ deviceId: 'TAG-N001', seq: i + 1, ts: new Date(t).toISOString(), lat: target.lat - 0.012 * (1 - f) - 0.0006, lon: target.lon - 0.015 * (1 - f), accuracy: 8 + (i % 4) * 4, battery: 0.8 - i * 0.01, strap: 'ok' });
      }
      fixes.push({ deviceId: 'TAG-N001', seq: 15, ts: new Date(start + 26 * 60_000).toISOString(), lat: target.lat, lon: target.lon, accuracy: 6, battery: 0.66, strap: 'ok' });
      fixes.push({ deviceId: 'TAG-N001', seq: 16, ts: new Date(start + 27 * 60_000).toISOString(), lat: target.lat + 0.0005, lon: target.lon + 0.001, accuracy: 7, battery: 0.66, strap: 'ok' });
      for (const f of fixes) await ingest.send(f);
      const s = { lon: (SOUTH_ZONE.lon0 + SOUTH_ZONE.lon1) / 2, lat: (SOUTH_ZONE.lat0 + SOUTH_ZONE.lat1) / 2 };
      await ingest.send({ deviceId: 'TAG-S001', seq: 1, ts: new Date(start + 20 * 60_000).toISOString(), lat: s.lat - 0.01, lon: s.lon, accuracy: 10 });
      await ingest.send({ deviceId: 'TAG-S001', seq: 2, ts: new Date(start + 21 * 60_000).toISOString(), lat: s.lat, lon: s.lon, accuracy: 10 });
    } finally {
      ingest.close();
    }
    // Both alerts recorded.
    for (let i = 0; i < 100; i++) {
      const n = await mustApi<{ total: number }>(op, 'GET', '/v1/alerts?subject=N-001&state=all&limit=1');
      const s = await mustApi<{ total: number }>(op, 'GET', '/v1/alerts?subject=S-001&state=all&limit=1');
      if (n.total > 0 && s.total > 0) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('the seeded alerts did not appear');
  })();
  return seeded;
}

export async function login(page: Page, token: string, name = 'PC 1234 Example'): Promise<void> {
  await page.goto(`${browserEnv().url}/console/`);
  await page.getByLabel('API token').fill(token);
  await page.getByLabel(/Your name/).fill(name);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
}

export async function shot(page: Page, name: string, docs = false, fullPage = false): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const file = resolve(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  // docs/console/ is tracked: rewritten only when asked (npm run screenshots:console), so a test run leaves the tree clean.
  if (docs && process.env.CONSOLE_DOCS_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    copyFileSync(file, resolve(DOCS_SHOTS, `${name}.png`));
  }
}

/** Waits until MapLibre has drawn (the canvas exists and the map is idle). */
export async function mapIdle(page: Page): Promise<void> {
  await page.locator('.maplibregl-canvas').first().waitFor();
  await page.waitForTimeout(400);
}

/**
 * Every test: the page's requests are recorded and must all go to the service (loopback), or be
 * data:/blob: URLs. Nothing may leave for a host that was not configured.
 */
export const test = base.extend<{ offHost: string[] }>({
  offHost: [async ({ page }, use) => {
    const off: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol === 'data:' || u.protocol === 'blob:') return;
      if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '[::1]') off.push(r.url());
    });
    page.on('pageerror', (e) => { throw e; });
    await use(off);
    expect(off, 'requests that left for a host other than the service').toEqual([]);
  }, { auto: true }],
});

export { expect };
