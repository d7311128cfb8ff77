import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { DevIdentityProviderRefused, startDevIdentityProvider } from '../../src/dev-idp/dev-identity-provider.ts';
import { type Page, TestBrowser } from '../helpers/browser.ts';
import { expectSignInFailed, expectSignedIn, isCallback, secretsSeen, setCookieNamed } from '../helpers/sign-in.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// The development identity provider, as a newcomer meets it after `npm start`: the
// API server on http://localhost, the provider on its own loopback port, a form where
// any email signs in. Driven the way the dashboard's end-to-end tests drive it: the
// sign-in link is /api/auth/dev/start?returnTo=/, then form#dev-login with
// input[name=email] and button#sign-in.

const PUBLIC = 'http://localhost:3000';

function loginForm(page: Page): { action: string } {
  const m = /<form id="dev-login" method="post" action="([^"]+)">/.exec(page.body);
  if (!m) throw new Error(`no login form in ${page.status} ${page.url}`);
  return { action: new URL(m[1].replace(/&amp;/g, '&'), page.url).href };
}

describe('development identity provider', () => {
  let t: TestApp;
  const browsers: TestBrowser[] = [];
  const browser = () => {
    const b = new TestBrowser(t.app, PUBLIC);
    browsers.push(b);
    return b;
  };

  beforeAll(async () => {
    t = await createTestApp({ clock: new FakeClock(Date.now()), env: { BUREAU_PUBLIC_URL: PUBLIC, BUREAU_DEV_IDP: 'on' } });
  });
  afterAll(() => t?.close());

  it('runs only when asked, and says so loudly in the log', () => {
    const warning = t.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'dev_identity_provider');
    expect(warning.level).toBe(40);
    expect(warning.msg).toMatch(/DEVELOPMENT IDENTITY PROVIDER/);
    expect(warning.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('is offered as provider "dev"', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/providers' });
    expect(res.json().providers).toEqual([{ id: 'dev', name: 'Development sign-in (any email)', startUrl: '/api/auth/dev/start' }]);
  });

  it('signs in as any typed email, through a login page with no inline script or style', async () => {
    const b = browser();
    const login = await b.navigate(`${PUBLIC}/api/auth/dev/start?returnTo=/mission-control`);
    expect(login.status).toBe(200);
    expect(new URL(login.url).hostname).toBe('127.0.0.1');
    const csp = login.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain(`form-action 'self' ${PUBLIC}`);
    expect(csp).not.toContain('unsafe-inline');
    expect(login.body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    expect(login.body).toContain('<input id="email" name="email" type="email"');
    expect(login.body).toContain('<button id="sign-in" type="submit">');
    const css = await b.request(new URL('/dev-idp.css', login.url).href);
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);

    const callback = await b.navigate(loginForm(login).action, { method: 'POST', form: { email: 'Ada@Example.COM' }, stopAfter: isCallback });
    expectSignedIn(callback);
    expect(callback.headers.location).toBe('/mission-control');
    expect(setCookieNamed(callback, 'bureau_session')?.value).toMatch(/^lb_s_/);
    const me = JSON.parse((await b.request(`${PUBLIC}/api/me`)).body);
    expect(me.account.email).toBe('ada@example.com');
    expect(await t.services.identities.find('dev', 'ada@example.com')).toMatchObject({ accountId: me.account.id, emailVerified: true });
  });

  it('asks again at every sign-in, so one browser can switch between people', async () => {
    const b = browser();
    const first = await b.navigate(`${PUBLIC}/api/auth/dev/start`);
    await b.navigate(loginForm(first).action, { method: 'POST', form: { email: 'first@example.com' }, stopAfter: isCallback });
    const second = await b.navigate(`${PUBLIC}/api/auth/dev/start`);
    expect(second.status).toBe(200);
    const callback = await b.navigate(loginForm(second).action, { method: 'POST', form: { email: 'second@example.com' }, stopAfter: isCallback });
    expectSignedIn(callback);
    expect(JSON.parse((await b.request(`${PUBLIC}/api/me`)).body).account.email).toBe('second@example.com');
  });

  it('an email that is not one shows the form again with an error', async () => {
    const b = browser();
    const login = await b.navigate(`${PUBLIC}/api/auth/dev/start`);
    const again = await b.navigate(loginForm(login).action, { method: 'POST', form: { email: 'not an email <script>' } });
    expect(again.status).toBe(400);
    expect(again.body).toContain('id="login-error"');
    expect(again.body).not.toContain('<script>');
    const callback = await b.navigate(loginForm(again).action, { method: 'POST', form: { email: 'fixed@example.com' }, stopAfter: isCallback });
    expectSignedIn(callback);
  });

  it('cancel sends the browser back to the sign-in page with access_denied, no cookie', async () => {
    const b = browser();
    const login = await b.navigate(`${PUBLIC}/api/auth/dev/start`);
    const cancel = /<form id="dev-cancel" method="post" action="([^"]+)">/.exec(login.body)![1];
    const page = await b.navigate(new URL(cancel, login.url).href, { method: 'POST', form: {}, stopAfter: isCallback });
    expectSignInFailed(page, 'access_denied');
    expect(setCookieNamed(page, 'bureau_session')).toBeUndefined();
  });

  it('no code, state or session token reached a log line', () => {
    const secrets = browsers.flatMap(secretsSeen);
    expect(secrets.length).toBeGreaterThan(10);
    const logs = t.logs.join('\n');
    for (const s of secrets) expect(logs).not.toContain(s);
  });
});

