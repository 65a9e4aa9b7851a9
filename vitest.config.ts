import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Unit tests sit next to their source; test/ holds integration tests on the bundled model.
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts', 'bench/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
  },
})
