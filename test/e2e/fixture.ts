import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { removeDashboardBuild } from '../helpers/dashboard-build.ts';
import { type LiveServer, launchChromium, sessionCookie, startLiveServer, watchForPageErrors } from './browser.ts';

export const E2E_TIMEOUT = 90_000;

export interface PageOptions {
  width?: number;
  height?: number;
  colorScheme?: 'light' | 'dark';
}

export interface DashboardSuite {
  /** The live server of this file (set in beforeAll). */
  readonly server: LiveServer;
  readonly browser: Browser;
  /** A page in a fresh browser context (its own cookies and cache), watched for script errors and CSP violations. */
  newPage(options?: PageOptions): Promise<Page>;
  /** Watches a page opened some other way (a second tab) like newPage's. */
  watch(page: Page): void;
  /** The signed-in account of a page, as the API (of `on`, this file's server by default) sees it. */
  accountOf(page: Page, on?: LiveServer): Promise<{ id: string; email: string }>;
}

/**
 * One live server and one Chromium for a test file, with the checks every test gets:
 * no script error and no CSP violation on any page. Call at the top of a describe;
 * `env` adds settings to the server's.
 */
export function dashboardSuite(env: Record<string, string> = {}): DashboardSuite {
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let server: LiveServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    server = await startLiveServer(env);
    browser = await launchChromium();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
    expect(pageErrors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await removeDashboardBuild();
  });

  const suite: DashboardSuite = {
    get server() {
      if (!server) throw new Error('the live server is not started yet');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('Chromium is not started yet');
      return browser;
    },
    async newPage(options = {}) {
      const context = await suite.browser.newContext({
        viewport: { width: options.width ?? 1200, height: options.height ?? 800 },
        colorScheme: options.colorScheme ?? 'light',
      });
      contexts.push(context);
      const page = await context.newPage();
      suite.watch(page);
      return page;
    },
    watch(page) {
      watchForPageErrors(page, pageErrors);
    },
    async accountOf(page, on = suite.server) {
      const res = await fetch(`${on.base}/api/me`, { headers: { cookie: await sessionCookie(page.context()) } });
      return ((await res.json()) as { account: { id: string; email: string } }).account;
    },
  };
  return suite;
}

/** Clipboard access for a page's origin (Copy buttons). */
export async function allowClipboard(page: Page, origin: string): Promise<void> {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
}
