import { ensureAccount } from '../../src/accounts/accounts.ts';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import type { TestApp } from './test-app.ts';

/**
 * A signed-in browser, without the OAuth dance (the sign-in flows have their own
 * tests): a real session row and the cookie the server would have set.
 */
export async function startSession(t: TestApp, email: string) {
  const { account } = await ensureAccount(t.services.accounts, t.clock, { email });
  const { token, session } = await t.services.sessions.start({ accountId: account.id, ip: '127.0.0.1', userAgent: 'test-browser', provider: 'test' });
  const name = sessionCookieName(t.services.config);
  return {
    accountId: account.id,
    sessionId: session.id,
    token,
    /** Headers a same-origin browser request carries. */
    headers: { cookie: `${name}=${token}`, 'sec-fetch-site': 'same-origin' },
  };
}
