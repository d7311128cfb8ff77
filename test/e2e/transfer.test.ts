import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { E2E_TIMEOUT, dashboardSuite } from './fixture.ts';

/*
 * What a first visit costs on the wire: every byte Chromium received (headers and
 * bodies, as its network layer counts them) from the first request to a quiet page,
 * with an empty cache.
 */

interface Transfer {
  url: string;
  bytes: number;
  encoding: string | null;
}

/** Records every response of `page` through the DevTools protocol until `done` resolves. */
async function recordTransfers(page: Page, visit: () => Promise<void>): Promise<Transfer[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const responses = new Map<string, { url: string; encoding: string | null }>();
  const finished = new Map<string, number>();
  cdp.on('Network.responseReceived', (e) => {
    const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    responses.set(e.requestId, { url: e.response.url, encoding: headers['content-encoding'] ?? null });
  });
  cdp.on('Network.loadingFinished', (e) => finished.set(e.requestId, e.encodedDataLength));
  await visit();
  await page.waitForLoadState('networkidle');
  await cdp.detach();
  return [...finished].map(([id, bytes]) => ({ url: responses.get(id)?.url ?? id, bytes, encoding: responses.get(id)?.encoding ?? null }));
}

describe('a first visit', () => {
  const suite = dashboardSuite();

  it(
    'transfers at most 100 KiB, with the script and the stylesheet compressed',
    async () => {
      const page = await suite.newPage();
      const transfers = await recordTransfers(page, async () => {
        await page.goto(suite.server.base);
        await page.locator('a.provider-dev').waitFor();
      });
      const total = transfers.reduce((sum, t) => sum + t.bytes, 0);
      console.log(`first visit: ${transfers.length} responses, ${total} bytes (${(total / 1024).toFixed(1)} KiB)`);
      for (const t of transfers) console.log(`  ${t.bytes}\t${t.encoding ?? '-'}\t${new URL(t.url).pathname}`);
      const assets = transfers.filter((t) => /\/assets\/.+\.(js|css)$/.test(new URL(t.url).pathname));
      expect(assets.map((a) => new URL(a.url).pathname.split('.').pop()).sort()).toEqual(['css', 'js']);
      for (const a of assets) expect(a.encoding ?? 'identity', a.url).toMatch(/^(br|gzip)$/);
      expect(total).toBeLessThanOrEqual(100 * 1024);
    },
    E2E_TIMEOUT,
  );
});
