import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { type ForgedIssuer, startForgedIssuer } from '../helpers/forged-oidc.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer.ts';
import { expectSignedIn, expectSignInFailed, reachCallback, secretsSeen, setCookieNamed, signInVia } from '../helpers/sign-in.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Everything that must NOT sign anyone in. Each case redirects (303) to the dashboard's
// /sign-in?signin_error=<stable code>, sets no session cookie, and clears the flow cookie.
//   acme:   a real oidc-provider (codes are single use at the provider too)
//   forged: a provider whose ID tokens the test shapes (wrong aud, iss, nonce, expired),
//           each signed with the provider's published key

const PUBLIC = 'https://bureau.test';
const SESSION = '__Host-bureau_session';
const FLOW = '__Host-bureau_signin';
const HOST = 'bureau.test';
let n = 0;
const unique = (label: string) => `${label}-${++n}-${Math.random().toString(36).slice(2, 7)}`;

let acme: OidcIssuer;
let forged: ForgedIssuer;
let t: TestApp;
const browsers: TestBrowser[] = [];
const browser = () => {
  const b = new TestBrowser(t.app, PUBLIC);
  browsers.push(b);
  return b;
};

beforeAll(async () => {
  const clock = new FakeClock(Date.now());
  acme = await startOidcIssuer({ redirectUris: [`${PUBLIC}/api/auth/acme/callback`] });
  forged = await startForgedIssuer({ now: () => clock.now() });
  t = await createTestApp({
    clock,
    env: {
      BUREAU_PUBLIC_URL: PUBLIC,
      BUREAU_OIDC_PROVIDERS: 'acme,forged',
      BUREAU_OIDC_ACME_ISSUER: acme.issuer,
      BUREAU_OIDC_ACME_CLIENT_ID: acme.clientId,
      BUREAU_OIDC_ACME_CLIENT_SECRET: acme.clientSecret,
      BUREAU_OIDC_FORGED_ISSUER: forged.issuer,
      BUREAU_OIDC_FORGED_CLIENT_ID: forged.clientId,
      BUREAU_OIDC_FORGED_CLIENT_SECRET: forged.clientSecret,
    },
  });
});
afterAll(async () => {
  await t?.close();
  await acme?.close();
  await forged?.close();
});

/** A callback that must fail: 303 to /sign-in?signin_error=<code>, no session, flow cookie gone. */
async function expectRefused(b: TestBrowser, url: URL | string, code: string) {
  const page = await b.request(String(url));
  expectSignInFailed(page, code);
  expect(setCookieNamed(page, SESSION)).toBeUndefined();
  expect(b.cookie(HOST, SESSION)).toBeUndefined();
  expect(b.cookie(HOST, FLOW)).toBeUndefined();
  return page;
}

function acmeUser() {
  acme.signInAs({ sub: unique('sub'), email: `${unique('u')}@example.com`, email_verified: true });
}

describe('state', () => {
  it('missing state is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    url.searchParams.delete('state');
    await expectRefused(b, url, 'state_mismatch');
  });

  it('altered state is refused, and the redirect echoes neither it nor the code', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    const state = url.searchParams.get('state')!;
    const altered = `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`;
    url.searchParams.set('state', altered);
    const page = await expectRefused(b, url, 'state_mismatch');
    for (const echoed of [page.headers.location, page.body]) {
      expect(echoed).not.toContain(altered);
      expect(echoed).not.toContain(url.searchParams.get('code'));
    }
  });

  it('a duplicated state parameter is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    url.searchParams.append('state', url.searchParams.get('state')!);
    await expectRefused(b, url, 'state_mismatch');
  });

  it('a callback without the flow cookie (another browser, login CSRF) is refused', async () => {
    acmeUser();
    const victim = browser();
    const url = await reachCallback(browser(), PUBLIC, 'acme');
    await expectRefused(victim, url, 'flow_missing');
  });

  it('an altered flow cookie is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    const sealed = b.cookie(HOST, FLOW)!;
    const i = Math.floor(sealed.length / 2);
    b.setCookie(HOST, FLOW, `${sealed.slice(0, i)}${sealed[i] === 'x' ? 'y' : 'x'}${sealed.slice(i + 1)}`);
    await expectRefused(b, url, 'state_mismatch');
  });

  it('a replayed state (the whole callback again, flow cookie restored) is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    const sealed = b.cookie(HOST, FLOW)!;
    const ok = await b.request(String(url));
    expectSignedIn(ok);
    const attacker = browser();
    attacker.setCookie(HOST, FLOW, sealed);
    await expectRefused(attacker, url, 'flow_replayed');
  });

  it("a state issued for one provider is refused at another provider's callback", async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    url.pathname = '/api/auth/forged/callback';
    await expectRefused(b, url, 'state_mismatch');
  });

  it('a flow older than ten minutes is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    t.clock.advance(10 * 60 * 1000 + 1);
    await expectRefused(b, url, 'flow_expired');
  });
});

