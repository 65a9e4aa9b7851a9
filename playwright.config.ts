import { defineConfig } from '@playwright/test'

/**
 * e2e tests run against the production build (`npm run build` first). The
 * fixture in e2e/fixtures.ts picks Electron or Debian Chromium; see README.
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: process.env['CI'] ? 1 : 2,
  forbidOnly: !!process.env['CI'],
  retries: 0,
  reporter: [['list']],
})
