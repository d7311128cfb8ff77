import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Two lanes. `integration`: every test file that needs PostgreSQL or Redis
 * (test/helpers/postgres.ts, redis.ts, private-services.ts, or createTestApp with
 * database 'postgres', e.g. a describe.each over sqlite and postgres), Chromium, a
 * dashboard build (test/helpers/dashboard-build.ts), or child `bureau` processes
 * (test/helpers/server-process.ts, bureau-command.ts) or the benchmark harness.
 * `unit`: everything else, which needs only Node.js and SQLite (`npm run test:unit`,
 * no services, under a minute). `npm test` runs both.
 *
 * A new test file is in the unit lane unless listed here. If it reaches for any of the
 * above there, the helper throws (test/helpers/lane.ts) saying to list it here.
 */
const INTEGRATION = [
  'test/activity/history.test.ts',
  'test/activity/log-scan.test.ts',
  'test/api/api-keys.test.ts',
  'test/api/connection-memo.test.ts',
  'test/api/credential-limits.test.ts',
  'test/api/desktops.test.ts',
  'test/api/errors.test.ts',
  'test/api/fuzz.test.ts',
  'test/api/key-guessing.test.ts',
  'test/api/refusal-delay.test.ts',
  'test/api/repeated-headers.test.ts',
  'test/api/security.test.ts',
  'test/auth/oauth-dev-idp-chromium.test.ts',
  'test/auth/oauth-oidc.test.ts',
  'test/auth/sessions-cli.test.ts',
  'test/auth/sessions.test.ts',
  'test/bench/smoke.test.ts',
  'test/cli/blocks-cli.test.ts',
  'test/cli/cli.test.ts',
  'test/e2e/dashboard.test.ts',
  'test/scale-out/database-unavailable.test.ts',
  'test/scale-out/desktop-hosts.test.ts',
  'test/scale-out/faults.test.ts',
  'test/scale-out/key-guessing.test.ts',
  'test/scale-out/multi-process.test.ts',
  'test/store/limiter-store-contract.test.ts',
  'test/store/store-contract.test.ts',
  'test/store/stream-slots-contract.test.ts',
  'test/web/dashboard-serving.test.ts',
];

// A renamed or deleted file must be renamed here too, or its successor would silently change lanes.
const gone = INTEGRATION.filter((file) => !existsSync(new URL(file, import.meta.url)));
if (gone.length) throw new Error(`vitest.config.ts: INTEGRATION lists files that do not exist: ${gone.join(', ')}`);

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/reporters/summary-line.ts'],
    // A .only left in a file must fail CI rather than silently narrow it.
    allowOnly: !process.env.CI,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: INTEGRATION, env: { BUREAU_TEST_LANE: 'unit' } },
      },
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION },
      },
    ],
  },
});
