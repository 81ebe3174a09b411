// Log-in with each role: what the console shows each, and that the token stays in the tab.
import { apiCall, browserEnv, expect, login, seedWorld, shot, test } from './fixtures.js';

test.beforeAll(async () => {
  await seedWorld();
});

test('the log-in screen takes a token and a name; a wrong token is refused in words', async ({ page }) => {
  const { url } = browserEnv();
  await page.goto(`${url}/console/`);
  await expect(page.getByRole('heading', { name: 'IOM monitoring console' })).toBeVisible();
  await shot(page, 'login', true);
  await page.getByLabel('API token').fill('not-a-token-anyone-has-0000');
  await page.getByLabel(/Your name/).fill('Someone');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('does not accept this token');
});

test('an ingest token cannot use the console', async ({ page }) => {
  await page.goto(`${browserEnv().url}/console/`);
  await page.getByLabel('API token').fill(browserEnv().tokens.ingest);
  await page.getByLabel(/Your name/).fill('Tag gateway');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('may only send fixes');
});

test('an operator sees every team\'s alerts and the set-up actions', async ({ page }) => {
  await login(page, browserEnv().tokens.operator, 'Op Smith');
  await expect(page.locator('.role')).toHaveText('Op Smith · Operator');
  await expect(page.locator('.vrow[data-key^="N-001:"]')).toBeVisible();
  await expect(page.locator('.vrow[data-key^="S-001:"]')).toBeVisible();
  await page.getByRole('link', { name: 'Subjects' }).click();
  await expect(page.getByRole('link', { name: 'New subject' })).toBeVisible();
});

test('an admin logs in as an administrator', async ({ page }) => {
  await login(page, browserEnv().tokens.admin, 'Admin Jones');
  await expect(page.locator('.role')).toHaveText('Admin Jones · Administrator');
  await expect(page.locator('.vrow[data-key^="S-001:"]')).toBeVisible();
});

test('a team officer sees only the team\'s alerts, cannot create subjects, and stays logged in on reload without the token in the URL or local storage', async ({ page }) => {
  await login(page, browserEnv().tokens.north, 'DC North');
  await expect(page.locator('.role')).toHaveText('DC North · IOM team iom-north');
  await expect(page.locator('.vrow[data-key^="N-001:"]')).toBeVisible();
  await expect(page.locator('.vrow[data-key^="S-001:"]')).toHaveCount(0);
  await page.reload();
  await expect(page.locator('.role')).toHaveText('DC North · IOM team iom-north');
  expect(page.url()).not.toContain(browserEnv().tokens.north);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  await page.getByRole('link', { name: 'Subjects' }).click();
  await expect(page.getByRole('link', { name: 'N-001' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New subject' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByLabel('API token')).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
});

test('the console files need no token but carry a strict Content-Security-Policy; the API still needs one', async () => {
  const { url } = browserEnv();
  const page = await fetch(`${url}/console/`);
  expect(page.status).toBe(200);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(page.headers.get('cache-control')).toBe('no-cache');
  const html = await page.text();
  const asset = /\/console\/assets\/[^"]+\.js/.exec(html)?.[0];
  expect(asset).toBeDefined();
  const a = await fetch(`${url}${asset}`);
  expect(a.headers.get('cache-control')).toContain('immutable');
  expect((await apiCall('', 'GET', '/v1/subjects')).status).toBe(401);
});
