import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { screenshot, signIn } from './browser.ts';
import { OPERATOR, createKey, useKey } from './data.ts';
import { E2E_TIMEOUT, dashboardSuite } from './fixture.ts';
import { callWithKey } from './key-data.ts';
import { focusedRow } from './keyboard.ts';

/** The types of the events on screen, top to bottom. */
function shownTypes(page: Page): Promise<Array<string | null>> {
  return page.getByTestId('activity-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
}

describe('mission control', () => {
  const suite = dashboardSuite();

  it(
    'filters by alerts, key, desktop and type (kept in the address); exact times on focus and hover; key ids in monospace, linking to the key',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'watcher@example.com', '/activity');
      const me = await suite.accountOf(page);
      const alpha = await createKey(suite.server, me.id, 'alpha');
      const beta = await createKey(suite.server, me.id, 'beta');
      const post = (key: string, name: string) =>
        fetch(`${suite.server.base}/api/desktops`, {
          method: 'POST',
          headers: { 'x-api-key': key, 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
      const deskA = (await (await post(alpha.key, 'desk-a')).json()) as { id: string };
      expect((await post(beta.key, 'desk-b')).status).toBe(201);
      expect((await useKey(suite.server, beta.key)).status).toBe(200);
      // alpha, used from a machine it never came from (its first use, from here, was no alarm): an alert.
      await page.locator('[data-type="api_key.first_use"]').nth(1).waitFor();
      expect((await callWithKey(suite.server, alpha.key, '/api/desktops', { from: '127.0.0.2' })).status).toBe(200);
      await page.locator('[data-type="alert.new_address"]').waitFor();
      await suite.server.services.apiKeys.revoke(me.id, beta.apiKey.id, OPERATOR, null);
      await page.locator('[data-type="api_key.revoked"]').waitFor();
      const all = await shownTypes(page);
      expect(all).toHaveLength(9); // sign-in, 2 keys created, 2 desktops, 2 first uses, 1 alert, 1 revocation

      // Alerts only: the use from a new address.
      await page.getByLabel('Alerts only').check();
      expect(await shownTypes(page)).toEqual(['alert.new_address']);
      expect(await page.getByTestId('filter-summary').textContent()).toBe('Showing 1 of 9 loaded events.');
      await page.getByLabel('Alerts only').uncheck();

      // By key: what alpha did and what happened to it.
      await page.getByLabel('Key').selectOption({ label: `alpha (${alpha.apiKey.keyId})` });
      // (The first use and the creation it made are written moments apart, in either order.)
      expect((await shownTypes(page)).sort()).toEqual(['alert.new_address', 'api_key.created', 'api_key.first_use', 'desktop.created']);
      // By key and type together.
      await page.getByLabel('Type').selectOption({ label: 'Desktop created' });
      expect(await shownTypes(page)).toEqual(['desktop.created']);
      expect(await page.getByTestId('activity-event').textContent()).toContain('Desktop “desk-a” created');
      // In the address: a reload shows the same view.
      expect(new URL(page.url()).search).toBe(`?key=${alpha.apiKey.id}&type=desktop.created`);
      await page.reload();
      await page.getByTestId('activity-event').first().waitFor();
      expect(await shownTypes(page)).toEqual(['desktop.created']);
      expect(await page.getByLabel('Type').inputValue()).toBe('desktop.created');
      await page.getByRole('button', { name: 'Clear filters' }).click();
      expect(await shownTypes(page)).toEqual(all);
      expect(new URL(page.url()).search).toBe('');

      // By desktop.
      await page.getByLabel('Desktop').selectOption({ label: `desk-a (${deskA.id})` });
      expect(await shownTypes(page)).toEqual(['desktop.created']);
      // A filter nothing matches says so.
      await page.getByLabel('Type').selectOption({ label: 'Key revoked' });
      await page.getByText('No event matches these filters.').waitFor();
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await screenshot(page, '29-mission-control-filters');

      // Key ids in monospace, the key's name linking to it.
      const revoked = page.locator('[data-type="api_key.revoked"]');
      const keyId = revoked.locator('code.key-id');
      expect(await keyId.textContent()).toBe(beta.apiKey.keyId);
      expect(await keyId.evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/monospace/);

      // The exact time, with seconds, on keyboard focus, and on hover.
      const tip = (event: ReturnType<Page['locator']>) => event.locator('.exact-time-tip');
      expect(await tip(revoked).isVisible()).toBe(false);
      await page.getByLabel('Type').focus();
      for (let i = 0; i < 20 && !(await page.evaluate(() => document.activeElement?.tagName === 'TIME')); i++) await page.keyboard.press('Tab');
      const focusedType = await page.evaluate(() => document.activeElement?.closest('[data-testid="activity-event"]')?.getAttribute('data-type'));
      const focusedEvent = page.locator(`[data-type="${focusedType}"]`).first();
      await tip(focusedEvent).waitFor({ state: 'visible' });
      expect(await tip(focusedEvent).textContent()).toMatch(/\d{1,2}:\d{2}:\d{2}/);
      expect(await page.evaluate(() => document.getElementById(document.activeElement!.getAttribute('aria-describedby')!)?.textContent)).toBe(
        await tip(focusedEvent).textContent(),
      );
      const last = page.getByTestId('activity-event').last();
      await last.getByTestId('event-time').hover();
      await tip(last).waitFor({ state: 'visible' });
      await screenshot(page, '30-mission-control-exact-time', { fullPage: false });

      // Following the link lands on that key, highlighted and focused.
      await revoked.getByRole('link', { name: '“beta”' }).click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(new URL(page.url()).search).toBe(`?key=${beta.apiKey.id}`);
      const row = page.getByTestId('api-key-row').filter({ hasText: 'beta' });
      await expect.poll(() => row.getAttribute('class'), { timeout: 5000 }).toContain('highlighted');
      await expect.poll(() => focusedRow(page, 'api-key-row'), { timeout: 5000 }).toContain('beta');
    },
    E2E_TIMEOUT,
  );
});
