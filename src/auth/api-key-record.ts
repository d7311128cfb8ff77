import type { ApiKeyPrincipal } from './principal.ts';
import type { ApiKeyRecord } from './ports.ts';
import type { RolledKey } from './verified-cache.ts';

/** When a key stops working: the earlier of its expiry and its roll's end; null never. */
export function keyEnd(k: Pick<ApiKeyRecord, 'expiresAt' | 'endsAt'>): number | null {
  if (k.expiresAt === null) return k.endsAt;
  if (k.endsAt === null) return k.expiresAt;
  return Math.min(k.expiresAt, k.endsAt);
}

/** Not revoked, and not past its expiry or its roll's end. */
export function isActiveKey(k: ApiKeyRecord, now: number): boolean {
  if (k.revokedAt !== null) return false;
  const end = keyEnd(k);
  return end === null || end > now;
}

/** What a request with this key acts as; frozen, since warm requests share it. */
export function principalOfKey(k: ApiKeyRecord): ApiKeyPrincipal {
  return Object.freeze({
    method: 'api_key' as const,
    accountId: k.accountId,
    keyId: k.id,
    publicId: k.publicId,
    scopes: k.scopes,
    desktops: k.desktops === null ? null : Object.freeze([...k.desktops]),
    endsAt: keyEnd(k),
  });
}

/** The roll a key's uses must be told of, while its overlap runs. */
export function rolledKeyOf(k: ApiKeyRecord): RolledKey | null {
  if (k.rolledTo === null || k.endsAt === null) return null;
  return { keyId: k.id, accountId: k.accountId, name: k.name, publicId: k.publicId, rolledTo: k.rolledTo, endsAt: k.endsAt };
}
