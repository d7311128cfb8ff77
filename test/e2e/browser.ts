import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { expect } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { buildDashboard } from '../helpers/dashboard-build.ts';
import { requireIntegrationLane } from '../helpers/lane.ts';
import { freePort } from '../helpers/redis.ts';

/** Debian's Chromium, never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  requireIntegrationLane('Chromium');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface LiveServer {
  base: string;
  port: number;
  /** Its data directory (the SQLite database): a server started again on it keeps every account and session. */
  dir: string;
  app: FastifyInstance;
  services: Services;
  /** keepData: leave the database for a server started again on it (see startLiveServer's `reuse`). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * The real server on loopback, as `bureau serve` runs it (compose + buildApp +
 * listen), with the local development OpenID provider, serving a fresh build of the
 * dashboard. The port is chosen first: the public URL (and so the OAuth redirect URI)
 * must name it. `reuse` starts it again on a stopped server's port and data (the page
 * in the browser sees the same server come back).
 */
export async function startLiveServer(env: Record<string, string> = {}, reuse: { port: number; dir: string } | null = null): Promise<LiveServer> {
  const dashboardDir = await buildDashboard();
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'bureau-e2e-'));
  const port = reuse?.port ?? (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: `sqlite:${join(dir, 'bureau.db')}`,
    BUREAU_DATA_DIR: dir,
    BUREAU_DEV_IDP: 'on',
    PORT: String(port),
    HOST: '127.0.0.1',
    BUREAU_PUBLIC_URL: base,
    LOG_LEVEL: 'warn',
    // Desktops are rows only: created `failed`, saying this server runs none.
    BUREAU_DESKTOPS: 'off',
    ...env,
  });
  const services = await compose(config);
  const app = await buildApp(services, { logger: false, dashboardDir });
  await app.listen({ port, host: '127.0.0.1' });
  // The periodic work `bureau serve` starts: last-use and usage flushes, the polls.
  services.jobs.start();
  return {
    base,
    port,
    dir,
    app,
    services,
    async close(options: { keepData?: boolean } = {}) {
      await app.close();
      await services.close();
      if (!options.keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SCREENSHOTS = join(import.meta.dirname, '../../test-results/screenshots');

/** Full-page screenshots for a reviewer to look at (test-results/ is not committed). */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
}

/** Fails the test on any script error or CSP violation the page reports. */
export function watchForPageErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) errors.push(`csp: ${m.text()}`);
  });
}

/** Through the dashboard's sign-in page and the development provider's login form. */
export async function signIn(page: Page, base: string, email: string, path = '/'): Promise<void> {
  await page.goto(base + path);
  await page.locator('a.provider-dev').click();
  // The development provider's form (src/dev-idp/pages.ts: input#email, button#sign-in).
  await page.locator('input#email').fill(email);
  await page.locator('button#sign-in').click();
  await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith('/api/') && url.pathname !== '/sign-in');
  await expect.poll(() => page.locator('.topbar .email').textContent()).toBe(email);
}

export async function sessionCookie(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === 'bureau_session');
  if (!cookie) throw new Error('no session cookie in the browser');
  return `${cookie.name}=${cookie.value}`;
}
