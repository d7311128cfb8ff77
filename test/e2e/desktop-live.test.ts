import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { screenshot, signIn } from './browser.ts';
import { expectAccessible } from './axe.ts';
import { OPERATOR, createKey } from './data.ts';
import { E2E_TIMEOUT, allowClipboard, dashboardSuite } from './fixture.ts';
import { focused } from './keyboard.ts';
import { expectCanvasShowsDesktop, keyApi, pagePoint, waitForState } from './live-screen.ts';

/*
 * The dashboard's desktops with real ones (bubblewrap + Xvnc, which needs root, as CI
 * has): thumbnails of running desktops, a desktop's page with its live screen (noVNC,
 * bundled into our assets, under the strict CSP), view only and control, start and stop,
 * reconnection, and a watch-only link opened by someone without an account.
 */
describe('desktops, live', () => {
  const suite = dashboardSuite({ BUREAU_DESKTOPS: 'local' });

  /** A signed-in page (tall enough to show a whole screen), with a key for checking through the API. */
  const start = async (email: string, options: { desktop?: string } = {}) => {
    const page = await suite.newPage({ height: 1000 });
    await signIn(page, suite.server.base, email, '/desktops');
    const me = await suite.accountOf(page);
    const api = keyApi(suite.server, (await createKey(suite.server, me.id, 'checks')).key);
    let id = '';
    if (options.desktop) {
      id = (await suite.server.services.desktops.create({ accountId: me.id }, { name: options.desktop }, OPERATOR, null)).id;
      await waitForState(api, id, 'running');
    }
    return { page, me, api, id };
  };

  const screenshotRequests = (page: Page) => {
    const seen: number[] = [];
    page.on('request', (r: Request) => {
      if (/\/api\/desktops\/[^/]+\/screenshot$/.test(new URL(r.url()).pathname)) seen.push(Date.now());
    });
    return seen;
  };

  const setPageHidden = (page: Page, hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);

  it(
    'shows a live thumbnail of each running desktop, asks nothing while the page is hidden, and never keeps a desktop from idling',
    async () => {
      const { page, api, id } = await start('thumbs@example.com', { desktop: 'thumbed' });
      const seen = screenshotRequests(page);
      const thumb = page.getByTestId('desktop-row').filter({ hasText: 'thumbed' }).getByTestId('desktop-thumbnail');
      await expect.poll(() => thumb.getAttribute('data-state'), { timeout: 10_000 }).toBe('shown');
      // The real screen, as a data: URL (img-src allows data:, not blob:): the desktop's size, and,
      // by a later refresh at the latest, not blank (a desktop runs once it answers a screenshot,
      // which may come before its first window is drawn: CI once saw the bare background).
      const thumbnailImage = () =>
        thumb.locator('img').evaluate((el: HTMLImageElement) => {
          const c = document.createElement('canvas');
          c.width = el.naturalWidth;
          c.height = el.naturalHeight;
          const ctx = c.getContext('2d')!;
          ctx.drawImage(el, 0, 0);
          const data = ctx.getImageData(0, 0, c.width, c.height).data;
          const colours = new Set<number>();
          for (let i = 0; i < data.length; i += 4 * 101) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
          return { scheme: el.src.slice(0, 22), width: el.naturalWidth, height: el.naturalHeight, colours: colours.size };
        });
      expect(await thumbnailImage()).toMatchObject({ scheme: 'data:image/png;base64,', width: 1280, height: 800 });
      await expect.poll(async () => (await thumbnailImage()).colours, { timeout: 12_000 }).toBeGreaterThan(2);
      await screenshot(page, 'desktops-thumbnails');
      // Refreshed every 5 s while visible.
      await expect.poll(() => seen.length, { timeout: 12_000 }).toBeGreaterThanOrEqual(2);

      // Hidden: nothing is asked for longer than two refreshes; visible again: asked at once.
      await setPageHidden(page, true);
      await page.waitForTimeout(500);
      const before = seen.length;
      await page.waitForTimeout(11_000);
      expect(seen.length).toBe(before);
      await setPageHidden(page, false);
      await expect.poll(() => seen.length, { timeout: 3000 }).toBeGreaterThan(before);

      // Screenshots are not use: with thumbnails refreshing all along, the desktop is idle
      // from the moment it ran. (Were a screenshot a use, the last one, under 5 s ago,
      // would keep it running for a 5 s idle limit.)
      await expect.poll(() => seen.length, { timeout: 8000 }).toBeGreaterThan(before + 1);
      expect(Date.now() - seen[seen.length - 1]).toBeLessThan(5000);
      const idle = suite.server.services.desktopControl['deps'].idle;
      expect(await suite.server.services.desktops.stopIdle(idle, 5000)).toBe(1);
      await waitForState(api, id, 'stopped');
      // The list follows (the live feed), and the thumbnail goes with the running state.
      await page.getByTestId('desktop-row').filter({ hasText: 'thumbed' }).getByText('Stopped').waitFor();
      expect(await thumb.getAttribute('data-state')).toBe('none');
    },
    E2E_TIMEOUT,
  );

  it(
    'a desktop’s page starts it, shows its screen, sends nothing in view only, and lets control reach it',
    async () => {
      const { page, api, id } = await start('pilot@example.com', { desktop: 'piloted' });
      await api.call('PATCH', `/api/desktops/${id}`, { state: 'stopped' });
      await page.getByRole('link', { name: 'piloted', exact: true }).click();
      await page.waitForURL(`${suite.server.base}/desktops/${id}`);
      // The title names the desktop once the page has read it (the address changes first).
      await expect.poll(() => page.title()).toBe('piloted · Desktops · Le Bureau');
      await page.getByTestId('live-placeholder').getByText('The desktop is stopped. Start it to see its screen.').waitFor();

      // The page's CSP allows connections to 'self' only: no ws: or wss: source. The live
      // view's same-origin WebSocket works under it (and the suite fails on any CSP report).
      const csp = (await fetch(`${suite.server.base}/desktops/${id}`)).headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/(^|;)connect-src 'self'(;|$)/);
      expect(csp).not.toMatch(/wss?:/);

      // Start: the state follows, and the screen connects by itself, view only at first.
      await page.getByTestId('desktop-toggle').click();
      await page.locator('.desktop-title').getByText('Running').waitFor({ timeout: 30_000 });
      const status = page.getByTestId('live-status');
      await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe('Connected, view only: nothing you do here reaches the desktop.');
      await expectCanvasShowsDesktop(page, api, id);
      expect(await page.locator('[data-testid="live-screen"] canvas').getAttribute('aria-label')).toBe('Screen of the desktop “piloted”, view only');
      await screenshot(page, 'desktop-live-view-only');

      // View only: a click and typing reach nothing.
      await api.call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 5, y: 5 }] });
      const target = await pagePoint(page, 400, 300);
      await page.mouse.move(target.x, target.y);
      await page.mouse.click(target.x, target.y);
      await page.keyboard.type('echo nothing > viewonly.txt\n');
      await page.waitForTimeout(500);
      expect(await api.cursor(id)).toEqual({ x: 5, y: 5 });
      expect((await api.exec(id, 'test -e viewonly.txt && echo yes || echo no')).stdout.trim()).toBe('no');

      // Control: the pointer follows, a click lands where it was made, and typed keys arrive.
      await page.getByText('Control', { exact: true }).click();
      await expect.poll(() => status.textContent()).toBe('Connected, in control: your clicks and keys reach the desktop.');
      const spot = await pagePoint(page, 321, 234);
      await page.mouse.move(spot.x, spot.y);
      await expect.poll(() => api.cursor(id), { timeout: 5000 }).toEqual({ x: 321, y: 234 });
      await page.mouse.click(spot.x, spot.y);
      expect(await focused(page)).toBe('Screen of the desktop “piloted”');
      await page.keyboard.type('echo typed-in-the-browser > typed.txt\n');
      await expect.poll(async () => (await api.exec(id, 'cat typed.txt')).stdout, { timeout: 5000 }).toBe('typed-in-the-browser\n');
      await screenshot(page, 'desktop-live-control');

      // Every key goes to the desktop, Tab too; Escape then Tab leaves the screen.
      await page.keyboard.press('Tab');
      expect(await focused(page)).toBe('Screen of the desktop “piloted”');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Tab');
      expect(await focused(page)).toBe('share-lifetime');
      await page.keyboard.press('Shift+Tab');
      expect(await focused(page)).toBe('Screen of the desktop “piloted”');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Shift+Tab');
      expect(await focused(page)).toBe('mode-control');

      // axe on the page with a live screen, light and dark.
      await expectAccessible(page, 'desktop page, live (light)');
      await page.emulateMedia({ colorScheme: 'dark' });
      await expectAccessible(page, 'desktop page, live (dark)');
      await page.emulateMedia({ colorScheme: 'light' });

      // A dropped connection says so and reconnects by itself.
      suite.server.services.liveViews.closeAll('unresponsive');
      await expect.poll(() => status.textContent(), { timeout: 5000 }).toMatch(/^The connection stopped answering\. Reconnecting…$|^Connected/);
      await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('Connected, in control: your clicks and keys reach the desktop.');
      await expectCanvasShowsDesktop(page, api, id);

      // Stopped (here from the page): the screen gives way to a message; started elsewhere, it comes back.
      await page.getByTestId('desktop-toggle').click();
      await page.getByTestId('live-placeholder').getByText('The desktop is stopped. Start it to see its screen.').waitFor({ timeout: 30_000 });
      expect(await focused(page)).toBe('Start');
      await api.call('PATCH', `/api/desktops/${id}`, { state: 'running' });
      await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe('Connected, in control: your clicks and keys reach the desktop.');
      await expectCanvasShowsDesktop(page, api, id);
    },
    E2E_TIMEOUT,
  );

  it(
    'shares a watch-only link: it opens without an account, shows the desktop, sends nothing, and stops when revoked',
    async () => {
      const { page, api, id } = await start('sharer@example.com', { desktop: 'shared' });
      await allowClipboard(page, suite.server.base);
      await page.goto(`${suite.server.base}/desktops/${id}`);
      await page.getByLabel('Works for').selectOption({ label: '1 hour' });
      await page.getByRole('button', { name: 'Make a link' }).click();
      const field = page.locator('#share-url');
      await field.waitFor();
      const link = await field.inputValue();
      // The ticket rides in the fragment, never sent to the server with the page's request.
      expect(link).toMatch(new RegExp(`^${suite.server.base}/view#desktop=${id}&ticket=lb_vt_[A-Za-z0-9]{32}$`));
      await expect.poll(() => focused(page)).toBe('share-url');
      await page.getByRole('button', { name: 'Copy link of shared' }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
      const tickets = page.getByTestId('view-ticket');
      await expect.poll(() => tickets.count()).toBe(1);
      expect(await tickets.first().textContent()).toMatch(
        /^Watch only, made just now by you in this browser, expires in (60 minutes|1 hour) \(the link above\)Revoke$/,
      );
      const listed = await api.json<{ viewTickets: Array<{ mode: string; expiresAt: string }> }>('GET', `/api/desktops/${id}/view-tickets`);
      expect(listed.viewTickets.map((t) => t.mode)).toEqual(['view']);
      expect(Date.parse(listed.viewTickets[0].expiresAt) - Date.now()).toBeGreaterThan(3500_000);
      await screenshot(page, 'desktop-share-link');
      await expectAccessible(page, 'desktop page, link made');

      // Someone without an account: a fresh browser context, no cookie.
      const viewer = await suite.newPage({ height: 1000 });
      const pageRequests: string[] = [];
      viewer.on('request', (r) => pageRequests.push(r.url()));
      await viewer.goto(link);
      const status = viewer.getByTestId('live-status');
      await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe('Connected, view only: nothing you do here reaches the desktop.');
      expect(await viewer.title()).toBe('Shared desktop · Le Bureau');
      await expectCanvasShowsDesktop(viewer, api, id);
      expect((await viewer.context().cookies()).length).toBe(0);
      // The page itself was asked for without the ticket (a fragment is not sent).
      expect(pageRequests.filter((u) => new URL(u).pathname === '/view').every((u) => !u.includes('lb_vt_'))).toBe(true);
      await screenshot(viewer, 'viewer');
      await expectAccessible(viewer, 'viewer (light)');
      await viewer.emulateMedia({ colorScheme: 'dark' });
      await expectAccessible(viewer, 'viewer (dark)');

      await api.call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 7, y: 7 }] });
      const spot = await pagePoint(viewer, 200, 200);
      await viewer.mouse.move(spot.x, spot.y);
      await viewer.mouse.click(spot.x, spot.y);
      await viewer.waitForTimeout(500);
      expect(await api.cursor(id)).toEqual({ x: 7, y: 7 });

      // Revoked: the viewer is told at once, and the link no longer opens anything.
      await tickets
        .first()
        .getByRole('button', { name: /^Revoke/ })
        .click();
      await expect.poll(() => status.textContent(), { timeout: 5000 }).toBe('This link was revoked by the person who shared it.');
      expect(await viewer.getByTestId('live-screen').getAttribute('data-phase')).toBe('ended');
      await page.getByText('None.').waitFor();
      expect(await focused(page)).toBe('share-create');
      await viewer.reload();
      await expect
        .poll(() => status.textContent(), { timeout: 10_000 })
        .toBe('This link no longer works: it was revoked, it expired, or its desktop was deleted.');
      await expectAccessible(viewer, 'viewer, link revoked');
    },
    E2E_TIMEOUT,
  );
});
