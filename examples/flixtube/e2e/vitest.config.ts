import { defineConfig } from 'vitest/config';

// The browser test runs after the unit suites (see the root "test" script), alone, so
// that the fleet it starts does not compete with them for the machine's two cores.
//   npx vitest run --config examples/flixtube/e2e/vitest.config.ts
//   FLOTILLA_E2E_URL=https://localhost:8443 … to use a fleet that is already running.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.e2e.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    reporters: ['default', 'json'],
    outputFile: { json: '../../../.flotilla/test-results-e2e.json' },
  },
});
