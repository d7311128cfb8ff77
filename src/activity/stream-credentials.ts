import { isActiveKey, keyEnd } from '../auth/api-key-record.ts';
import type { ApiKeyRecord } from '../auth/ports.ts';
import { scopeBit } from '../auth/scopes.ts';
import type { SessionRecord } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import type { StreamCredentials } from './ports.ts';

/**
 * The default credential checks for streams, one row read when a stream opens (a
 * ticket may outlive its key or session by up to a minute): revoked, ended or expired
 * refuses it; a key's expiry or a session's expiry (the earlier of idle and absolute,
 * as known when it authenticated) closes it later through the periodic check.
 * Revocations and session ends close streams at once through the RevocationBus, so the
 * periodic hook has nothing more to ask here; a cheap, cache-backed check could go in
 * `stillActive`.
 */
const ACTIVITY_READ = scopeBit('activity:read');

export function streamCredentials(
  keys: { findById(id: string): Promise<ApiKeyRecord | undefined> },
  sessions: { findById(id: string): Promise<SessionRecord | undefined> },
  clock: Clock,
): StreamCredentials {
  return {
    async atOpen(p) {
      const now = clock.now();
      if (p.method === 'session') {
        const s = await sessions.findById(p.sessionId);
        if (!s || s.accountId !== p.accountId || s.endedAt !== null) return null;
        const endsAt = Math.min(p.expiresAt, s.absoluteExpiresAt);
        return endsAt > now ? { endsAt } : null;
      }
      const key = await keys.findById(p.keyId);
      if (!key || key.accountId !== p.accountId || !isActiveKey(key, now)) return null;
      // A ticket issued before the key lost activity:read must not open a stream after.
      if ((key.scopes & ACTIVITY_READ) === 0) return null;
      // A rolled key's stream ends with its overlap, as a request would be refused then.
      return { endsAt: keyEnd(key) };
    },
    stillActive: () => true,
  };
}
