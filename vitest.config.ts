import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two lanes. `integration`: every test file that needs PostgreSQL or Redis, Chromium,
 * a real desktop (root and the desktop packages), a dashboard build, child `bureau`
 * processes or the benchmark harness. `unit`: everything else, which needs only
 * Node.js and SQLite (`npm run test:unit`, no services). `npm test` runs both.
 *
 * The lane is read from each file itself, so a new file cannot land in the wrong one:
 * a file is integration when it lives in a folder of such tests or mentions one of the
 * helpers or settings below. A unit-lane test that reaches for them anyway fails at
 * once (test/helpers/lane.ts) instead of skipping.
 */
const INTEGRATION_FOLDERS = ['test/e2e/', 'test/scale-out/', 'test/bench/', 'test/cli/'];
const INTEGRATION_MARKS = [
  'helpers/postgres',
  'helpers/redis',
  'private-services',
  'server-process',
  'bureau-command',
  'dashboard-build',
  'playwright-core',
  "'postgres'",
  "BUREAU_DESKTOPS: 'local'",
  'xvnc-fixture',
  'desktop-fixture',
  'unprivileged-scenario',
  'abandoned-desktop',
  'rfb-client',
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const root = dirname(fileURLToPath(import.meta.url));
const INTEGRATION = testFiles(join(root, 'test'))
  .map((file) => relative(root, file))
  .filter((file) => INTEGRATION_FOLDERS.some((f) => file.startsWith(f)) || INTEGRATION_MARKS.some((m) => readFileSync(join(root, file), 'utf8').includes(m)));

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
        // Files share their workers' loaded modules (isolate: false): importing the app for
        // every file was most of the lane's time. Tests keep no state in modules.
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: INTEGRATION, env: { BUREAU_TEST_LANE: 'unit' }, isolate: false },
      },
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION },
      },
    ],
  },
});
