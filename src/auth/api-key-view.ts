import { visibleKeyId } from './api-key-format.ts';
import type { ApiKeyRecord } from './ports.ts';
import { type Scope, scopeNames } from './scopes.ts';

/** `rolled`: replaced by a roll and past its overlap; refused like a revoked key. */
export type ApiKeyState = 'active' | 'revoked' | 'expired' | 'rolled';

/** Keys expiring within this many days are marked in the list (and told, see ExpiryNotices). */
export const EXPIRING_SOON_DAYS = 7;
const DAY_MS = 86_400_000;

/** What anyone may see of a key: never the key, never the hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  keyId: string;
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  state: ApiKeyState;
  scopes: Scope[];
  /** The desktops it is bound to; null for every desktop of the account. */
  desktops: string[] | null;
  /** The key this one replaced, and the key that replaced it (ids). */
  rolledFrom: string | null;
  rolledTo: string | null;
  /** A rolled key's end: it works until then. */
  endsAt: string | null;
  /** Active and expiring within EXPIRING_SOON_DAYS. */
  expiringSoon: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function keyState(k: ApiKeyRecord, now: number): ApiKeyState {
  if (k.revokedAt !== null) return 'revoked';
  // Whichever came first decides the word: a key rolled after it expired stays expired.
  if (k.expiresAt !== null && k.expiresAt <= now && (k.endsAt === null || k.expiresAt <= k.endsAt)) return 'expired';
  if (k.endsAt !== null && k.endsAt <= now) return 'rolled';
  return 'active';
}

export function viewApiKey(k: ApiKeyRecord, now: number): ApiKeyView {
  const state = keyState(k, now);
  return {
    id: k.id,
    name: k.name,
    keyId: visibleKeyId(k.publicId),
    createdAt: iso(k.createdAt)!,
    lastUsedAt: iso(k.lastUsedAt),
    lastUsedIp: k.lastUsedIp,
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
    state,
    scopes: scopeNames(k.scopes),
    desktops: k.desktops === null ? null : [...k.desktops],
    rolledFrom: k.rolledFrom,
    rolledTo: k.rolledTo,
    endsAt: iso(k.endsAt),
    expiringSoon: state === 'active' && k.expiresAt !== null && k.expiresAt - now <= EXPIRING_SOON_DAYS * DAY_MS,
  };
}
