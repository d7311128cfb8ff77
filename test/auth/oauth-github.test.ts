import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { type FakeGitHub, startFakeGitHub } from '../helpers/fake-github.ts';
import { expectSignInFailed, expectSignedIn, reachCallback, secretsSeen, setCookieNamed, signInVia } from '../helpers/sign-in.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// GitHub sign-in. github.com cannot be reached from the test machine, so the flow runs
// against a local server that speaks GitHub's OAuth app protocol and REST API
// (test/helpers/fake-github.ts), reached through the BUREAU_GITHUB_AUTHORIZE_URL,
// BUREAU_GITHUB_TOKEN_URL and BUREAU_GITHUB_API_URL settings.

const PUBLIC = 'https://bureau.test';
const SESSION = '__Host-bureau_session';
let n = 0;
const unique = (label: string) => `${label}-${++n}-${Math.random().toString(36).slice(2, 7)}`;

let gh: FakeGitHub;
let t: TestApp;
const browsers: TestBrowser[] = [];
const browser = () => {
  const b = new TestBrowser(t.app, PUBLIC);
  browsers.push(b);
  return b;
};

beforeAll(async () => {
  gh = await startFakeGitHub();
  t = await createTestApp({
    clock: new FakeClock(Date.now()),
    env: {
      BUREAU_PUBLIC_URL: PUBLIC,
      BUREAU_GITHUB_CLIENT_ID: gh.clientId,
      BUREAU_GITHUB_CLIENT_SECRET: gh.clientSecret,
      BUREAU_GITHUB_AUTHORIZE_URL: gh.authorizeUrl,
      BUREAU_GITHUB_TOKEN_URL: gh.tokenUrl,
      BUREAU_GITHUB_API_URL: gh.apiUrl,
    },
  });
});
afterAll(async () => {
  await t?.close();
  await gh?.close();
});

function octocat(overrides: Partial<Parameters<FakeGitHub['signInAs']>[0]> = {}) {
  const email = `${unique('octo')}@github.example`;
  return {
    id: 1_000_000 + ++n,
    login: unique('octocat'),
    name: 'The Octocat',
    emails: [
      { email: `${unique('other')}@example.com`, primary: false, verified: true },
      { email, primary: true, verified: true },
    ],
    ...overrides,
  };
}

