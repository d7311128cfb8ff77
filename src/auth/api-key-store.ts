import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  name: string;
  publicId: string;
  secretHash: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
}

export interface LastUse {
  keyId: string;
  at: number;
  ip: string;
}

export interface ApiKeyStore {
  insert(key: ApiKeyRecord, event: ActivityDraft): Promise<ActivityEvent[]>;
  findByPublicId(publicId: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  listByAccount(accountId: string): Promise<ApiKeyRecord[]>;
  /** Sets revoked_at if not yet revoked; returns the event written, or none when it was already revoked. */
  revoke(id: string, at: number, event: ActivityDraft): Promise<ActivityEvent[]>;
  /**
   * Writes a batch of last uses; records each (key, address) pair the first time it is
   * seen and returns the "new address" events written for those, in the same transaction.
   */
  recordUses(uses: LastUse[], newAddressEvent: (use: LastUse, accountId: string) => ActivityDraft): Promise<ActivityEvent[]>;
}