describe('development identity provider in production', () => {
  it('BUREAU_DEV_IDP=on is a configuration error with NODE_ENV=production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', BUREAU_DEV_IDP: 'on' })).toThrow(ConfigError);
  });

  it('refuses a production spelled otherwise, which would leave the production locks off', () => {
    for (const NODE_ENV of ['Production', 'PRODUCTION', 'prod', 'production ']) {
      expect(() => loadConfig({ NODE_ENV, BUREAU_DEV_IDP: 'on', BUREAU_PUBLIC_URL: 'https://bureau.example.com' }), NODE_ENV).toThrow(
        /spelled exactly production/,
      );
    }
    expect(loadConfig({ NODE_ENV: 'staging', BUREAU_DEV_IDP: 'on' }).devIdentityProvider).toBe(true);
  });

  it('auto never turns it on in production, even with no provider configured', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).devIdentityProvider).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development' }).devIdentityProvider).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', BUREAU_GITHUB_CLIENT_ID: 'x', BUREAU_GITHUB_CLIENT_SECRET: 'y' }).devIdentityProvider).toBe(false);
  });

  it('the provider itself refuses to start with NODE_ENV=production', async () => {
    await expect(startDevIdentityProvider({ nodeEnv: 'production', redirectUri: `${PUBLIC}/api/auth/dev/callback`, port: 0 })).rejects.toThrow(
      DevIdentityProviderRefused,
    );
  });

  it('a production server offers no development sign-in', async () => {
    const t = await createTestApp({ env: { NODE_ENV: 'production', BUREAU_DEV_IDP: 'auto', BUREAU_PUBLIC_URL: 'https://bureau.test' } });
    try {
      expect((await t.app.inject({ method: 'GET', url: '/api/auth/providers' })).json().providers).toEqual([]);
      const start = await t.app.inject({ method: 'GET', url: '/api/auth/dev/start' });
      // The same as any provider that is not enabled: back to the sign-in page, no flow started.
      expect(start.statusCode).toBe(303);
      expect(start.headers.location).toBe('/sign-in?signin_error=unknown_provider');
      expect(start.headers['set-cookie']).toBeUndefined();
      expect(t.logs.join('\n')).not.toContain('dev_identity_provider');
    } finally {
      await t.close();
    }
  });
});
