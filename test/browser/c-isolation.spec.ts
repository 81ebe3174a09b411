// A team token never sees another team's alert, subject or zone, in any view.
import { browserEnv, expect, login, mustApi, seedWorld, test } from './fixtures.js';

test.beforeAll(async () => {
  await seedWorld();
});

test('team iom-south sees none of iom-north\'s alerts, subjects or zones in any view, nor by typing their addresses', async ({ page }) => {
  const { tokens, url } = browserEnv();
  const north = await mustApi<{ alerts: { episodeId: string }[] }>(tokens.operator, 'GET', '/v1/alerts?subject=N-001&state=all');
  const northEpisode = north.alerts[0].episodeId;
  await login(page, tokens.south, 'DS South');
  // Queue
  await expect(page.locator('.vrow[data-key^="S-001:"]')).toBeVisible();
  await expect(page.locator('.vrow[data-key^="N-001:"]')).toHaveCount(0);
  await expect(page.locator('.vrow[data-key^="LAT-"]')).toHaveCount(0);
  // Another team's alert by its address: answered as missing.
  await page.goto(`${url}/console/#/alerts/${encodeURIComponent(northEpisode)}`);
  await expect(page.getByRole('alert')).toContainText('no alert');
  await expect(page.locator('main .facts')).toHaveCount(0);
  await expect(page.locator('main')).not.toContainText('TAG-N001');
  // Subjects list and page
  await page.goto(`${url}/console/#/subjects`);
  await expect(page.getByRole('link', { name: 'S-001' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'N-001' })).toHaveCount(0);
  await page.goto(`${url}/console/#/subjects/N-001`);
  await expect(page.getByRole('alert')).toContainText('no subject');
  await expect(page.locator('.conditions')).toHaveCount(0);
  // Zones list and zone page
  await page.goto(`${url}/console/#/zones`);
  await expect(page.getByRole('link', { name: /Victim address area, Bristol/ })).toBeVisible();
  await expect(page.locator('.zone-list')).not.toContainText('Z-north-victim');
  await expect(page.locator('.zone-list')).not.toContainText('Leeds');
  await page.goto(`${url}/console/#/zones/Z-north-victim`);
  await expect(page.getByText('No zone Z-north-victim.')).toBeVisible();
  // Teams: its own routing only.
  await page.goto(`${url}/console/#/teams`);
  await expect(page.locator('main')).not.toContainText('iom-north');
  // The map of tags (when the service provides positions) holds only its own tags.
  await page.goto(`${url}/console/#/map`);
  await expect(page.locator('.map-status')).not.toHaveText('Loading positions…');
  await expect(page.locator('main')).not.toContainText('TAG-N001');
  // Operations: its own counts, nothing of another team.
  await page.goto(`${url}/console/#/ops`);
  await expect(page.locator('main')).not.toContainText('iom-north');
});
