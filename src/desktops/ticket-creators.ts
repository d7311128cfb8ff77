import type { ApiKeyRecord, SessionRecord } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import type { TicketCreators } from './ports.ts';

/**
 * Whether the key or session that made a view ticket still holds, one row read when a
 * ticket is used or listed: revoked, ended or expired refuses it. Revocations and
 * session ends also close open views at once through the RevocationBus (LiveViews).
 */
export function ticketCreators(
  keys: { findById(id: string): Promise<ApiKeyRecord | undefined> },
  sessions: { findById(id: string): Promise<SessionRecord | undefined> },
  clock: Clock,
): TicketCreators {
  return {
    async endsAt(accountId, creator) {
      const now = clock.now();
      if (creator.type === 'session') {
        const s = await sessions.findById(creator.id);
        if (!s || s.accountId !== accountId || s.endedAt !== null) return null;
        // The idle expiry as last written back (at most an hour old: see SessionService).
        const endsAt = Math.min(s.idleExpiresAt, s.absoluteExpiresAt);
        return endsAt > now ? { endsAt } : null;
      }
      const key = await keys.findById(creator.id);
      if (!key || key.accountId !== accountId || key.revokedAt !== null) return null;
      if (key.expiresAt !== null && key.expiresAt <= now) return null;
      return { endsAt: key.expiresAt };
    },
  };
}
