import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer.ts';
import { freePort } from '../helpers/redis.ts';
import { expectSignedIn, signInVia } from '../helpers/sign-in.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Where a browser lands after signing in, over real HTTP: the server listens on
// loopback, a real OpenID provider signs the user in, and the Location header is read
// exactly as the browser receives it. Every returnTo below is one slash away from
// another host once dot segments are resolved or a browser reads it.

let acme: OidcIssuer;
let t: TestApp;
let publicUrl: string;
let n = 0;

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  acme = await startOidcIssuer({ redirectUris: [`${publicUrl}/api/auth/acme/callback`] });
  t = await createTestApp({
    clock: new FakeClock(Date.now()),
    env: {
      BUREAU_PUBLIC_URL: publicUrl,
      BUREAU_OIDC_PROVIDERS: 'acme',
      BUREAU_OIDC_ACME_ISSUER: acme.issuer,
      BUREAU_OIDC_ACME_CLIENT_ID: acme.clientId,
      BUREAU_OIDC_ACME_CLIENT_SECRET: acme.clientSecret,
    },
  });
  await t.app.listen({ port, host: '127.0.0.1' });
});
afterAll(async () => {
  await t?.close();
  await acme?.close();
});

/** Signs in over HTTP with `returnTo` and returns the Location of the final 303. */
async function landingAfterSignIn(returnTo: string): Promise<string> {
  acme.signInAs({ sub: `sub-${++n}`, email: `user${n}@example.com`, email_verified: true });
  const page = await signInVia(new TestBrowser(null, publicUrl), publicUrl, 'acme', returnTo);
  expectSignedIn(page);
  return page.headers.location;
}

/** What a browser does with the Location: it must stay on our origin, on a path that cannot name a host. */
function expectSameOriginPath(location: string): void {
  expect(location.startsWith('/')).toBe(true);
  expect(location.startsWith('//')).toBe(false);
  expect(location.startsWith('/\\')).toBe(false);
  expect(location).not.toMatch(/[\\\u0000-\u001f\u007f]/);
  expect(new URL(location, publicUrl).origin).toBe(publicUrl);
}

describe('returnTo after a real sign-in', () => {
  const toAnotherHost = [
    // Dot segments that the URL parser removes, leaving `//evil.example/x`.
    '/.//evil.example/x',
    '/..//evil.example/x',
    '/a/..//evil.example/x',
    '/a/b/../../..//evil.example/x',
    // The same, percent-encoded: the parser reads %2e as a dot.
    '/%2e//evil.example/x',
    '/%2E%2E//evil.example/x',
    '/.%2e//evil.example/x',
    // Backslashes, which browsers read as slashes.
    '/\\evil.example/x',
    '/.\\/evil.example/x',
    '/./\\evil.example/x',
    // Tabs and newlines, which browsers drop.
    '/\t/evil.example/x',
    '/.\t//evil.example/x',
    '/\n/evil.example/x',
    '/.\r\n//evil.example/x',
  ];
  for (const returnTo of toAnotherHost) {
    it(`returnTo=${JSON.stringify(returnTo)} lands on /`, async () => {
      expect(await landingAfterSignIn(returnTo)).toBe('/');
    });
  }

  // Percent-encoded slashes, backslashes and tabs are not separators to a browser:
  // they may stay, as long as the path stays ours.
  for (const returnTo of ['/%2f%2fevil.example/x', '/%2F/evil.example', '/%5c%5cevil.example', '/%09/evil.example', '/.%2f/evil.example']) {
    it(`returnTo=${JSON.stringify(returnTo)} stays a path on this site`, async () => {
      expectSameOriginPath(await landingAfterSignIn(returnTo));
    });
  }

  it('a local path is resolved and kept, with its query and fragment', async () => {
    expect(await landingAfterSignIn('/a/../desktops?tab=mine#top')).toBe('/desktops?tab=mine#top');
  });
});