describe('code', () => {
  it('a missing code is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    url.searchParams.delete('code');
    await expectRefused(b, url, 'invalid_response');
  });

  it('a replayed code, even inside a fresh flow of the same browser, is refused by the provider', async () => {
    acmeUser();
    const b = browser();
    const first = await reachCallback(b, PUBLIC, 'acme');
    expectSignedIn(await b.request(String(first)));
    // A new flow (new cookie, new state), then the old code with the new state.
    const fresh = await b.request(`${PUBLIC}/api/auth/acme/start`);
    const state = new URL(fresh.headers.location).searchParams.get('state')!;
    const replay = new URL(first);
    replay.searchParams.set('state', state);
    const page = await b.request(String(replay));
    expectSignInFailed(page, 'invalid_response');
    expect(b.cookie(HOST, SESSION)).toBeDefined(); // the first sign-in's, untouched
  });

  it('an altered code is refused', async () => {
    acmeUser();
    const b = browser();
    const url = await reachCallback(b, PUBLIC, 'acme');
    url.searchParams.set('code', `${url.searchParams.get('code')}x`);
    await expectRefused(b, url, 'invalid_response');
  });
});

describe("ID token checks (signed with the provider's own key)", () => {
  afterAll(() => forged.tamper(null));

  it('a correct ID token signs in (control)', async () => {
    forged.tamper(null);
    const page = await signInVia(browser(), PUBLIC, 'forged');
    expectSignedIn(page);
  });

  const cases: Array<[string, (c: Record<string, unknown>) => Record<string, unknown>, RegExp]> = [
    ['wrong aud', (c) => ({ ...c, aud: 'someone-else' }), /"aud"/],
    ['wrong iss', (c) => ({ ...c, iss: 'https://evil.example' }), /"iss"/],
    ['wrong nonce', (c) => ({ ...c, nonce: 'not-the-nonce-we-sent' }), /"nonce"/],
    ['no nonce', ({ nonce: _n, ...c }) => c, /"nonce"/],
    ['expired', (c) => ({ ...c, iat: Number(c.iat) - 3000, exp: Number(c.iat) - 120 }), /"exp"/],
  ];
  for (const [name, tamper, reason] of cases) {
    it(`an ID token with ${name} is refused`, async () => {
      forged.tamper(tamper);
      const before = t.logs.length;
      const b = browser();
      const url = await reachCallback(b, PUBLIC, 'forged');
      await expectRefused(b, url, 'invalid_response');
      const failure = t.logs
        .slice(before)
        .map((l) => JSON.parse(l))
        .find((l) => l.event === 'sign_in_failed');
      expect(failure).toMatchObject({ provider: 'forged', code: 'invalid_response' });
      expect(failure.reason).toMatch(reason);
    });
  }

  it('an ID token signed with another key is refused', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // The correct claims, signed with a key the provider never published.
    forged.tamper(null);
    forged.signWith(privateKey);
    try {
      const b = browser();
      const url = await reachCallback(b, PUBLIC, 'forged');
      await expectRefused(b, url, 'invalid_response');
    } finally {
      forged.signWith(null);
    }
  });
});

