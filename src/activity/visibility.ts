import type { Principal } from '../auth/principal.ts';
import type { ActivityEvent } from './events.ts';
import type { EventTargets } from './ports.ts';

/**
 * What of an account's activity a credential sees. A key bound to desktops sees only
 * the events about those desktops and about itself (its own creation, roll, uses,
 * expiry): the rest of the account does not exist for it. Everyone else sees it all.
 */
export function visibleTargets(p: Principal): EventTargets | undefined {
  return p.method === 'api_key' && p.desktops !== null ? { desktops: p.desktops, apiKey: p.keyId } : undefined;
}

/** The same rule for events already read (the live stream shares one read among an account's streams). */
export function isVisible(e: ActivityEvent, about: EventTargets): boolean {
  const t = e.target;
  if (!t) return false;
  if (t.type === 'api_key') return t.id === about.apiKey;
  return t.type === 'desktop' && about.desktops.includes(t.id);
}
