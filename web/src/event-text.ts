import type { ActivityEvent } from './api.ts';
import { providerName } from './format.ts';
import type { KeyName } from './names.ts';

/** A key an event names: shown as its name (a link to it) and its visible id in monospace. */
export interface KeyRef {
  kind: 'key';
  /** The key's internal id (for links), null when the event does not say. */
  id: string | null;
  name: string | null;
  keyId: string | null;
}

/** A line about an event: text, with the keys it names kept apart so a page can link them. */
export type EventPart = string | KeyRef;

export interface NameLookup {
  key(id: string | null | undefined): KeyName | undefined;
  desktop(id: string | null | undefined): string | undefined;
}

const END_REASONS: Record<string, string> = {
  logout: 'signed out',
  signed_out_elsewhere: 'signed out from another session',
  ended: 'ended',
  replaced: 'replaced by a new sign-in in the same browser',
};

const STOP_REASONS: Record<string, string> = {
  requested: '',
  idle: ' after being idle',
  server_restart: ' when the server restarted',
  shutdown: ' when the server shut down',
};

const VIEW_MODES: Record<string, string> = {
  view: ', watch only',
  control: ', in control',
};

const VIEW_CLOSE_REASONS: Record<string, string> = {
  client_closed: '',
  desktop_stopped: ': the desktop stopped',
  ticket_revoked: ': its link was revoked',
  ticket_expired: ': its link expired',
  credential_revoked: ': the session or key behind it ended',
  credential_expired: ': the session or key behind it expired',
  credential_changed: ': the key behind it changed',
  unresponsive: ': the viewer stopped answering',
  input_refused: ': a watch-only viewer sent input',
  server_shutdown: ': the server stopped',
};

function str(data: ActivityEvent['data'], field: string): string {
  const v = data?.[field];
  return typeof v === 'string' ? v : '';
}

function keyRef(id: string | null | undefined, data: ActivityEvent['data'], names: NameLookup): KeyRef {
  const known = names.key(id);
  return { kind: 'key', id: id ?? null, name: str(data, 'name') || known?.name || null, keyId: str(data, 'keyId') || known?.keyId || null };
}

function desktopName(e: ActivityEvent, names: NameLookup): string {
  const name = str(e.data, 'name') || names.desktop(e.target?.id);
  return name ? `“${name}”` : 'a desktop';
}

function file(e: ActivityEvent): string {
  const path = str(e.data, 'path');
  return path ? `File ${path}` : 'A file';
}

