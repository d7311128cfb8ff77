/**
 * The dashboard talks to the public API like any other client: fetch, same origin,
 * the httpOnly session cookie sent by the browser. Nothing here ever stores a
 * credential: the cookie is out of JavaScript's reach, and a new API key only passes
 * through the return value of createApiKey().
 */
import type { components, paths } from './api-types.ts';

/*
 * The API's shapes, from the server's OpenAPI document (web/src/api-types.ts, made by
 * `npm run types:web`; a test fails when it no longer matches the server).
 */
export type Ok<P extends keyof paths, M extends 'get' | 'post' | 'patch' | 'delete'> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer T } } };
}
  ? T
  : never;
export type Created<P extends keyof paths> = paths[P]['post'] extends { responses: { 201: { content: { 'application/json': infer T } } } } ? T : never;

export type Desktop = components['schemas']['Desktop'];
/** starting → running → stopping → stopped; failed (with `failure`, a reason in plain words). */
export type DesktopState = Desktop['state'];
export type ApiKey = components['schemas']['ApiKey'];
export type Scope = ApiKey['scopes'][number];
/** The server's key policy: scopes, the expiry it proposes and allows, the roll overlaps it offers. */
export type KeyPolicy = Ok<'/api/api-keys', 'get'>['policy'];
/** A key just made (or rolled): the only time its plaintext (`key`) is seen. */
export type IssuedKey = Created<'/api/api-keys'>;
export type RolledKey = Created<'/api/api-keys/{id}/roll'>;
export interface NewKey {
  name: string;
  expiresAt: string | null;
  scopes: Scope[];
  /** null: every desktop of the account. */
  desktops: string[] | null;
}
export type Me = Ok<'/api/me', 'get'>;
export type Account = Me['account'];
export type Session = Ok<'/api/sessions', 'get'>['sessions'][number];
export type Provider = Ok<'/api/auth/providers', 'get'>['providers'][number];
export type ActivityEvent = Ok<'/api/mission-control/activity', 'get'>['events'][number];
export type ViewTicket = Ok<'/api/desktops/{id}/view-tickets', 'get'>['viewTickets'][number];
/** A view ticket just made: the only time its secret (`ticket`) is seen. */
export type IssuedViewTicket = Created<'/api/desktops/{id}/view-tickets'>;

/** An API failure: the problem+json body's code, plus Retry-After on 429 and 503. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS: number | null = null,
    /** On a 429: whose budget ran out (a key's visible id, "this session" or "this address"). */
    readonly budget: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.retryAt = retryAfterS === null ? null : Date.now() + retryAfterS * 1000;
  }

  /** When a retry may succeed (ms since the epoch), for a countdown. */
  readonly retryAt: number | null;
}

let unauthorizedHandler: () => void = () => {};

/** Called on any 401: the session is gone (expired, ended elsewhere, signed out). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Sends a request with the cookie; answers the response when it is a success, else throws its ApiError. */
async function send(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { accept } : { accept, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Le Bureau could not be reached. Check your connection and try again.');
  }
  if (res.ok) return res;
  const payload: unknown = await res.json().catch(() => null);
  const problem = (payload ?? {}) as { code?: string; title?: string; detail?: string; budget?: string };
  const error = new ApiError(
    res.status,
    problem.code ?? 'http_error',
    problem.detail ?? problem.title ?? `Request failed (${res.status})`,
    parseRetryAfter(res.headers.get('retry-after')),
    typeof problem.budget === 'string' ? problem.budget : null,
  );
  if (res.status === 401) unauthorizedHandler();
  throw error;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (res.status === 204) return undefined as T;
  return (await res.json().catch(() => null)) as T;
}

/** What to tell a person about a failure, in plain words; `now` moves a 429's countdown. */
export function describeError(err: unknown, now = Date.now()): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
  if (err.status === 429 || err.status === 503) {
    let what = err.status === 429 ? 'Too many requests.' : 'Le Bureau is busy.';
    if (err.status === 429 && err.budget) what = `Too many requests: the budget of ${err.budget} is used up.`;
    if (err.retryAt === null) return `${what} Wait a moment and try again.`;
    const left = Math.max(0, Math.ceil((err.retryAt - now) / 1000));
    if (left === 0) return `${what} You can try again now.`;
    return `${what} Try again in ${left} second${left === 1 ? '' : 's'} (at ${new Date(err.retryAt).toLocaleTimeString()}).`;
  }
  if (err.status === 401) return 'Your session has ended. Sign in again.';
  if (err.status === 403 && err.code === 'cross_site_request') return 'The request was refused because it did not come from this page. Reload and try again.';
  if (err.status === 403) return 'You do not have access to this.';
  if (err.status === 404) return 'It no longer exists; the list has been refreshed.';
  return err.message;
}

