import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/server-process.ts';
import { type LiveServer, screenshot, sessionCookie, signIn, startLiveServer } from './browser.ts';
import { E2E_TIMEOUT, type PageOptions, allowClipboard, dashboardSuite } from './fixture.ts';
import { focused, tabTo } from './keyboard.ts';

/*
 * The dashboard end to end: Debian's Chromium, driven by playwright-core, against the
 * real server listening on loopback, signing in through the local OpenID provider.
 * Each page is screenshotted into test-results/screenshots/ for review.
 */

describe('the dashboard in a real browser', () => {
  const suite = dashboardSuite();
  // Every test here reads the one live server of this file.
  let server: LiveServer;

  async function newPage(options: PageOptions = {}): Promise<Page> {
    server = suite.server;
    const page = await suite.newPage(options);
    await allowClipboard(page, server.base);
    return page;
  }

  /** The API as a program calls it, from this test process. */
  const callApi = (path: string, headers: Record<string, string>) => fetch(server.base + path, { headers });

  it(
    'the path a new user takes: sign in, desktop, key shown once and used, live feed, revoke, sign out',
    async () => {
      const page = await newPage();

      // Signed out, every page leads to sign-in.
      await page.goto(`${server.base}/api-keys`);
      await page.locator('a.provider-dev').waitFor();
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      await screenshot(page, '01-sign-in');

      // Sign in through the development OpenID provider; back on the page asked for.
      await page.locator('a.provider-dev').click();
      await page.locator('input#email').fill('ada@example.com');
      await screenshot(page, '02-dev-provider-login');
      await page.locator('button#sign-in').click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/api-keys');
      await expect.poll(() => page.locator('.topbar .email').textContent()).toBe('ada@example.com');
      await page.getByText('No API keys yet.').waitFor();
      await screenshot(page, '03-api-keys-empty');

      // Mission control open in a second tab of the same browser: it must update live.
      const feed = await page.context().newPage();
      suite.watch(feed);
      await feed.goto(`${server.base}/activity`);
      await feed.getByTestId('stream-status').getByText('Live').waitFor();
      await feed.locator('[data-type="session.started"]').first().waitFor();
      // Survives only if the tab is never reloaded.
      await feed.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

      // Create a desktop.
      await page.getByRole('link', { name: 'Desktops' }).click();
      await page.getByText('No desktops yet.').waitFor();
      await screenshot(page, '04-desktops-empty');
      await page.getByLabel('New desktop name').fill('research-agent');
      await page.getByRole('button', { name: 'Create desktop' }).click();
      // This server runs no desktops: the desktop is recorded failed, saying why.
      const row = page.getByTestId('desktop-row').filter({ hasText: 'research-agent' });
      await row.getByText('Failed').waitFor();
      expect(await row.getByTestId('desktop-failure').textContent()).toBe('This server runs no desktops (BUREAU_DESKTOPS=off)');

      // Rename it.
      await row.getByRole('button', { name: 'Rename research-agent' }).click();
      await page.getByLabel('New name for research-agent').fill('research-desk');
      await page.getByLabel('New name for research-agent').press('Enter');
      await page.getByTestId('desktop-row').filter({ hasText: 'research-desk' }).waitFor();
      await screenshot(page, '05-desktops');

      // Create a key; read it from the dialog, the one time it is shown.
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByLabel('Name').fill('ci-pipeline');
      await page.getByLabel('Expires').selectOption('90');
      await page.getByRole('button', { name: 'Create key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      await dialog.waitFor();
      await dialog.getByText('it will not be shown again').waitFor();
      const key = await dialog.getByTestId('new-api-key').inputValue();
      expect(key).toMatch(/^lb_k_[A-Za-z0-9_]+$/);
      await screenshot(page, '06-new-key-dialog');
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByText('Copied to the clipboard.').waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
      await dialog.getByRole('button', { name: /close/ }).click();
      await dialog.waitFor({ state: 'detached' });
      // Gone from the page once the dialog is closed.
      expect(await page.content()).not.toContain(key);

      // The key works for a program.
      const listed = await callApi('/api/desktops', { 'x-api-key': key });
      expect(listed.status).toBe(200);
      expect(((await listed.json()) as { desktops: Array<{ name: string }> }).desktops.map((d) => d.name)).toEqual(['research-desk']);

      // Its first use is where its integration lives: recorded, no alarm. A use from another
      // address it never came from (and no session of the owner used) stands out in the live
      // feed, next to the desktop and key events, all without a reload.
      for (const type of ['desktop.created', 'desktop.updated', 'api_key.created', 'api_key.first_use'])
        await feed.locator(`[data-type="${type}"]`).first().waitFor();
      expect(await feed.locator('[data-type="api_key.first_use"]').first().getAttribute('class')).not.toContain('event-alert');
      expect((await request(`${server.base}/api/desktops`, { headers: { 'x-api-key': key }, localAddress: '127.0.0.2' })).status).toBe(200);
      const unexpected = feed.locator('[data-type="alert.new_address"]');
      await unexpected.waitFor();
      expect(await unexpected.getAttribute('class')).toContain('event-alert');
      expect(await unexpected.textContent()).toContain('Unexpected usage?');
      expect(await unexpected.textContent()).toContain('ci-pipeline');
      expect(await feed.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      await screenshot(feed, '07-mission-control-live');

      // The key list shows every field, including where it was last used from.
      const keyRow = page.getByTestId('api-key-row').filter({ hasText: 'ci-pipeline' });
      await keyRow.getByText('from 127.0.0.2').waitFor();
      const keyId = await keyRow.getAttribute('data-key-id');
      expect(key.startsWith(keyId!)).toBe(true);
      for (const text of [keyId!, 'Active', 'just now']) await keyRow.getByText(text).first().waitFor();
      await screenshot(page, '08-api-keys');

      // Revoke it in the dashboard, after a confirmation; the API refuses it at once.
      await keyRow.getByRole('button', { name: 'Revoke ci-pipeline' }).click();
      const confirm = page.getByRole('dialog', { name: 'Revoke “ci-pipeline”?' });
      await screenshot(page, '09-revoke-confirmation');
      await confirm.getByRole('button', { name: 'Revoke key' }).click();
      await keyRow.getByText('Revoked').waitFor();
      expect((await callApi('/api/desktops', { 'x-api-key': key })).status).toBe(401);
      await feed.locator('[data-type="api_key.revoked"]').waitFor();

      // Sessions: this one, with its device.
      await page.getByRole('link', { name: 'Sessions' }).click();
      const current = page.getByTestId('session-row').filter({ hasText: 'This session' });
      await current.getByText(/Chrome on Linux/).waitFor();
      await screenshot(page, '10-sessions');

      // Sign out: back to sign-in, and the old cookie is refused.
      const cookie = await sessionCookie(page.context());
      expect((await callApi('/api/me', { cookie })).status).toBe(200);
      await page.locator('main').getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByText('You are signed out.').waitFor();
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      expect((await callApi('/api/me', { cookie })).status).toBe(401);
      await screenshot(page, '11-signed-out');
      // The other tab finds out too, and goes to sign-in.
      await feed.locator('a.provider-dev').waitFor();
    },
    E2E_TIMEOUT,
  );

  it(
    'a new key is never kept: not in localStorage, sessionStorage, the URL or the history',
    async () => {
      const page = await newPage();
      // Every URL the page ever puts in the address bar or history.
      await page.addInitScript(() => {
        const seen: string[] = [];
        (window as unknown as { seenUrls: string[] }).seenUrls = seen;
        for (const method of ['pushState', 'replaceState'] as const) {
          const original = history[method].bind(history);
          history[method] = (data: unknown, unused: string, url?: string | URL | null) => {
            seen.push(String(url ?? ''));
            return original(data, unused, url);
          };
        }
      });
      const navigations: string[] = [];
      page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));

      await signIn(page, server.base, 'grace@example.com', '/api-keys');
      await page.getByLabel('Name').fill('deploy-bot');
      await page.getByRole('button', { name: 'Create key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      const key = await dialog.getByTestId('new-api-key').inputValue();
      expect(key).toMatch(/^lb_k_/);

      const stored = async () =>
        page.evaluate(() => {
          const dump = (s: Storage) => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i)!)}`).join('\n');
          return { local: dump(localStorage), session: dump(sessionStorage), url: location.href, historyLength: history.length, cookie: document.cookie };
        });
      const check = async () => {
        const s = await stored();
        for (const v of [s.local, s.session, s.url, s.cookie]) expect(v).not.toContain(key);
        for (const u of await page.evaluate(() => (window as unknown as { seenUrls: string[] }).seenUrls)) expect(u).not.toContain(key);
        for (const u of [...navigations, ...requests]) expect(u).not.toContain(key);
      };
      await check(); // while the dialog is open
      // Not copied: closing asks first.
      await dialog.getByRole('button', { name: /close/ }).click();
      await page.getByRole('dialog', { name: 'Close without copying the key?' }).getByRole('button', { name: 'Close, I do not need it' }).click();
      await dialog.waitFor({ state: 'detached' });
      await check();
      expect(await page.content()).not.toContain(key);
      // Going back and forth through the history never brings it back.
      await page.getByRole('link', { name: 'Desktops' }).click();
      await page.goBack();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(await page.content()).not.toContain(key);
      await check();
      await page.reload();
      await page.getByTestId('api-key-row').first().waitFor();
      expect(await page.content()).not.toContain(key);
      await check();
    },
    E2E_TIMEOUT,
  );

  it(
    'the live feed resumes after the stream drops, without losing what happened meanwhile; history loads on scroll',
    async () => {
      const page = await newPage({ height: 600 });
      await signIn(page, server.base, 'linus@example.com', '/activity');
      await page.getByTestId('stream-status').getByText('Live').waitFor();
      const me = (await (await fetch(`${server.base}/api/me`, { headers: { cookie: await sessionCookie(page.context()) } })).json()) as {
        account: { id: string };
      };
      const { key } = await server.services.apiKeys.create(me.account.id, { name: 'history-maker' }, { type: 'operator', id: null }, null);
      const post = (name: string) =>
        fetch(`${server.base}/api/desktops`, {
          method: 'POST',
          headers: { 'x-api-key': key, 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });

      // Enough history for more than one page (50 per page).
      for (let i = 1; i <= 60; i++) expect((await post(`desk-${String(i).padStart(2, '0')}`)).status).toBe(201);
      await page.locator('[data-type="desktop.created"]').getByText('desk-60').waitFor();

      // The server drops every stream; a desktop is created while the page is disconnected.
      server.services.streams.closeAll('server_shutdown');
      expect((await post('made-during-the-drop')).status).toBe(201);
      await page.getByText('Desktop “made-during-the-drop” created').waitFor();
      await page.getByTestId('stream-status').getByText('Live').waitFor();
      expect((await post('made-after-the-drop')).status).toBe(201);
      await page.getByText('Desktop “made-after-the-drop” created').waitFor();

      // A fresh load shows the newest page; scrolling down loads the rest, down to the sign-in.
      await page.reload();
      await page.getByText('Desktop “made-after-the-drop” created').waitFor();
      const count = () => page.getByTestId('activity-event').count();
      expect(await count()).toBeLessThanOrEqual(50);
      for (let i = 0; i < 10 && !(await page.getByText('That is everything.').isVisible()); i++) {
        await page.mouse.wheel(0, 5000);
        await page.waitForTimeout(100);
      }
      await page.getByText('That is everything.').waitFor();
      // Every event exactly once: 1 sign-in + 1 key + 62 desktops (+ the key's first-use alert).
      const ids = await page.getByTestId('activity-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
      expect(ids.filter((t) => t === 'desktop.created')).toHaveLength(62);
      expect(ids.filter((t) => t === 'session.started')).toHaveLength(1);
      // The end of the feed as it looks on screen (the whole page would be very tall).
      await page.getByText('That is everything.').scrollIntoViewIfNeeded();
      await screenshot(page, '12-mission-control-history', { fullPage: false });
    },
    E2E_TIMEOUT,
  );

  it(
    'ending another session signs that browser out; keyboard only; readable on a narrow screen',
    async () => {
      const laptop = await newPage();
      await signIn(laptop, server.base, 'margaret@example.com', '/sessions');
      const phone = await newPage({ width: 390, height: 844 });
      await signIn(phone, server.base, 'margaret@example.com', '/desktops');
      const phoneCookie = await sessionCookie(phone.context());

      // The laptop's list picks up the phone's session live.
      await laptop.getByTestId('session-row').nth(1).waitFor();
      await screenshot(laptop, '13-sessions-two-devices');

      // Narrow screen: a desktop created with the keyboard alone.
      await tabTo(phone, 'desktop-name');
      await phone.keyboard.type('phone-desk');
      await phone.keyboard.press('Enter');
      await phone.getByTestId('desktop-row').filter({ hasText: 'phone-desk' }).waitFor();
      // No sideways scrolling on a phone.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(phone, '14-desktops-narrow');
      // Delete with the keyboard: the confirmation opens with Cancel focused, Escape closes
      // it and gives focus back; Tab reaches the destructive choice.
      await tabTo(phone, 'Delete phone-desk');
      await phone.keyboard.press('Enter');
      const confirm = phone.getByRole('dialog', { name: 'Delete “phone-desk”?' });
      await confirm.waitFor();
      expect(await focused(phone)).toBe('Cancel');
      await phone.keyboard.press('Escape');
      await confirm.waitFor({ state: 'detached' });
      expect(await focused(phone)).toBe('Delete phone-desk');
      await phone.keyboard.press('Enter');
      await confirm.waitFor();
      await phone.keyboard.press('Tab');
      expect(await focused(phone)).toBe('Delete desktop');
      await phone.keyboard.press('Enter');
      await phone.getByText('No desktops yet.').waitFor();

      await phone.getByRole('link', { name: 'API keys' }).click();
      await phone.getByLabel('Name').fill('phone-key');
      await phone.getByRole('button', { name: 'Create key' }).click();
      await phone.getByTestId('new-api-key').waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(phone, '15-new-key-dialog-narrow');
      // Escape before copying asks first; the safe answer has the focus, so Enter goes back.
      await phone.keyboard.press('Escape');
      const sure = phone.getByRole('dialog', { name: 'Close without copying the key?' });
      await sure.waitFor();
      expect(await focused(phone)).toBe('Go back to the key');
      await phone.keyboard.press('Enter');
      await sure.waitFor({ state: 'detached' });
      await phone.getByTestId('new-api-key').waitFor();
      await phone.keyboard.press('Escape');
      await sure.waitFor();
      await phone.keyboard.press('Tab');
      await phone.keyboard.press('Enter');
      await phone.getByTestId('new-api-key').waitFor({ state: 'detached' });
      await phone.getByTestId('api-key-row').waitFor();
      await screenshot(phone, '16-api-keys-narrow');

      // The laptop ends the phone's session: the phone's cookie stops working at once.
      await laptop.reload();
      const other = laptop.getByTestId('session-row').filter({ hasNotText: 'This session' });
      await other.getByRole('button', { name: /End session/ }).click();
      await laptop.getByRole('dialog', { name: 'End this session?' }).getByRole('button', { name: 'End session' }).click();
      await other.waitFor({ state: 'detached' });
      expect((await fetch(`${server.base}/api/me`, { headers: { cookie: phoneCookie } })).status).toBe(401);
      // The phone notices on its next request (here, its live feed) and shows sign-in.
      await phone.locator('a.provider-dev').waitFor();
      await phone.getByText('Your session has ended. Sign in again.').waitFor();
      await screenshot(phone, '17-signed-out-narrow');
    },
    E2E_TIMEOUT,
  );

  it(
    'over the rate limit, the page names the budget that ran out (this session) and counts down to when to try again',
    async () => {
      const limited = await startLiveServer({ BUREAU_RATE_LIMIT_PER_MINUTE: '15' });
      try {
        const page = await newPage();
        await signIn(page, limited.base, 'rosalind@example.com', '/desktops');
        // The refused creation says it, and so does the list when its reload is refused too.
        const notice = page.getByRole('alert').filter({ hasText: 'Too many requests' }).first();
        for (let i = 1; i <= 15 && !(await notice.isVisible()); i++) {
          await page.getByLabel('New desktop name').fill(`busy-${i}`);
          await page.getByRole('button', { name: 'Create desktop' }).click();
          await page
            .getByTestId('desktop-row')
            .filter({ hasText: `busy-${i}` })
            .or(notice)
            .first()
            .waitFor();
        }
        // The 429's budget, in words, then the server's Retry-After as a countdown and a time of day.
        const secondsLeft = async () => {
          const text = (await notice.textContent()) ?? '';
          expect(text).toMatch(/(^|\. )Too many requests: the budget of this session is used up\. Try again in \d+ seconds? \(at .+\)\.$/);
          return Number(/in (\d+) second/.exec(text)![1]);
        };
        const first = await secondsLeft();
        expect(first).toBeGreaterThan(1);
        await expect.poll(secondsLeft, { timeout: 5000 }).toBeLessThan(first);
        await screenshot(page, '19-rate-limited');
      } finally {
        await limited.close();
      }
    },
    E2E_TIMEOUT,
  );

  it(
    'a sign-in cancelled at the provider is explained plainly on the sign-in page, and signing in again works',
    async () => {
      const page = await newPage();
      await page.goto(server.base);
      await page.locator('a.provider-dev').click();
      // The callback's answer: a 303 to the dashboard with a fixed code, and no session cookie.
      const callback = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/dev/callback');
      await page.locator('button#cancel').click();
      const answer = await callback;
      expect(answer.status()).toBe(303);
      expect(await answer.headerValue('location')).toBe('/sign-in?signin_error=access_denied');
      const setCookies = (await answer.headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
      expect(setCookies.filter((c) => c.startsWith('bureau_session='))).toEqual([]);

      // The dashboard's sign-in page says it in plain words, in an alert.
      const alert = page.getByRole('alert').filter({ hasText: 'Sign-in was cancelled at the provider.' });
      await alert.waitFor();
      await page.locator('a.provider-dev').waitFor();
      // The code is gone from the address bar, so a reload or a bookmark does not repeat it.
      await expect.poll(() => page.url()).toBe(`${server.base}/sign-in`);
      await screenshot(page, '18-sign-in-cancelled');
      expect(await page.context().cookies()).not.toContainEqual(expect.objectContaining({ name: 'bureau_session' }));
      await page.reload();
      await page.locator('a.provider-dev').waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);

      // A code this dashboard does not know gets a general sentence, never the URL's text.
      await page.goto(`${server.base}/sign-in?signin_error=made_up_code`);
      await page.getByRole('alert').filter({ hasText: 'Sign-in did not complete. Try again.' }).waitFor();
      expect(await page.locator('body').textContent()).not.toContain('made_up_code');

      // And this time all the way in.
      await page.locator('a.provider-dev').click();
      await page.locator('input#email').fill('barbara@example.com');
      await page.locator('button#sign-in').click();
      await page.getByRole('heading', { name: 'Desktops' }).waitFor();
      await expect.poll(() => page.locator('.topbar .email').textContent()).toBe('barbara@example.com');
    },
    E2E_TIMEOUT,
  );
});
