// Zones: draw one on the map and link it to a subject; import KML with a bad feature;
// validation messages at the field.
import { browserEnv, expect, login, mapIdle, mustApi, seedWorld, shot, test } from './fixtures.js';

test.beforeAll(async () => {
  await seedWorld();
});

test('an operator draws a polygon zone on the map and links it to a subject', async ({ page }) => {
  const { tokens, url } = browserEnv();
  await login(page, tokens.operator, 'Op Draw');
  await page.goto(`${url}/console/#/zones/Z-south-victim`);
  await mapIdle(page);
  await expect(page.getByRole('heading', { name: 'Victim address area, Bristol' })).toBeVisible();
  await page.getByRole('button', { name: 'Draw a polygon' }).click();
  await page.getByLabel('Zone id').fill('Z-drawn-park');
  await page.getByLabel('Name').fill('Brandon Hill park');
  await page.locator('.map-box').scrollIntoViewIfNeeded();
  const box = (await page.locator('.map-box canvas').boundingBox())!;
  const at = async (fx: number, fy: number): Promise<void> => {
    await page.mouse.click(box.x + box.width * fx, box.y + box.height * fy);
    await page.waitForTimeout(150);
  };
  await at(0.2, 0.2);
  await at(0.45, 0.18);
  await at(0.5, 0.45);
  await at(0.25, 0.5);
  await expect(page.getByLabel('Vertices (longitude, latitude per line)')).toHaveValue(/^(-?\d+\.\d+, -?\d+\.\d+\n){3}-?\d+\.\d+, -?\d+\.\d+$/);
  await shot(page, 'zone-drawing', true);
  await page.getByRole('button', { name: 'Save zone' }).click();
  await expect(page).toHaveURL(/#\/zones\/Z-drawn-park$/);
  await expect(page.getByRole('heading', { name: 'Brandon Hill park' })).toBeVisible();
  await expect(page.locator('.zone-panel')).toContainText('Polygon, 4 vertices');
  const stored = await mustApi<{ geometry: { type: string; coordinates: number[][][] } }>(tokens.operator, 'GET', '/v1/zones/Z-drawn-park');
  expect(stored.geometry.coordinates[0]).toHaveLength(5);

  // Link it: a new exclusion condition on S-002 naming the drawn zone.
  await page.goto(`${url}/console/#/subjects/S-002/edit`);
  await page.getByRole('button', { name: 'Add a condition' }).click();
  const cond = page.getByRole('listitem', { name: 'Condition 2' });
  await cond.getByLabel('Type').selectOption('exclusion');
  await cond.getByLabel('Zone', { exact: true }).selectOption('Z-drawn-park');
  await cond.getByLabel('Warning band (m)').fill('100');
  await expect(cond.locator('.cond-summary')).toHaveText('Must not enter Z-drawn-park; warning within 100 m of it.');
  await page.getByRole('button', { name: 'Save subject' }).click();
  await expect(page).toHaveURL(/#\/subjects\/S-002$/);
  await expect(page.locator('.conditions')).toContainText('Must not enter Brandon Hill park; warning within 100 m of it.');
  const s = await mustApi<{ conditions: { zone?: string }[] }>(tokens.operator, 'GET', '/v1/subjects/S-002');
  expect(s.conditions.map((c) => c.zone)).toContain('Z-drawn-park');
});

test('the subject form shows the API\'s validation message at the field', async ({ page }) => {
  const { tokens, url } = browserEnv();
  await login(page, tokens.admin, 'Admin Form');
  await page.goto(`${url}/console/#/subjects/new`);
  await page.getByRole('button', { name: 'Save subject' }).click();
  // Checked before sending: the id, the tag and the team.
  await expect(page.locator('[data-path=id] .field-error')).toContainText('Give an id');
  await expect(page.locator('[data-path=deviceId] .field-error')).toContainText('device id');
  await page.getByLabel('Id', { exact: true }).fill('S-NEW');
  await page.getByLabel('Tag (device id)').fill('TAG-NEW');
  await page.getByLabel('Team', { exact: true }).fill('iom-south');
  await page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await page.getByRole('button', { name: 'Save subject' }).click();
  // The service's refusal (400, details.path body.timezone) lands under the field.
  const tz = page.locator('[data-path=timezone]');
  await expect(tz.locator('.field-error')).toContainText('is not a known IANA time zone');
  await expect(tz.locator('input')).toHaveAttribute('aria-invalid', 'true');
  await expect(tz.locator('input')).toBeFocused();
  await shot(page, 'subject-form-error', true);
  await page.getByLabel('Time zone').fill('Europe/London');
  await page.getByRole('button', { name: 'Add a condition' }).click();
  const cond = page.getByRole('listitem', { name: 'Condition 1' });
  await cond.getByLabel('Type').selectOption('curfew');
  await cond.getByLabel('Zone', { exact: true }).selectOption('Z-acacia');
  await cond.getByLabel('Grace (minutes)').fill('5');
  await expect(cond.locator('.cond-summary')).toHaveText('Must be at Z-acacia 19:00–07:00 daily, 5 minutes\' grace.');
  await page.getByRole('button', { name: 'Save subject' }).click();
  await expect(page).toHaveURL(/#\/subjects\/S-NEW$/);
  await expect(page.locator('.conditions')).toContainText('Must be at 12 Acacia Road 19:00–07:00 daily, 5 minutes\' grace.');
});

const KML = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
  <Placemark id="kml-school-a"><name>School A</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
    -2.610,51.460,0 -2.605,51.460,0 -2.605,51.463,0 -2.610,51.463,0 -2.610,51.460,0
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
  <Placemark id="kml-school-b"><name>School B</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
    -2.580,51.440,0 -2.575,51.440,0 -2.575,51.443,0 -2.580,51.443,0 -2.580,51.440,0
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
  <Placemark id="kml-bad-bowtie"><name>Crossed boundary</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
    -2.600,51.470,0 -2.590,51.475,0 -2.590,51.470,0 -2.600,51.475,0 -2.600,51.470,0
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Document></kml>`;

test('importing a KML file with one bad feature keeps the good ones and names the bad one', async ({ page }) => {
  const { tokens, url } = browserEnv();
  await login(page, tokens.operator, 'Op Import');
  await page.goto(`${url}/console/#/zones`);
  await mapIdle(page);
  await page.getByLabel('GeoJSON or KML file').setInputFiles({ name: 'schools.kml', mimeType: 'application/vnd.google-earth.kml+xml', buffer: Buffer.from(KML) });
  const result = page.locator('.import-result');
  await expect(result).toContainText('schools.kml: 2 zones imported, 1 refused.');
  await expect(result.locator('.import-errors li')).toHaveCount(1);
  await expect(result.locator('.import-errors li')).toContainText('Feature 3 (kml-bad-bowtie)');
  await expect(page.locator('.zone-list')).toContainText('School A');
  await shot(page, 'zones-import', true);
  expect((await mustApi<{ properties: { name: string } }>(tokens.operator, 'GET', '/v1/zones/kml-school-b')).properties.name).toBe('School B');
});