export const api = {
  me: () => request<Me>('GET', '/api/me'),
  providers: () => request<{ providers: Provider[] }>('GET', '/api/auth/providers').then((r) => r.providers),
  logout: () => request<void>('POST', '/api/auth/logout'),

  desktops: () => request<{ desktops: Desktop[] }>('GET', '/api/desktops').then((r) => r.desktops),
  createDesktop: (name: string) => request<Desktop>('POST', '/api/desktops', { name }),
  updateDesktop: (id: string, changes: { name?: string; state?: 'running' | 'stopped' }) =>
    request<Desktop>('PATCH', `/api/desktops/${encodeURIComponent(id)}`, changes),
  deleteDesktop: (id: string) => request<void>('DELETE', `/api/desktops/${encodeURIComponent(id)}`),
  desktop: (id: string) => request<Desktop>('GET', `/api/desktops/${encodeURIComponent(id)}`),
  /** A PNG of a running desktop's screen (does not count as using it: thumbnails never keep one from idling). */
  screenshot: (id: string) => send('GET', `/api/desktops/${encodeURIComponent(id)}/screenshot`, undefined, 'image/png').then((r) => r.blob()),
  viewTickets: (id: string) => request<{ viewTickets: ViewTicket[] }>('GET', `/api/desktops/${encodeURIComponent(id)}/view-tickets`).then((r) => r.viewTickets),
  /** The only place a ticket's secret exists in the dashboard: the share panel shows its link and drops it. */
  createViewTicket: (id: string, body: { mode: 'view' | 'control'; ttlS: number }) =>
    request<IssuedViewTicket>('POST', `/api/desktops/${encodeURIComponent(id)}/view-tickets`, body),
  revokeViewTicket: (id: string, ticketId: string) =>
    request<void>('DELETE', `/api/desktops/${encodeURIComponent(id)}/view-tickets/${encodeURIComponent(ticketId)}`),

  apiKeys: () => request<{ apiKeys: ApiKey[] }>('GET', '/api/api-keys').then((r) => r.apiKeys),
  /** The keys with the server's key policy (what the create form and the Roll button offer). */
  apiKeysWithPolicy: () => request<{ apiKeys: ApiKey[]; policy: KeyPolicy }>('GET', '/api/api-keys'),
  /** The only place a plaintext key exists in the dashboard: the caller shows it once and drops it. */
  createApiKey: ({ name, expiresAt, scopes, desktops }: NewKey) =>
    request<IssuedKey>('POST', '/api/api-keys', desktops === null ? { name, expiresAt, scopes } : { name, expiresAt, scopes, desktops }),
  updateKeyScopes: (id: string, scopes: Scope[]) => request<ApiKey>('PATCH', `/api/api-keys/${encodeURIComponent(id)}`, { scopes }),
  /** A new key for an old one, shown once like a created key; the old one works `overlapS` seconds more. */
  rollApiKey: (id: string, overlapS: number) => request<RolledKey>('POST', `/api/api-keys/${encodeURIComponent(id)}/roll`, { overlapS }),
  revokeApiKey: (id: string) => request<ApiKey>('DELETE', `/api/api-keys/${encodeURIComponent(id)}`),

  sessions: () => request<{ sessions: Session[] }>('GET', '/api/sessions').then((r) => r.sessions),
  endSession: (id: string) => request<void>('DELETE', `/api/sessions/${encodeURIComponent(id)}`),
  endOtherSessions: () => request<{ ended: number }>('DELETE', '/api/sessions/others'),

  activity: (before: number | null, limit = 50) =>
    request<{ events: ActivityEvent[]; nextBefore: number | null }>(
      'GET',
      `/api/mission-control/activity?limit=${limit}${before === null ? '' : `&before=${before}`}`,
    ),
};
