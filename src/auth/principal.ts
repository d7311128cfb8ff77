import { ALL_SCOPES } from './scopes.ts';

/**
 * A request acting with an API key. Built once when the key is verified and kept in
 * its verified-cache entry, so a warm request reuses it: never mutate one.
 */
export interface ApiKeyPrincipal {
  method: 'api_key';
  accountId: string;
  keyId: string;
  publicId: string;
  /** The key's scopes, a mask (scopes.ts). */
  scopes: number;
  /** The desktops the key is bound to; null for every desktop of the account. */
  desktops: readonly string[] | null;
  /** When the key stops working (its expiry, or the end of a roll's overlap); null never. */
  endsAt: number | null;
}

/** A request acting with the owner's sign-in session: every scope, every desktop. */
export interface SignedInPrincipal {
  method: 'session';
  accountId: string;
  sessionId: string;
  expiresAt: number;
  desktops?: undefined;
}

/** Who a request acts for, and how it proved it. */
export type Principal = ApiKeyPrincipal | SignedInPrincipal;

export function scopesOf(p: Principal): number {
  return p.method === 'api_key' ? p.scopes : ALL_SCOPES;
}

/** Whether `p` holds every scope of `needed` (a mask). Sessions hold all of them. */
export function holds(p: Principal, needed: number): boolean {
  return p.method !== 'api_key' || (p.scopes & needed) === needed;
}
