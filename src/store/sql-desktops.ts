import type { Kysely } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { Desktop, DesktopState, DesktopStore } from '../desktops/desktops.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database, DesktopRow } from './schema.ts';

const toDesktop = (r: DesktopRow): Desktop => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  state: r.state as DesktopState,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export class SqlDesktopStore implements DesktopStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  insert(d: Desktop, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('desktops')
        .values({ id: d.id, account_id: d.accountId, name: d.name, state: d.state, created_at: d.createdAt, updated_at: d.updatedAt })
        .execute();
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  async findById(id: string): Promise<Desktop | undefined> {
    const r = await this.db.selectFrom('desktops').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDesktop(r);
  }

  async listByAccount(accountId: string): Promise<Desktop[]> {
    const rows = await this.db.selectFrom('desktops').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'asc').orderBy('id').execute();
    return rows.map(toDesktop);
  }

  update(d: Desktop, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('desktops').set({ name: d.name, state: d.state, updated_at: d.updatedAt }).where('id', '=', d.id).execute();
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  delete(id: string, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('desktops').where('id', '=', id).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return [];
      return insertEvents(trx, this.dialect, [event]);
    });
  }
}
