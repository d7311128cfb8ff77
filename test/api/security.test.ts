import { describe } from 'vitest';
import { apiKeyCases, describeProtectedRoutes } from '../security/protected-routes.ts';
import { sessionCases } from '../security/session-cases.ts';

// The shared security suite (test/security/protected-routes.ts) over every protected
// route, on both stores. Other credential kinds add their cases to `cases`.
describe.each(['sqlite', 'postgres'] as const)('security on %s', (database) => {
  describeProtectedRoutes({ database, cases: () => [...apiKeyCases(), ...sessionCases()] });
});
