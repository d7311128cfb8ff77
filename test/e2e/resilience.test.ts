import { describe, expect, it } from 'vitest';
import { type LiveServer, screenshot, signIn, startLiveServer } from './browser.ts';
import { createKey } from './data.ts';
import { E2E_TIMEOUT, dashboardSuite } from './fixture.ts';

describe('when something is not there', () => {
  const suite = dashboardSuite();

  it(
    'an unknown path shows a "not found" page with the menu (status 404, HTML), and the page it most likely meant',
    async () => {
      const page = await suite.newPage();
      await signIn(page, suite.server.base, 'lost@example.com', '/desktops');
      for (const [path, meant] of [
        ['/keys', 'API keys'],
        ['/api-keys/', 'API keys'],
        ['/Desktops', 'Desktops'],
        ['/no/such/page', null],
      ] as const) {
        const response = await page.goto(suite.server.base + path);
        expect(response?.status(), path).toBe(404);
        expect(await response?.headerValue('content-type'), path).toMatch(/^text\/html/);
        await page.getByRole('heading', { name: 'Page not found' }).waitFor();
        expect(await page.title()).toBe('Page not found · Le Bureau');
        expect(new URL(page.url()).pathname).toBe(path);
        await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Sessions' }).waitFor();
        const suggestion = page.getByTestId('page-suggestion');
        if (meant) expect(await suggestion.textContent(), path).toBe(`Did you mean ${meant}?`);
        else expect(await suggestion.count(), path).toBe(0);
      }
      await page.goto(`${suite.server.base}/api-keys/`);
      await screenshot(page, '27-not-found');
      await page.getByTestId('page-suggestion').getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/api-keys');
      // The API itself still answers JSON, to a browser too.
      const api = await page.goto(`${suite.server.base}/api/nope`);
      expect(api?.status()).toBe(404);
      expect(await api?.headerValue('content-type')).toMatch(/^application\/problem\+json/);
    },
    E2E_TIMEOUT,
  );

  it(
    'a list that failed to load says so, has Retry, and reloads by itself when the server is back',
    async () => {
      let server: LiveServer | null = await startLiveServer();
      try {
        const page = await suite.newPage();
        await signIn(page, server.base, 'outage@example.com', '/desktops');
        const me = await suite.accountOf(page, server);
        await createKey(server, me.id, 'survivor');
        await page.getByText('No desktops yet.').waitFor();

        // The server goes away (its database stays); the next list fails to load.
        const { port, dir } = server;
        await server.close({ keepData: true });
        server = null;
        await page.getByRole('link', { name: 'API keys' }).click();
        const problem = page.getByTestId('list-problem');
        await problem.waitFor();
        expect(await problem.getByRole('alert').textContent()).toBe(
          'The API keys could not be loaded. Le Bureau could not be reached. Check your connection and try again.',
        );
        await problem.getByText('It reloads by itself as soon as Le Bureau answers.').waitFor();
        await screenshot(page, '28-list-failed');
        // Retry while it is still away: still the same answer, nothing breaks.
        await problem.getByRole('button', { name: 'Retry' }).click();
        await problem.waitFor();

        // Back on the same port and data: the list appears without anyone pressing anything.
        server = await startLiveServer({}, { port, dir });
        await page.getByTestId('api-key-row').filter({ hasText: 'survivor' }).waitFor({ timeout: 20_000 });
        expect(await problem.count()).toBe(0);
      } finally {
        await server?.close();
      }
    },
    E2E_TIMEOUT,
  );
});
