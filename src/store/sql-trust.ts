import { type Kysely, sql } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { TrustStore, TrustedAddress } from '../usage/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database, TrustedAddressRow } from './schema.ts';

const toTrusted = (r: TrustedAddressRow): TrustedAddress => ({ id: r.id, accountId: r.account_id, ip: r.ip, createdAt: Number(r.created_at) });

/** Addresses the owner trusts (per key, per account) and the addresses their sessions used. */
export class SqlTrustStore implements TrustStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  trustForKey(keyId: string, ip: string, at: number, event: ActivityDraft): Promise<{ added: boolean; events: ActivityEvent[] }> {
    return this.db.transaction().execute(async (trx) => {
      const added = await trx
        .insertInto('key_trusted_addresses')
        .values({ key_id: keyId, ip, created_at: at })
        .onConflict((oc) => oc.columns(['key_id', 'ip']).doNothing())
        .returning('ip')
        .executeTakeFirst();
      return added ? { added: true, events: await insertEvents(trx, this.dialect, [event]) } : { added: false, events: [] };
    });
  }

  untrustForKey(keyId: string, ip: string, event: ActivityDraft): Promise<{ removed: boolean; events: ActivityEvent[] }> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('key_trusted_addresses').where('key_id', '=', keyId).where('ip', '=', ip).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return { removed: false, events: [] };
      return { removed: true, events: await insertEvents(trx, this.dialect, [event]) };
    });
  }

  async keyTrusts(keyId: string): Promise<string[]> {
    return (await this.db.selectFrom('key_trusted_addresses').select('ip').where('key_id', '=', keyId).execute()).map((r) => r.ip);
  }

  addForAccount(trusted: TrustedAddress, event: ActivityDraft): Promise<{ trusted: TrustedAddress; added: boolean; events: ActivityEvent[] }> {
    return this.db.transaction().execute(async (trx) => {
      const added = await trx
        .insertInto('trusted_addresses')
        .values({ id: trusted.id, account_id: trusted.accountId, ip: trusted.ip, created_at: trusted.createdAt })
        .onConflict((oc) => oc.columns(['account_id', 'ip']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (added) return { trusted, added: true, events: await insertEvents(trx, this.dialect, [event]) };
      const existing = await trx
        .selectFrom('trusted_addresses')
        .selectAll()
        .where('account_id', '=', trusted.accountId)
        .where('ip', '=', trusted.ip)
        .executeTakeFirstOrThrow();
      return { trusted: toTrusted(existing), added: false, events: [] };
    });
  }

  async findForAccount(id: string): Promise<TrustedAddress | undefined> {
    const r = await this.db.selectFrom('trusted_addresses').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toTrusted(r);
  }

  removeForAccount(id: string, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('trusted_addresses').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) === 0 ? [] : insertEvents(trx, this.dialect, [event]);
    });
  }

  async listForAccount(accountId: string): Promise<TrustedAddress[]> {
    const rows = await this.db.selectFrom('trusted_addresses').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').execute();
    return rows.map(toTrusted);
  }

  async sessionAddresses(accountId: string, since: number): Promise<string[]> {
    const [used, started] = await Promise.all([
      this.db.selectFrom('session_addresses').select('ip').where('account_id', '=', accountId).where('last_seen_at', '>=', since).execute(),
      this.db.selectFrom('sessions').select('ip').where('account_id', '=', accountId).where('created_at', '>=', since).where('ip', 'is not', null).execute(),
    ]);
    return [...new Set([...used.map((r) => r.ip), ...started.map((r) => r.ip!)])];
  }

  async recordSessionAddresses(rows: Array<{ accountId: string; ip: string; at: number }>): Promise<void> {
    if (rows.length === 0) return;
    // Latest per pair, in one order (no deadlock between processes).
    const latest = new Map<string, { accountId: string; ip: string; at: number }>();
    for (const r of rows) {
      const id = `${r.accountId} ${r.ip}`;
      if ((latest.get(id)?.at ?? -1) < r.at) latest.set(id, r);
    }
    const sorted = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    await this.db.transaction().execute(async (trx) => {
      for (const r of sorted) {
        await trx
          .insertInto('session_addresses')
          .values({ account_id: r.accountId, ip: r.ip, last_seen_at: r.at })
          .onConflict((oc) =>
            oc.columns(['account_id', 'ip']).doUpdateSet({
              last_seen_at: sql`case when session_addresses.last_seen_at < excluded.last_seen_at then excluded.last_seen_at else session_addresses.last_seen_at end`,
            }),
          )
          .execute();
      }
    });
  }

  async pruneSessionAddresses(before: number): Promise<number> {
    const res = await this.db.deleteFrom('session_addresses').where('last_seen_at', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
