import type { ActivityEvent } from './api.ts';
import { desktopOf, isAlert, keysOf } from './event-text.ts';

/** What mission control shows: everything, or only alerts, one key, one desktop, one type ('' = any). */
export interface ActivityFilter {
  alerts: boolean;
  key: string;
  desktop: string;
  type: string;
}

export const NO_FILTER: ActivityFilter = { alerts: false, key: '', desktop: '', type: '' };

/** Event types as a person names them, in the order the type filter offers them. */
export const TYPE_LABELS: Record<string, string> = {
  'desktop.created': 'Desktop created',
  'desktop.updated': 'Desktop renamed or changed',
  'desktop.started': 'Desktop running',
  'desktop.stopped': 'Desktop stopped',
  'desktop.failed': 'Desktop failed',
  'desktop.deleted': 'Desktop deleted',
  'desktop.action': 'Input to a desktop',
  'desktop.exec': 'Command on a desktop',
  'desktop.file_uploaded': 'File uploaded',
  'desktop.file_downloaded': 'File downloaded',
  'desktop.view_opened': 'Live view opened',
  'desktop.view_closed': 'Live view closed',
  'api_key.created': 'Key created',
  'api_key.revoked': 'Key revoked',
  'api_key.first_use': 'Key used for the first time',
  'api_key.new_address': 'Key used from a new trusted address',
  'alert.new_address': 'Alert: key used from a new address',
  'alert.usage_spike': 'Alert: usage spike',
  'alert.failure_spike': 'Alert: many failures',
  'alert.old_key_used': 'Alert: rolled or revoked key sent',
  'alert.blocked_address': 'Alert: key refused at a blocked address',
  'alert.key_leaked': 'Alert: key leaked',
  'alerts.acknowledged': 'Alerts acknowledged',
  'address.trusted': 'Address trusted',
  'address.untrusted': 'Address no longer trusted',
  'webhook.created': 'Webhook added',
  'webhook.deleted': 'Webhook removed',
  'api_key.updated': "Key's scopes changed",
  'api_key.rolled': 'Key rolled',
  'api_key.expiring': 'Key expiring soon',
  'api_key.used_after_roll': 'Old key used after a roll',
  'api_key.leaked': 'Key leaked',
  'api_key.refused_blocked_address': 'Key refused at a blocked address',
  'session.started': 'Signed in',
  'session.ended': 'Session ended',
  'ip.blocked': 'Address blocked',
};

export function isFiltered(f: ActivityFilter): boolean {
  return f.alerts || f.key !== '' || f.desktop !== '' || f.type !== '';
}

export function matches(e: ActivityEvent, f: ActivityFilter): boolean {
  if (f.alerts && !isAlert(e)) return false;
  if (f.key && !keysOf(e).includes(f.key)) return false;
  if (f.desktop && desktopOf(e) !== f.desktop) return false;
  if (f.type && e.type !== f.type) return false;
  return true;
}

/** Filters live in the address (?alerts=1&key=…&desktop=…&type=…), so a filtered view can be reloaded or shared. */
export function filterFromQuery(search: string): ActivityFilter {
  const q = new URLSearchParams(search);
  const id = (name: string) => {
    const v = q.get(name) ?? '';
    return /^[A-Za-z0-9_.-]{1,100}$/.test(v) ? v : '';
  };
  return { alerts: q.get('alerts') === '1', key: id('key'), desktop: id('desktop'), type: id('type') };
}

export function filterToQuery(f: ActivityFilter): string {
  const q = new URLSearchParams();
  if (f.alerts) q.set('alerts', '1');
  if (f.key) q.set('key', f.key);
  if (f.desktop) q.set('desktop', f.desktop);
  if (f.type) q.set('type', f.type);
  const s = q.toString();
  return s ? `?${s}` : '';
}
