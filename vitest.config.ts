import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/reporters/summary-line.ts'],
    // A .only left in a file must fail CI rather than silently narrow it.
    allowOnly: !process.env.CI,
  },
});
