import type { Kysely } from 'kysely';
import type { Identity, IdentityStore } from '../auth/ports.ts';
import type { Database, IdentityRow } from './schema.ts';

const toIdentity = (r: IdentityRow): Identity => ({
  provider: r.provider,
  subject: r.subject,
  accountId: r.account_id,
  email: r.email,
  emailVerified: Number(r.email_verified) === 1,
  createdAt: Number(r.created_at),
});

export class SqlIdentityStore implements IdentityStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(provider: string, subject: string): Promise<Identity | undefined> {
    const r = await this.db.selectFrom('identities').selectAll().where('provider', '=', provider).where('subject', '=', subject).executeTakeFirst();
    return r && toIdentity(r);
  }

  async insertOrGet(identity: Identity): Promise<Identity> {
    const inserted = await this.db
      .insertInto('identities')
      .values({
        provider: identity.provider,
        subject: identity.subject,
        account_id: identity.accountId,
        email: identity.email,
        email_verified: identity.emailVerified ? 1 : 0,
        created_at: identity.createdAt,
      })
      .onConflict((oc) => oc.columns(['provider', 'subject']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return toIdentity(inserted);
    const existing = await this.find(identity.provider, identity.subject);
    if (!existing) throw new Error('identity vanished between insert and read');
    return existing;
  }

  async updateEmail(provider: string, subject: string, email: string | null, emailVerified: boolean): Promise<void> {
    await this.db
      .updateTable('identities')
      .set({ email, email_verified: emailVerified ? 1 : 0 })
      .where('provider', '=', provider)
      .where('subject', '=', subject)
      .execute();
  }

  async listForAccount(accountId: string): Promise<Identity[]> {
    const rows = await this.db.selectFrom('identities').selectAll().where('account_id', '=', accountId).orderBy('created_at').execute();
    return rows.map(toIdentity);
  }
}
