import { type Page, type TestBrowser, cookieAttributes } from './browser.ts';

export const isCallback = (page: Page) => /^\/api\/auth\/[^/]+\/callback$/.test(new URL(page.url).pathname);

/**
 * Clicks "Sign in with <provider>": follows the whole dance and returns our callback's
 * response (a 303 to returnTo with the session cookie, or the error page).
 */
export function signInVia(browser: TestBrowser, publicUrl: string, provider: string, returnTo = '/'): Promise<Page> {
  return browser.navigate(`${publicUrl}/api/auth/${provider}/start?returnTo=${encodeURIComponent(returnTo)}`, { stopAfter: isCallback });
}

/** The failure code shown by our sign-in error page, or null when it is not one. */
export function failureCode(page: Page): string | null {
  return /<main id="sign-in-error" data-code="([a-z_]+)">/.exec(page.body)?.[1] ?? null;
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
