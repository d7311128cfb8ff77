import type { Kysely } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { ApiKeyRecord, ApiKeyStore, ExpiringKey, LastUse } from '../auth/ports.ts';
import { formatScopes, parseStoredScopes } from '../auth/scopes.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { ApiKeyRow, Database } from './schema.ts';

const num = (v: number | null) => (v === null ? null : Number(v));

function parseDesktops(stored: string | null): string[] | null {
  if (stored === null) return null;
  const ids: unknown = JSON.parse(stored);
  // Written only by toRow below; anything else would be a bound key bound to nothing.
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

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
  scopes: parseStoredScopes(r.scopes),
  desktops: parseDesktops(r.desktop_ids),
  rolledFrom: r.rolled_from,
  rolledTo: r.rolled_to,
  endsAt: num(r.ends_at),
});

const toRow = (key: ApiKeyRecord): ApiKeyRow => ({
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
  scopes: formatScopes(key.scopes),
  desktop_ids: key.desktops === null ? null : JSON.stringify(key.desktops),
  rolled_from: key.rolledFrom,
  rolled_to: key.rolledTo,
  ends_at: key.endsAt,
  changed_at: null,
  expiry_notice: null,
});

const asList = (events: ActivityDraft | ActivityDraft[]) => (Array.isArray(events) ? events : [events]);

export class SqlApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  insert(key: ApiKeyRecord, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx.insertInto('api_keys').values(toRow(key)).execute();
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
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toRecord);
  }

  revoke(id: string, at: number, events: ActivityDraft | ActivityDraft[]): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return [];
      return insertEvents(trx, this.dialect, asList(events));
    });
  }

  roll(oldId: string, replacement: ApiKeyRecord, endsAt: number, events: ActivityDraft[]): Promise<ActivityEvent[] | null> {
    return this.db.transaction().execute(async (trx) => {
      // The claim first: only one roll of a key can find it unrolled and unrevoked.
      const res = await trx
        .updateTable('api_keys')
        .set({ rolled_to: replacement.id, ends_at: endsAt, changed_at: replacement.createdAt })
        .where('id', '=', oldId)
        .where('rolled_to', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return null;
      await trx.insertInto('api_keys').values(toRow(replacement)).execute();
      return insertEvents(trx, this.dialect, events);
    });
  }

  updateScopes(id: string, scopes: number, at: number, event: ActivityDraft): Promise<ActivityEvent[] | null> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('api_keys')
        .set({ scopes: formatScopes(scopes), changed_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('rolled_to', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return null;
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  async expiring(from: number, until: number): Promise<ExpiringKey[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('expires_at', '>', from)
      .where('expires_at', '<=', until)
      .where('revoked_at', 'is', null)
      .where('rolled_to', 'is', null)
      // The 1-day notice is the last one: a key that had it needs nothing more.
      .where((eb) => eb.or([eb('expiry_notice', 'is', null), eb('expiry_notice', '>', 1)]))
      .orderBy('expires_at')
      .execute();
    return rows.map((r) => ({ key: toRecord(r), notice: r.expiry_notice === null ? null : Number(r.expiry_notice) }));
  }

  claimExpiryNotice(id: string, days: number, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('api_keys')
        .set({ expiry_notice: days })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expiry_notice', 'is', null), eb('expiry_notice', '>', days)]))
        .executeTakeFirst();
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
