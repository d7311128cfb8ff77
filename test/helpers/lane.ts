/**
 * The two test lanes (vitest.config.ts): `unit` (npm run test:unit) runs with nothing
 * but Node.js and SQLite; `integration` has PostgreSQL, Redis, Chromium, a built
 * dashboard and child `bureau serve` processes. The unit project sets BUREAU_TEST_LANE=unit,
 * and every helper that reaches for one of those calls this first, so a test in the
 * wrong lane fails at once with a message saying where it belongs, rather than skipping
 * or quietly using services someone left running.
 */
export function requireIntegrationLane(what: string): void {
  if (process.env.BUREAU_TEST_LANE === 'unit') {
    throw new Error(`this test needs ${what}, so it belongs to the integration lane: add its file to INTEGRATION in vitest.config.ts`);
  }
}
