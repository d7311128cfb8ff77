import type { CompiledQuery, Kysely } from 'kysely';
import type { Account, AccountStore } from '../accounts/accounts.ts';
import type { AccountRow, Database } from './schema.ts';

const toAccount = (r: AccountRow): Account => ({ id: r.id, email: r.email, name: r.name, createdAt: Number(r.created_at) });

export class SqlAccountStore implements AccountStore {
  /**
   * Built and compiled once, run with each id: building a query with Kysely costs
   * more than SQLite takes to run this one, and every request to GET /api/me runs it.
   */
  private readonly byId: CompiledQuery<AccountRow>;

  constructor(private readonly db: Kysely<Database>) {
    this.byId = db.selectFrom('accounts').selectAll().where('id', '=', '').compile();
  }

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
    const { rows } = await this.db.executeQuery<AccountRow>({ ...this.byId, parameters: [id] });
    return rows[0] && toAccount(rows[0]);
  }
}
