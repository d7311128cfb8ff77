/**
 * Alerts in plain words (GET /api/alerts): what each kind means, what its details say,
 * and what each of its fixes does. No React, so test/web can check the wording.
 */
import type { ActivityEvent } from './api.ts';
import type { Alert, AlertFix, AlertKind } from './monitoring-api.ts';

/**
 * Events after which the number of open alerts may have changed: an alert raised, alerts
 * acknowledged (here, in another tab, on another device), an address trusted (which
 * acknowledges the new-address alerts it explains).
 */
export function changesAlertCount(e: Pick<ActivityEvent, 'type'>): boolean {
  return e.type.startsWith('alert.') || e.type === 'alerts.acknowledged' || e.type === 'address.trusted';
}

/** Every kind there is, as webhooks may ask for them. */
export const ALERT_KINDS: AlertKind[] = [
  'alert.new_address',
  'alert.usage_spike',
  'alert.failure_spike',
  'alert.old_key_used',
  'alert.blocked_address',
  'alert.key_leaked',
];

export const ALERT_TITLE: Record<AlertKind, string> = {
  'alert.new_address': 'Used from a new address',
  'alert.usage_spike': 'Far more requests than usual',
  'alert.failure_spike': 'Most requests refused',
  'alert.old_key_used': 'A key that ended is still sent',
  'alert.blocked_address': 'Refused at a blocked address',
  'alert.key_leaked': 'Found in public and revoked',
};

export const FIX_LABEL: Record<AlertFix['action'], string> = {
  trust_address: 'Trust the address for this key',
  trust_address_for_account: 'Trust it for every key',
  revoke: 'Revoke the key',
  roll: 'Roll the key',
};

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const text = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** What happened, in a sentence (the key is named separately, as a link). */
export function alertDetail(a: Pick<Alert, 'kind' | 'address' | 'details'>): string {
  const d = a.details ?? {};
  const from = a.address ? ` from ${a.address}` : '';
  switch (a.kind) {
    case 'alert.new_address':
      return `Used from ${a.address ?? 'an address'} for the first time. If neither you nor one of your programs did this, roll or revoke the key; if it was you, trust the address.`;
    case 'alert.usage_spike': {
      const requests = num(d.requests);
      const minutes = num(d.windowMinutes);
      const average = num(d.hourlyAverage);
      const what = requests !== null && minutes !== null ? `${requests.toLocaleString()} requests in ${minutes} minutes` : 'Many more requests than usual';
      return `${what}${average !== null ? `, against ${Math.round(average).toLocaleString()} an hour on average` : ''}.`;
    }
    case 'alert.failure_spike': {
      const requests = num(d.requests);
      const refused = num(d.refused);
      const minutes = num(d.windowMinutes);
      if (requests === null || refused === null) return 'Most of its recent requests were refused (401 or 403).';
      return `${refused.toLocaleString()} of ${requests.toLocaleString()} requests${minutes !== null ? ` in ${minutes} minutes` : ''} were refused (401 or 403): a program may be misconfigured, or someone is guessing.`;
    }
    case 'alert.old_key_used':
      return d.reason === 'rolled'
        ? `Sent${from} after its roll ended: a program still uses the old key and is refused.`
        : `Sent${from} after it was revoked: a program still uses it and is refused. If it is not yours, someone has the key.`;
    case 'alert.blocked_address': {
      const blocked = text(d.blockedAddress) ?? a.address;
      return `Refused${blocked ? ` at ${blocked}` : ''}, an address blocked after repeated wrong keys from it.`;
    }
    case 'alert.key_leaked': {
      const leak = (d.leak ?? {}) as Record<string, unknown>;
      const where = text(leak.url) ?? text(leak.source);
      return `Reported as published${where ? ` (${where})` : ''}, and revoked at once. Make a new key for its program.`;
    }
    default:
      return '';
  }
}
