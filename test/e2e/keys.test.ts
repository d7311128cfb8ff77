import { describe, expect, it } from 'vitest';
import { screenshot, sessionCookie, signIn } from './browser.ts';
import { OPERATOR, createDesktop, createKey } from './data.ts';
import { E2E_TIMEOUT, allowClipboard, dashboardSuite } from './fixture.ts';
import { asOwner, callWithKey, createScopedKey, usageReaches } from './key-data.ts';

/*
 * Keys that do only what they are for, from the dashboard: scopes and desktops chosen
 * at creation, the expiry the server proposes, rolling with an overlap, and a key's own
 * page (its usage chart and figures, its addresses and their trust, its scopes).
 * Programs are played by this test process, calling the real server over HTTP.
 */

interface ListedKey {
  id: string;
  keyId: string;
  name: string;
  scopes: string[];
  desktops: string[] | null;
  expiresAt: string | null;
  rolledFrom: string | null;
  rolledTo: string | null;
  endsAt: string | null;
  state: string;
}

const DAY_MS = 86_400_000;

describe('API keys in the dashboard', () => {
  const suite = dashboardSuite();

  it(
    'creates a key with the scopes and desktops chosen, expiring in the 90 days proposed; the list says so, and the API holds it to them',
    async () => {
      const page = await suite.newPage();
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'scopes@example.com', '/desktops');
      const me = await suite.accountOf(page);
      const build = await createDesktop(suite.server, me.id, 'build-box');
      const other = await createDesktop(suite.server, me.id, 'other-box');
      await page.getByRole('link', { name: 'API keys' }).click();

      // The expiry the server proposes (policy.suggestedLifetimeDays), each preset with the date it gives.
      const expires = page.getByLabel('Expires');
      await expect.poll(() => expires.inputValue()).toBe('90');
      const day = (days: number) =>
        page.evaluate((d) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(Date.now() + d * 86_400_000)), days);
      const presets = await expires.locator('option').allTextContents();
      expect(presets).toEqual([
        `In 7 days (${await day(7)})`,
        `In 30 days (${await day(30)})`,
        `In 90 days (${await day(90)}), suggested`,
        `In 1 year (${await day(365)})`,
        'On a date…',
        'Never',
      ]);

      // Scopes: every one but keys:manage ticked, as the server's default; each says what it allows.
      const scopeBox = (scope: string) => page.locator(`#scope-${scope.replace(':', '\\:')}`);
      const ticked = async () => {
        const out: string[] = [];
        for (const s of ['desktops:read', 'desktops:write', 'desktops:control', 'desktops:exec', 'activity:read', 'keys:manage'])
          if (await scopeBox(s).isChecked()) out.push(s);
        return out;
      };
      expect(await ticked()).toEqual(['desktops:read', 'desktops:write', 'desktops:control', 'desktops:exec', 'activity:read']);
      expect(await page.getByRole('checkbox', { name: /Manage desktops/ }).getAttribute('aria-describedby')).toBe('scope-desktops:write-text');
      await page.getByText('Create, rename, start, stop and delete desktops.').waitFor();

      // A reader of one desktop.
      await page.getByLabel('Name').fill('build-reader');
      for (const s of ['desktops:write', 'desktops:control', 'desktops:exec', 'activity:read']) await scopeBox(s).uncheck();
      await page.getByLabel('Only the desktops chosen here').check();
      await page.getByRole('checkbox', { name: /build-box/ }).check();
      await screenshot(page, '40-new-key-form');
      await page.getByRole('button', { name: 'Create key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      const key = await dialog.getByTestId('new-api-key').inputValue();
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await dialog.waitFor({ state: 'detached' });

      // Listed with what it may do, where, and until when.
      const row = page.getByTestId('api-key-row').filter({ hasText: 'build-reader' });
      expect(await row.getByTestId('key-scopes').textContent()).toBe('See desktops');
      expect(await row.getByTestId('key-desktops').textContent()).toBe('Only build-box');
      expect(await row.locator('td[data-label="Expires"]').textContent()).toContain(await day(90));
      await screenshot(page, '41-keys-with-scopes');
      const cookie = await sessionCookie(page.context());
      const listed = (await asOwner<{ apiKeys: ListedKey[] }>(suite.server, cookie, '/api/api-keys')).apiKeys.find((k) => k.name === 'build-reader')!;
      expect(listed.scopes).toEqual(['desktops:read']);
      expect(listed.desktops).toEqual([build.id]);
      expect(Math.abs(Date.parse(listed.expiresAt!) - (Date.now() + 90 * DAY_MS))).toBeLessThan(60_000);

      // The API holds the key to it: it sees its one desktop, and may not create one (403, naming the scope).
      const seen = await callWithKey(suite.server, key, '/api/desktops');
      expect(seen.status).toBe(200);
      expect((seen.body as { desktops: Array<{ id: string }> }).desktops.map((d) => d.id)).toEqual([build.id]);
      expect((await callWithKey(suite.server, key, `/api/desktops/${other.id}`)).status).toBe(404);
      const refused = await callWithKey(suite.server, key, '/api/desktops', { method: 'POST', body: { name: 'not-allowed' } });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'insufficient_scope', scope: 'desktops:write' });

      // A key made with the defaults lists them in a word.
      await page.getByLabel('Name').fill('all-but-keys');
      await page.getByRole('button', { name: 'Create key' }).click();
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      const defaults = page.getByTestId('api-key-row').filter({ hasText: 'all-but-keys' });
      expect(await defaults.getByTestId('key-scopes').textContent()).toBe('Everything but managing keys');
      expect(await defaults.getByTestId('key-desktops').textContent()).toBe('All desktops');

      // Its state says Active; a key ending within the policy's warning days says Expiring.
      expect(await defaults.locator('td[data-label="State"] .badge').textContent()).toBe('Active');
      await suite.server.services.apiKeys.create(me.id, { name: 'ends-soon', expiresAt: new Date(Date.now() + 3 * DAY_MS).toISOString() }, OPERATOR, null);
      const soon = page.getByTestId('api-key-row').filter({ hasText: 'ends-soon' });
      expect(await soon.locator('td[data-label="State"] .badge').textContent()).toBe('Expiring');
    },
    E2E_TIMEOUT,
  );

  it(
    'rolls a key with an overlap: the new key shown once, both listed and linked, the old one working until its end',
    async () => {
      const page = await suite.newPage();
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'roll@example.com', '/api-keys');
      const me = await suite.accountOf(page);
      const old = await createKey(suite.server, me.id, 'deploy-bot');
      const row = (keyId: string) => page.locator(`[data-testid="api-key-row"][data-key-id="${keyId}"]`);
      await row(old.apiKey.keyId).waitFor();

      await page.getByRole('button', { name: 'Roll deploy-bot' }).click();
      const rollDialog = page.getByRole('dialog', { name: 'Roll “deploy-bot”?' });
      // The server's presets: now, 1 hour, 24 hours, 7 days.
      expect(await rollDialog.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.id))).toEqual([
        'overlap-0',
        'overlap-3600',
        'overlap-86400',
        'overlap-604800',
      ]);
      expect(await rollDialog.locator('label').allTextContents()).toEqual(['No time: it stops at once', '1 hour', '24 hours', '7 days']);
      await rollDialog.getByLabel('24 hours').check();
      await screenshot(page, '42-roll-dialog');
      await rollDialog.getByRole('button', { name: 'Roll key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Your new API key' });
      const fresh = await dialog.getByTestId('new-api-key').inputValue();
      expect(fresh).toMatch(/^lb_k_/);
      expect(await dialog.getByTestId('rolled-previous').textContent()).toContain(`It replaces ${old.apiKey.keyId}, which keeps working until`);
      await screenshot(page, '43-rolled-key-dialog');
      // Closing it uncopied asks first, as for a created key.
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await page.getByRole('dialog', { name: 'Close without copying the key?' }).getByRole('button', { name: 'Go back to the key' }).click();
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(await page.content()).not.toContain(fresh);

      // Both listed, linked both ways; the old one with its end, 24 hours from now.
      const freshKeyId = fresh.slice(0, 'lb_k_'.length + 12);
      await row(freshKeyId).waitFor();
      expect(await row(freshKeyId).getByTestId('rolled-from').textContent()).toBe(`Replaces ${old.apiKey.keyId}`);
      const replacedBy = row(old.apiKey.keyId).getByTestId('rolled-to');
      expect(await replacedBy.textContent()).toMatch(new RegExp(`^Replaced by ${freshKeyId}; works until `));
      const endsAt = await replacedBy.locator('time').getAttribute('datetime');
      expect(Math.abs(Date.parse(endsAt!) - (Date.now() + DAY_MS))).toBeLessThan(60_000);
      // Only the new one can be rolled now; the old one can still be revoked.
      expect(await row(old.apiKey.keyId).getByRole('button', { name: 'Roll deploy-bot' }).count()).toBe(0);
      expect(await row(old.apiKey.keyId).getByRole('button', { name: 'Revoke deploy-bot' }).count()).toBe(1);
      await screenshot(page, '44-keys-rolled');

      // Both work during the overlap.
      expect((await callWithKey(suite.server, old.key, '/api/desktops')).status).toBe(200);
      expect((await callWithKey(suite.server, fresh, '/api/desktops')).status).toBe(200);

      // The link leads to the other key's page.
      await replacedBy.getByRole('link').click();
      await page.getByRole('heading', { name: 'deploy-bot', level: 1 }).waitFor();
      expect(await page.getByTestId('key-facts').textContent()).toContain(`Replaces ${old.apiKey.keyId}`);

      // Rolled again from its own page, with no overlap: the key it replaced stops at once.
      await page.getByRole('button', { name: 'Roll key' }).click();
      const again = page.getByRole('dialog', { name: 'Roll “deploy-bot”?' });
      await again.getByLabel('No time: it stops at once').check();
      await again.getByRole('button', { name: 'Roll key' }).click();
      const third = await dialog.getByTestId('new-api-key').inputValue();
      expect(await dialog.getByTestId('rolled-previous').textContent()).toBe(`It replaces ${freshKeyId}, which no longer works.`);
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await dialog.waitFor({ state: 'detached' });
      expect((await callWithKey(suite.server, fresh, '/api/desktops')).status).toBe(401);
      expect((await callWithKey(suite.server, third, '/api/desktops')).status).toBe(200);
      await expect
        .poll(() => page.getByTestId('key-facts').getByTestId('rolled-to').textContent(), { timeout: 5000 })
        .toMatch(/^Replaced by lb_k_\w+; stopped /);
    },
    E2E_TIMEOUT,
  );

  it(
    'a key’s page: its usage drawn and counted (by outcome and route group, for 1 hour and 24 hours, kept current), its addresses trusted from the table, keys:manage granted',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'usage@example.com', '/api-keys');
      const me = await suite.accountOf(page);
      const cookie = await sessionCookie(page.context());
      const { key, apiKey } = await createScopedKey(suite.server, me.id, 'metered', ['desktops:read', 'desktops:write']);

      // A program's traffic: 5 successes, a 404, two 403s (a scope it lacks, on two route groups), and a success from a second machine.
      for (let i = 0; i < 4; i++) expect((await callWithKey(suite.server, key, '/api/desktops')).status).toBe(200);
      expect((await callWithKey(suite.server, key, '/api/desktops/dsk_nowhere')).status).toBe(404);
      expect((await callWithKey(suite.server, key, '/api/mission-control/activity')).status).toBe(403);
      expect((await callWithKey(suite.server, key, '/api/api-keys')).status).toBe(403);
      expect((await callWithKey(suite.server, key, '/api/desktops', { from: '127.0.0.2' })).status).toBe(200);
      await usageReaches(suite.server, cookie, apiKey.id, 8);

      await page.getByRole('link', { name: 'metered' }).click();
      await page.getByRole('heading', { name: 'metered', level: 1 }).waitFor();
      expect(await page.title()).toBe('metered · API keys · Le Bureau');
      const usage = page.getByTestId('key-usage');
      await expect
        .poll(() => usage.getByTestId('usage-summary').textContent(), { timeout: 15_000 })
        .toBe('8 requests in the last hour: 5 succeeded, 1 other client errors, 2 missing scope (403).');
      expect(await usage.getByTestId('usage-total').textContent()).toBe('8');
      const figure = async (table: string, attr: string, value: string) =>
        (await usage.getByTestId(table).locator(`tr[${attr}="${value}"] td`).first().textContent())?.trim();
      expect(await figure('usage-outcomes', 'data-outcome', '2xx')).toBe('5');
      expect(await figure('usage-outcomes', 'data-outcome', '4xx')).toBe('1');
      expect(await figure('usage-outcomes', 'data-outcome', '403')).toBe('2');
      expect(await figure('usage-outcomes', 'data-outcome', '401')).toBe('0');
      expect(await figure('usage-routes', 'data-group', 'desktops')).toBe('6');
      expect(await figure('usage-routes', 'data-group', 'activity')).toBe('1');
      expect(await figure('usage-routes', 'data-group', 'keys')).toBe('1');

      // The chart is drawn: uPlot's canvas, with bars in the colours of successes and of refusals.
      const canvas = usage.getByTestId('usage-chart').locator('canvas');
      await canvas.waitFor();
      const painted = () =>
        canvas.evaluate((c: HTMLCanvasElement) => {
          const css = getComputedStyle(document.documentElement);
          const rgb = (name: string) => {
            const hex = css.getPropertyValue(name).trim().slice(1);
            return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
          };
          const wanted = { ok: rgb('--chart-2xx'), scope: rgb('--chart-403') };
          const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          const count = { ok: 0, scope: 0, any: 0 };
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] === 0) continue;
            count.any++;
            for (const [k, [r, g, b]] of Object.entries(wanted)) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) count[k as 'ok' | 'scope']++;
          }
          return count;
        });
      await expect.poll(async () => (await painted()).ok, { timeout: 5000 }).toBeGreaterThan(0);
      expect((await painted()).scope).toBeGreaterThan(0);
      expect(await usage.getByTestId('usage-chart').getAttribute('aria-hidden')).toBe('true');
      // The chart as a table: each minute with requests, adding up to the total.
      await usage.getByText(/^The chart as a table/).click();
      const perMinute = await usage
        .getByTestId('usage-times')
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => Number(r.querySelector('td')!.textContent)));
      expect(perMinute.reduce((a, b) => a + b, 0)).toBe(8);
      await screenshot(page, '45-key-page');

      // 24 hours: by hour, the same requests.
      await usage.getByText('24 hours', { exact: true }).click();
      await expect.poll(() => usage.getByTestId('usage-summary').textContent()).toMatch(/^8 requests in the last 24 hours: /);

      // More requests show without a reload.
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
      for (let i = 0; i < 3; i++) expect((await callWithKey(suite.server, key, '/api/desktops')).status).toBe(200);
      await expect
        .poll(() => usage.getByTestId('usage-summary').textContent(), { timeout: 20_000, interval: 500 })
        .toMatch(/^11 requests in the last 24 hours: 8 succeeded/);
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

      // Addresses: the second machine is new and not trusted (an alert is open for it); the first is where the owner signed in.
      const addresses = page.getByTestId('key-addresses');
      const address = (ip: string) => addresses.locator(`[data-testid="address-row"][data-address="${ip}"]`);
      await address('127.0.0.2').waitFor();
      expect(await address('127.0.0.2').locator('td[data-label="Trust"]').textContent()).toBe('Not trusted');
      expect(await address('127.0.0.2').getByTestId('address-count').textContent()).toBe('1');
      expect(await address('127.0.0.1').locator('td[data-label="Trust"]').textContent()).toBe('Trusted: you signed in from it');
      const openAlerts = async () =>
        (
          await asOwner<{ alerts: Array<{ kind: string; address: string; key: { id: string } }> }>(suite.server, cookie, '/api/alerts?state=open')
        ).alerts.filter((a) => a.key.id === apiKey.id && a.kind === 'alert.new_address' && a.address === '127.0.0.2').length;
      await expect.poll(openAlerts, { timeout: 5000 }).toBe(1);
      const trust = address('127.0.0.2').getByRole('button', { name: 'Trust for this key: 127.0.0.2' });
      await trust.click();
      await expect.poll(() => address('127.0.0.2').locator('td[data-label="Trust"]').textContent()).toBe('Trusted for this key');
      // The same button, now to undo it, keeps the focus.
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Stop trusting for this key: 127.0.0.2');
      const listed = await asOwner<{ addresses: Array<{ address: string; trust: string | null }> }>(
        suite.server,
        cookie,
        `/api/api-keys/${apiKey.id}/addresses`,
      );
      expect(listed.addresses.find((a) => a.address === '127.0.0.2')?.trust).toBe('key');
      // Trusting it acknowledged the alert it explained.
      expect(await openAlerts()).toBe(0);
      await screenshot(page, '46-key-addresses');

      // keys:manage, granted on the key's page: the key may then list keys.
      expect((await callWithKey(suite.server, key, '/api/api-keys')).status).toBe(403);
      const scopes = page.getByTestId('key-scopes');
      await scopes.getByLabel(/Manage keys and sessions/).check();
      await scopes.getByRole('button', { name: 'Save scopes' }).click();
      await page.getByRole('status').filter({ hasText: 'Scopes of “metered” saved.' }).waitFor({ state: 'attached' });
      await expect.poll(async () => (await callWithKey(suite.server, key, '/api/api-keys')).status, { timeout: 5000 }).toBe(200);
      expect(await page.getByTestId('key-facts').getByTestId('key-scopes').textContent()).toBe('See desktops, Manage desktops, Manage keys and sessions');
    },
    E2E_TIMEOUT,
  );
});
