import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer.ts';
import { expectSignInFailed, expectSignedIn, secretsSeen, setCookieNamed, signInVia } from '../helpers/sign-in.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Full sign-in flows against real OpenID providers (oidc-provider on loopback): one as
// a company's generic provider ("acme", email from userinfo), one standing in for
// Google (email, email_verified and hd in the ID token, as Google does). The server's
// public URL is https, as in production: cookies carry the __Host- prefix.

const PUBLIC = 'https://bureau.test';
const SESSION = '__Host-bureau_session';
const FLOW = '__Host-bureau_signin';
let n = 0;
const unique = (label: string) => `${label}-${++n}-${Math.random().toString(36).slice(2, 7)}`;

describe.each(['sqlite', 'postgres'] as const)('OpenID sign-in on %s', (database) => {
  let acme: OidcIssuer;
  let google: OidcIssuer;
  let t: TestApp;
  const browser = () => new TestBrowser(t.app, PUBLIC);

  beforeAll(async () => {
    acme = await startOidcIssuer({ redirectUris: [`${PUBLIC}/api/auth/acme/callback`] });
    google = await startOidcIssuer({ redirectUris: [`${PUBLIC}/api/auth/google/callback`], claimsInIdToken: true });
    t = await createTestApp({
      database,
      clock: new FakeClock(Date.now()),
      env: {
        BUREAU_PUBLIC_URL: PUBLIC,
        BUREAU_GOOGLE_CLIENT_ID: google.clientId,
        BUREAU_GOOGLE_CLIENT_SECRET: google.clientSecret,
        BUREAU_GOOGLE_ISSUER: google.issuer,
        BUREAU_OIDC_PROVIDERS: 'acme',
        BUREAU_OIDC_ACME_ISSUER: acme.issuer,
        BUREAU_OIDC_ACME_CLIENT_ID: acme.clientId,
        BUREAU_OIDC_ACME_CLIENT_SECRET: acme.clientSecret,
        BUREAU_OIDC_ACME_NAME: 'Acme SSO',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await acme?.close();
    await google?.close();
  });

  it('lists the enabled providers with their start URLs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/providers' });
    expect(res.statusCode).toBe(200);
    expect(res.json().providers).toEqual([
      { id: 'google', name: 'Google', startUrl: '/api/auth/google/start' },
      { id: 'acme', name: 'Acme SSO', startUrl: '/api/auth/acme/start' },
    ]);
  });

  it('start redirects with state, PKCE S256 and nonce, and sets the flow cookie', async () => {
    const b = browser();
    const res = await b.request(`${PUBLIC}/api/auth/acme/start?returnTo=/desktops`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location);
    expect(location.origin).toBe(acme.issuer);
    const q = location.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(acme.clientId);
    expect(q.get('redirect_uri')).toBe(`${PUBLIC}/api/auth/acme/callback`);
    expect(q.get('scope')).toBe('openid email profile');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(q.get('nonce')!.length).toBeGreaterThanOrEqual(32);
    expect(res.headers['cache-control']).toBe('no-store');
    const flow = setCookieNamed(res, FLOW)!;
    expect(flow).toBeDefined();
    expect([...flow.attrs.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite', 'secure']);
    expect(flow.attrs.get('path')).toBe('/');
    expect(flow.attrs.get('samesite')).toBe('Lax');
    expect(flow.attrs.get('max-age')).toBe('600');
    // Sealed: neither the state, nor the verifier, nor the nonce can be read from it.
    expect(flow.value).not.toContain(q.get('state'));
    expect(flow.value).not.toContain(q.get('nonce'));
    // Two starts never share a state or nonce.
    const again = new URL((await browser().request(`${PUBLIC}/api/auth/acme/start`)).headers.location).searchParams;
    expect(again.get('state')).not.toBe(q.get('state'));
    expect(again.get('nonce')).not.toBe(q.get('nonce'));
    expect(again.get('code_challenge')).not.toBe(q.get('code_challenge'));
  });

  it('signs in with a generic OpenID provider: account created, session cookie set exactly as specified, redirected to returnTo', async () => {
    const email = `${unique('ada')}@acme.example`;
    acme.signInAs({ sub: unique('acme-sub'), email, email_verified: true, name: 'Ada Lovelace' });
    const b = browser();
    const callback = await signInVia(b, PUBLIC, 'acme', '/desktops?tab=mine');
    expectSignedIn(callback);
    expect(callback.headers.location).toBe('/desktops?tab=mine');

    const cookie = setCookieNamed(callback, SESSION)!;
    expect(cookie.value).toMatch(/^lb_s_[0-9A-Za-z]{32}$/);
    expect([...cookie.attrs.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite', 'secure']);
    expect(cookie.attrs.get('path')).toBe('/');
    expect(cookie.attrs.get('samesite')).toBe('Lax');
    expect(cookie.attrs.get('max-age')).toBe(String(30 * 86400));
    // The flow cookie is gone.
    expect(setCookieNamed(callback, FLOW)?.attrs.get('max-age') ?? setCookieNamed(callback, FLOW)?.attrs.get('expires')).toBeDefined();
    expect(b.cookie('bureau.test', FLOW)).toBeUndefined();

    const me = await b.request(`${PUBLIC}/api/me`);
    expect(me.status).toBe(200);
    const body = JSON.parse(me.body);
    expect(body.account.email).toBe(email);
    expect(body.authentication.method).toBe('session');

    const sessions = JSON.parse((await b.request(`${PUBLIC}/api/sessions`)).body).sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ provider: 'acme', userAgent: 'TestBrowser/1.0', current: true });

    const secrets = secretsSeen(b);
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    for (const secret of secrets) for (const line of t.logs) expect(line).not.toContain(secret);
  });

  it('signs in with Google (claims in the ID token, hosted domain)', async () => {
    const email = `${unique('grace')}@navy.example`;
    google.signInAs({ sub: unique('1098'), email, email_verified: true, name: 'Grace Hopper', hd: 'navy.example' });
    const b = browser();
    const callback = await signInVia(b, PUBLIC, 'google');
    expectSignedIn(callback);
    expect(callback.headers.location).toBe('/');
    const me = JSON.parse((await b.request(`${PUBLIC}/api/me`)).body);
    expect(me.account.email).toBe(email);
    const account = await t.services.accounts.findByEmail(email);
    expect(await t.services.identities.listForAccount(account!.id)).toMatchObject([{ provider: 'google', email, emailVerified: true }]);
  });

  it('refuses Google when email_verified is false: back to the sign-in page with the error, no cookie, no account', async () => {
    const email = `${unique('unverified')}@gmail.example`;
    google.signInAs({ sub: unique('2222'), email, email_verified: false });
    const b = browser();
    const page = await signInVia(b, PUBLIC, 'google');
    expectSignInFailed(page, 'email_not_verified');
    expect(setCookieNamed(page, SESSION)).toBeUndefined();
    expect(b.cookie('bureau.test', SESSION)).toBeUndefined();
    expect(await t.services.accounts.findByEmail(email)).toBeUndefined();
  });

  it('the same identity signs in to the same account; a new identity joins an account only when both emails are verified and equal', async () => {
    const email = `${unique('linus')}@example.org`;
    const existing = await t.account(email);
    const acmeSub = unique('acme-linus');

    acme.signInAs({ sub: acmeSub, email, email_verified: true });
    const b1 = browser();
    expectSignedIn(await signInVia(b1, PUBLIC, 'acme'));
    expect(JSON.parse((await b1.request(`${PUBLIC}/api/me`)).body).account.id).toBe(existing.accountId);

    // Google, same verified email: the same account.
    google.signInAs({ sub: unique('g-linus'), email: email.toUpperCase(), email_verified: true });
    const b2 = browser();
    expectSignedIn(await signInVia(b2, PUBLIC, 'google'));
    expect(JSON.parse((await b2.request(`${PUBLIC}/api/me`)).body).account.id).toBe(existing.accountId);
    const identities = await t.services.identities.listForAccount(existing.accountId);
    expect(identities.map((i) => i.provider).sort()).toEqual(['acme', 'google']);

    // The acme identity again, now with another email at the provider: still the same account (the subject decides).
    acme.signInAs({ sub: acmeSub, email: `${unique('renamed')}@example.org`, email_verified: true });
    const b3 = browser();
    expectSignedIn(await signInVia(b3, PUBLIC, 'acme'));
    expect(JSON.parse((await b3.request(`${PUBLIC}/api/me`)).body).account.id).toBe(existing.accountId);
  });

  it('an unverified email never joins an existing account', async () => {
    const email = `${unique('victim')}@example.org`;
    const victim = await t.account(email);
    const sub = unique('attacker');
    acme.signInAs({ sub, email, email_verified: false });
    const b = browser();
    const page = await signInVia(b, PUBLIC, 'acme');
    expectSignInFailed(page, 'email_not_verified');
    expect(setCookieNamed(page, SESSION)).toBeUndefined();
    expect(await t.services.identities.find('acme', sub)).toBeUndefined();
    expect(await t.services.identities.listForAccount(victim.accountId)).toEqual([]);
    // No email_verified claim at all counts as unverified too.
    acme.signInAs({ sub, email });
    expectSignInFailed(await signInVia(browser(), PUBLIC, 'acme'), 'email_not_verified');
  });

  it('a different verified email gets its own new account', async () => {
    const email = `${unique('new')}@example.net`;
    acme.signInAs({ sub: unique('acme-new'), email, email_verified: true, name: 'New Person' });
    const b = browser();
    expectSignedIn(await signInVia(b, PUBLIC, 'acme'));
    const account = await t.services.accounts.findByEmail(email);
    expect(account).toMatchObject({ email, name: 'New Person' });
  });

  it('every sign-in gets a new session id; the session the browser had is ended, its cookie refused', async () => {
    const email = `${unique('twice')}@example.org`;
    acme.signInAs({ sub: unique('acme-twice'), email, email_verified: true });
    const b = browser();
    const first = setCookieNamed(await signInVia(b, PUBLIC, 'acme'), SESSION)!.value;
    const firstId = JSON.parse((await b.request(`${PUBLIC}/api/me`)).body).authentication.sessionId;
    // Same browser, same provider session at acme: signs in again without a prompt.
    const second = setCookieNamed(await signInVia(b, PUBLIC, 'acme'), SESSION)!.value;
    const secondId = JSON.parse((await b.request(`${PUBLIC}/api/me`)).body).authentication.sessionId;
    expect(second).not.toBe(first);
    expect(secondId).not.toBe(firstId);
    const old = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `${SESSION}=${first}` } });
    expect(old.statusCode).toBe(401);
  });

  it('cancelling at the provider sends the browser back to the sign-in page with access_denied, no cookie', async () => {
    acme.denyNext();
    const b = browser();
    const page = await signInVia(b, PUBLIC, 'acme');
    expectSignInFailed(page, 'access_denied');
    expect(setCookieNamed(page, SESSION)).toBeUndefined();
    expect(b.cookie('bureau.test', SESSION)).toBeUndefined();
    expect(b.cookie('bureau.test', FLOW)).toBeUndefined();
  });

  it('an unknown provider sends the browser to the sign-in page with unknown_provider', async () => {
    const res = await browser().request(`${PUBLIC}/api/auth/nope/start`);
    expectSignInFailed(res, 'unknown_provider');
    expect(setCookieNamed(res, FLOW)).toBeUndefined();
  });

  it('the OpenAPI document describes the sign-in routes', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    for (const path of ['/api/auth/providers', '/api/auth/{provider}/start', '/api/auth/{provider}/callback']) {
      const op = doc.paths[path].get;
      expect(op.tags).toEqual(['auth']);
      expect(op.summary).toBeTruthy();
    }
    expect(doc.paths['/api/auth/{provider}/start'].get.parameters.map((p: any) => p.name).sort()).toEqual(['provider', 'returnTo']);
  });
});
