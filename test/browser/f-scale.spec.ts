// Scale: 10,000 open alerts in the queue (real ones, raised by the engine), and 20,000 tag
// positions on the map.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { browserEnv, expect, Ingest, login, mustApi, seedWorld, SOUTH_ZONE, test } from './fixtures.js';
import { ROOT } from './service.js';

const N_ALERTS = 10_000;
const N_POSITIONS = 20_000;

test.beforeAll(async () => {
  await seedWorld();
});

function record(name: string, value: object): void {
  const dir = resolve(ROOT, 'dist/browser-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(resolve(dir, `${name}.json`), `${JSON.stringify({ ...value, at: new Date().toISOString() }, null, 2)}\n`);
}

test('the queue stays responsive with 10,000 open alerts: a virtual list, critical first, End reaches the last', async ({ page }) => {
  test.setTimeout(150_000);
  const { tokens } = browserEnv();
  const risks = ['low', 'medium', 'high', 'very_high'];
  const subjects = Array.from({ length: N_ALERTS }, (_, i) => ({
    id: `BULK-${String(i).padStart(5, '0')}`, deviceId: `TAG-BULK-${i}`, team: 'iom-scale', risk: risks[i % 4], cohort: 'free',
    conditions: [{ id: 'c1', type: 'exclusion', zone: SOUTH_ZONE.id }],
  }));
  const imported = await mustApi<{ accepted: number }>(tokens.operator, 'POST', '/v1/subjects', { subjects });
  expect(imported.accepted).toBe(N_ALERTS);
  const ingest = await Ingest.open();
  const lat = (SOUTH_ZONE.lat0 + SOUTH_ZONE.lat1) / 2, lon = (SOUTH_ZONE.lon0 + SOUTH_ZONE.lon1) / 2;
  const t0 = Date.now() - 5 * 60_000;
  try {
    for (let i = 0; i < N_ALERTS; i += 1000) {
      const batch = subjects.slice(i, i + 1000).map((s, k) => ({ deviceId: s.deviceId, seq: 1, ts: new Date(t0 + (i + k) * 10).toISOString(), lat, lon, accuracy: 5 }));
      const r = await ingest.send(batch);
      expect(r.ack).toHaveLength(batch.length);
    }
  } finally {
    ingest.close();
  }
  await expect.poll(async () => (await mustApi<{ total: number }>(tokens.operator, 'GET', '/v1/alerts?team=iom-scale&limit=1')).total, { timeout: 60_000 }).toBe(N_ALERTS);

  const started = Date.now();
  await login(page, tokens.operator, 'Op Scale');
  await expect(page.locator('.counts')).toContainText(/of 10,0\d\d open/, { timeout: 30_000 });
  const loadMs = Date.now() - started;
  // Only the rows in view are in the page.
  const rows = await page.locator('.vrow').count();
  expect(rows).toBeLessThan(60);
  // Critical first: the first row is critical, and the last is medium (an exclusion is never low).
  await expect(page.locator('.vrow').first().locator('.badge')).toHaveText('Critical');
  const list = page.getByRole('listbox', { name: /Open alerts/ });
  await list.focus();
  const endStarted = Date.now();
  await page.keyboard.press('End');
  await expect(list.locator('.vrow.active')).toBeVisible();
  const endMs = Date.now() - endStarted;
  await expect(list.locator('.vrow.active .badge')).toHaveText('Medium');
  // Filtering 10,000 in the page.
  const filterStarted = Date.now();
  await page.getByLabel('Search').fill('BULK-09999');
  await expect(page.locator('.vrow')).toHaveCount(1);
  const filterMs = Date.now() - filterStarted;
  record('queue-10k', { alerts: N_ALERTS, loginToCountedMs: loadMs, renderedRows: rows, endKeyMs: endMs, filterMs });
  console.log(`10,000 alerts: log-in to counted ${loadMs} ms, ${rows} rows in the page, End ${endMs} ms, filter ${filterMs} ms`);
});

test('the map draws 20,000 positions clustered (client capacity: a synthetic /v1/positions answer)', async ({ page }) => {
  test.setTimeout(90_000);
  // The service's own answer holds only the few seeded tags; the browser's capacity is measured
  // with 20,000 generated positions across England and Wales, 300 of them with open alerts.
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const now = Date.now();
  const sev = ['low', 'medium', 'high', 'critical'];
  const positions = Array.from({ length: N_POSITIONS }, (_, i) => ({
    deviceId: `TAG-${i}`, subjectId: `SUB-${i}`, team: 'iom-scale', ts: new Date(now - (i % 50 === 0 ? 3 * 3600_000 : 60_000)).toISOString(),
    lat: 50.5 + rnd() * 4.5, lon: -4.5 + rnd() * 5.5, accuracy: 10, battery: 0.8, strap: 'ok', stale: i % 50 === 0,
    openAlerts: i % 67 === 0 ? 1 : 0, maxSeverity: i % 67 === 0 ? sev[i % 4] : null,
  }));
  const body = JSON.stringify({ positions, at: new Date(now).toISOString() });
  await page.route('**/v1/positions', (route) => route.fulfill({ status: 200, contentType: 'application/json', body }));
  await login(page, browserEnv().tokens.operator, 'Op Map');
  const started = Date.now();
  await page.getByRole('link', { name: 'Map' }).click();
  await expect(page.locator('.map-status')).toContainText('20,000 tags');
  await expect(page.locator('.cluster-label').first()).toBeVisible({ timeout: 20_000 });
  const drawMs = Date.now() - started;
  const alerted = await page.locator('.overview-side .zone-list li').count();
  expect(alerted).toBe(positions.filter((p) => p.openAlerts > 0).length);
  record('map-20k', { positions: N_POSITIONS, openToClustersMs: drawMs, alertedListed: alerted });
  console.log(`20,000 positions: map opened to clusters drawn in ${drawMs} ms`);
  await page.screenshot({ path: resolve(ROOT, 'dist/browser-screenshots/map-20k.png') });
});
