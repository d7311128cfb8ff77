import type { Kysely } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { ApiKeyRecord, ApiKeyStore, LastUse } from '../auth/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { ApiKeyRow, Database } from './schema.ts';

const num = (v: number | null) => (v === null ? null : Number(v));
const toRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  publicId: r.public_id,
  secretHash: r.secret_hash,
  createdAt: Number(r.created_at),
  expiresAt: num(r.expires_at),
  revokedAt: num(r.revoked_at),
  lastUsedAt: num(r.last_used_at),
  lastUsedIp: r.last_used_ip,
});

export class SqlApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  insert(key: ApiKeyRecord, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('api_keys')
        .values({
          id: key.id,
          account_id: key.accountId,
          name: key.name,
          public_id: key.publicId,
          secret_hash: key.secretHash,
          created_at: key.createdAt,
          expires_at: key.expiresAt,
          revoked_at: key.revokedAt,
          last_used_at: key.lastUsedAt,
          last_used_ip: key.lastUsedIp,
        })
        .execute();
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  async findByPublicId(publicId: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('public_id', '=', publicId).executeTakeFirst();
    return r && toRecord(r);
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRecord(r);
  }

  async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').execute();
    return rows.map(toRecord);
  }

  revoke(id: string, at: number, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return [];
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  recordUses(uses: LastUse[]): Promise<void> {
    return this.db.transaction().execute(async (trx) => {
      // Rows locked in key order, so concurrent batches from several processes cannot deadlock on them.
      const ordered = [...uses].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
      for (const use of ordered) {
        await trx.updateTable('api_keys').set({ last_used_at: use.at, last_used_ip: use.ip }).where('id', '=', use.keyId).execute();
      }
    });
  }
}
