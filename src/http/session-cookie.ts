import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { requestCookie } from './request-cookies.ts';

/**
 * The session cookie: httpOnly, Secure, SameSite=Lax, Path=/, no Domain (host-only).
 * Over https it carries the __Host- prefix, which makes the browser itself enforce
 * Secure, Path=/ and no Domain. On plain-http localhost (development) the prefix is
 * dropped but the cookie stays Secure: browsers treat http://localhost as a secure
 * context and keep it; on any other plain-http host the browser would drop it,
 * which is why production must be served over https.
 */
export function sessionCookieName(config: Pick<Config, 'publicUrl'>): string {
  return config.publicUrl.startsWith('https:') ? '__Host-bureau_session' : 'bureau_session';
}

export function readSessionCookie(request: FastifyRequest, name: string): string | undefined {
  return requestCookie(request, name);
}

export function setSessionCookie(reply: FastifyReply, name: string, token: string, maxAgeS: number): void {
  reply.setCookie(name, token, { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: maxAgeS });
}

export function clearSessionCookie(reply: FastifyReply, name: string): void {
  reply.clearCookie(name, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
}
