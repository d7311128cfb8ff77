import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { screenshot, signIn } from './browser.ts';
import { createDesktop, createKey, useKey } from './data.ts';
import { E2E_TIMEOUT, allowClipboard, dashboardSuite } from './fixture.ts';

/*
 * A phone: 390 px wide. Nothing may spill out of its box, and the header must leave the
 * screen to the page.
 */

const PHONE = { width: 390, height: 844 };
/** The longest address form there is: a key used from it must still fit its card. */
const LONG_IPV6 = '2001:db8:85a3:1234:5678:8a2e:370:7334';

/** The parts of `inner` (each line box of wrapped text) that stick out of `outer`, if any. */
async function overflow(inner: Locator, outer: Locator): Promise<string[]> {
  const box = await outer.boundingBox();
  if (!box) throw new Error('the container is not on screen');
  const rects = await inner.evaluate((el) => {
    const out: Array<{ text: string; left: number; right: number }> = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) out.push({ text: n.textContent ?? '', left: r.left, right: r.right });
    }
    return out;
  });
  return rects
    .filter((r) => r.left < box.x - 0.5 || r.right > box.x + box.width + 0.5)
    .map((r) => `${r.text} [${r.left}, ${r.right}] outside [${box.x}, ${box.x + box.width}]`);
}

async function headerHeight(page: Page): Promise<number> {
  return (await page.locator('header.topbar').boundingBox())!.height;
}

