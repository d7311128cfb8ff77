import type { Kysely } from 'kysely';
import type { UsedFlowStore } from '../auth/ports.ts';
import type { Database } from './schema.ts';

export class SqlUsedFlowStore implements UsedFlowStore {
  constructor(private readonly db: Kysely<Database>) {}

  async markUsed(flowId: string, expiresAt: number, now: number): Promise<boolean> {
    // The primary key makes "first one wins" atomic on SQLite and PostgreSQL alike.
    const inserted = await this.db
      .insertInto('used_sign_in_flows')
      .values({ id: flowId, expires_at: expiresAt })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    await this.db.deleteFrom('used_sign_in_flows').where('expires_at', '<', now).execute();
    return inserted !== undefined;
  }
}
