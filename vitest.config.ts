import { defineConfig } from 'vitest/config';

// Integration tests start real server processes from dist/, so `npm test` builds first
// (the `pretest` step) and the suites run in separate forks with generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
