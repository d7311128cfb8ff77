import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';

export interface SessionRecord {
  id: string;
  accountId: string;
  tokenHash: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  endedAt: number | null;
  ip: string | null;
  userAgent: string | null;
  provider: string | null;
}

export interface SessionStore {
  insert(session: SessionRecord, event: ActivityDraft): Promise<ActivityEvent[]>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  findById(id: string): Promise<SessionRecord | undefined>;
  /** Sessions not ended and not past either expiry at `now`, newest first. */
  listActive(accountId: string, now: number): Promise<SessionRecord[]>;
  /** Writes the sliding expiry back (rarely: see SessionService). */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void>;
  /** Ends the sessions not ended yet; writes one event per session actually ended. */
  end(ids: string[], at: number, event: (session: SessionRecord) => ActivityDraft): Promise<{ ended: SessionRecord[]; events: ActivityEvent[] }>;
}