describe('returnTo', () => {
  for (const evil of ['//evil.example', 'https://evil.example', '/\\evil.example', '/\t/evil.example', 'javascript:alert(1)', 'evil.example']) {
    it(`returnTo=${JSON.stringify(evil)} lands on /`, async () => {
      acmeUser();
      const page = await signInVia(browser(), PUBLIC, 'acme', evil);
      expectSignedIn(page);
      expect(page.headers.location).toBe('/');
    });
  }

  it('a local path with a query and fragment is kept', async () => {
    acmeUser();
    const page = await signInVia(browser(), PUBLIC, 'acme', '/mission-control?since=5#live');
    expect(page.headers.location).toBe('/mission-control?since=5#live');
  });
});

describe('cookies on plain-http localhost (development)', () => {
  let dev: TestApp;
  let devAcme: OidcIssuer;
  const LOCAL = 'http://localhost:3000';
  beforeAll(async () => {
    devAcme = await startOidcIssuer({ redirectUris: [`${LOCAL}/api/auth/acme/callback`] });
    dev = await createTestApp({
      clock: new FakeClock(Date.now()),
      env: {
        BUREAU_PUBLIC_URL: LOCAL,
        BUREAU_OIDC_PROVIDERS: 'acme',
        BUREAU_OIDC_ACME_ISSUER: devAcme.issuer,
        BUREAU_OIDC_ACME_CLIENT_ID: devAcme.clientId,
        BUREAU_OIDC_ACME_CLIENT_SECRET: devAcme.clientSecret,
      },
    });
  });
  afterAll(async () => {
    await dev?.close();
    await devAcme?.close();
  });

  it('drops the __Host- prefix but keeps httpOnly, Secure, SameSite=Lax, Path=/ and no Domain', async () => {
    devAcme.signInAs({ sub: unique('local'), email: `${unique('local')}@example.com`, email_verified: true });
    const b = new TestBrowser(dev.app, LOCAL);
    const start = await b.request(`${LOCAL}/api/auth/acme/start`);
    const flow = setCookieNamed(start, 'bureau_signin')!;
    expect([...flow.attrs.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite', 'secure']);
    const page = await b.navigate(start.headers.location, { stopAfter: (p) => p.url.startsWith(`${LOCAL}/api/auth/acme/callback`) });
    expectSignedIn(page);
    const cookie = setCookieNamed(page, 'bureau_session')!;
    expect(cookie.value).toMatch(/^lb_s_/);
    expect([...cookie.attrs.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite', 'secure']);
    expect(cookie.attrs.get('samesite')).toBe('Lax');
    expect(cookie.attrs.get('path')).toBe('/');
  });
});

describe('provider away', () => {
  it('an OpenID provider that cannot be reached at start sends the browser to the sign-in page with the error, and is tried again next time', async () => {
    const away = await createTestApp({
      env: {
        BUREAU_PUBLIC_URL: PUBLIC,
        BUREAU_OIDC_PROVIDERS: 'away',
        // Nothing listens on port 9 (discard) of loopback.
        BUREAU_OIDC_AWAY_ISSUER: 'http://127.0.0.1:9',
        BUREAU_OIDC_AWAY_CLIENT_ID: 'x',
        BUREAU_OIDC_AWAY_CLIENT_SECRET: 'y',
      },
    });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const page = await new TestBrowser(away.app, PUBLIC).request(`${PUBLIC}/api/auth/away/start`);
        expectSignInFailed(page, 'provider_unavailable');
        expect(setCookieNamed(page, FLOW)).toBeUndefined();
      }
      const failures = away.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'sign_in_failed');
      expect(failures).toHaveLength(2);
      expect(failures[0].reason).toMatch(/discovery failed/);
    } finally {
      await away.close();
    }
  });
});

describe('logs', () => {
  it('no authorization code, state, flow cookie or session token seen in this file reached a log line', () => {
    const secrets = browsers.flatMap(secretsSeen);
    expect(secrets.length).toBeGreaterThan(50);
    const logs = t.logs.join('\n');
    for (const s of secrets) expect(logs).not.toContain(s);
  });
});
