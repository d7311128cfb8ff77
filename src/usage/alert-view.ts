import { visibleKeyId } from '../auth/api-key-format.ts';
import type { ApiKeyRecord } from '../auth/ports.ts';
import type { AlertRecord } from './ports.ts';

/** Where the fix for an alert is: the request that applies it. */
export interface AlertFix {
  action: 'revoke' | 'roll' | 'trust_address' | 'trust_address_for_account';
  method: 'POST' | 'DELETE';
  href: string;
  /** The JSON body to send, when the request takes one. */
  body?: Record<string, string>;
}

export interface AlertKeyView {
  id: string;
  keyId: string;
  name: string;
  state: 'active' | 'revoked' | 'expired';
}

export interface AlertView {
  id: string;
  kind: AlertRecord['kind'];
  state: AlertRecord['state'];
  createdAt: string;
  ackedAt: string | null;
  key: AlertKeyView | null;
  address: string | null;
  details: Record<string, unknown> | null;
  fixes: AlertFix[];
}

/** Key rolling's route (built with key scopes); the lead checks it when both are merged. */
export const rollHref = (keyId: string) => `/api/api-keys/${keyId}/roll`;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function keyView(key: ApiKeyRecord, now: number): AlertKeyView {
  const state = key.revokedAt !== null ? 'revoked' : key.expiresAt !== null && key.expiresAt <= now ? 'expired' : 'active';
  return { id: key.id, keyId: visibleKeyId(key.publicId), name: key.name, state };
}

/**
 * The fixes an alert offers, from the key's state now: revoke and roll while the key
 * is active, and for an address never seen before, trusting it (for the key or for the
 * whole account), which also acknowledges the alert.
 */
function fixesFor(alert: AlertRecord, key: AlertKeyView | null): AlertFix[] {
  const fixes: AlertFix[] = [];
  if (!key) return fixes;
  if (alert.kind === 'alert.new_address' && alert.address) {
    fixes.push({ action: 'trust_address', method: 'POST', href: `/api/api-keys/${key.id}/addresses/${encodeURIComponent(alert.address)}/trust` });
    fixes.push({ action: 'trust_address_for_account', method: 'POST', href: '/api/trusted-addresses', body: { address: alert.address } });
  }
  if (key.state === 'active') {
    fixes.push({ action: 'revoke', method: 'DELETE', href: `/api/api-keys/${key.id}` });
    fixes.push({ action: 'roll', method: 'POST', href: rollHref(key.id) });
  }
  return fixes;
}

export function viewAlert(alert: AlertRecord, key: ApiKeyRecord | undefined, now: number): AlertView {
  const k = key ? keyView(key, now) : null;
  return {
    id: alert.id,
    kind: alert.kind,
    state: alert.state,
    createdAt: iso(alert.createdAt)!,
    ackedAt: iso(alert.ackedAt),
    key: k,
    address: alert.address,
    details: alert.data,
    fixes: fixesFor(alert, k),
  };
}
