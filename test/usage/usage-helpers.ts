import { type HttpResult, request } from '../helpers/server-process.ts';
import type { TestApp } from '../helpers/test-app.ts';

/**
 * Real HTTP to a listening test app, from a chosen loopback address (every 127.0.0.0/8
 * address is this machine), with a key or a session cookie.
 */
export interface Caller {
  key?: string;
  cookie?: Record<string, string>;
  from?: string;
}

export function call(base: string, method: string, path: string, who: Caller = {}, body?: unknown): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(who.cookie ?? {}) };
  if (who.key) headers['x-api-key'] = who.key;
  return request(`${base}${path}`, { method, headers, body, localAddress: who.from ?? '127.0.0.1' });
}

export const operator = { type: 'operator' as const, id: null };

/** A second key of the account: reading a key's usage with the key itself would count in it. */
export async function readerKey(t: TestApp, accountId: string): Promise<string> {
  return (await t.services.apiKeys.create(accountId, { name: 'reader' }, operator, null)).key;
}

/** Events of the account in mission control's log, oldest first. */
export async function eventsOf(t: TestApp, accountId: string, type?: string) {
  const page = await t.services.activityLog.page(accountId, { limit: 200 });
  return page.reverse().filter((e) => type === undefined || e.type === type);
}

/** Writes what the recorders hold (what the 2 s job does), then any alert raised meanwhile is stored. */
export async function flushUsage(t: TestApp): Promise<void> {
  await t.services.usage.sessionAddresses.flush();
  await t.services.usage.recorder.flush();
}