describe('GitHub sign-in', () => {
  it('is listed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/providers' });
    expect(res.json().providers).toEqual([{ id: 'github', name: 'GitHub', startUrl: '/api/auth/github/start' }]);
  });

  it('asks for read:user user:email with state and PKCE S256 (no nonce: not OpenID)', async () => {
    const res = await browser().request(`${PUBLIC}/api/auth/github/start`);
    expect(res.status).toBe(302);
    const q = new URL(res.headers.location).searchParams;
    expect(`${new URL(res.headers.location).origin}${new URL(res.headers.location).pathname}`).toBe(gh.authorizeUrl);
    expect(q.get('client_id')).toBe(gh.clientId);
    expect(q.get('redirect_uri')).toBe(`${PUBLIC}/api/auth/github/callback`);
    expect(q.get('scope')).toBe('read:user user:email');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(q.has('nonce')).toBe(false);
  });

  it('signs in by numeric id with the primary verified email', async () => {
    const user = octocat();
    gh.signInAs(user);
    const b = browser();
    const callback = await signInVia(b, PUBLIC, 'github', '/keys');
    expectSignedIn(callback);
    expect(callback.headers.location).toBe('/keys');
    const me = JSON.parse((await b.request(`${PUBLIC}/api/me`)).body);
    expect(me.account.email).toBe(user.emails[1].email);
    expect(me.account.name).toBe('The Octocat');
    expect(await t.services.identities.find('github', String(user.id))).toMatchObject({ accountId: me.account.id, emailVerified: true });
  });

  it('a renamed login and a changed primary email still reach the same account (the numeric id decides)', async () => {
    const user = octocat();
    gh.signInAs(user);
    const b1 = browser();
    await signInVia(b1, PUBLIC, 'github');
    const first = JSON.parse((await b1.request(`${PUBLIC}/api/me`)).body).account.id;
    gh.signInAs({ ...user, login: unique('renamed'), emails: [{ email: `${unique('new')}@example.com`, primary: true, verified: true }] });
    const b2 = browser();
    await signInVia(b2, PUBLIC, 'github');
    expect(JSON.parse((await b2.request(`${PUBLIC}/api/me`)).body).account.id).toBe(first);
  });

  it('links to an existing account with the same verified email', async () => {
    const user = octocat();
    const existing = await t.account(user.emails[1].email);
    gh.signInAs(user);
    const b = browser();
    expectSignedIn(await signInVia(b, PUBLIC, 'github'));
    expect(JSON.parse((await b.request(`${PUBLIC}/api/me`)).body).account.id).toBe(existing.accountId);
  });

  it('refuses a user whose primary email is not verified, even if another one is, and links nothing', async () => {
    const user = octocat();
    user.emails[1].verified = false;
    const existing = await t.account(user.emails[1].email);
    gh.signInAs(user);
    const page = await signInVia(browser(), PUBLIC, 'github');
    expectSignInFailed(page, 'email_not_verified');
    expect(setCookieNamed(page, SESSION)).toBeUndefined();
    expect(await t.services.identities.find('github', String(user.id))).toBeUndefined();
    expect(await t.services.identities.listForAccount(existing.accountId)).toEqual([]);
  });

  it('refuses a user with no email at all', async () => {
    gh.signInAs(octocat({ emails: [] }));
    expectSignInFailed(await signInVia(browser(), PUBLIC, 'github'), 'email_not_verified');
  });

  it('a denied authorization sends the browser back to the sign-in page with access_denied', async () => {
    gh.denyNext();
    const page = await signInVia(browser(), PUBLIC, 'github');
    expectSignInFailed(page, 'access_denied');
    expect(setCookieNamed(page, SESSION)).toBeUndefined();
  });

  it('a replayed callback is refused; a replayed code is refused by GitHub', async () => {
    gh.signInAs(octocat());
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'github');
    const sealed = b.cookie('bureau.test', '__Host-bureau_signin')!;
    expectSignedIn(await b.request(String(url)));
    const again = browser();
    again.setCookie('bureau.test', '__Host-bureau_signin', sealed);
    expectSignInFailed(await again.request(String(url)), 'flow_replayed');
    // The old code inside a fresh flow: GitHub answers bad_verification_code.
    const fresh = await again.request(`${PUBLIC}/api/auth/github/start`);
    url.searchParams.set('state', new URL(fresh.headers.location).searchParams.get('state')!);
    const page = await again.request(String(url));
    expectSignInFailed(page, 'invalid_response');
    expect(setCookieNamed(page, SESSION)).toBeUndefined();
  });

  it('GitHub unreachable: the browser is sent to the sign-in page with provider_unavailable', async () => {
    const down = await createTestApp({
      clock: new FakeClock(Date.now()),
      env: {
        BUREAU_PUBLIC_URL: PUBLIC,
        BUREAU_GITHUB_CLIENT_ID: gh.clientId,
        BUREAU_GITHUB_CLIENT_SECRET: gh.clientSecret,
        BUREAU_GITHUB_AUTHORIZE_URL: gh.authorizeUrl,
        // Nothing listens on port 9 (discard) of loopback.
        BUREAU_GITHUB_TOKEN_URL: 'http://127.0.0.1:9/login/oauth/access_token',
        BUREAU_GITHUB_API_URL: gh.apiUrl,
      },
    });
    try {
      gh.signInAs(octocat());
      const page = await signInVia(new TestBrowser(down.app, PUBLIC), PUBLIC, 'github');
      expectSignInFailed(page, 'provider_unavailable');
    } finally {
      await down.close();
    }
  });

  it('no code, state, access token or session token reached a log line', () => {
    const secrets = browsers.flatMap(secretsSeen);
    expect(secrets.length).toBeGreaterThan(10);
    const logs = t.logs.join('\n');
    for (const s of secrets) expect(logs).not.toContain(s);
    expect(logs).not.toMatch(/gho_[0-9a-f]{10}/);
  });
});
