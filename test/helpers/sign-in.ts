import { expect } from 'vitest';
import { type Page, type TestBrowser, cookieAttributes } from './browser.ts';

export const isCallback = (page: Page) => /^\/api\/auth\/[^/]+\/callback$/.test(new URL(page.url).pathname);

/** How a failed sign-in ends: a 303 to the dashboard's sign-in page with a fixed code. */
const FAILURE_LOCATION = /^\/sign-in\?signin_error=([a-z_]+)$/;

/** Our response sending the browser to the sign-in page with an error (from the start or the callback). */
export const isSignInFailure = (page: Page) => page.status === 303 && FAILURE_LOCATION.test(page.headers.location ?? '');

/**
 * Clicks "Sign in with <provider>": follows the whole dance and returns our callback's
 * response (a 303 to returnTo with the session cookie, or a 303 to /sign-in?signin_error=),
 * or the start's own failure redirect.
 */
export function signInVia(browser: TestBrowser, publicUrl: string, provider: string, returnTo = '/'): Promise<Page> {
  return browser.navigate(`${publicUrl}/api/auth/${provider}/start?returnTo=${encodeURIComponent(returnTo)}`, {
    stopAfter: (page) => isCallback(page) || isSignInFailure(page),
  });
}

/** The code a failed sign-in sends the browser to /sign-in with, or null when the page is not such a redirect. */
function failureCode(page: Page): string | null {
  if (page.status !== 303) return null;
  return FAILURE_LOCATION.exec(page.headers.location ?? '')?.[1] ?? null;
}

/**
 * A sign-in that failed with `code`: a 303 to exactly /sign-in?signin_error=<code> (nothing
 * from the request in the URL), not cached, no session cookie set, and the flow cookie
 * cleared when there was one.
 */
export function expectSignInFailed(page: Page, code: string): void {
  expect(page.status).toBe(303);
  expect(page.headers.location).toBe(`/sign-in?signin_error=${code}`);
  expect(page.headers['cache-control']).toBe('no-store');
  expect(page.setCookies.filter((l) => /bureau_session=/.test(l.split(';')[0]))).toEqual([]);
  for (const line of page.setCookies) {
    const { name, value } = cookieAttributes(line);
    if (/bureau_signin$/.test(name)) expect(value).toBe('');
  }
}

/** A sign-in that succeeded: a 303 to returnTo (not to the sign-in page) with a session cookie set. */
export function expectSignedIn(page: Page): void {
  expect(page.status).toBe(303);
  expect(failureCode(page)).toBeNull();
  const session = page.setCookies.map(cookieAttributes).find((c) => /bureau_session$/.test(c.name));
  expect(session?.value).toMatch(/^lb_s_/);
}

export function setCookieNamed(page: Page, name: string) {
  const line = page.setCookies.find((l) => l.startsWith(`${name}=`));
  return line ? cookieAttributes(line) : undefined;
}

/**
 * Every secret value the browser saw: authorization codes and states in redirect
 * URLs, flow cookies, session tokens. None may appear in a log line.
 */
export function secretsSeen(browser: TestBrowser): string[] {
  const out = new Set<string>();
  for (const page of browser.history) {
    for (const raw of [page.url, page.headers.location]) {
      if (!raw) continue;
      const url = new URL(raw, page.url);
      for (const name of ['code', 'state', 'nonce', 'code_challenge']) {
        for (const v of url.searchParams.getAll(name)) if (v.length >= 8) out.add(v);
      }
    }
    for (const line of page.setCookies) {
      const { name, value } = cookieAttributes(line);
      if (/bureau_(session|signin)$/.test(name) && value.length >= 8) out.add(value);
    }
  }
  return [...out];
}

/**
 * Starts a sign-in and follows it through the provider, stopping just before the
 * browser would call our callback: returns that callback URL (code, state, iss) so a
 * test can alter, drop or replay parts of it.
 */
export async function reachCallback(browser: TestBrowser, publicUrl: string, provider: string, returnTo = '/'): Promise<URL> {
  const leadsToCallback = (page: Page) => {
    if (!page.headers.location) return false;
    const next = new URL(page.headers.location, page.url);
    return next.origin === new URL(publicUrl).origin && /^\/api\/auth\/[^/]+\/callback$/.test(next.pathname);
  };
  const page = await browser.navigate(`${publicUrl}/api/auth/${provider}/start?returnTo=${encodeURIComponent(returnTo)}`, { stopAfter: leadsToCallback });
  if (!leadsToCallback(page)) throw new Error(`the flow did not reach our callback (last: ${page.status} ${page.url})`);
  return new URL(page.headers.location, page.url);
}
