import { defineConfig } from 'vitest/config';

// The browser test runs apart from the unit suites, against a running fleet:
//   FLOTILLA_E2E_URL=https://localhost:8443 npx vitest run --config examples/flixtube/e2e/vitest.config.ts
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.e2e.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
