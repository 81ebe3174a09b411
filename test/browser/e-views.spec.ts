// The remaining views, keyboard use, and the screenshots of each (docs/console/ for the README).
import { browserEnv, expect, login, mapIdle, seedWorld, shot, test } from './fixtures.js';

test.beforeAll(async () => {
  await seedWorld();
});

test('the queue works from the keyboard: one tab stop, arrows move, Enter opens', async ({ page }) => {
  await login(page, browserEnv().tokens.operator, 'Op Keys');
  const list = page.getByRole('listbox', { name: /Open alerts/ });
  await expect(list.locator('.vrow').first()).toBeVisible();
  await list.focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowDown');
  const active = await list.getAttribute('aria-activedescendant');
  expect(active).toBe('opt-1');
  const key = await page.locator(`#${active}`).getAttribute('data-key');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`#/alerts/${encodeURIComponent(key!).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
});

test('subject list, subject page (conditions in plain words, trail with playback), zones, teams, operations and map views', async ({ page }) => {
  test.setTimeout(90_000);
  const { tokens, url } = browserEnv();
  await login(page, tokens.operator, 'Op Views');
  await page.goto(`${url}/console/#/subjects`);
  await expect(page.getByRole('link', { name: 'N-001' })).toBeVisible();
  await shot(page, 'subjects', true);

  await page.goto(`${url}/console/#/subjects/N-001`);
  await expect(page.locator('.conditions')).toContainText('Must be at 12 Acacia Road 19:00–07:00 daily, 5 minutes\' grace.');
  await expect(page.locator('.conditions')).toContainText('Must not enter Victim address area, Leeds; warning within 50 m of it.');
  await mapIdle(page);
  const trail = page.locator('section.trail');
  await expect(trail.locator('.readout')).toContainText('Fix 1 of 16');
  await trail.getByLabel('Time').focus();
  for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowRight');
  await expect(trail.locator('.readout')).toContainText('Fix 9 of 16');
  await expect(trail.locator('.readout')).toContainText('gap');
  await shot(page, 'subject', true, true);

  await page.goto(`${url}/console/#/zones/Z-acacia`);
  await expect(page.getByRole('heading', { name: '12 Acacia Road' })).toBeVisible();
  await expect(page.locator('.zone-panel')).toContainText('Circle, radius 60 m');
  await mapIdle(page);
  await shot(page, 'zones', true);

  await page.goto(`${url}/console/#/teams`);
  await page.getByRole('button', { name: /iom-north/ }).click();
  await expect(page.locator('main')).toContainText('http://127.0.0.1:9/hook');
  await expect(page.locator('main')).toContainText('stored, not shown');
  await expect(page.locator('main')).not.toContainText('north-secret-0123456789');
  await page.getByRole('button', { name: 'Change routing' }).click();
  await expect(page.getByLabel('Signing secret').first()).toHaveValue('');
  await page.getByRole('button', { name: 'Save routing' }).click();
  await expect(page.locator('[data-path="webhooks[0].secret"] .field-error')).toContainText('Enter the signing secret');
  await shot(page, 'teams', true);

  await page.goto(`${url}/console/#/ops`);
  await expect(page.getByText('Service ready')).toBeVisible();
  await shot(page, 'ops', true);

  await page.goto(`${url}/console/#/map`);
  await mapIdle(page);
  await expect(page.locator('.map-status')).not.toHaveText('Loading positions…');
  await page.waitForTimeout(800);
  await shot(page, 'map', true);
});

test('a large control-room screen shows more of the queue', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 2560, height: 1440 }, locale: 'en-GB', timezoneId: 'Europe/London' });
  const page = await context.newPage();
  await login(page, browserEnv().tokens.operator, 'Control room');
  await expect(page.locator('.vrow').first()).toBeVisible();
  await shot(page, 'queue-large', true);
  await context.close();
});
