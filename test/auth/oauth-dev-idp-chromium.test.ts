import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// The development sign-in in a real browser (Debian's Chromium): the redirect chain
// across two loopback ports, the login form under its strict CSP (no inline script or
// style: any violation fails the test), and the Secure session cookie kept on plain
// http loopback. Run for both spellings of loopback a developer may use.

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(() => browser?.close());

describe.each(['localhost', '127.0.0.1'])('development sign-in in Chromium on http://%s', (host) => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://${host}:${port}`;
    t = await createTestApp({ env: { BUREAU_PUBLIC_URL: base, BUREAU_DEV_IDP: 'on', PORT: String(port) } });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t?.close());

  it('signs in as a typed email and lands on returnTo with an httpOnly, Secure session cookie', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    try {
      await page.goto(`${base}/api/auth/dev/start?returnTo=/api/me`);
      await page.waitForSelector('form#dev-login');
      expect(new URL(page.url()).hostname).toBe('127.0.0.1');
      await page.fill('input[name=email]', 'chromium@example.com');
      await Promise.all([page.waitForURL(`${base}/api/me`), page.click('button#sign-in')]);
      const me = JSON.parse((await page.textContent('body')) ?? '{}');
      expect(me.account.email).toBe('chromium@example.com');
      expect(me.authentication.method).toBe('session');
      const cookie = (await context.cookies(base)).find((c) => c.name === 'bureau_session');
      expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
