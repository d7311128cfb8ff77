import { describe, expect, it } from 'vitest';
import { screenshot, sessionCookie, signIn } from './browser.ts';
import { createDesktop, createKey, setDesktopState, tick, useKey } from './data.ts';
import { E2E_TIMEOUT, allowClipboard, dashboardSuite } from './fixture.ts';

describe('the desktop and key lists', () => {
  const suite = dashboardSuite();

  it(
    'list desktops and keys in the same order as the API, newest first, and flag names used twice',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'order@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const made = [
        ['first', 'key-first'],
        ['twin', 'key-twin'],
        ['third', 'key-third'],
        ['Twin ', 'key-twin'],
      ];
      for (const [desktop, key] of made) {
        await createDesktop(suite.server, me.id, desktop);
        await createKey(suite.server, me.id, key);
        await tick();
      }
      const cookie = await sessionCookie(page.context());
      const fromApi = async (path: string, field: string) =>
        ((await (await fetch(suite.server.base + path, { headers: { cookie } })).json()) as Record<string, Array<{ name: string }>>)[field].map((x) => x.name);

      const desktopRows = page.getByTestId('desktop-row');
      await desktopRows.nth(3).waitFor();
      const desktopNames = await desktopRows.locator('strong.name').allTextContents();
      expect(desktopNames).toEqual(['Twin', 'third', 'twin', 'first']);
      expect(desktopNames).toEqual(await fromApi('/api/desktops', 'desktops'));
      // The same name (whatever its case and spaces) is flagged on both, and only there.
      const flagged = (rows: typeof desktopRows) =>
        rows
          .filter({ has: page.getByText('Duplicate name', { exact: true }) })
          .locator('strong.name')
          .allTextContents();
      expect(await flagged(desktopRows)).toEqual(['Twin', 'twin']);
      // Typing a name in use says so before a third is made.
      await page.getByLabel('New desktop name').fill('TWIN');
      await page.getByText('A desktop called “Twin” already exists.').waitFor();
      expect(await page.getByLabel('New desktop name').getAttribute('aria-describedby')).toBe('desktop-name-hint');
      await screenshot(page, '25-desktops-duplicates');

      await page.getByRole('link', { name: 'API keys' }).click();
      const keyRows = page.getByTestId('api-key-row');
      await keyRows.nth(3).waitFor();
      const keyNames = await keyRows.locator('strong.name').allTextContents();
      expect(keyNames).toEqual(['key-twin', 'key-third', 'key-twin', 'key-first']);
      expect(keyNames).toEqual(await fromApi('/api/api-keys', 'apiKeys'));
      expect(await flagged(keyRows)).toEqual(['key-twin', 'key-twin']);
    },
    E2E_TIMEOUT,
  );

  it(
    'a desktop’s id can be copied',
    async () => {
      const page = await suite.newPage();
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'copy-id@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const desk = await createDesktop(suite.server, me.id, 'copy-me');
      const row = page.getByTestId('desktop-row').filter({ hasText: 'copy-me' });
      expect(await row.getByTestId('desktop-id').textContent()).toBe(desk.id);
      await row.getByRole('button', { name: 'Copy id of copy-me' }).click();
      await row.getByRole('button', { name: 'Copied the id of copy-me' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(desk.id);
      await page.getByRole('status').filter({ hasText: 'Id of “copy-me” copied.' }).waitFor({ state: 'attached' });
    },
    E2E_TIMEOUT,
  );

  it(
    'desktop states: in progress while starting or stopping (and re-read until settled), a failed one says why',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'states@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const made: Record<string, string> = {};
      for (const state of ['starting', 'running', 'stopping', 'stopped', 'failed'] as const) {
        made[state] = (await createDesktop(suite.server, me.id, `is-${state}`)).id;
        if (state !== 'failed') await setDesktopState(suite.server, made[state], state);
      }
      await page.reload();
      const row = (state: string) => page.getByTestId('desktop-row').filter({ hasText: `is-${state}` });
      await row('failed').waitFor();
      const seen = async (state: string) => ({
        badge: await row(state).locator('.badge').first().textContent(),
        busy: await row(state).getAttribute('aria-busy'),
        toggle: await row(state)
          .getByRole('button', { name: new RegExp(`^(Start|Stop) is-${state}$`) })
          .getAttribute('aria-label'),
        toggleOff: await row(state)
          .getByRole('button', { name: new RegExp(`^(Start|Stop) is-${state}$`) })
          .getAttribute('aria-disabled'),
      });
      expect(await seen('starting')).toEqual({ badge: 'Starting…', busy: 'true', toggle: 'Stop is-starting', toggleOff: null });
      expect(await seen('running')).toEqual({ badge: 'Running', busy: null, toggle: 'Stop is-running', toggleOff: null });
      expect(await seen('stopping')).toEqual({ badge: 'Stopping…', busy: 'true', toggle: 'Stop is-stopping', toggleOff: 'true' });
      expect(await seen('stopped')).toEqual({ badge: 'Stopped', busy: null, toggle: 'Start is-stopped', toggleOff: null });
      expect(await seen('failed')).toEqual({ badge: 'Failed', busy: null, toggle: 'Start is-failed', toggleOff: null });
      expect(await row('failed').getByTestId('desktop-failure').textContent()).toBe('This server runs no desktops (BUREAU_DESKTOPS=off)');
      expect(await row('running').getByTestId('desktop-failure').count()).toBe(0);
      for (const state of ['starting', 'running', 'stopped']) expect(await row(state).getByText('1280×800').count()).toBe(1);
      await screenshot(page, '26-desktop-states');

      // The host settles them without an event reaching this page: the list is re-read while any is in progress.
      await setDesktopState(suite.server, made.starting, 'running');
      await setDesktopState(suite.server, made.stopping, 'stopped');
      await row('starting').getByText('Running').waitFor({ timeout: 10_000 });
      await row('stopping').getByText('Stopped').waitFor({ timeout: 10_000 });
      expect(await page.locator('[aria-busy="true"]').count()).toBe(0);
    },
    E2E_TIMEOUT,
  );

  it(
    '“Last used” stays current on an open page, without a reload',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'last-use@example.com', '/api-keys');
      const me = await suite.accountOf(page);
      const { key } = await createKey(suite.server, me.id, 'busy-bot');
      const row = page.getByTestId('api-key-row').filter({ hasText: 'busy-bot' });
      await row.getByText('Never').first().waitFor();
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

      // The first use, from an address new to the key: its event updates the list.
      expect((await useKey(suite.server, key)).status).toBe(200);
      await row.getByText('from 127.0.0.1').waitFor();
      const lastUsed = () => row.getByTestId('last-used').locator('time').getAttribute('datetime');
      const first = await lastUsed();

      // Later uses from the same address make no event: the page reads the list again by itself.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await useKey(suite.server, key)).status).toBe(200);
      await suite.server.services.lastUse.flush();
      await expect.poll(lastUsed, { timeout: 15_000, interval: 500 }).not.toBe(first);
      expect(Date.parse((await lastUsed())!)).toBeGreaterThan(Date.parse(first!));
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    },
    E2E_TIMEOUT,
  );
});
