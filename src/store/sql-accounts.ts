import type { Kysely } from 'kysely';
import type { Account, AccountStore } from '../accounts/accounts.ts';
import type { AccountRow, Database } from './schema.ts';

const toAccount = (r: AccountRow): Account => ({ id: r.id, email: r.email, name: r.name, createdAt: Number(r.created_at) });

export class SqlAccountStore implements AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertOrGet(account: Account): Promise<{ account: Account; created: boolean }> {
    const inserted = await this.db
      .insertInto('accounts')
      .values({ id: account.id, email: account.email, name: account.name, created_at: account.createdAt })
      .onConflict((oc) => oc.column('email').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { account: toAccount(inserted), created: true };
    const existing = await this.findByEmail(account.email);
    if (!existing) throw new Error('account vanished between insert and read');
    return { account: existing, created: false };
  }

  async findByEmail(email: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
    return r && toAccount(r);
  }

  async findById(id: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toAccount(r);
  }
}
