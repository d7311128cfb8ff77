import { isActiveKey, keyEnd } from '../auth/api-key-record.ts';
import type { ApiKeyRecord, SessionRecord } from '../auth/ports.ts';
import { scopeBit } from '../auth/scopes.ts';
import type { Clock } from '../core/clock.ts';
import type { TicketCreators } from './ports.ts';

/** What making a view ticket takes (POST /api/desktops/:id/view-tickets). */
const DESKTOPS_CONTROL = scopeBit('desktops:control');

/**
 * Whether the key or session that made a view ticket still vouches for it on its
 * desktop, one row read when a ticket is used or listed: revoked, ended or expired
 * refuses it. A key must also still be able to make it: hold desktops:control and reach
 * the desktop (its binding), so a key narrowed after it made a ticket narrows the
 * ticket too; and a rolled key's tickets end with its overlap. Revocations, session
 * ends and key changes also close open views at once through the RevocationBus
 * (LiveViews).
 */
export function ticketCreators(
  keys: { findById(id: string): Promise<ApiKeyRecord | undefined> },
  sessions: { findById(id: string): Promise<SessionRecord | undefined> },
  clock: Clock,
): TicketCreators {
  return {
    async endsAt(accountId, creator, desktopId) {
      const now = clock.now();
      if (creator.type === 'session') {
        const s = await sessions.findById(creator.id);
        if (!s || s.accountId !== accountId || s.endedAt !== null) return null;
        // The idle expiry as last written back (at most an hour old: see SessionService).
        const endsAt = Math.min(s.idleExpiresAt, s.absoluteExpiresAt);
        return endsAt > now ? { endsAt } : null;
      }
      const key = await keys.findById(creator.id);
      if (!key || key.accountId !== accountId || !isActiveKey(key, now)) return null;
      if ((key.scopes & DESKTOPS_CONTROL) === 0) return null;
      if (key.desktops !== null && !key.desktops.includes(desktopId)) return null;
      return { endsAt: keyEnd(key) };
    },
  };
}