/** One line of plain language per event, with the keys it names as parts. */
export function describeEvent(e: ActivityEvent, names: NameLookup): EventPart[] {
  const desk = () => desktopName(e, names);
  // "API key “ci” (lb_k_…) revoked"; "An API key revoked" when nothing names it.
  const aboutKey = (rest: string): EventPart[] => {
    const k = keyRef(e.target?.id, e.data, names);
    return k.name || k.keyId ? ['API key ', k, rest] : [`An API key${rest}`];
  };
  switch (e.type) {
    case 'desktop.created':
      return [`Desktop ${desk()} created`];
    case 'desktop.deleted':
      return [`Desktop ${desk()} deleted`];
    case 'desktop.updated': {
      const changed = Array.isArray(e.data?.changed) ? e.data.changed : [];
      if (changed.includes('name')) return [`Desktop renamed to ${desk()}`];
      if (changed.includes('state')) return [`Desktop ${desk()} ${str(e.data, 'state') === 'running' ? 'started' : 'stopped'}`];
      return [`Desktop ${desk()} updated`];
    }
    case 'desktop.started':
      return [`Desktop ${desk()} is running${str(e.data, 'resolution') ? ` (${str(e.data, 'resolution').replace('x', '×')})` : ''}`];
    case 'desktop.stopped':
      return [`Desktop ${desk()} stopped${STOP_REASONS[str(e.data, 'reason')] ?? ''}`];
    case 'desktop.failed':
      return [`Desktop ${desk()} failed${str(e.data, 'reason') ? `: ${str(e.data, 'reason')}` : ''}`];
    case 'desktop.action':
      return [`Input sent to desktop ${desk()}`];
    case 'desktop.exec': {
      const code = e.data?.exitCode;
      const outcome = e.data?.timedOut === true ? ', timed out' : typeof code === 'number' ? `, exit code ${code}` : '';
      return [`Command run on desktop ${desk()}${outcome}`];
    }
    case 'desktop.file_uploaded':
      return [`${file(e)} uploaded to desktop ${desk()}`];
    case 'desktop.file_downloaded':
      return [`${file(e)} downloaded from desktop ${desk()}`];
    case 'desktop.view_opened':
      return [`Live view of desktop ${desk()} opened${VIEW_MODES[str(e.data, 'mode')] ?? ''}`];
    case 'desktop.view_closed':
      return [`Live view of desktop ${desk()} closed${VIEW_CLOSE_REASONS[str(e.data, 'reason')] ?? ''}`];
    case 'api_key.created':
      return aboutKey(' created');
    case 'api_key.revoked':
      return aboutKey(' revoked');
    case 'api_key.updated':
      return aboutKey(' given other scopes');
    case 'api_key.rolled':
      return aboutKey(
        ` rolled: it works until ${str(e.data, 'endsAt') ? new Date(str(e.data, 'endsAt')).toLocaleString() : 'its end'}, then only the new key does`,
      );
    case 'api_key.expiring':
      return aboutKey(` expires in ${String(e.data?.days ?? 'a few')} day${e.data?.days === 1 ? '' : 's'}`);
    case 'api_key.used_after_roll':
      return aboutKey(` (rolled) still used, from ${str(e.data, 'address') || e.ip || 'unknown'}: switch that integration to the new key`);
    case 'api_key.leaked':
      return aboutKey(` found in public${str(e.data, 'url') ? ` (${str(e.data, 'url')})` : ''} and revoked`);
    case 'api_key.first_use':
      return aboutKey(` used for the first time, from ${e.ip ?? 'an unknown address'}`);
    case 'api_key.new_address':
      return aboutKey(` used from a new address you trust: ${e.ip ?? 'unknown'}`);
    case 'alert.new_address':
      return aboutKey(` used from a new address: ${str(e.data, 'address') || e.ip || 'unknown'}`);
    case 'alert.usage_spike':
      return aboutKey(' is used far more than usual');
    case 'alert.failure_spike':
      return aboutKey(' fails more than half its requests');
    case 'alert.old_key_used':
      return aboutKey(` was sent after its end (rolled or revoked), from ${str(e.data, 'address') || e.ip || 'unknown'}`);
    case 'alert.blocked_address':
      return aboutKey(` was refused at a blocked address: ${str(e.data, 'address') || e.ip || 'unknown'}`);
    case 'alert.key_leaked':
      return aboutKey(' was found in public and revoked');
    case 'address.trusted':
    case 'address.untrusted': {
      const verb = e.type === 'address.trusted' ? 'trusted' : 'no longer trusted';
      const address = str(e.data, 'address') || 'An address';
      return str(e.data, 'scope') === 'key'
        ? [`Address ${address} ${verb} for API key `, keyRef(e.target?.id, e.data, names)]
        : [`Address ${address} ${verb} for every key`];
    }
    case 'alerts.acknowledged': {
      const count = Number(e.data?.count ?? 0);
      return [count === 1 ? 'An alert acknowledged' : `${count} alerts acknowledged`];
    }
    case 'webhook.created':
      return [`Webhook to ${str(e.data, 'host') || 'an endpoint'} added`];
    case 'webhook.deleted':
      return [`Webhook to ${str(e.data, 'host') || 'an endpoint'} deleted`];
    case 'api_key.refused_blocked_address':
      return aboutKey(` refused: its address ${str(e.data, 'address') || e.ip || 'unknown'} is blocked after failed attempts`);
    case 'session.started':
      return [`Signed in with ${providerName(str(e.data, 'provider') || null)}`];
    case 'session.ended':
      return [`Session ${END_REASONS[str(e.data, 'reason')] ?? 'ended'}`];
    case 'ip.blocked': {
      const minutes = Math.round(Number(e.data?.blockS ?? 0) / 60);
      return [
        `Address ${str(e.data, 'address') || e.ip || 'unknown'} blocked from API-key sign-in${minutes ? ` for ${minutes} min` : ''} after repeated wrong keys`,
      ];
    }
    default:
      return [e.type];
  }
}

/** Who did it, when that is not the event itself; the key as a part. */
export function describeActor(e: ActivityEvent, names: NameLookup, sessionId: string | undefined): EventPart[] | null {
  const { type, id } = e.actor;
  if (isAlert(e) || e.type === 'api_key.first_use' || e.type === 'api_key.new_address') return null;
  if (type === 'session') return [id && id === sessionId ? 'you, in this browser' : 'a browser session'];
  if (type === 'api_key') {
    const k = keyRef(id, null, names);
    return k.name || k.keyId ? ['API key ', k] : ['an API key'];
  }
  if (type === 'operator') return ['an operator (bureau CLI)'];
  if (type === 'system') return ['Le Bureau'];
  if (type === 'view_ticket') return ['someone with a shared link'];
  return null;
}

/** A key in words: “name” (lb_k_…). */
export function keyText(k: KeyRef): string {
  if (k.name && k.keyId) return `“${k.name}” (${k.keyId})`;
  return k.name ? `“${k.name}”` : k.keyId || 'an API key';
}

/** The parts as one plain sentence (for screen-reader announcements). */
export function plainText(parts: EventPart[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : keyText(p))).join('');
}

/** Events that call for a look: a key used from an address it never came from, an address blocked. */
export function isAlert(e: ActivityEvent): boolean {
  return e.type.startsWith('alert.') || e.type === 'ip.blocked' || e.type === 'api_key.refused_blocked_address';
}

/** The keys an event is about or was made with (for filtering by key). */
export function keysOf(e: ActivityEvent): string[] {
  const ids: string[] = [];
  if (e.actor.type === 'api_key' && e.actor.id) ids.push(e.actor.id);
  if (e.target?.type === 'api_key') ids.push(e.target.id);
  return ids;
}

/** The desktop an event is about, if any. */
export function desktopOf(e: ActivityEvent): string | null {
  return e.target?.type === 'desktop' ? e.target.id : null;
}
