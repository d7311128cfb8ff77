import { describe, expect, it } from 'vitest';
import { screenshot, signIn } from './browser.ts';
import { createDesktop, createKey, setDesktopState, tick } from './data.ts';
import { E2E_TIMEOUT, allowClipboard, dashboardSuite } from './fixture.ts';
import { callWithKey } from './key-data.ts';
import { focused, focusedRow, tabTo } from './keyboard.ts';

/*
 * Keyboard focus after every action that removes or replaces what had it: it must land
 * somewhere sensible, never on the page's body (where the next Tab starts from the top).
 */

describe('the keyboard focus', () => {
  const suite = dashboardSuite();

  it(
    'starts at the top of a freshly loaded page, so Tab reaches the skip link and the menu; a move to another page focuses its content',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'tab@example.com', '/api-keys');
      const me = await suite.accountOf(page);
      const desk = await createDesktop(suite.server, me.id, 'tabbed');
      const key = await createKey(suite.server, me.id, 'tabbed-key');
      for (const path of [
        '/desktops',
        `/desktops/${desk.id}`,
        '/api-keys',
        `/api-keys/${key.apiKey.id}`,
        '/sessions',
        '/activity',
        '/alerts',
        '/no-such-page',
      ]) {
        await page.goto(suite.server.base + path);
        await page.locator('h1').waitFor();
        await page.keyboard.press('Tab');
        expect(await focused(page), path).toBe('Skip to content');
        await page.keyboard.press('Tab');
        expect(await focused(page), path).toBe('Desktops');
        await page.keyboard.press('Tab');
        expect(await focused(page), path).toBe('API keys');
      }
      // Enter on a menu link: the new page's content has the focus, and the menu is one Shift+Tab away.
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(await focused(page)).toBe('main');
      await page.keyboard.press('Shift+Tab');
      expect(await focused(page)).toBe('Sign out');
    },
    E2E_TIMEOUT,
  );

  it(
    'after rename (Escape, Save), start, stop and delete on the desktops page',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'desk-keys@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const oldest = await createDesktop(suite.server, me.id, 'oldest');
      await tick();
      await createDesktop(suite.server, me.id, 'middle');
      await tick();
      await createDesktop(suite.server, me.id, 'newest');
      // As a host would report it: 'oldest' runs.
      await setDesktopState(suite.server, oldest.id, 'running');
      await page.reload();
      await page.getByTestId('desktop-row').nth(2).waitFor();
      expect(await page.getByTestId('desktop-row').locator('strong.name').allTextContents()).toEqual(['newest', 'middle', 'oldest']);

      // Rename, then Escape: back on Rename, nothing changed.
      await tabTo(page, 'Rename middle');
      await page.keyboard.press('Enter');
      expect(await focused(page)).toMatch(/^rename-dsk_/);
      await page.keyboard.type('-draft');
      await page.keyboard.press('Escape');
      expect(await focused(page)).toBe('Rename middle');
      // Rename and save with Enter: back on Rename, under the new name.
      await page.keyboard.press('Enter');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('renamed');
      await page.keyboard.press('Enter');
      await page.getByTestId('desktop-row').filter({ hasText: 'renamed' }).waitFor();
      await expect.poll(() => focused(page), { timeout: 5000 }).toBe('Rename renamed');

      // Start a failed desktop: it fails again (this server runs none), the focus stays on its button.
      await tabTo(page, 'Start renamed');
      await page.keyboard.press('Enter');
      await page
        .getByRole('status')
        .filter({ hasText: '“renamed” could not start: This server runs no desktops (BUREAU_DESKTOPS=off).' })
        .waitFor({ state: 'attached' });
      expect(await focused(page)).toBe('Start renamed');

      // Stop a running desktop: the same button, now Start, keeps the focus.
      await tabTo(page, 'Stop oldest');
      await page.keyboard.press('Enter');
      await page.getByTestId('desktop-row').filter({ hasText: 'oldest' }).getByText('Stopped').waitFor();
      expect(await focused(page)).toBe('Start oldest');

      // Delete the first row: the focus goes to the next row's Delete.
      const confirmDelete = async (name: string) => {
        await tabTo(page, `Delete ${name}`);
        await page.keyboard.press('Enter');
        const dialog = page.getByRole('dialog', { name: `Delete “${name}”?` });
        await dialog.waitFor();
        await page.keyboard.press('Tab');
        expect(await focused(page)).toBe('Delete desktop');
        await page.keyboard.press('Enter');
        await dialog.waitFor({ state: 'detached' });
        await page.getByTestId('desktop-row').filter({ hasText: name }).waitFor({ state: 'detached' });
      };
      await confirmDelete('newest');
      await expect.poll(() => focused(page), { timeout: 5000 }).toBe('Delete renamed');
      // The last row: the one before it.
      await confirmDelete('oldest');
      await expect.poll(() => focused(page), { timeout: 5000 }).toBe('Delete renamed');
      // The only row: the name field, to create one.
      await confirmDelete('renamed');
      await page.getByText('No desktops yet.').waitFor();
      await expect.poll(() => focused(page), { timeout: 5000 }).toBe('desktop-name');
    },
    E2E_TIMEOUT,
  );

  it(
    'after closing the new-key dialog and after revoking: on the key’s row; closing before copying asks first',
    async () => {
      const page = await suite.newPage();
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'key-keys@example.com', '/api-keys');
      const createWithKeyboard = async (name: string) => {
        await tabTo(page, 'key-name');
        await page.keyboard.type(name);
        await page.keyboard.press('Enter');
        await page.getByRole('dialog', { name: 'Your new API key' }).waitFor();
        // Copy has the focus in the dialog.
        expect(await focused(page)).toBe('Copy');
      };
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      const sure = page.getByRole('dialog', { name: 'Close without copying the key?' });

      // Copied with the button, then closed: no question, the focus is on the new key's row.
      await createWithKeyboard('copied-key');
      await page.keyboard.press('Enter');
      await dialog.getByText('Copied to the clipboard.').waitFor();
      await tabTo(page, 'I have stored it, close');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      await expect.poll(() => focusedRow(page, 'api-key-row'), { timeout: 5000 }).toContain('copied-key');

      // Not copied: Escape and the close button both ask first; going back keeps the key on screen.
      await createWithKeyboard('uncopied-key');
      await page.keyboard.press('Escape');
      await sure.waitFor();
      expect(await focused(page)).toBe('Go back to the key');
      await screenshot(page, '20-close-without-copying');
      await page.keyboard.press('Enter');
      await sure.waitFor({ state: 'detached' });
      expect(await dialog.getByTestId('new-api-key').inputValue()).toMatch(/^lb_k_/);
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await sure.waitFor();
      await sure.getByRole('button', { name: 'Close, I do not need it' }).click();
      await dialog.waitFor({ state: 'detached' });
      await expect.poll(() => focusedRow(page, 'api-key-row'), { timeout: 5000 }).toContain('uncopied-key');

      // Copied from the field itself (Ctrl+C): that counts, closing asks nothing.
      await createWithKeyboard('ctrl-c-key');
      await page.keyboard.press('Shift+Tab');
      expect(await focused(page)).toBe('new-api-key');
      await page.keyboard.press('Control+C');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(/^lb_k_/);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      expect(await sure.count()).toBe(0);
      await expect.poll(() => focusedRow(page, 'api-key-row'), { timeout: 5000 }).toContain('ctrl-c-key');

      // Revoke: its button goes away; the focus goes to the key's row, now Revoked.
      await tabTo(page, 'Revoke uncopied-key');
      await page.keyboard.press('Enter');
      const confirm = page.getByRole('dialog', { name: 'Revoke “uncopied-key”?' });
      await confirm.waitFor();
      expect(await focused(page)).toBe('Cancel');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await confirm.waitFor({ state: 'detached' });
      await page.getByTestId('api-key-row').filter({ hasText: 'uncopied-key' }).getByText('Revoked').waitFor();
      await expect.poll(() => focusedRow(page, 'api-key-row'), { timeout: 5000 }).toMatch(/uncopied-key.*Revoked/);
      // And Tab goes on from there (it was the key's name, a link to its page), to the next key's.
      await page.keyboard.press('Tab');
      expect(await focusedRow(page, 'api-key-row')).toContain('copied-key');
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('A');
    },
    E2E_TIMEOUT,
  );

  it(
    'rolling a key: Cancel first, the overlap chosen with the arrows, the new key’s Copy, then its row; acknowledging alerts: on to the next one, then the heading',
    async () => {
      const page = await suite.newPage();
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'roll-keys@example.com', '/api-keys');
      const me = await suite.accountOf(page);
      const old = await createKey(suite.server, me.id, 'by-keyboard');
      await page.getByTestId('api-key-row').filter({ hasText: 'by-keyboard' }).waitFor();

      await tabTo(page, 'Roll by-keyboard');
      await page.keyboard.press('Enter');
      const roll = page.getByRole('dialog', { name: 'Roll “by-keyboard”?' });
      await roll.waitFor();
      expect(await focused(page)).toBe('Cancel');
      // The overlaps are radios: Tab reaches the chosen one (1 hour), the arrows move the choice.
      await page.keyboard.press('Shift+Tab');
      expect(await focused(page)).toBe('overlap-3600');
      await page.keyboard.press('ArrowDown');
      expect(await focused(page)).toBe('overlap-86400');
      await tabTo(page, 'Roll key');
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      await dialog.waitFor();
      expect(await focused(page)).toBe('Copy');
      const fresh = await dialog.getByTestId('new-api-key').inputValue();
      await page.keyboard.press('Enter');
      await dialog.getByText('Copied to the clipboard.').waitFor();
      await tabTo(page, 'I have stored it, close');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      await expect.poll(() => focusedRow(page, 'api-key-row'), { timeout: 5000 }).toContain(`Replaces ${old.apiKey.keyId}`);
      const listed = await page.locator(`[data-testid="api-key-row"][data-id="${old.apiKey.id}"] [data-testid="rolled-to"] time`).getAttribute('datetime');
      expect(Math.abs(Date.parse(listed!) - (Date.now() + 86_400_000))).toBeLessThan(60_000);

      // Two alerts about the new key (used from two machines after its first use here).
      expect((await callWithKey(suite.server, fresh, '/api/desktops')).status).toBe(200);
      await expect
        .poll(
          async () =>
            (
              await suite.server.services.usage.trust.keyAddresses(
                me.id,
                (await suite.server.services.apiKeys.list(me.id)).find((k) => k.rolledFrom === old.apiKey.id)!.id,
              )
            ).length,
          { timeout: 5000 },
        )
        .toBe(1);
      for (const from of ['127.0.0.2', '127.0.0.3']) expect((await callWithKey(suite.server, fresh, '/api/desktops', { from })).status).toBe(200);
      await page.goto(`${suite.server.base}/alerts`);
      await page.getByTestId('alert').nth(1).waitFor();
      const second = await page.getByTestId('alert').nth(1).getAttribute('data-id');
      await tabTo(page, 'Acknowledge: Used from a new address, by-keyboard');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByTestId('alert').count()).toBe(1);
      await expect.poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 5000 }).toBe(`ack-${second}`);
      await page.keyboard.press('Enter');
      await page.getByText('No open alerts. All is quiet.').waitFor();
      await expect.poll(() => focused(page), { timeout: 5000 }).toBe('alerts-title');
    },
    E2E_TIMEOUT,
  );

  it(
    'the alerts page and a key’s page by keyboard alone: the menu’s Alerts, the alert’s key, its usage range and the trust of an address',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'kb-pages@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const used = await createKey(suite.server, me.id, 'kb-page');
      // Its first use here is where it lives; one from another machine is an alert.
      expect((await callWithKey(suite.server, used.key, '/api/desktops')).status).toBe(200);
      await expect.poll(async () => (await suite.server.services.usage.trust.keyAddresses(me.id, used.apiKey.id)).length, { timeout: 5000 }).toBe(1);
      expect((await callWithKey(suite.server, used.key, '/api/desktops', { from: '127.0.0.2' })).status).toBe(200);

      // From the menu: the Alerts link (with its count, read out), Enter, the page's content has the focus.
      await page.reload();
      await page.getByTestId('alert-count').waitFor();
      await tabTo(page, 'Alerts, 1 open');
      await page.keyboard.press('Enter');
      await page.getByTestId('alert').first().waitFor();
      expect(await focused(page)).toBe('main');

      // The alert names its key, a link to its page.
      await tabTo(page, '“kb-page”');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${suite.server.base}/api-keys/${used.apiKey.id}`);
      await page.getByTestId('address-row').nth(1).waitFor();
      expect(await focused(page)).toBe('main');

      // The usage range: a radio group, the arrows move the choice.
      await tabTo(page, 'range-1h');
      await page.keyboard.press('ArrowRight');
      expect(await focused(page)).toBe('range-24h');
      await expect.poll(() => page.getByTestId('usage-summary').textContent(), { timeout: 10_000 }).toMatch(/in the last 24 hours/);

      // Trusting the new address: the button keeps the focus, its words change.
      await tabTo(page, 'Trust for this key: 127.0.0.2');
      await page.keyboard.press('Enter');
      await expect.poll(() => focused(page), { timeout: 5000 }).toBe('Stop trusting for this key: 127.0.0.2');
      await page.getByTestId('address-row').filter({ hasText: '127.0.0.2' }).getByText('Trusted for this key').waitFor();
    },
    E2E_TIMEOUT,
  );
});
