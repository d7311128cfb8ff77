import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { requestCookie } from './request-cookies.ts';

/**
 * The sign-in flow cookie: the sealed flow (state, PKCE verifier, nonce, returnTo)
 * between /start and /callback, which binds the flow to this browser. Same
 * attributes as the session cookie, for the same reasons (see session-cookie.ts);
 * SameSite=Lax is what lets it ride along on the provider's top-level redirect back.
 * Cleared at the callback whatever the outcome.
 */
export function flowCookieName(config: Pick<Config, 'publicUrl'>): string {
  return config.publicUrl.startsWith('https:') ? '__Host-bureau_signin' : 'bureau_signin';
}

export function readFlowCookie(request: FastifyRequest, name: string): string | undefined {
  return requestCookie(request, name);
}

export function setFlowCookie(reply: FastifyReply, name: string, sealed: string, maxAgeS: number): void {
  reply.setCookie(name, sealed, { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: maxAgeS });
}

export function clearFlowCookie(reply: FastifyReply, name: string): void {
  reply.clearCookie(name, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
}
