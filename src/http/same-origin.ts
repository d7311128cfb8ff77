import type { FastifyRequest } from 'fastify';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/**
 * CSRF defence for cookie-authenticated requests (OWASP: Fetch Metadata, then Origin).
 * Sec-Fetch-Site is set by every current browser and cannot be forged by a page; where
 * it is absent, Origin must be exactly our public origin. A request carrying neither
 * is refused: a browser always sends one of them on a cross-origin unsafe request,
 * and programs should use API keys, which this check does not apply to.
 */
export function isSameOriginRequest(request: FastifyRequest, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin === publicOrigin;
}
