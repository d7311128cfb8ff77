import { randomBase62 } from '../../src/core/random.ts';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import { startSession } from '../helpers/sessions.ts';
import type { CredentialCase, SuiteContext } from './protected-routes.ts';

const unauthorized = { status: 401, code: 'unauthorized' };
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Session-cookie cases for the shared security suite (see protected-routes.ts). */
export function sessionCases(): CredentialCase[] {
  const cookie = (c: SuiteContext, token: string) => ({
    headers: { cookie: `${sessionCookieName(c.t.services.config)}=${token}`, 'sec-fetch-site': 'same-origin' },
  });
  let idleExpired = '';
  let ended = '';
  let endedByLogout = '';
  let valid = '';

  return [
    { name: 'empty session cookie', expect: unauthorized, credential: (c) => cookie(c, '') },
    { name: 'malformed session cookie', expect: unauthorized, credential: (c) => cookie(c, 'not-a-session') },
    { name: 'well-formed but unknown session token', expect: unauthorized, credential: (c) => cookie(c, `lb_s_${randomBase62(32)}`) },
    {
      name: 'session past its idle timeout',
      expect: unauthorized,
      async prepare(c) {
        const s = await startSession(c.t, c.owner.email);
        // Due to lapse within the suite's clock step (EXPIRY_STEP_MS).
        await c.t.services.database.db
          .updateTable('sessions')
          .set({ idle_expires_at: c.t.clock.now() + 60_000 })
          .where('id', '=', s.sessionId)
          .execute();
        idleExpired = s.token;
      },
      credential: (c) => cookie(c, idleExpired),
    },
    {
      name: 'session ended from another session (was in the verified cache)',
      expect: unauthorized,
      async prepare(c) {
        const s = await startSession(c.t, c.owner.email);
        await c.t.services.sessions.authenticate(s.token);
        await c.t.services.sessions.end(s.accountId, s.sessionId, { type: 'session', id: 'other' }, null);
        ended = s.token;
      },
      credential: (c) => cookie(c, ended),
    },
    {
      name: 'session ended by logout',
      expect: unauthorized,
      async prepare(c) {
        const s = await startSession(c.t, c.owner.email);
        const res = await c.t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers });
        if (res.statusCode !== 204) throw new Error(`logout answered ${res.statusCode}`);
        endedByLogout = s.token;
      },
      credential: (c) => cookie(c, endedByLogout),
    },
    {
      name: 'valid session cookie on a cross-site unsafe request',
      expect: { status: 403, code: 'cross_site_request' },
      appliesTo: (r) => !SAFE.has(r.method),
      async prepare(c) {
        valid = (await startSession(c.t, c.owner.email)).token;
      },
      credential: (c) => ({ headers: { cookie: `${sessionCookieName(c.t.services.config)}=${valid}`, 'sec-fetch-site': 'cross-site' } }),
    },
  ];
}
