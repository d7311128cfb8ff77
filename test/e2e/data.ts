import type { Actor } from '../../src/activity/events.ts';
import type { DesktopState } from '../../src/desktops/ports.ts';
import { SqlDesktopStore } from '../../src/store/sql-desktops.ts';
import type { LiveServer } from './browser.ts';

/** What the `bureau` command would be: changes made outside any browser session. */
export const OPERATOR: Actor = { type: 'operator', id: null };

/** A desktop made on the server (as a script would), with its creation event. */
export function createDesktop(server: LiveServer, accountId: string, name: string) {
  return server.services.desktops.create({ accountId: accountId }, { name }, OPERATOR, null);
}

/** A key made on the server; `key` is its plaintext. */
export function createKey(server: LiveServer, accountId: string, name: string) {
  return server.services.apiKeys.create(accountId, { name }, OPERATOR, null);
}

/**
 * Puts a desktop in a state as a desktop host would report it, with no event (this
 * server runs no desktops, so none would ever be running otherwise).
 */
export async function setDesktopState(server: LiveServer, id: string, state: DesktopState, failure: string | null = null): Promise<void> {
  const store = new SqlDesktopStore(server.services.database.db, server.services.database.dialect, server.services.database.sqlite);
  const current = await store.findById(id);
  if (!current) throw new Error(`no desktop ${id}`);
  const changed = await store.transition(id, { from: [current.state], to: state, failure, at: Date.now() }, null);
  if (!changed || typeof changed === 'string') throw new Error(`could not move ${id} to ${state}`);
}

/** A request made with a key, as a program makes it; `from` pretends to come through a trusted proxy. */
export function useKey(server: LiveServer, key: string, path = '/api/desktops', from?: string): Promise<Response> {
  const headers: Record<string, string> = { 'x-api-key': key };
  if (from) headers['x-forwarded-for'] = from;
  return fetch(server.base + path, { headers });
}

/** Distinct creation times, so "newest first" has one right answer. */
export const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
