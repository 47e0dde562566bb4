import { defineConfig } from 'vitest/config';

// The serial phase: tests that stop a shared server (RabbitMQ's `rabbitmqctl stop_app`),
// run by the root "test" script after every other suite, one file at a time, so nothing
// else is using the server when it goes away.
//   npm run test:serial
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: '../../.flotilla/test-results-serial.json' },
  },
});
