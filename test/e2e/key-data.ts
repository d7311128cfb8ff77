import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Scope } from '../../src/auth/scopes.ts';
import { type HttpResult, request } from '../helpers/server-process.ts';
import type { LiveServer } from './browser.ts';
import { OPERATOR } from './data.ts';

/** A key made on the server with these scopes (as `bureau keys create --scopes` would); `key` is its plaintext. */
export function createScopedKey(server: LiveServer, accountId: string, name: string, scopes: Scope[]) {
  return server.services.apiKeys.create(accountId, { name, scopes }, OPERATOR, null);
}

/**
 * A request made with a key, as a program makes it, over real HTTP from a chosen
 * loopback address (127.0.0.2 is a machine the key was never used from: every 127/8
 * address reaches the server, which sees that one as the client).
 */
export function callWithKey(
  server: LiveServer,
  key: string,
  path: string,
  options: { method?: string; body?: unknown; from?: string } = {},
): Promise<HttpResult> {
  return request(server.base + path, { method: options.method, body: options.body, headers: { 'x-api-key': key }, localAddress: options.from ?? '127.0.0.1' });
}

/** The API as the signed-in browser sees it (its session cookie), from the test process. */
export async function asOwner<T>(server: LiveServer, cookie: string, path: string, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await request(server.base + path, { method: options.method, body: options.body, headers: { cookie, origin: server.base } });
  if (res.status >= 400) throw new Error(`${options.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as T;
}

/** The unread alert count shown in the menu of a page ('' when there is none). */
export async function shownAlertCount(page: Page): Promise<string> {
  const badge = page.getByTestId('alert-count');
  if ((await badge.count()) === 0) return '';
  return ((await badge.textContent()) ?? '').replace(/\D+/g, '');
}

/** Waits until the key's usage, as the API counts it, reaches `requests` (usage is written every 2 s). */
export async function usageReaches(server: LiveServer, cookie: string, keyId: string, requests: number): Promise<void> {
  await expect
    .poll(async () => (await asOwner<{ totals: { requests: number } }>(server, cookie, `/api/api-keys/${keyId}/usage`)).totals.requests, {
      timeout: 15_000,
      interval: 250,
    })
    .toBe(requests);
}
