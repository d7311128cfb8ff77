import type { FastifyRequest } from 'fastify';
import { API_KEY_PREFIX } from '../auth/api-key-format.ts';

/** What a request presents as an API key, read from its headers (or, on the stream, its URL). */
export interface Credentials {
  apiKey: string | null;
  /** A key was sent somewhere it is refused (the query string off the stream). */
  misplacedKey: boolean;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the request's URL carries `?apiKey=` at all (refused everywhere but the stream). */
export function hasKeyInUrl(request: FastifyRequest): boolean {
  return (request.query as Record<string, unknown> | undefined)?.apiKey !== undefined;
}

export function readCredentials(request: FastifyRequest): Credentials {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.apiKey;
  // A key in the URL is refused off the SSE routes even when a header key comes with
  // it: URLs end up in logs, histories and Referer headers, so the request must fail
  // for the sender to notice.
  if (fromQuery !== undefined && !request.ctx.route.apiKeyInQuery) return { apiKey: null, misplacedKey: true };
  const header = headerValue(request.headers['x-api-key']);
  if (header !== undefined) return { apiKey: header.trim(), misplacedKey: false };
  const authorization = headerValue(request.headers.authorization);
  // Only the Bearer scheme carries a key. A bare key (no scheme) is a failed attempt;
  // another scheme (a proxy's Basic auth in front of the dashboard) is not ours to
  // judge: it must neither count toward the address block nor hide the session cookie.
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m) return { apiKey: m[1], misplacedKey: false };
    if (authorization.includes(API_KEY_PREFIX) || /^Bearer\b/i.test(authorization)) return { apiKey: '', misplacedKey: false };
  }
  if (typeof fromQuery === 'string') return { apiKey: fromQuery, misplacedKey: false };
  if (fromQuery !== undefined) return { apiKey: null, misplacedKey: true };
  return { apiKey: null, misplacedKey: false };
}

/** The `?ticket=` value on routes that take one (the activity stream only), else null. */
export function readStreamTicket(request: FastifyRequest): string | null {
  if (!request.ctx.route.ticketInQuery) return null;
  const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
  return typeof ticket === 'string' ? ticket : null;
}
