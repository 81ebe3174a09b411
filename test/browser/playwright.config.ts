import { defineConfig } from '@playwright/test';

/**
 * The console's browser suite: Debian's Chromium (never a Playwright download), headless, one
 * worker (the machine is shared), against the real service started once by global-setup.ts.
 */
export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  outputDir: '../../dist/browser-test-output',
  globalSetup: './global-setup.ts',
  globalTeardown: './global-teardown.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    headless: true,
    viewport: { width: 1280, height: 720 },
    locale: 'en-GB',
    timezoneId: 'Europe/London',
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // WebGL for MapLibre without a GPU: SwiftShader, enabled explicitly.
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    },
  },
});
