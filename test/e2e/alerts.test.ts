import { createHmac } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { screenshot, sessionCookie, signIn } from './browser.ts';
import { createKey } from './data.ts';
import { E2E_TIMEOUT, allowClipboard, dashboardSuite } from './fixture.ts';
import { asOwner, callWithKey, shownAlertCount } from './key-data.ts';

/*
 * Alerts in the dashboard: the unread count is the server's (the same on two devices,
 * live), each alert leads to its key and applies its fixes, and acknowledging clears the
 * count everywhere; webhooks are added with a secret shown once, and list the deliveries
 * an alert made to a real local receiver.
 */

/** A key's first use (from 127.0.0.1, where its owner signed in: no alarm), then one from `from`: an alert. */
async function raiseNewAddress(server: Parameters<typeof callWithKey>[0], key: string, from: string): Promise<void> {
  expect((await callWithKey(server, key, '/api/desktops')).status).toBe(200);
  expect((await callWithKey(server, key, '/api/desktops', { from })).status).toBe(200);
}

describe('alerts and webhooks', () => {
  const suite = dashboardSuite();
  const receivers: Server[] = [];
  afterEach(async () => {
    for (const r of receivers.splice(0)) await new Promise((resolve) => r.close(resolve));
  });

  it(
    'an alert shows with its unread count on every device, offers its fixes (trust, revoke, roll), and acknowledging (one, then all) clears the count everywhere',
    async () => {
      const email = 'watchful@example.com';
      const laptop = await suite.newPage();
      await allowClipboard(laptop, suite.server.base);
      await signIn(laptop, suite.server.base, email, '/desktops');
      const phone = await suite.newPage({ width: 390, height: 844 });
      await signIn(phone, suite.server.base, email, '/api-keys');
      const me = await suite.accountOf(laptop);
      expect((await suite.accountOf(phone)).id).toBe(me.id);
      for (const p of [laptop, phone]) await p.locator('.topbar .live-dot').waitFor();
      const counts = async () => [await shownAlertCount(laptop), await shownAlertCount(phone)];
      expect(await counts()).toEqual(['', '']);

      // A key used from a machine it never came from: both devices count it, live.
      const ci = await createKey(suite.server, me.id, 'ci-pipeline');
      await raiseNewAddress(suite.server, ci.key, '127.0.0.2');
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['1', '1']);
      await screenshot(phone, '50-alert-count-narrow', { fullPage: false });

      // The alert, with its key and its fixes.
      await laptop.getByRole('link', { name: /^Alerts/ }).click();
      const alert = laptop.getByTestId('alert').filter({ hasText: '127.0.0.2' });
      await alert.waitFor();
      expect(await alert.getAttribute('data-kind')).toBe('alert.new_address');
      expect(await alert.getByRole('heading').textContent()).toBe('Used from a new address');
      expect(await alert.getByRole('link', { name: '“ci-pipeline”' }).getAttribute('href')).toBe(`/api-keys/${ci.apiKey.id}`);
      expect(await alert.locator('button[data-fix]').allTextContents()).toEqual([
        'Trust the address for this key',
        'Trust it for every key',
        'Revoke the key',
        'Roll the key',
      ]);
      await screenshot(laptop, '51-alerts');

      // Trusting the address is its fix: the alert is acknowledged, on every device.
      await alert.getByRole('button', { name: 'Trust the address for this key' }).click();
      await alert.waitFor({ state: 'detached' });
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['', '']);
      const cookie = await sessionCookie(laptop.context());
      const addresses = await asOwner<{ addresses: Array<{ address: string; trust: string | null }> }>(
        suite.server,
        cookie,
        `/api/api-keys/${ci.apiKey.id}/addresses`,
      );
      expect(addresses.addresses.find((a) => a.address === '127.0.0.2')?.trust).toBe('key');
      await laptop.getByText('No open alerts. All is quiet.').waitFor();

      // Two more: a second key from a third machine, and the first key from a fourth.
      const leaky = await createKey(suite.server, me.id, 'leaky');
      await raiseNewAddress(suite.server, leaky.key, '127.0.0.3');
      expect((await callWithKey(suite.server, ci.key, '/api/desktops', { from: '127.0.0.4' })).status).toBe(200);
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['2', '2']);
      const leakyAlert = laptop.getByTestId('alert').filter({ hasText: '127.0.0.3' });
      const ciAlert = laptop.getByTestId('alert').filter({ hasText: '127.0.0.4' });
      await leakyAlert.waitFor();
      await ciAlert.waitFor();

      // Revoke, after a confirmation: the key is refused at once, and whoever still sends it raises an alert of
      // its own; the first stays until read, with no more key fixes.
      await leakyAlert.getByRole('button', { name: 'Revoke the key' }).click();
      await laptop.getByRole('dialog', { name: 'Revoke “leaky”?' }).getByRole('button', { name: 'Revoke key' }).click();
      await expect.poll(() => leakyAlert.locator('button[data-fix]').allTextContents()).toEqual(['Trust the address for this key', 'Trust it for every key']);
      expect((await callWithKey(suite.server, leaky.key, '/api/desktops')).status).toBe(401);
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['3', '3']);
      const stillSent = laptop.locator('[data-testid="alert"][data-kind="alert.old_key_used"]').filter({ hasText: 'leaky' });
      await stillSent.getByText('Sent from 127.0.0.1 after it was revoked').waitFor();

      // Roll: the new key shown once, the old one working for the overlap chosen.
      await ciAlert.getByRole('button', { name: 'Roll the key' }).click();
      const roll = laptop.getByRole('dialog', { name: 'Roll “ci-pipeline”?' });
      await roll.getByLabel('1 hour').check();
      await roll.getByRole('button', { name: 'Roll key' }).click();
      const shown = laptop.getByRole('dialog', { name: 'Your new API key' });
      const fresh = await shown.getByTestId('new-api-key').inputValue();
      await shown.getByRole('button', { name: 'Copy' }).click();
      await shown.getByRole('button', { name: 'I have stored it, close' }).click();
      await shown.waitFor({ state: 'detached' });
      expect((await callWithKey(suite.server, fresh, '/api/desktops')).status).toBe(200);
      // The old key still works during the overlap, and its use there is an alert: a program has to switch.
      expect((await callWithKey(suite.server, ci.key, '/api/desktops')).status).toBe(200);
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['4', '4']);
      await laptop.locator('[data-testid="alert"][data-kind="alert.old_key_used"]').filter({ hasText: 'ci-pipeline' }).waitFor();
      await screenshot(laptop, '51-alerts-several');

      // Mission control links an alert's row to the alert and to its key's page.
      await phone.getByRole('link', { name: /Mission control/ }).click();
      const row = phone.locator('[data-type="alert.new_address"]').filter({ hasText: '127.0.0.4' });
      expect(await row.getByRole('link', { name: 'The key’s usage and addresses' }).getAttribute('href')).toBe(`/api-keys/${ci.apiKey.id}`);
      await row.getByRole('link', { name: 'Open the alert' }).click();
      const linked = phone.getByTestId('alert').filter({ hasText: '127.0.0.4' });
      await expect.poll(() => linked.getAttribute('class'), { timeout: 5000 }).toContain('highlighted');
      await expect.poll(() => phone.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('alert');
      expect(new URL(phone.url()).hash).toBe(`#alert-${await linked.getAttribute('data-id')}`);
      await screenshot(phone, '52-alert-linked-narrow');

      // Acknowledged one by one, then all at once: the count follows on both devices.
      await ciAlert.getByRole('button', { name: /^Acknowledge/ }).click();
      await ciAlert.waitFor({ state: 'detached' });
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['3', '3']);
      await phone.getByTestId('alert').filter({ hasText: '127.0.0.4' }).waitFor({ state: 'detached' });
      await laptop.getByRole('button', { name: 'Acknowledge all' }).click();
      await laptop.getByText('No open alerts. All is quiet.').waitFor();
      await expect.poll(counts, { timeout: 10_000 }).toEqual(['', '']);
      expect((await asOwner<{ open: number }>(suite.server, cookie, '/api/alerts/count')).open).toBe(0);
      await laptop.getByText('Acknowledged', { exact: true }).click();
      await expect.poll(() => laptop.getByTestId('alert').count()).toBe(5);
    },
    E2E_TIMEOUT,
  );

  it(
    'webhooks: added with a secret shown once, signed deliveries to a real endpoint listed with their status, deleted',
    async () => {
      const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
      const receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
          res.writeHead(200).end('ok');
        });
      });
      receivers.push(receiver);
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/bureau-hook`;

      const page = await suite.newPage();
      await allowClipboard(page, suite.server.base);
      await signIn(page, suite.server.base, 'hooked@example.com', '/alerts');
      const me = await suite.accountOf(page);
      const section = page.getByTestId('webhooks');
      await section.getByText('No webhook yet.').waitFor();
      await section.getByLabel('Endpoint URL').fill(url);
      expect(await section.getByLabel('Every alert, kinds added later too').isChecked()).toBe(true);
      await section.getByRole('button', { name: 'Add webhook' }).click();

      // The secret, once.
      const dialog = page.getByRole('dialog', { name: 'Your webhook’s signing secret' });
      const secret = await dialog.getByTestId('webhook-secret').inputValue();
      expect(secret).toMatch(/^whsec_/);
      await screenshot(page, '53-webhook-secret');
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await page.getByRole('dialog', { name: 'Close without copying the secret?' }).getByRole('button', { name: 'Go back to the secret' }).click();
      await dialog.getByRole('button', { name: 'Copy' }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      await dialog.getByRole('button', { name: 'I have stored it, close' }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(await page.content()).not.toContain(secret);
      const hook = section.getByTestId('webhook').filter({ hasText: url });
      await hook.getByText('Nothing sent yet').waitFor();
      const cookie = await sessionCookie(page.context());
      expect(JSON.stringify(await asOwner(suite.server, cookie, '/api/webhooks'))).not.toContain(secret);

      // An alert: the endpoint gets it, signed with that secret, and the dashboard lists the delivery.
      const { key } = await createKey(suite.server, me.id, 'webhooked');
      await raiseNewAddress(suite.server, key, '127.0.0.2');
      await expect.poll(() => received.length, { timeout: 15_000 }).toBe(1);
      const [delivery] = received;
      const signature = String(delivery.headers['bureau-signature']);
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(signature)!;
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${delivery.body}`).digest('hex'));
      expect(JSON.parse(delivery.body)).toMatchObject({ type: 'alert.new_address', data: { address: '127.0.0.2', key: { name: 'webhooked' } } });
      const listed = hook.getByTestId('delivery');
      await expect.poll(() => listed.first().getAttribute('data-state'), { timeout: 10_000 }).toBe('delivered');
      expect(await listed.first().textContent()).toMatch(/^Used from a new addressDelivered 200/);
      await screenshot(page, '54-webhook-delivered');

      // Deleted after a confirmation: gone from the list and the API.
      await hook.getByRole('button', { name: `Delete webhook ${url}` }).click();
      await page.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete webhook' }).click();
      await hook.waitFor({ state: 'detached' });
      await section.getByText('No webhook yet.').waitFor();
      expect(await asOwner<{ webhooks: unknown[] }>(suite.server, cookie, '/api/webhooks')).toEqual({ webhooks: [] });
    },
    E2E_TIMEOUT,
  );
});