describe('on a 390 px screen', () => {
  // Requests from the test process may say where they come from (X-Forwarded-For), as through a proxy.
  const suite = dashboardSuite({ BUREAU_TRUST_PROXY: '127.0.0.1' });

  it(
    'the header takes at most 80 px on every page, with the menu on one line, and nothing scrolls sideways',
    async () => {
      const page = await suite.newPage(PHONE);
      await signIn(page, suite.server.base, 'header@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const metered = await createKey(suite.server, me.id, 'metered');
      for (const path of ['/desktops', '/api-keys', '/sessions', '/activity', '/alerts', `/api-keys/${metered.apiKey.id}`, '/nowhere']) {
        await page.goto(suite.server.base + path);
        await page.locator('h1').waitFor();
        expect(await headerHeight(page), path).toBeLessThanOrEqual(80);
        expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(PHONE.width);
        // Every menu entry on the same line.
        const tops = await page.locator('header.topbar nav a').evaluateAll((links) => links.map((a) => Math.round(a.getBoundingClientRect().top)));
        expect(new Set(tops).size, path).toBe(1);
      }
      // A desktop's page, with a watch-only link made (a long one), and the viewer it opens.
      const desk = await createDesktop(suite.server, me.id, 'a-desktop-with-a-rather-long-name-that-must-wrap');
      await page.goto(`${suite.server.base}/desktops/${desk.id}`);
      await page.getByRole('button', { name: 'Make a link' }).click();
      const link = await page.locator('#share-url').inputValue();
      expect(await headerHeight(page)).toBeLessThanOrEqual(80);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, '22-desktop-page-narrow');
      await page.goto(link);
      await page.getByTestId('live-status').waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      // With the count of unseen events beside Mission control too, and of open alerts beside Alerts.
      await page.goto(`${suite.server.base}/desktops`);
      await page.locator('.topbar .live-dot').waitFor();
      await createDesktop(suite.server, me.id, 'made-elsewhere');
      await page.getByTestId('unseen-count').waitFor();
      expect((await useKey(suite.server, metered.key)).status).toBe(200);
      await expect.poll(async () => (await suite.server.services.usage.trust.keyAddresses(me.id, metered.apiKey.id)).length, { timeout: 5000 }).toBe(1);
      for (const from of [
        '192.0.2.10',
        '192.0.2.11',
        '192.0.2.12',
        '192.0.2.13',
        '192.0.2.14',
        '192.0.2.15',
        '192.0.2.16',
        '192.0.2.17',
        '192.0.2.18',
        '192.0.2.19',
      ]) {
        expect((await useKey(suite.server, metered.key, '/api/desktops', from)).status).toBe(200);
      }
      await expect.poll(() => page.getByTestId('alert-count').textContent(), { timeout: 10_000 }).toBe(', 10 open');
      expect(await headerHeight(page)).toBeLessThanOrEqual(80);
      // The first row (the brand, Alerts, the account) on one line.
      const firstRow = await page
        .locator('header.topbar > .brand, header.topbar .account > *')
        .evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().bottom)));
      expect(Math.max(...firstRow) - Math.min(...firstRow)).toBeLessThan(12);
      // The whole menu in view, the count included.
      const nav = await page.locator('header.topbar nav').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      expect(nav.scroll).toBeLessThanOrEqual(nav.client);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, '21-header-narrow', { fullPage: false });

      // The alerts, a key's page (its chart and tables, its addresses): inside the screen.
      await page.getByRole('link', { name: /^Alerts/ }).click();
      await page.getByTestId('alert').nth(9).waitFor();
      expect(await overflow(page.getByTestId('alert').first(), page.getByTestId('alert').first())).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, '25-alerts-narrow');
      await page.getByTestId('alert').first().getByRole('link', { name: '“metered”' }).click();
      await page.getByTestId('usage-chart').locator('canvas').waitFor();
      await page.getByTestId('address-row').nth(10).waitFor();
      const chart = (await page.getByTestId('usage-chart').boundingBox())!;
      expect(chart.x).toBeGreaterThanOrEqual(0);
      expect(chart.x + chart.width).toBeLessThanOrEqual(PHONE.width);
      expect(await overflow(page.getByTestId('address-row').first(), page.getByTestId('address-row').first())).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, '26-key-page-narrow');
    },
    E2E_TIMEOUT,
  );

  it(
    'the new key is wholly visible after “Copied”, and “last used … from …” stays inside its card',
    async () => {
      const page = await suite.newPage(PHONE);
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'phone@example.com', '/api-keys');
      await page.getByLabel('Name').fill('phone-key');
      await page.getByRole('button', { name: 'Create key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      const field = dialog.getByTestId('new-api-key');
      const key = await field.inputValue();
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByRole('button', { name: 'Copied' }).waitFor();
      // The whole key in view: the field shows all of it without scrolling, and the field is on screen.
      const fits = await field.evaluate((el) => ({ scrollH: el.scrollHeight, clientH: el.clientHeight, scrollW: el.scrollWidth, clientW: el.clientWidth }));
      expect(fits.scrollH).toBeLessThanOrEqual(fits.clientH);
      expect(fits.scrollW).toBeLessThanOrEqual(fits.clientW);
      const box = (await field.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
      await screenshot(page, '22-new-key-copied-narrow', { fullPage: false });
      await dialog.getByRole('button', { name: /close/ }).click();
      await dialog.waitFor({ state: 'detached' });

      // Used through a proxy from a long IPv6 address: the card holds it, wrapped.
      expect((await useKey(suite.server, key, '/api/desktops', LONG_IPV6)).status).toBe(200);
      const row = page.getByTestId('api-key-row').filter({ hasText: 'phone-key' });
      await row.getByText(LONG_IPV6).waitFor();
      expect(await overflow(row.getByTestId('last-used'), row)).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, '23-last-used-narrow');

      // A desktop with a long name without spaces, and its id: inside the card too.
      const me = await suite.accountOf(page);
      await createDesktop(suite.server, me.id, 'a-very-long-desktop-name-without-any-spaces-at-all-0123456789');
      await createKey(suite.server, me.id, 'another-key');
      await page.getByRole('link', { name: 'Desktops' }).click();
      const desk = page.getByTestId('desktop-row').first();
      await desk.waitFor();
      expect(await overflow(desk, desk)).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, '24-desktops-narrow');
    },
    E2E_TIMEOUT,
  );
});
