import { type Kysely, type Transaction, sql } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { AddressUse, KeyAddress, KeyAddressStore, NewAddress, Trust } from '../usage/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database } from './schema.ts';

/** Sums uses of the same (key, address), sorted so concurrent writers lock rows in one order. */
function merge(uses: AddressUse[]): AddressUse[] {
  const merged = new Map<string, AddressUse>();
  for (const u of uses) {
    const id = `${u.keyId} ${u.ip}`;
    const known = merged.get(id);
    if (!known) merged.set(id, { ...u });
    else {
      known.uses += u.uses;
      known.firstAt = Math.min(known.firstAt, u.firstAt);
      known.lastAt = Math.max(known.lastAt, u.lastAt);
    }
  }
  return [...merged.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

/**
 * The addresses each key was used from, with first and last use and a count, and the
 * judgement of each pair stored for the first time, in the transaction that stores it.
 */
export class SqlKeyAddressStore implements KeyAddressStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async record(
    uses: AddressUse[],
    sessionsSince: number,
    event: (a: NewAddress, verdict: 'first' | Trust) => ActivityDraft,
  ): Promise<{ events: ActivityEvent[]; untrusted: NewAddress[] }> {
    const merged = merge(uses);
    if (merged.length === 0) return { events: [], untrusted: [] };
    // Read before the transaction (a key's account never changes): on SQLite a transaction
    // that reads first and writes second can fail at once when another process wrote between.
    const keyIds = [...new Set(merged.map((u) => u.keyId))];
    const owners = new Map(
      (await this.db.selectFrom('api_keys').select(['id', 'account_id']).where('id', 'in', keyIds).execute()).map((k) => [k.id, k.account_id]),
    );
    const known = merged.filter((u) => owners.has(u.keyId));
    if (known.length === 0) return { events: [], untrusted: [] };
    return this.db.transaction().execute(async (trx) => {
      const drafts: ActivityDraft[] = [];
      const untrusted: NewAddress[] = [];
      for (const use of known) {
        const inserted = await trx
          .insertInto('api_key_addresses')
          .values({ key_id: use.keyId, ip: use.ip, first_seen_at: use.firstAt, last_seen_at: use.lastAt, uses: use.uses })
          .onConflict((oc) => oc.columns(['key_id', 'ip']).doNothing())
          .returning('key_id')
          .executeTakeFirst();
        if (!inserted) {
          await trx
            .updateTable('api_key_addresses')
            .set({
              uses: sql`uses + ${use.uses}`,
              last_seen_at: sql`case when last_seen_at < ${use.lastAt} then ${use.lastAt} else last_seen_at end`,
            })
            .where('key_id', '=', use.keyId)
            .where('ip', '=', use.ip)
            .execute();
          continue;
        }
        const pair: NewAddress = { keyId: use.keyId, accountId: owners.get(use.keyId)!, ip: use.ip, at: use.firstAt };
        // The key's first address ever: one row per key, so one process claims it.
        const first = await trx
          .insertInto('api_key_first_uses')
          .values({ key_id: use.keyId, ip: use.ip, at: use.firstAt })
          .onConflict((oc) => oc.column('key_id').doNothing())
          .returning('key_id')
          .executeTakeFirst();
        if (first) {
          drafts.push(event(pair, 'first'));
          continue;
        }
        const trust = await this.trustOf(trx, pair, sessionsSince);
        if (trust) drafts.push(event(pair, trust));
        else untrusted.push(pair);
      }
      return { events: await insertEvents(trx, this.dialect, drafts), untrusted };
    });
  }

  private async trustOf(trx: Transaction<Database>, a: NewAddress, sessionsSince: number): Promise<Trust | null> {
    const forKey = await trx.selectFrom('key_trusted_addresses').select('ip').where('key_id', '=', a.keyId).where('ip', '=', a.ip).executeTakeFirst();
    if (forKey) return 'key';
    const forAccount = await trx.selectFrom('trusted_addresses').select('ip').where('account_id', '=', a.accountId).where('ip', '=', a.ip).executeTakeFirst();
    if (forAccount) return 'account';
    const used = await trx
      .selectFrom('session_addresses')
      .select('ip')
      .where('account_id', '=', a.accountId)
      .where('ip', '=', a.ip)
      .where('last_seen_at', '>=', sessionsSince)
      .executeTakeFirst();
    if (used) return 'session';
    // Where a session started (its first request may not have been counted yet).
    const started = await trx
      .selectFrom('sessions')
      .select('id')
      .where('account_id', '=', a.accountId)
      .where('ip', '=', a.ip)
      .where('created_at', '>=', sessionsSince)
      .executeTakeFirst();
    return started ? 'session' : null;
  }

  async list(keyId: string): Promise<KeyAddress[]> {
    const rows = await this.db.selectFrom('api_key_addresses').selectAll().where('key_id', '=', keyId).orderBy('last_seen_at', 'desc').orderBy('ip').execute();
    return rows.map((r) => ({ ip: r.ip, firstSeenAt: Number(r.first_seen_at), lastSeenAt: Number(r.last_seen_at), uses: Number(r.uses) }));
  }
}
