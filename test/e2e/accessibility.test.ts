import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { screenshot, signIn } from './browser.ts';
import { expectAccessible } from './axe.ts';
import { createDesktop, createKey, setDesktopState, useKey } from './data.ts';
import { E2E_TIMEOUT, dashboardSuite } from './fixture.ts';
import { callWithKey } from './key-data.ts';

/** A key's visible id (lb_k_ and its public id), from the key itself. */
const keyIdOf = (key: string) => key.slice(0, 'lb_k_'.length + 12);

describe('accessibility', () => {
  const suite = dashboardSuite();

  it('the CSP refuses axe-core as an inline script, so the checks evaluate it through DevTools instead', async () => {
    // Not watched for CSP reports: this page is meant to provoke one.
    const context = await suite.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(suite.server.base);
      await page.locator('a.provider-dev').waitFor();
      const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
      await expect(page.addScriptTag({ content: source })).rejects.toThrow(/Content Security Policy/);
      expect(await page.evaluate(() => 'axe' in window)).toBe(false);
    } finally {
      await context.close();
    }
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(
      `axe-core finds nothing serious or critical on any page, ${colorScheme}`,
      async () => {
        const page = await suite.newPage({ colorScheme });
        const check = (label: string) => expectAccessible(page, `${label} (${colorScheme})`);
        const shot = (name: string) => screenshot(page, `a11y-${colorScheme}-${name}`);

        await page.goto(suite.server.base);
        await page.locator('a.provider-dev').waitFor();
        await check('sign-in');

        const email = `axe-${colorScheme}@example.com`;
        await signIn(page, suite.server.base, email, '/desktops');
        const me = await suite.accountOf(page);
        // Every state a desktop can be in, a duplicate name, keys active and revoked, an alert.
        const states = ['starting', 'running', 'stopping', 'stopped'] as const;
        for (const state of states) await setDesktopState(suite.server, (await createDesktop(suite.server, me.id, `desk-${state}`)).id, state);
        await createDesktop(suite.server, me.id, 'desk-failed');
        await createDesktop(suite.server, me.id, 'desk-failed');
        const used = await createKey(suite.server, me.id, 'ci-pipeline');
        expect((await useKey(suite.server, used.key)).status).toBe(200);
        // Its first use is where it lives; a use from another machine is an alert.
        await expect.poll(async () => (await suite.server.services.usage.trust.keyAddresses(me.id, used.apiKey.id)).length, { timeout: 5000 }).toBe(1);
        expect((await callWithKey(suite.server, used.key, '/api/desktops', { from: '127.0.0.2' })).status).toBe(200);
        const revoked = await createKey(suite.server, me.id, 'old-key');
        await suite.server.services.apiKeys.revoke(me.id, revoked.apiKey.id, { type: 'operator', id: null }, null);

        await page.reload();
        await page.getByTestId('desktop-row').nth(5).waitFor();
        await check('desktops');
        await shot('desktops');
        await page.getByRole('button', { name: 'Rename desk-running' }).click();
        await check('desktops, renaming');
        await page.keyboard.press('Escape');
        await page.getByRole('button', { name: 'Delete desk-stopped' }).click();
        await check('delete confirmation');
        await page.keyboard.press('Escape');

        // A desktop's page: stopped, with a watch-only link made; running (this server runs
        // no desktops, so its view keeps reconnecting); and the viewer the link opens.
        await page.getByRole('link', { name: 'desk-stopped', exact: true }).click();
        await page.getByTestId('live-placeholder').waitFor();
        await page.getByRole('button', { name: 'Make a link' }).click();
        const link = await page.locator('#share-url').inputValue();
        await page.getByTestId('view-ticket').waitFor();
        await check('desktop page, link made');
        await shot('desktop-page');
        await page.getByRole('link', { name: '← All desktops' }).click();
        await page.getByRole('link', { name: 'desk-running', exact: true }).click();
        await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 10_000 }).toMatch(/Reconnecting…$/);
        await check('desktop page, running, reconnecting');
        await page.getByText('Control', { exact: true }).click();
        await check('desktop page, control');
        const viewer = await suite.newPage({ colorScheme });
        await viewer.goto(link);
        await expect.poll(() => viewer.getByTestId('live-status').textContent(), { timeout: 10_000 }).toMatch(/Reconnecting…$/);
        await expectAccessible(viewer, `viewer (${colorScheme})`);
        await screenshot(viewer, `a11y-${colorScheme}-viewer`);

        await page.getByRole('link', { name: 'API keys' }).click();
        await page.getByTestId('api-key-row').filter({ hasText: 'from 127.0.0.2' }).waitFor();
        await check('API keys');
        await shot('api-keys');
        await page.getByLabel('Name').fill('ci-pipeline');
        await page.getByText('A key called “ci-pipeline” already exists.').waitFor();
        await page.getByRole('button', { name: 'Create key' }).click();
        await page.getByTestId('new-api-key').waitFor();
        await check('new key dialog');
        await page.keyboard.press('Escape');
        await page.getByRole('dialog', { name: 'Close without copying the key?' }).waitFor();
        await check('close without copying');
        await shot('close-without-copying');
        await page.getByRole('button', { name: 'Close, I do not need it' }).click();
        await page.getByRole('button', { name: 'Revoke ci-pipeline' }).first().click();
        await check('revoke confirmation');
        await page.keyboard.press('Escape');
        await page.getByRole('button', { name: 'Roll ci-pipeline' }).first().click();
        await check('roll dialog');
        await page.keyboard.press('Escape');

        // The key's own page: its usage (chart and tables), addresses, scopes.
        await page.locator(`[data-testid="api-key-row"][data-id="${used.apiKey.id}"] a`).first().click();
        await page.getByTestId('usage-chart').locator('canvas').waitFor();
        await page.getByTestId('address-row').nth(1).waitFor();
        await page.getByText(/^The chart as a table/).click();
        await check('key page');
        await shot('key-page');

        // Alerts, with a webhook that cannot be reached (its delivery waits for a retry).
        await page.getByRole('link', { name: /^Alerts/ }).click();
        await page.getByTestId('alert').first().waitFor();
        await check('alerts');
        await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/unreachable');
        await page.getByRole('button', { name: 'Add webhook' }).click();
        await page.getByTestId('webhook-secret').waitFor();
        await check('webhook secret dialog');
        await page.keyboard.press('Escape');
        await page.getByRole('button', { name: 'Close, I do not need it' }).click();
        expect((await callWithKey(suite.server, used.key, '/api/desktops', { from: '127.0.0.3' })).status).toBe(200);
        await page.getByTestId('delivery').first().waitFor({ timeout: 10_000 });
        await page.getByLabel('Every alert, kinds added later too').uncheck();
        await check('alerts, a webhook and its delivery');
        await shot('alerts');
        await page.getByRole('button', { name: 'Roll the key' }).first().click();
        await check('roll from an alert');
        await page.keyboard.press('Escape');
        await page.getByText('Acknowledged', { exact: true }).click();
        await page.getByText('No acknowledged alerts.').waitFor();
        await check('acknowledged alerts, none');

        await page.getByRole('link', { name: 'Sessions' }).click();
        await page.getByTestId('session-row').first().waitFor();
        await check('sessions');

        await page.getByRole('link', { name: /Mission control/ }).click();
        await page.locator('[data-type="alert.new_address"]').first().waitFor();
        await check('mission control');
        await shot('mission-control');
        await page.getByLabel('Alerts only').check();
        await check('mission control, alerts only');
        await page.getByTestId('event-time').first().focus();
        await check('mission control, exact time shown');

        await page.goto(`${suite.server.base}/keys`);
        await page.getByRole('heading', { name: 'Page not found' }).waitFor();
        await check('not found');
        await shot('not-found');
      },
      E2E_TIMEOUT,
    );
  }

  it(
    'new events are announced to screen readers, politely; this browser’s own actions are not repeated',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'listener@example.com', '/desktops');
      await page.locator('.topbar .live-dot').waitFor();
      const me = await suite.accountOf(page);
      const region = page.getByTestId('event-announcer');
      expect(await region.getAttribute('aria-live')).toBe('polite');
      const said = async () => ((await region.textContent()) ?? '').replace(/\u00a0/g, '').trim();

      // Made elsewhere (a script): announced.
      await createDesktop(suite.server, me.id, 'made-by-a-script');
      await expect.poll(said, { timeout: 5000 }).toBe('New activity: Desktop “made-by-a-script” created.');

      // Made here: the page's own status says it; the announcer does not repeat it.
      await page.getByLabel('New desktop name').fill('made-here');
      await page.getByRole('button', { name: 'Create desktop' }).click();
      await page.getByRole('status').filter({ hasText: 'Desktop “made-here” created.' }).waitFor({ state: 'attached' });
      await page.waitForTimeout(1500);
      expect(await said()).toBe('New activity: Desktop “made-by-a-script” created.');

      // A key's first use: news, no alarm.
      const { key } = await createKey(suite.server, me.id, 'deploy-bot');
      expect((await useKey(suite.server, key)).status).toBe(200);
      await expect.poll(said, { timeout: 5000 }).toMatch(/API key “deploy-bot” \(lb_k_\w+\) used for the first time, from 127\.0\.0\.1\.$/);
      expect(await said()).not.toContain('attention');
      // An alert, on whatever page is open: the key used from a machine it never came from.
      expect((await callWithKey(suite.server, key, '/api/desktops', { from: '127.0.0.2' })).status).toBe(200);
      await expect.poll(said, { timeout: 5000 }).toBe('Needs your attention: API key “deploy-bot” (' + keyIdOf(key) + ') used from a new address: 127.0.0.2.');
    },
    E2E_TIMEOUT,
  );
});
