// The live queue, the critical signal, working an alert, and trail playback.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { browserEnv, exclusion, expect, Ingest, login, mapIdle, mustApi, NORTH_ZONE, seedWorld, shot, test } from './fixtures.js';
import { ROOT } from './service.js';

test.beforeAll(async () => {
  await seedWorld();
});

const LAT_N = 20;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test('a fix sent over /v1/ingest makes its alert appear in the queue without a reload, with the critical signal (fix → visible measured)', async ({ page }) => {
  test.setTimeout(120_000);
  const { tokens } = browserEnv();
  const subjects = Array.from({ length: LAT_N }, (_, i) => `LAT-${String(i + 1).padStart(2, '0')}`);
  await mustApi(tokens.operator, 'POST', '/v1/subjects', { subjects: subjects.map((id, i) => ({ id, ...exclusion(id, `TAG-LAT${i + 1}`, 'iom-lat', NORTH_ZONE.id, 'high') })) });
  await login(page, tokens.operator, 'Op Latency');
  await expect(page.locator('.vrow').first()).toBeVisible();
  // The moment each row first appears in the page (the page's own clock is the same wall clock).
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { __seen: Record<string, number> }).__seen = seen;
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('.vrow[data-key]')) {
        const k = el.getAttribute('data-key')!;
        seen[k] ??= Date.now();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  const search = page.getByLabel('Search');
  const ingest = await Ingest.open();
  const samples: number[] = [];
  const inside = { lat: (NORTH_ZONE.lat0 + NORTH_ZONE.lat1) / 2, lon: (NORTH_ZONE.lon0 + NORTH_ZONE.lon1) / 2 };
  try {
    for (const [i, sid] of subjects.entries()) {
      // The first with no filter and focus on no field (the banner takes focus unless someone is typing).
      if (i === 0) {
        await search.fill('');
        await page.locator('h1').click();
      } else {
        await search.fill(sid);
      }
      const sentAt = Date.now();
      const reply = await ingest.send({ deviceId: `TAG-LAT${i + 1}`, seq: 1, ts: new Date(sentAt - 1000).toISOString(), lat: inside.lat, lon: inside.lon, accuracy: 5 });
      expect(reply.ack).toHaveLength(1);
      const row = page.locator(`.vrow[data-key^="${sid}:"]`);
      await expect(row).toBeVisible({ timeout: 15_000 });
      const key = (await row.getAttribute('data-key'))!;
      const seenAt = await page.evaluate((k) => (window as unknown as { __seen: Record<string, number> }).__seen[k], key);
      samples.push(seenAt - sentAt);
      if (i === 0) {
        // The unmistakable signal: a banner read out at once, focus on its Open button, the title flashing.
        const banner = page.locator('.critical-banner');
        await expect(banner).toBeVisible();
        await expect(banner).toContainText('NEW CRITICAL ALERT');
        await expect(banner).toContainText(sid);
        await expect(page.getByRole('button', { name: 'Open alert' })).toBeFocused();
        await expect.poll(() => page.title(), { timeout: 3000 }).toContain('CRITICAL ALERT');
        await shot(page, 'queue-critical', true);
        await page.getByRole('button', { name: 'Dismiss' }).click();
        await expect(banner).toHaveCount(0);
      }
    }
  } finally {
    ingest.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mode = await page.locator('.live').getAttribute('data-mode');
  const result = { samples: samples.length, p50Ms: pct(sorted, 50), p99Ms: pct(sorted, 99), maxMs: sorted[sorted.length - 1], feed: mode, at: new Date().toISOString() };
  mkdirSync(resolve(ROOT, 'dist/browser-results'), { recursive: true });
  writeFileSync(resolve(ROOT, 'dist/browser-results/fix-to-visible.json'), `${JSON.stringify({ ...result, samplesMs: samples }, null, 2)}\n`);
  console.log(`fix → visible over ${samples.length} alerts (${mode}): p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`);
  // Critical first, then the oldest: the queue's order with no filter.
  await search.fill('');
  const keys = await page.locator('.vrow').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
  expect(keys.indexOf(keys.find((k) => k?.startsWith('S-001:'))!)).toBeLessThan(keys.indexOf(keys.find((k) => k?.startsWith('LAT-01:'))!));
});

test('an officer claims an alert, records a decision and sees its history, delivery and the trail', async ({ page }) => {
  const { tokens } = browserEnv();
  await login(page, tokens.north, 'DC Patel');
  await page.locator('.vrow[data-key^="N-001:"]').click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Entered exclusion zone');
  await expect(page.locator('.condition')).toContainText('Must not enter Victim address area, Leeds');
  await page.getByRole('button', { name: 'Claim' }).click();
  await expect(page.locator('.claimed')).toContainText('Being worked by DC Patel');
  await page.getByRole('button', { name: 'Record decision' }).click();
  await expect(page.locator('.decision-form .field-error').first()).toHaveText('Choose an outcome.');
  await page.getByLabel('Outcome').selectOption('warning');
  await page.getByLabel('Note').fill('Spoke to the subject by phone; he left at once.');
  await page.getByRole('button', { name: 'Record decision' }).click();
  await expect(page.getByText('Decision recorded: Warning given.')).toBeVisible();
  const history = page.locator('ol.history');
  await expect(history.locator('li[data-kind=opened]')).toContainText('Opened: Critical');
  await expect(history.locator('li[data-kind=claim]')).toContainText('Claimed by DC Patel (team:iom-north)');
  await expect(history.locator('li[data-kind=decision]')).toContainText('Warning given — DC Patel (team:iom-north): “Spoke to the subject by phone; he left at once.”');
  // Times are UK local, with UTC on hover.
  await expect(history.locator('time').first()).toHaveAttribute('title', /UTC$/);
  await expect(page.locator('#del-h')).toBeVisible();
  // The decision is the API's too.
  const alerts = await mustApi<{ alerts: { episodeId: string; subjectId: string; acknowledged?: { outcome: string } }[] }>(tokens.operator, 'GET', '/v1/alerts?subject=N-001&state=all');
  expect(alerts.alerts[0].acknowledged?.outcome).toBe('warning');
});

test('trail playback on the alert reaches the breaching fix, across the gap in reporting', async ({ page }) => {
  const { tokens } = browserEnv();
  await login(page, tokens.operator, 'Op Playback');
  await page.locator('.vrow[data-key^="N-001:"]').click();
  await mapIdle(page);
  const trail = page.locator('section.trail');
  await expect(trail.locator('.readout')).toContainText('Fix 1 of');
  await expect(trail).toHaveAttribute('data-breach-index', /^\d+$/);
  await trail.locator('summary').click();
  await expect(trail.locator('tr.gap')).toContainText('Gap: no fixes for');
  await expect(trail.locator('tr.breach')).toContainText('Breaching fix');
  await trail.getByLabel('Playback speed').selectOption('60');
  await trail.getByRole('button', { name: 'Play' }).click();
  await expect(trail.locator('[data-breach=true]')).toBeVisible({ timeout: 15_000 });
  // Playback stops on the breaching fix.
  await expect(trail.getByRole('button', { name: 'Play' })).toBeVisible();
  const breachIndex = Number(await trail.getAttribute('data-breach-index'));
  await expect(trail.getByLabel('Time')).toHaveValue(String(breachIndex));
  await trail.locator('summary').click();
  await page.locator('.alert-main').scrollIntoViewIfNeeded();
  await shot(page, 'alert', true, true);
});
