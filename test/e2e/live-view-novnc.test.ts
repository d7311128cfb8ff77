import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, waitFor } from '../activity/sse-clients.ts';
import { eventually } from '../helpers/redis.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import { launchChromium } from './browser.ts';

const NOVNC = join(process.cwd(), 'node_modules/@novnc/novnc');

/** A page elsewhere (another origin) that embeds noVNC 1.7, as someone given a link would. */
const PAGE = `<!doctype html><html><body style="margin:0">
<div id="screen" style="width:800px;height:600px"></div>
<script type="module">
import RFB from '/core/rfb.js';
window.openView = (url) => new Promise((resolve) => {
  const rfb = new RFB(document.getElementById('screen'), url);
  rfb.addEventListener('connect', () => resolve('connected'));
  rfb.addEventListener('disconnect', () => resolve('disconnected'));
  window.rfb = rfb;
});
</script></body></html>`;

/** Serves the page and noVNC's own files (core/, vendor/) from node_modules. */
async function servePage(): Promise<{ base: string; close(): void }> {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    try {
      const body = await readFile(join(NOVNC, path));
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/**
 * The live view in a real browser: Debian's Chromium running noVNC (the client the
 * dashboard embeds) against a real desktop, with a shared link (view ticket), watch-only
 * and in control; and the session cookie refused to a page of another origin.
 */
describe('live view with noVNC in Chromium', () => {
  let t: TestApp;
  let base: string;
  let page: { base: string; close(): void };
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['account']>>;
  let id: string;

  const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers: { 'x-api-key': owner.key }, payload: payload as never });
  const cursor = async () => (await call('GET', `/api/desktops/${id}/cursor`)).json() as { x: number; y: number };
  const wsUrl = (path: string) => base.replace(/^http/, 'ws') + path;
  const openPage = async (): Promise<Page> => {
    const p = await browser.newPage();
    await p.goto(page.base);
    // The module (and noVNC's imports) may still be loading when the page says it loaded.
    await p.waitForFunction(() => typeof (window as any).openView === 'function');
    return p;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_DESKTOPS: 'local', BUREAU_RATE_LIMIT_PER_MINUTE: '100000' } });
    base = await listen(t);
    page = await servePage();
    browser = await launchChromium();
    owner = await t.account();
    id = (await call('POST', '/api/desktops', { name: 'shared', resolution: '800x600' })).json().id;
    await eventually(async () => ((await call('GET', `/api/desktops/${id}`)).json().state === 'running' ? true : null), 30_000, 'the desktop to run');
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    page?.close();
    await t?.close();
  });

  it("shows the desktop with a watch-only link, and the viewer's clicks never reach it", async () => {
    await call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 5, y: 5 }] });
    const { url } = (await call('POST', `/api/desktops/${id}/view-tickets`, {})).json();
    const p = await openPage();
    expect(await p.evaluate((u) => (window as any).openView(u), wsUrl(url))).toBe('connected');
    // The first frame is drawn: the canvas has the desktop's size and something on it.
    await waitFor(
      () =>
        p.evaluate(() => {
          const c = document.querySelector('canvas') as HTMLCanvasElement | null;
          return c !== null && c.width === 800 && c.height === 600;
        }),
      10_000,
      'the canvas',
    );
    await p.mouse.move(400, 300);
    await p.mouse.click(400, 300);
    await p.keyboard.type('typed by a viewer');
    // noVNC sends input at once and keeps requesting updates; a moment is ample for anything
    // let through to arrive. (live-view.test.ts proves the same with an exact round trip.)
    await p.waitForTimeout(300);
    expect(await cursor()).toEqual({ x: 5, y: 5 });
    await p.close();
  });

  it('lets a control link drive the desktop', async () => {
    const { url } = (await call('POST', `/api/desktops/${id}/view-tickets`, { mode: 'control' })).json();
    const p = await openPage();
    expect(await p.evaluate((u) => (window as any).openView(u), wsUrl(url))).toBe('connected');
    await waitFor(() => p.evaluate(() => document.querySelector('canvas')?.width === 800), 10_000, 'the canvas');
    await p.mouse.move(321, 234);
    await waitFor(
      async () => {
        const c = await cursor();
        return c.x === 321 && c.y === 234;
      },
      5000,
      'the desktop cursor to follow',
    );
    await p.close();
  });

  it('refuses the session cookie to a page of another origin', async () => {
    const s = await startSession(t, owner.email);
    const context = await browser.newContext();
    // Cookies are per host, not per port: the browser sends this one to the API from the other page.
    await context.addCookies([{ name: sessionCookieName(t.services.config), value: s.token, domain: '127.0.0.1', path: '/', httpOnly: true, secure: false }]);
    const p = await context.newPage();
    await p.goto(page.base);
    await p.waitForFunction(() => typeof (window as any).openView === 'function');
    const outcome = await p.evaluate((u) => (window as any).openView(u), wsUrl(`/api/desktops/${id}/view`));
    expect(outcome).toBe('disconnected');
    const refused = t.logs.filter((l) => l.includes('cross-site live view refused'));
    expect(refused.length).toBeGreaterThan(0);
    await context.close();
  });
});
