import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Unit tests sit next to their source; test/ holds integration tests on the bundled model.
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts', 'bench/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // ONNX Runtime telemetry off in every worker (src/main/engine/telemetry.ts).
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
  },
})
