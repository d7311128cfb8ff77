import type { Kysely } from 'kysely';
import type { ActivityLog } from '../activity/ports.ts';
import type { CommittedActivity, EventTargets } from '../activity/ports.ts';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import { eventFromRow, insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database } from './schema.ts';

export class SqlActivityLog implements ActivityLog, CommittedActivity {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async newestId(): Promise<number> {
    const row = await this.db
      .selectFrom('activity_events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async since(afterId: number, limit: number): Promise<ActivityEvent[]> {
    const rows = await this.db.selectFrom('activity_events').selectAll().where('id', '>', afterId).orderBy('id', 'asc').limit(limit).execute();
    return rows.map(eventFromRow);
  }

  append(drafts: ActivityDraft[]): Promise<ActivityEvent[]> {
    if (drafts.length === 0) return Promise.resolve([]);
    return this.db.transaction().execute((trx) => insertEvents(trx, this.dialect, drafts));
  }

  async page(accountId: string, { before, limit, about }: { before?: number; limit: number; about?: EventTargets }): Promise<ActivityEvent[]> {
    let q = this.db.selectFrom('activity_events').selectAll().where('account_id', '=', accountId);
    if (before !== undefined) q = q.where('id', '<', before);
    if (about) {
      const { desktops, apiKey } = about;
      q = q.where((eb) =>
        eb.or([
          eb.and([eb('target_type', '=', 'api_key'), eb('target_id', '=', apiKey)]),
          ...(desktops.length ? [eb.and([eb('target_type', '=', 'desktop'), eb('target_id', 'in', [...desktops])])] : []),
        ]),
      );
    }
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(eventFromRow);
  }

  async after(accountId: string, afterId: number, limit: number): Promise<ActivityEvent[]> {
    const rows = await this.db
      .selectFrom('activity_events')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
    return rows.map(eventFromRow);
  }
}
